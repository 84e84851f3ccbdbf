"""The daily receipt mail (issue 11, "Copies outside the server"): once a day, each person who
asked for it (Profile.mail_daily_receipt) and has a confirmed address gets the anchored
receipt of every case they follow (their own, and those shared with them) whose head changed
since the last receipt mailed to them, as JSON attachments to one mail. Copies then exist in
mailboxes this server does not control: whoever holds the server later cannot rewrite a case
without those receipts showing it.

Planning and sending are separate, and the rows are the truth (MailedReceipt):
- planning writes one row per (user, case, head) to mail, at most one round a day per user,
  and never a head already planned for them, so an idle case is not mailed again;
- sending claims a user's unsent rows for a lease (LEASE) with a fresh token, sends one mail,
  and marks them sent. A worker that dies after claiming leaves its rows claimed until the
  lease ends; then a later run sends them, once. A mail server that refuses releases the
  rows at once for the retry. (A worker that dies after the mail server accepted the mail and
  before the rows are marked sent mails it again: the one duplicate no mail client can rule
  out, since SMTP has no idempotency key.)

The mail's body and subject say nothing of the records: no entry, no phone number, no name
of a contact; a case is named by the start of its id unless the recipient chose its title
(Profile.mail_case_titles); the subject is neutral, because a mailbox may be read by others.

Claiming and sending are not wrapped in one transaction on purpose: the claim must be
committed before the mail goes out, and the mail must not wait inside a transaction."""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from locker.models import Case, Checkpoint, MailedReceipt
from locker.selectors import mailed_receipts as mail_selectors
from locker.selectors.anchors import checkpoint_anchor
from locker.selectors.receipts import receipt_file

log = logging.getLogger(__name__)

# A day, less a margin: the scheduled run may start a little later or earlier each day, and a
# second run the same day (a retry, `manage.py mail_receipts`) must plan nothing new.
MIN_GAP = timedelta(hours=20)
# How long a worker holds the rows it claimed: far longer than one mail takes to send
# (SMTP_TIMEOUT_S per command), so that no second worker takes them while it sends.
LEASE = timedelta(minutes=10)
SMTP_TIMEOUT_S = 60
# The part of a case's id that names it in the mail when its title is not to be shown.
CASE_REF_CHARS = 8

__all__ = [
    "LEASE",
    "MIN_GAP",
    "MailUnavailable",
    "SendRound",
    "plan_receipt_mails",
    "send_due_receipt_mails",
    "send_receipt_mail",
]


class MailUnavailable(ConnectionError):
    """The mail server could not be reached or refused the mail: worth retrying later."""


def plan_receipt_mails(*, now: datetime | None = None) -> int:
    """Plan today's receipts: for each person who asked and was not planned for within
    MIN_GAP, a row for each case they follow whose anchored head is new to them. Returns how
    many rows were planned. A case with nothing anchored yet waits for an anchoring round."""
    now = now or timezone.now()
    targets: dict[Any, Checkpoint | None] = {}
    planned = 0
    for user in mail_selectors.recipients():
        last = mail_selectors.last_planned_at(user)
        if last is not None and now - last < MIN_GAP:
            continue
        wanted: list[tuple[Case, Checkpoint]] = []
        for case in mail_selectors.followed_cases(user):
            if case.pk not in targets:
                targets[case.pk] = mail_selectors.receipt_to_mail(case)
            checkpoint = targets[case.pk]
            if checkpoint is not None:
                wanted.append((case, checkpoint))
        planned += _plan_for(user, wanted, now)
    return planned


def _plan_for(user: Any, wanted: Sequence[tuple[Case, Checkpoint]], now: datetime) -> int:
    """One user's rows, all or none (a planner running beside us planned them otherwise)."""
    planned = 0
    try:
        with transaction.atomic():
            for case, checkpoint in wanted:
                rows = MailedReceipt.objects.filter(user=user, case=case)
                same = rows.filter(length=checkpoint.length, head=checkpoint.head)
                if same.filter(dropped_at__isnull=True).exists():
                    continue  # this head went (or is going) to them already
                if same.exists():
                    # Dropped before it went out (a share that ended and was given again, the
                    # preference switched off and on): planned again, the same row.
                    planned += same.update(dropped_at=None, planned_at=now, claimed_until=None)
                    continue
                # An older receipt of the case that did not go out yet is replaced by this
                # one, unless a worker is sending it right now.
                rows.filter(sent_at__isnull=True, dropped_at__isnull=True).filter(
                    Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
                ).update(dropped_at=now)
                MailedReceipt.objects.create(
                    user=user,
                    case=case,
                    checkpoint=checkpoint,
                    length=checkpoint.length,
                    head=checkpoint.head,
                    planned_at=now,
                )
                planned += 1
    except IntegrityError:
        return 0
    return planned


@dataclass(frozen=True)
class MailOutcome:
    receipts: int = 0
    # Rows of this user that another worker holds (or a dead one held), until then.
    held_until: datetime | None = None


@dataclass(frozen=True)
class SendRound:
    mails: int = 0
    receipts: int = 0
    # Users whose mail the mail server did not take: their rows wait for the retry.
    failed: tuple[int, ...] = field(default=())
    held_until: datetime | None = None


