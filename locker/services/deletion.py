"""Deleting a case, and deleting a whole account, at their owner's request (docs/privacy.md).

What goes, from this server: a case's chain (entries, checkpoints, kept receipts, its anchor
leaves), its evidence files and their derived copies, its dossiers and their PDFs, its access
log, shares (so the lawyers lose access at once), invitations, contact links, capture
devices (docs/capture.md) and what they were sent, reviewers' notes, mailed-receipt records
and the API idempotency keys whose answers name it; for an account, every case it owns,
its downloads of all its data, its sessions and API tokens, its second factor, its
preferences and professional profile, its notes and shares on other people's cases, and its
security log.

What stays: anchors (a Merkle root and the time-stamp tokens over it, shared by every case of
a round, nothing of any one case), so the receipts of other cases anchored in the same round
still verify; and, for an account that other people's records name (a lawyer in a client's
access log, the requester of a client's dossier), an emptied, disabled account row with a
meaningless name, because those records are the clients' and stay whole. Whatever left this
server (exported bundles, dossiers, mailed receipts, time-stamp tokens at the TSAs) is not
touched, and still verifies.

The append-only tables let rows go only inside `deleting_case` / `deleting_account`
(locker/models/append_only.py; a trigger on PostgreSQL). Files are removed once the
transaction has committed: a failure before that leaves every record and file as it was."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import ProtectedError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django_otp import devices_for_user

from locker.infra import ratelimit
from locker.infra.storage import evidence_storage, walk_stored
from locker.models import (
    AccessLog,
    AnchorLeaf,
    Annotation,
    ApiToken,
    CaptureDevice,
    Case,
    CaseVisit,
    Checkpoint,
    ComplainantDetails,
    ContactLink,
    DataExport,
    DevicePost,
    Dossier,
    Entry,
    EvidenceFile,
    IdempotencyKey,
    Invitation,
    KeptReceipt,
    MailedReceipt,
    Passkey,
    ProfessionalProfile,
    Profile,
    SecurityEvent,
    Share,
)
from locker.models.append_only import delete_rows_of, deleting_account, deleting_case
from locker.selectors.second_factor import has_second_factor
from locker.services.entries import InputError
from locker.services.second_factor import verify_code
from locker.services.security import record_security_event
from locker.services.sessions import end_sessions

log = logging.getLogger(__name__)

# Tries at the confirming password (and code) per account, whatever the address.
CONFIRM_TRIES = 10
CONFIRM_WINDOW_S = 900
# Where a case's files are in the evidence storage (infra/storage.py, infra/thumbs.py,
# dossier/build.py, services/complainant.py): everything under these goes with the case,
# stray copies included.
CASE_FILE_ROOTS = ("evidence", "derived", "dossiers", "authorisations")


class ConfirmationRefused(InputError):
    """The password or the second-factor code that confirms a deletion is wrong (or too many
    tries were made): nothing was deleted. The message is lazy, in the page's language."""


def confirm_identity(
    *, user: Any, password: str, code: str = "", request: HttpRequest | None = None
) -> None:
    """The account's password, and its second factor when it has one, or ConfirmationRefused.
    A refusal is in the security log (written outside any deletion, so it stays)."""
    if not ratelimit.hit(
        "confirm-deletion", str(user.pk), limit=CONFIRM_TRIES, window_s=CONFIRM_WINDOW_S
    ):
        raise ConfirmationRefused(
            _("too many tries; nothing was deleted. Wait a quarter of an hour and try again.")
        )
    refused = None
    if not isinstance(password, str) or not user.check_password(password):
        refused = _("the password is not right; nothing was deleted")
    elif has_second_factor(user) and not verify_code(user=user, code=code or ""):
        refused = _(
            "the code from your authenticator app (or a recovery code) is not right; "
            "nothing was deleted"
        )
    if refused is not None:
        record_security_event(user=user, kind=SecurityEvent.Kind.DELETION_REFUSED, request=request)
        raise ConfirmationRefused(refused)


