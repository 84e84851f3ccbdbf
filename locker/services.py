"""Every write the app makes goes through one of these functions."""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core import signing as django_signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from . import chain, kinds, sharing, signing
from .models import (
    AccessLog,
    Annotation,
    ApiToken,
    Case,
    CaseVisit,
    Checkpoint,
    ContactLink,
    Entry,
    EvidenceFile,
    Invitation,
    ProfessionalProfile,
    Profile,
    Share,
)
from .storage import StoredFile, UploadError, clean_file_name, store_upload

EARLIEST_OCCURRED_AT = datetime(2000, 1, 1, tzinfo=UTC)
MAX_CLOCK_SKEW = timedelta(minutes=10)
MAX_FILES_PER_ENTRY = 20


class InputError(ValueError):
    """Input the user can fix; the message says what is wrong. Nothing was stored.

    The message is lazy: str(exc) puts it into the language active at that moment, so a page
    shows it in the user's language and the API (under translation.override) in English."""


def _message(exc: Exception) -> str | Promise:
    """The (lazy) message an UploadError or BodyError was raised with."""
    return exc.args[0] if len(exc.args) == 1 else str(exc)


@dataclass(frozen=True)
class Upload:
    name: str
    stream: IO[bytes]


@dataclass(frozen=True)
class AppendResult:
    entry: Entry
    receipt: dict[str, Any]