def send_due_receipt_mails() -> SendRound:
    """Send every planned receipt not sent yet: one mail per recipient."""
    mails = receipts = 0
    failed: list[int] = []
    held: list[datetime] = []
    for user_id in mail_selectors.users_with_receipts_due():
        try:
            outcome = send_receipt_mail(user_id=user_id)
        except MailUnavailable as exc:
            log.warning("receipt mail for user %s not sent: %s", user_id, exc)
            failed.append(user_id)
            continue
        if outcome.receipts:
            mails += 1
            receipts += outcome.receipts
        if outcome.held_until is not None:
            held.append(outcome.held_until)
    return SendRound(
        mails=mails, receipts=receipts, failed=tuple(failed), held_until=max(held, default=None)
    )


def send_receipt_mail(*, user_id: int) -> MailOutcome:
    """Claim the user's unsent receipts, mail them in one message, mark them sent. Raises
    MailUnavailable (the rows released for a retry) when the mail server does not take it."""
    now = timezone.now()
    due = MailedReceipt.objects.filter(
        user_id=user_id, sent_at__isnull=True, dropped_at__isnull=True
    )
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
    held_until = due.exclude(free).aggregate(until=Max("claimed_until"))["until"]
    token = secrets.token_hex(16)
    # One conditional UPDATE: of two workers at once, each row goes to one of them.
    claimed = due.filter(free).update(
        claimed_until=now + LEASE, claim_token=token, attempts=F("attempts") + 1
    )
    if not claimed:
        return MailOutcome(held_until=held_until)
    mine = MailedReceipt.objects.filter(claim_token=token, sent_at__isnull=True)
    rows = list(mine.select_related("case", "checkpoint").order_by("case__created_at", "id"))
    user = get_user_model().objects.select_related("locker_profile").filter(pk=user_id).first()
    wanted = user is not None and mail_selectors.still_wanted(user)
    keep = [row for row in rows if wanted and mail_selectors.follows(user, row.case_id)]
    gone = [row.pk for row in rows if row not in keep]
    if gone:
        # A share ended or the preference was switched off since planning: never sent.
        mine.filter(pk__in=gone).update(dropped_at=now, claimed_until=None)
    if not keep or user is None:
        return MailOutcome(held_until=held_until)
    message = _message(user, keep, now)
    try:
        message.send()
    except (OSError, smtplib.SMTPException) as exc:
        mine.update(claimed_until=None, claim_token="")
        raise MailUnavailable(exc.__class__.__name__) from exc
    mine.filter(pk__in=[row.pk for row in keep]).update(sent_at=timezone.now(), claimed_until=None)
    return MailOutcome(receipts=len(keep), held_until=held_until)


def _language(profile: Any) -> str:
    chosen = getattr(profile, "language", "")
    return chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _zone(profile: Any) -> ZoneInfo:
    try:
        return ZoneInfo(getattr(profile, "time_zone", "") or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def _case_label(case: Case, *, titles: bool) -> str:
    if titles and case.title:
        return case.title
    return gettext("case %(ref)s") % {"ref": str(case.pk)[:CASE_REF_CHARS]}


def _message(user: Any, rows: Sequence[MailedReceipt], now: datetime) -> EmailMessage:
    profile = getattr(user, "locker_profile", None)
    zone = _zone(profile)
    titles = bool(getattr(profile, "mail_case_titles", False))
    site = settings.LOCKER_PUBLIC_URL
    attachments = [receipt_file(row.checkpoint) for row in rows]
    with translation.override(_language(profile)):
        subject = gettext("Daily receipt, %(date)s") % {
            "date": now.astimezone(zone).strftime("%Y-%m-%d")
        }
        lines = [
            ngettext(
                "Attached: %(count)s receipt file (.json), for the case with new records since "
                "the last receipt mailed to you.",
                "Attached: %(count)s receipt files (.json), one for each case with new records "
                "since the last receipt mailed to you.",
                len(rows),
            )
            % {"count": len(rows)},
            "",
        ]
        for row, (name, _) in zip(rows, attachments, strict=True):
            anchor = checkpoint_anchor(row.checkpoint)
            when = anchor.attested_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if anchor else ""
            lines.append(
                ngettext(
                    "- %(case)s: %(count)s entry, time-stamped %(when)s (%(file)s)",
                    "- %(case)s: %(count)s entries, time-stamped %(when)s (%(file)s)",
                    row.length,
                )
                % {
                    "case": _case_label(row.case, titles=titles),
                    "count": row.length,
                    "when": f"{when} {zone.key}",
                    "file": name,
                }
            )
        lines += [
            "",
            gettext(
                "Each file is a signed receipt of a record as it stood at one moment: how many "
                "entries it had and a fingerprint of all of them, signed by the server and "
                "time-stamped by an independent time-stamp authority. It contains none of the "
                "records themselves."
            ),
            "",
            gettext(
                "Keep this mail, or save the files somewhere else: they are copies outside our "
                "server. If entries were ever removed or changed, a receipt shows it, and "
                "nobody who runs the server can take it back from your mailbox."
            ),
            "",
            gettext(
                "To check a receipt, upload it together with the case's export or dossier at "
                "%(verify)s; the case's owner can also add it on the case's receipts page. "
                "The file's format, and how to check it by hand, is in docs/chain-format.md "
                "(section “Anchors”) of this service's source code."
            )
            % {"verify": f"{site}{reverse('verify')}"},
            "",
            gettext(
                "You get this mail because you switched on daily receipts in your settings "
                "(%(settings)s); switch them off there."
            )
            % {"settings": f"{site}{reverse('preferences')}"},
        ]
    message = EmailMessage(
        subject,
        "\n".join(lines),
        None,
        [user.email],
        connection=get_connection(timeout=SMTP_TIMEOUT_S),
    )
    for name, data in attachments:
        message.attach(name, data, "application/json")
    return message