def delete_case(
    *, case: Case, user: Any, password: str, code: str = "", request: HttpRequest | None = None
) -> None:
    """Delete `case` and everything of it from this server, confirmed by its owner's password
    (and second factor). PermissionError for anyone but the owner; ConfirmationRefused when
    the confirmation is wrong. Either way nothing is deleted."""
    if case.owner_id != user.pk:
        raise PermissionError("only the case's owner can delete it")
    confirm_identity(user=user, password=password, code=code, request=request)
    with transaction.atomic():
        locked = Case.objects.select_for_update().filter(pk=case.pk, owner=user).first()
        if locked is None:
            return  # deleted meanwhile (a second click): nothing left to do
        files = _purge_case(locked)
        files += _drop_data_exports(
            user,
            gettext_noop("a case was deleted while this was being put together; ask again"),
        )
        record_security_event(
            user=user,
            kind=SecurityEvent.Kind.CASE_DELETED,
            request=request,
            detail=str(case.pk)[:8],
        )
        transaction.on_commit(lambda: remove_stored_files(files, case_ids=[str(case.pk)]))
    log.info("case %s deleted by its owner", case.pk)


def delete_account(
    *, user: Any, password: str, code: str = "", request: HttpRequest | None = None
) -> None:
    """Delete the account and everything it owns (see the module's text); every session and
    API token ends. ConfirmationRefused when the confirmation is wrong: nothing deleted."""
    confirm_identity(user=user, password=password, code=code, request=request)
    user_id = user.pk
    with transaction.atomic():
        case_ids = [str(pk) for pk in Case.objects.filter(owner=user).values_list("pk", flat=True)]
        files: list[str] = []
        for case in Case.objects.select_for_update().filter(owner=user):
            files += _purge_case(case)
        files += _drop_data_exports(user, "")
        DataExport.objects.filter(user=user).delete()
        _leave_other_peoples_cases(user)
        end_sessions(user=user)
        ApiToken.objects.filter(user=user).delete()
        IdempotencyKey.objects.filter(user=user).delete()
        for device in devices_for_user(user, confirmed=None):
            device.delete()
        # Not django-otp devices, and on the account row by CASCADE only: an account row kept
        # (emptied) because other people's records name it must not keep these.
        Passkey.objects.filter(user=user).delete()
        ComplainantDetails.objects.filter(user=user).delete()
        Profile.objects.filter(user=user).delete()
        ProfessionalProfile.objects.filter(user=user).delete()
        with deleting_account(user_id):
            delete_rows_of(SecurityEvent.objects.all())
        kept = _remove_account_row(user)
        transaction.on_commit(lambda: remove_stored_files(files, case_ids=case_ids))
    log.info("account %s deleted by its owner (%s)", user_id, "row emptied" if kept else "gone")


def _purge_case(case: Case) -> list[str]:
    """Remove every row of the case, the owner's idempotency keys that name it included;
    returns the storage names of its files, for removal after the commit."""
    files = list(EvidenceFile.objects.filter(case=case).values_list("storage_name", flat=True))
    dossiers = list(Dossier.objects.filter(case=case).values_list("pk", "file_name"))
    files += [name for _pk, name in dossiers if name]
    packs = Dossier.objects.filter(case=case).exclude(pack_file_name="")
    files += list(packs.values_list("pack_file_name", flat=True))
    _delete_idempotency_keys(case.owner_id, [str(case.pk), *(str(pk) for pk, _ in dossiers)])
    with deleting_case(case.pk):
        # Children before parents: every foreign key here is PROTECT.
        MailedReceipt.objects.filter(case=case).delete()
        delete_rows_of(AnchorLeaf.objects.all())
        ContactLink.objects.filter(case=case).delete()
        DevicePost.objects.filter(case=case).delete()
        CaptureDevice.objects.filter(case=case).delete()
        Invitation.objects.filter(share__case=case).delete()
        Share.objects.filter(case=case).delete()
        delete_rows_of(AccessLog.objects.all())
        Annotation.objects.filter(case=case).delete()
        CaseVisit.objects.filter(case=case).delete()
        Dossier.objects.filter(case=case).delete()
        delete_rows_of(KeptReceipt.objects.all())
        delete_rows_of(Checkpoint.objects.all())
        delete_rows_of(Entry.objects.all())
        EvidenceFile.objects.filter(case=case).delete()
        Case.objects.filter(pk=case.pk).delete()
    return files