def parse_occurred_at(value: str | datetime | None) -> datetime | None:
    """The user's claimed time: ISO 8601 with a zone; refuses the unparseable, the future
    (beyond a small clock skew) and anything before 2000."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise InputError(
                format_lazy(
                    gettext_lazy("occurred_at {value} is not an ISO 8601 date and time"),
                    value=repr(value),
                )
            ) from exc
    else:
        raise InputError(gettext_lazy("occurred_at must be a string"))
    if moment.tzinfo is None:
        raise InputError(gettext_lazy("occurred_at must include a time zone (e.g. Z or +08:00)"))
    moment = moment.astimezone(UTC)
    if moment > timezone.now() + MAX_CLOCK_SKEW:
        raise InputError(gettext_lazy("occurred_at is in the future"))
    if moment < EARLIEST_OCCURRED_AT:
        raise InputError(gettext_lazy("occurred_at is before 2000-01-01"))
    return moment


def _store_files(case: Case, uploads: Sequence[Upload]) -> list[tuple[StoredFile, str]]:
    if len(uploads) > MAX_FILES_PER_ENTRY:
        raise InputError(
            format_lazy(gettext_lazy("at most {count} files per entry"), count=MAX_FILES_PER_ENTRY)
        )
    stored = []
    for upload in uploads:
        name = clean_file_name(upload.name)
        try:
            stored.append((store_upload(str(case.id), upload.stream), name))
        except UploadError as exc:
            raise InputError(
                format_lazy("{name}: {problem}", name=name, problem=_message(exc))
            ) from exc
    return stored


def _record_evidence_file(case: Case, stored: StoredFile, name: str) -> None:
    if EvidenceFile.objects.filter(case=case, sha256=stored.sha256).exists():
        return
    try:
        with transaction.atomic():
            EvidenceFile.objects.create(
                case=case,
                sha256=stored.sha256,
                size=stored.size,
                media_type=stored.media_type,
                original_name=name,
                storage_name=stored.storage_name,
            )
    except IntegrityError:
        pass  # the same bytes were recorded by a concurrent upload


def _validate_correction(case: Case, body: dict[str, Any]) -> None:
    target = Entry.objects.filter(case=case, seq=body["corrects_seq"]).first()
    if target is None:
        raise InputError(
            format_lazy(
                gettext_lazy("correction names seq {seq}, which does not exist"),
                seq=body["corrects_seq"],
            )
        )
    allowed = set(kinds.BODY_MODELS[target.kind].model_fields) | {"occurred_at"}
    unknown = set(body["changes"]) - allowed
    if unknown:
        raise InputError(
            format_lazy(
                gettext_lazy("correction changes unknown members {members} of a {kind} entry"),
                members=str(sorted(unknown)),
                kind=target.kind,
            )
        )
    if "occurred_at" in body["changes"]:
        moment = parse_occurred_at(body["changes"]["occurred_at"])
        body["changes"]["occurred_at"] = chain.format_timestamp(moment) if moment else None
    patched = {k: v for k, v in {**target.body, **body["changes"]}.items() if k != "occurred_at"}
    try:
        kinds.clean_body(target.kind, patched)
    except kinds.BodyError as exc:
        raise InputError(
            format_lazy(
                gettext_lazy("corrected {kind} would be invalid: {problem}"),
                kind=target.kind,
                problem=_message(exc),
            )
        ) from exc


def append_entry(
    *,
    case: Case,
    author: str,
    kind: str,
    body: Any,
    occurred_at: str | datetime | None = None,
    uploads: Sequence[Upload] = (),
    allow_kinds: Sequence[str] = kinds.APPENDABLE_KINDS,
) -> AppendResult:
    """Validate, store evidence, then link the entry to the case's chain under a row lock
    and sign the new head. Raises InputError (nothing stored in the chain) on bad input."""
    if kind not in allow_kinds:
        if kind in kinds.BODY_MODELS:
            raise InputError(
                format_lazy(
                    gettext_lazy("entries of kind {kind} cannot be added here"), kind=repr(kind)
                )
            )
        raise InputError(
            format_lazy(
                gettext_lazy("unknown kind {kind}; expected one of {kinds}"),
                kind=repr(kind),
                kinds=", ".join(allow_kinds),
            )
        )
    try:
        clean = kinds.clean_body(kind, body)
    except kinds.BodyError as exc:
        raise InputError(_message(exc)) from exc
    claimed = parse_occurred_at(occurred_at)
    if kind == "correction":
        _validate_correction(case, clean)
    # Files first: a failure after this point leaves unreferenced files, never a lost record.
    stored = _store_files(case, uploads)
    evidence = [
        {"sha256": f.sha256, "size": f.size, "media_type": f.media_type, "name": name}
        for f, name in stored
    ]
    for f, name in stored:
        _record_evidence_file(case, f, name)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        head = (
            Entry.objects.filter(case=locked)
            .order_by("-seq")
            .only("seq", "hash", "recorded_at")
            .first()
        )
        recorded_at = timezone.now()
        if head is not None and recorded_at < head.recorded_at:
            recorded_at = head.recorded_at  # the clock stepped back; keep the chain monotone
        document: dict[str, Any] = {
            "v": chain.VERSION,
            "case": str(locked.id),
            "seq": head.seq + 1 if head else 1,
            "prev": head.hash if head else chain.GENESIS_PREV,
            "kind": kind,
            "recorded_at": chain.format_timestamp(recorded_at),
            "occurred_at": chain.format_timestamp(claimed) if claimed else None,
            "author": author,
            "body": clean,
            "evidence": evidence,
        }
        try:
            chain.check_entry_shape(document)
        except chain.FormatError as exc:
            raise InputError(str(exc)) from exc
        entry = Entry.objects.create(
            case=locked,
            seq=document["seq"],
            prev=document["prev"],
            hash=chain.entry_hash(document),
            kind=kind,
            recorded_at=chain.parse_timestamp(document["recorded_at"]),
            occurred_at=claimed,
            author=author,
            body=clean,
            evidence=evidence,
        )
        receipt = issue_checkpoint(case=locked, length=entry.seq, head=entry.hash)
    return AppendResult(entry=entry, receipt=receipt)


def issue_checkpoint(*, case: Case, length: int, head: str) -> dict[str, Any]:
    signed_at = timezone.now()
    document = signing.sign_checkpoint(
        case_id=str(case.id), length=length, head=head, signed_at=signed_at
    )
    Checkpoint.objects.create(
        case=case,
        length=length,
        head=head,
        signed_at=chain.parse_timestamp(document["checkpoint"]["signed_at"]),
        document=document,
    )
    return document


def parse_date(value: str | date | None, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InputError(
            format_lazy(
                gettext_lazy("{name}: {value} is not a date (YYYY-MM-DD)"),
                name=name,
                value=repr(value),
            )
        ) from exc


def _fact_value(name: str, value: Any) -> Any:
    field = Case._meta.get_field(name)
    if value in (None, "") and field.null:
        return None
    internal = field.get_internal_type()
    if internal == "DateField":
        return parse_date(value, name)
    if internal == "BigIntegerField":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(
                format_lazy(
                    gettext_lazy("{name} must be an integer count of minor units (fen, cents)"),
                    name=name,
                )
            )
        if not 0 <= value <= chain.MAX_SAFE_INTEGER:
            raise InputError(format_lazy(gettext_lazy("{name} is out of range"), name=name))
        return value
    if not isinstance(value, str):
        raise InputError(format_lazy(gettext_lazy("{name} must be a string"), name=name))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            format_lazy(gettext_lazy("{name} is not valid Unicode text"), name=name)
        ) from None
    if "\x00" in value:
        raise InputError(
            format_lazy(
                gettext_lazy("{name} must not contain the NUL character (U+0000)"), name=name
            )
        )
    value = value.strip()
    if name == "currency":
        value = value.upper()
        if len(value) != 3 or not value.isalpha():
            raise InputError(gettext_lazy("currency must be a three-letter ISO 4217 code"))
    if name == "title" and not value:
        raise InputError(gettext_lazy("title must not be empty"))
    max_length = getattr(field, "max_length", None)
    if max_length and len(value) > max_length:
        raise InputError(
            format_lazy(
                gettext_lazy("{name} is longer than {count} characters"),
                name=name,
                count=max_length,
            )
        )
    return value


def _clean_facts(facts: dict[str, Any]) -> dict[str, Any]:
    unknown = set(facts) - set(Case.FACT_FIELDS)
    if unknown:
        raise InputError(
            format_lazy(gettext_lazy("unknown case fields {fields}"), fields=str(sorted(unknown)))
        )
    return {name: _fact_value(name, value) for name, value in facts.items()}


def _json_fact(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def create_case(*, owner: User, author: str, title: str, **facts: Any) -> Case:
    """A new case; its initial facts are the chain's first entry (kind case_update)."""
    clean = _clean_facts({"title": title, **facts})
    with transaction.atomic():
        case = Case.objects.create(owner=owner, **clean)
        changes = {name: _json_fact(value) for name, value in case.facts().items()}
        append_entry(
            case=case,
            author=author,
            kind="case_update",
            body={"changes": changes},
            allow_kinds=("case_update",),
        )
    return case