def _delete_idempotency_keys(user_id: Any, identifiers: Iterable[str]) -> None:
    """The kept answers of the owner's API requests that name the case or its dossiers (by
    their UUIDs, which nothing else contains). Keys live a day, so there are few to read."""
    wanted = [identifier.encode() for identifier in identifiers]
    doomed = [
        pk
        for pk, body in IdempotencyKey.objects.filter(user_id=user_id).values_list(
            "pk", "response_body"
        )
        if any(identifier in bytes(body) for identifier in wanted)
    ]
    IdempotencyKey.objects.filter(pk__in=doomed).delete()


def _drop_data_exports(user: Any, error: str) -> list[str]:
    """The user's downloads of all their data hold the deleted case: stored ones are marked
    expired (their files removed after the commit), ones being built are failed with `error`
    (a worker still building one loses its lease and removes its own file)."""
    files = [
        name
        for name in DataExport.objects.filter(user=user).values_list("file_name", flat=True)
        if name
    ]
    DataExport.objects.filter(user=user, state=DataExport.State.READY).update(
        state=DataExport.State.EXPIRED, file_name=""
    )
    DataExport.objects.filter(
        user=user, state__in=(DataExport.State.QUEUED, DataExport.State.BUILDING)
    ).update(
        state=DataExport.State.FAILED,
        error=error,
        finished_at=timezone.now(),
        lease_token="",
        lease_until=None,
    )
    return files


def _leave_other_peoples_cases(user: Any) -> None:
    """Shares with the user end, and stop naming them (the owner's list keeps what the owner
    typed); their notes and mailed-receipt records on those cases go."""
    now = timezone.now()
    Share.objects.filter(user=user, ended_at__isnull=True).update(ended_at=now)
    Share.objects.filter(user=user).update(user=None)
    Share.objects.filter(ended_by=user).update(ended_by=None)
    Annotation.objects.filter(author=user).delete()
    MailedReceipt.objects.filter(user=user).delete()
    CaseVisit.objects.filter(user=user).delete()


def _remove_account_row(user: Any) -> bool:
    """Delete the account row; where other people's records name it (a client's access log,
    a dossier it asked for on a client's case, a receipt it uploaded there), empty and disable
    it instead: a random name, no address, no password. True when the row stays."""
    try:
        with transaction.atomic():
            get_user_model().objects.filter(pk=user.pk).delete()
        return False
    except ProtectedError:
        pass
    get_user_model().objects.filter(pk=user.pk).update(
        username=f"deleted-{secrets.token_hex(8)}",
        email="",
        first_name="",
        last_name="",
        password=make_password(None),
        is_active=False,
        is_staff=False,
        is_superuser=False,
        last_login=None,
    )
    return True


def remove_stored_files(names: Iterable[str], *, case_ids: Iterable[str] = ()) -> int:
    """Remove the named files and everything under the cases' directories of the evidence
    storage (originals, derived copies, dossiers, strays). Run after the commit; a failing
    store is logged with what is left, for the operator (`manage.py evidence_orphans`)."""
    storage = evidence_storage()
    doomed = dict.fromkeys(names)
    for case_id in case_ids:
        for root in CASE_FILE_ROOTS:
            doomed.update(dict.fromkeys(walk_stored(f"{root}/{case_id}")))
    removed = 0
    for name in doomed:
        try:
            storage.delete(name)
            removed += 1
        except OSError as exc:
            log.warning("deleted case file %s could not be removed: %r", name, exc)
    return removed