def update_case_facts(*, case: Case, author: str, changes: dict[str, Any]) -> AppendResult | None:
    """Change case facts and record the change as a case_update entry. None if nothing changed."""
    clean = _clean_facts(changes)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        before = locked.facts()
        changed = {k: v for k, v in clean.items() if _json_fact(v) != before[k]}
        if not changed:
            return None
        for name, value in changed.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(changed))
        result = append_entry(
            case=locked,
            author=author,
            kind="case_update",
            body={
                "changes": {k: _json_fact(v) for k, v in changed.items()},
                "previous": {k: before[k] for k in changed},
            },
            allow_kinds=("case_update",),
        )
    for name in changed:
        setattr(case, name, getattr(locked, name))
    return result


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new API token; the raw value is returned once and only its hash is kept."""
    raw = "elk_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], token_hash=_token_hash(raw), prefix=raw[:12]
    )
    return token, raw


def find_token(raw: str) -> ApiToken | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=_token_hash(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is not None and (
        token.last_used_at is None or timezone.now() - token.last_used_at > timedelta(minutes=5)
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def revoke_token(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )


# Sharing ----------------------------------------------------------------------------------
# (Appended here, below the chain services, so that merges with other areas stay simple.)

_share_log = logging.getLogger("locker.sharing")


class ShareConflict(InputError):
    """The case already has an open share for this person."""


@dataclass(frozen=True)
class ShareResult:
    share: Share
    email_sent: bool


def _find_grantee(identifier: str) -> Any:
    """The account a username names, or None. An email address never names an account here:
    addresses are not proven at sign-up, so matching one would hand the case to whoever typed
    it first. Email shares always go to the address as an invitation, and the person who can
    read that mail accepts it (signed in to whichever account they like)."""
    if "@" in identifier:
        return None
    user_model = get_user_model()
    return user_model.objects.filter(
        **{user_model.USERNAME_FIELD: identifier}, is_active=True
    ).first()


def _send_share_email(*, to: str, subject: str, lines: Sequence[str]) -> bool:
    """Send one plain-text email; a mail server failure is logged and reported, never a lost
    share (the owner sees the share as pending and can share again)."""
    try:
        send_mail(subject, "\n".join(lines), None, [to], fail_silently=False)
    except (OSError, smtplib.SMTPException) as exc:
        _share_log.warning("share email not sent: %s", exc.__class__.__name__)
        return False
    return True


def _share_email(*, sharer: str, role: str, link: str, new_account: bool) -> tuple[str, list[str]]:
    # The recipient's language is unknown: both of ours, Chinese first. The case's title and
    # facts stay out of the email, since an address can be mistyped.
    subject_parts, lines = [], []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            subject_parts.append(gettext("A case was shared with you on Evidence Locker"))
            role_name = gettext("reviewer") if role == Share.REVIEWER else gettext("viewer")
            lines.append(
                gettext("%(sharer)s shared a case with you as %(role)s.")
                % {"sharer": sharer, "role": role_name}
            )
            if new_account:
                lines.append(
                    gettext(
                        "Open this link, sign in (or create an account) and accept; then you "
                        "see the case. It works once and expires in %(days)s days:"
                    )
                    % {"days": settings.LOCKER_INVITATION_DAYS}
                )
            else:
                lines.append(gettext("Sign in and accept the share here:"))
            lines.extend([link, ""])
    return " / ".join(subject_parts), lines


def share_case(*, case: Case, by: User, grantee: str, role: str, site_url: str) -> ShareResult:
    """Share a case (by its owner) with a username or an email address, as viewer or reviewer.
    The share gives access once accepted: a username's share from their "shared with me"
    page, an email address's through the single-use invitation token mailed to it.
    `site_url` is the public address the email's link starts with."""

    if case.owner_id != by.pk:
        raise PermissionError("only the case's owner can share it")
    if role not in Share.ROLES:
        raise InputError(
            format_lazy(gettext_lazy("role must be one of {roles}"), roles=", ".join(Share.ROLES))
        )
    identifier = grantee.strip() if isinstance(grantee, str) else ""
    if not identifier or len(identifier) > 254:
        raise InputError(gettext_lazy("name the person by their username or email address"))
    user = _find_grantee(identifier)
    email = ""
    if user is None:
        if "@" not in identifier:
            raise InputError(
                gettext_lazy(
                    "no account has this username; to invite someone without an account, "
                    "use their email address"
                )
            )
        try:
            validate_email(identifier)
        except ValidationError as exc:
            raise InputError(gettext_lazy("this is not a valid email address")) from exc
        email = identifier.lower()
    elif user.pk == case.owner_id:
        raise InputError(gettext_lazy("this is your own case"))
    raw_token = ""
    with transaction.atomic():
        Case.objects.select_for_update().get(pk=case.pk)  # one share at a time per case
        open_shares = Share.objects.filter(case=case, ended_at__isnull=True)
        if (user is not None and open_shares.filter(user=user).exists()) or (
            email and open_shares.filter(user__isnull=True, email=email).exists()
        ):
            raise ShareConflict(
                gettext_lazy("this case is already shared with this person; end that first")
            )
        share = Share.objects.create(
            case=case,
            user=user,
            email=email or (getattr(user, "email", "") or ""),
            invited_as=identifier,
            role=role,
            invited_by=by,
        )
        if user is None:
            raw_token = secrets.token_urlsafe(32)
            Invitation.objects.create(
                share=share,
                token_hash=_token_hash(raw_token),
                expires_at=timezone.now() + timedelta(days=settings.LOCKER_INVITATION_DAYS),
            )
    recipient = email or getattr(user, "email", "")
    if not recipient:
        return ShareResult(share=share, email_sent=False)
    base = site_url.rstrip("/")
    if raw_token:
        link = base + sharing.INVITATION_PATH.format(token=raw_token)
    else:
        link = base + sharing.SHARED_CASES_PATH
    subject, lines = _share_email(
        sharer=sharing.display_name(by), role=role, link=link, new_account=bool(raw_token)
    )
    return ShareResult(
        share=share, email_sent=_send_share_email(to=recipient, subject=subject, lines=lines)
    )


def accept_share(*, share: Share, user: User) -> Share:
    """The grantee named on a share accepts it; from now on they can open the case."""
    with transaction.atomic():
        locked = Share.objects.select_for_update().get(pk=share.pk)
        if locked.user_id != user.pk:
            raise PermissionError("this share is not addressed to this user")
        if locked.ended_at is not None:
            raise InputError(gettext_lazy("this share has ended"))
        if locked.accepted_at is None:
            locked.accepted_at = timezone.now()
            locked.save(update_fields=["accepted_at"])
    return locked


def accept_invitation(*, token: str, user: User) -> Share:
    """Whoever holds an emailed invitation's token (signed in, typically just signed up)
    becomes the share's grantee. A token works once, before it expires, while the share is
    open."""
    if not isinstance(token, str) or not token or len(token) > 200:
        raise InputError(gettext_lazy("this invitation link is not valid"))
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("share")
            .filter(token_hash=_token_hash(token))
            .first()
        )
        if invitation is None or invitation.used_at is not None:
            raise InputError(gettext_lazy("this invitation link is not valid or was already used"))
        if invitation.expires_at <= timezone.now():
            raise InputError(gettext_lazy("this invitation has expired; ask for a new one"))
        share = Share.objects.select_for_update().get(pk=invitation.share_id)
        if share.ended_at is not None:
            raise InputError(gettext_lazy("this share has ended"))
        if share.case.owner_id == user.pk:
            raise InputError(gettext_lazy("this is your own case"))
        if Share.objects.filter(case=share.case, user=user, ended_at__isnull=True).exists():
            raise ShareConflict(gettext_lazy("you already have a share of this case"))
        now = timezone.now()
        share.user = user
        share.accepted_at = now
        try:
            with transaction.atomic():
                share.save(update_fields=["user", "accepted_at"])
        except IntegrityError as exc:  # a concurrent acceptance gave this user a share first
            raise ShareConflict(gettext_lazy("you already have a share of this case")) from exc
        invitation.used_at = now
        invitation.save(update_fields=["used_at"])
    return share


def end_share(*, share: Share, by: User) -> Share:
    """The case's owner or the grantee ends a share. Access stops on the next request."""
    with transaction.atomic():
        locked = Share.objects.select_for_update().select_related("case").get(pk=share.pk)
        if by.pk not in (locked.case.owner_id, locked.user_id):
            raise PermissionError("only the owner or the grantee can end a share")
        if locked.ended_at is None:
            locked.ended_at = timezone.now()
            locked.ended_by = by
            locked.save(update_fields=["ended_at", "ended_by"])
            Invitation.objects.filter(share=locked, used_at__isnull=True).update(
                expires_at=locked.ended_at
            )
    return locked


MAX_ANNOTATION_CHARS = 10000


def add_annotation(
    *, case: Case, author: User, text: str, entry_seq: int | None = None
) -> Annotation:
    """A reviewer's private note on a case, optionally about one entry. Never in the chain."""

    if not sharing.is_reviewer(case, author):
        raise PermissionError("only the case's reviewers can annotate it")
    if not isinstance(text, str) or not text.strip():
        raise InputError(gettext_lazy("the annotation is empty"))
    if len(text) > MAX_ANNOTATION_CHARS:
        raise InputError(
            format_lazy(
                gettext_lazy("an annotation is at most {count} characters"),
                count=MAX_ANNOTATION_CHARS,
            )
        )
    if entry_seq is not None:
        if isinstance(entry_seq, bool) or not isinstance(entry_seq, int):
            raise InputError(gettext_lazy("entry_seq must be an integer"))
        if not Entry.objects.filter(case=case, seq=entry_seq).exists():
            raise InputError(
                format_lazy(gettext_lazy("the case has no entry with seq {seq}"), seq=entry_seq)
            )
    return Annotation.objects.create(case=case, author=author, text=text, entry_seq=entry_seq)


def record_access(
    *,
    case: Case,
    user: User,
    action: str,
    detail: str = "",
    via: str = "web",
    ip: str | None = None,
) -> AccessLog:
    """Append one row to the case's access log. The same access repeated by the same person
    within LOCKER_ACCESS_LOG_REPEAT_SECONDS (a progress page polling, a reload) is one row."""
    action = (action or "view")[:32]
    detail = (detail or "")[:500]
    window = timedelta(seconds=settings.LOCKER_ACCESS_LOG_REPEAT_SECONDS)
    latest = AccessLog.objects.filter(case=case, user=user).order_by("-at", "-pk").first()
    if (
        latest is not None
        and timezone.now() - latest.at < window
        and (latest.action, latest.detail, latest.via, latest.ip) == (action, detail, via[:8], ip)
    ):
        return latest
    return AccessLog.objects.create(
        case=case,
        user=user,
        actor=sharing.display_name(user)[:200],
        action=action,
        detail=detail,
        via=via[:8],
        ip=ip,
        at=timezone.now(),
    )


def record_listing(
    *, case_ids: Sequence[Any], user: User, detail: str, via: str, ip: str | None
) -> None:
    """A "list" access on every case a listing showed, in one transaction: one commit for
    the whole desk instead of one per case."""
    with transaction.atomic():
        for case_id in case_ids:
            record_access(
                case=Case(pk=case_id), user=user, action="list", detail=detail, via=via, ip=ip
            )


def upsert_profile(
    *, user: User, name: str, organisation: str = "", jurisdiction: str = ""
) -> ProfessionalProfile:
    """Create or change the user's professional profile."""
    values = {"name": name, "organisation": organisation, "jurisdiction": jurisdiction}
    clean = {}
    for key, value in values.items():
        if not isinstance(value, str):
            raise InputError(format_lazy(gettext_lazy("{name} must be a string"), name=key))
        value = value.strip()
        if len(value) > 200:
            raise InputError(
                format_lazy(
                    gettext_lazy("{name} is longer than {count} characters"), name=key, count=200
                )
            )
        clean[key] = value
    if not clean["name"]:
        raise InputError(gettext_lazy("name must not be empty"))
    profile, _ = ProfessionalProfile.objects.update_or_create(user=user, defaults=clean)
    return profile


def mark_visited(*, user: User, case: Case) -> CaseVisit:
    """Remember that the user just looked at the case (for "unread since last visit")."""
    visit, _ = CaseVisit.objects.update_or_create(
        user=user, case=case, defaults={"last_visited": timezone.now()}
    )
    return visit


# Phone UI: preferences and contact statement links ------------------------------------------


def set_preferences(
    *, user: User, time_zone: str | None = None, language: str | None = None
) -> Profile:
    """Store the user's time zone and/or language (None leaves a value as it is)."""
    profile, _ = Profile.objects.get_or_create(user=user)
    changed = []
    if time_zone is not None and time_zone != profile.time_zone:
        profile.time_zone = time_zone
        changed.append("time_zone")
    if language is not None and language != profile.language:
        profile.language = language
        changed.append("language")
    if changed:
        profile.save(update_fields=changed)
    return profile


class LinkUnavailable(Exception):
    """The contact link is unknown, expired, revoked or already used."""


def create_contact_link(
    *, case: Case, user: User, label: str = "", days: int | None = None
) -> tuple[ContactLink, str]:
    """A new single-use contact statement link; the raw token is returned once (≥128 bits:
    32 random bytes) and only its hash is stored."""
    raw = secrets.token_urlsafe(32)
    lifetime = timedelta(days=days if days is not None else settings.LOCKER_CONTACT_LINK_DAYS)
    link = ContactLink.objects.create(
        case=case,
        created_by=user,
        label=label.strip()[:100],
        token_hash=_token_hash(raw),
        expires_at=timezone.now() + lifetime,
    )
    return link, raw


def revoke_contact_link(*, link: ContactLink) -> None:
    ContactLink.objects.filter(pk=link.pk, revoked_at__isnull=True, used_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def _open_links() -> Any:
    return ContactLink.objects.filter(
        used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def open_contact_link(*, raw: str = "", link_id: int | None = None) -> ContactLink:
    """The link a contact holds (by raw token, or by the id kept in their session), if it
    can still take a statement; otherwise LinkUnavailable, whatever the reason."""
    links = _open_links().select_related("case")
    link = (
        links.filter(pk=link_id).first()
        if link_id is not None
        else links.filter(token_hash=_token_hash(raw)).first()
        if raw
        else None
    )
    if link is None:
        raise LinkUnavailable
    return link


def submit_contact_report(
    *,
    link: ContactLink,
    body: dict[str, Any],
    occurred_at: str | datetime | None = None,
    uploads: Sequence[Upload] = (),
) -> AppendResult:
    """Append the contact's statement to the case's chain and use up the link, both or
    neither. Of two simultaneous submissions exactly one claims the link: the conditional
    UPDATE below waits for the other's row lock and then finds used_at set."""
    with transaction.atomic():
        claimed = _open_links().filter(pk=link.pk).update(used_at=timezone.now())
        if claimed != 1:
            raise LinkUnavailable
        result = append_entry(
            case=link.case,
            author=link.author,
            kind="contact_report",
            body=body,
            occurred_at=occurred_at,
            uploads=uploads,
            allow_kinds=("contact_report",),
        )
        ContactLink.objects.filter(pk=link.pk).update(entry=result.entry)
    return result


# Accounts: the email address used for password resets ---------------------------------------

EMAIL_CONFIRM_SALT = "locker.email-confirm"
EMAIL_CONFIRM_PATH = "/accounts/email/confirm/{token}/"


def _email_fingerprint(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def request_email_confirmation(*, user: User, email: str, site_url: str) -> bool:
    """Mail a link that makes `email` the user's address once they open it signed in. Nothing
    is stored until then, and the answer never depends on whether another account uses the
    address, so the form cannot be used to find out who has an account. Returns whether the
    mail went out."""
    address = email.strip() if isinstance(email, str) else ""
    try:
        validate_email(address)
    except ValidationError as exc:
        raise InputError(gettext_lazy("this is not a valid email address")) from exc
    if len(address) > 254:
        raise InputError(gettext_lazy("this is not a valid email address"))
    # The token names the address it was asked for and the one in place then, so a link from
    # before a later change cannot put an old address back.
    token = django_signing.dumps(
        {"u": user.pk, "e": address, "was": _email_fingerprint(user.email)},
        salt=EMAIL_CONFIRM_SALT,
        compress=True,
    )
    link = site_url.rstrip("/") + EMAIL_CONFIRM_PATH.format(token=token)
    lines: list[str] = []
    subjects = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            subjects.append(gettext("Confirm your email address for Evidence Locker"))
            lines.append(
                gettext(
                    "Someone (we hope you) asked to use this address for password resets on "
                    "the account “%(username)s”. Open this link while signed in to that account "
                    "to confirm. It expires in %(days)s days. If it was not you, ignore this "
                    "mail; nothing changes."
                )
                % {"username": user.get_username(), "days": settings.LOCKER_EMAIL_CONFIRM_DAYS}
            )
            lines.extend([link, ""])
    try:
        send_mail(" / ".join(subjects), "\n".join(lines), None, [address], fail_silently=False)
    except (OSError, smtplib.SMTPException) as exc:
        logging.getLogger("locker.accounts").warning(
            "confirmation email not sent: %s", exc.__class__.__name__
        )
        return False
    return True


def confirm_email(*, user: User, token: str) -> str:
    """Make the address a confirmation token names the user's own; returns it. Only the
    account that asked can confirm, while the token is fresh and the address unchanged since."""
    invalid = InputError(gettext_lazy("this confirmation link is not valid or has expired"))
    if not isinstance(token, str) or not token or len(token) > 2000:
        raise invalid
    try:
        payload = django_signing.loads(
            token,
            salt=EMAIL_CONFIRM_SALT,
            max_age=timedelta(days=settings.LOCKER_EMAIL_CONFIRM_DAYS),
        )
    except django_signing.BadSignature as exc:
        raise invalid from exc
    if not isinstance(payload, dict) or payload.get("u") != user.pk:
        raise invalid
    address = payload.get("e")
    if not isinstance(address, str) or not address:
        raise invalid
    user_model = get_user_model()
    with transaction.atomic():
        locked = user_model.objects.select_for_update().get(pk=user.pk)
        if locked.email.lower() == address.lower():
            return str(locked.email)
        if payload.get("was") != _email_fingerprint(locked.email):
            raise invalid
        # The person proved they read this mailbox, so telling them is no leak.
        if (
            user_model.objects.filter(email__iexact=address, is_active=True)
            .exclude(pk=user.pk)
            .exists()
        ):
            raise InputError(
                gettext_lazy(
                    "another account already uses this address; reset that account's password "
                    "if it is yours"
                )
            )
        locked.email = address
        locked.save(update_fields=["email"])
    user.email = address
    return address


def remove_email(*, user: User) -> None:
    """Forget the user's email address: password resets are then impossible."""
    user_model = get_user_model()
    user_model.objects.filter(pk=user.pk).update(email="")
    user.email = ""
