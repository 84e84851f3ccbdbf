"""Read-only questions about shared cases: who may see a case, the lawyer's dashboard rows,
the review page's search, annotations and the access log in exportable shapes.
Nothing here writes; the writes are in services.py."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, F, Max, QuerySet, Value
from django.utils import timezone

from locker.core.names import account_name
from locker.models import (
    AccessLog,
    Annotation,
    Case,
    CaseVisit,
    Entry,
    Invitation,
    ProfessionalProfile,
    Share,
)
from locker.selectors import chain as stored_chain
from locker.selectors import evidence_text

# Paths the emails point to; the pages that serve them come with the lawyer's desk pages.
INVITATION_PATH = "/invitations/{token}/"
SHARED_CASES_PATH = "/shared/"


def active_share(case: Case, user: Any) -> Share | None:
    """The user's accepted, not ended share of the case, read fresh on every call: permissions
    are never cached, so an ended share stops working on the very next request."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return (
        Share.objects.filter(case=case, user=user, accepted_at__isnull=False, ended_at__isnull=True)
        .order_by("-accepted_at")
        .first()
    )


def is_reviewer(case: Case, user: Any) -> bool:
    share = active_share(case, user)
    return share is not None and share.role == Share.REVIEWER


def shared_cases_for(user: Any) -> QuerySet[Case]:
    """Cases shared with the user through an accepted share that has not ended."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Case.objects.none()
    return (
        Case.objects.filter(
            shares__user=user, shares__accepted_at__isnull=False, shares__ended_at__isnull=True
        )
        .exclude(owner=user)
        .distinct()
    )


def display_name(user: Any) -> str:
    """How a person is named to the other side of a share: their professional profile's name
    and firm if they have one, else their full name, else their username."""
    profile = ProfessionalProfile.objects.filter(user=user).first()
    if profile is not None:
        return f"{profile.name} ({profile.organisation})" if profile.organisation else profile.name
    return account_name(user)


def client_name(case: Case) -> str:
    """The client as they chose to be shown on the case, else their account's name."""
    if case.borrower_name:
        return case.borrower_name
    return account_name(case.owner)


def grantee_label(share: Share) -> str:
    """The grantee as the owner sees them: what the owner typed until the share is accepted
    (so that the answer does not reveal whether an address has an account), then the person."""
    if share.accepted_at is not None and share.user is not None:
        return display_name(share.user)
    return share.invited_as


@dataclass(frozen=True)
class DashboardRow:
    case_id: str
    title: str
    client: str
    lender: str
    role: str
    shared_at: datetime
    last_activity: datetime | None
    entries: int
    counts_by_kind: dict[str, int]
    chain_ok: bool
    chain_length: int
    first_bad_seq: int | None
    chain_problem: str | None
    # The worker checks the chain (a long one with no verified head cached): chain_ok is
    # False then, and means "not verified yet", not "broken".
    chain_checking: bool
    unread: int
    last_visited: datetime | None
    share_id: int


def dashboard_rows(user: Any) -> list[DashboardRow]:
    """One row per case shared with the user, most recent activity first. The chain status is
    the case badge's: hashes and signed checkpoints checked from the stored entries, cached per
    chain head for a few minutes (evidence bytes are re-hashed by the case's full check), so a
    tampered case shows as broken here too, and a desk of many long cases stays quick."""
    shares = (
        Share.objects.filter(user=user, accepted_at__isnull=False, ended_at__isnull=True)
        .exclude(case__owner=user)
        .select_related("case", "case__owner")
    )
    visits = {v.case_id: v.last_visited for v in CaseVisit.objects.filter(user=user)}
    rows = []
    for share in shares:
        case = share.case
        stats = Entry.objects.filter(case=case).aggregate(n=Count("id"), last=Max("recorded_at"))
        counts = {
            item["kind"]: item["n"]
            for item in Entry.objects.filter(case=case)
            .values("kind")
            .annotate(n=Count("id"))
            .order_by("kind")
        }
        visited = visits.get(case.id)
        unread_qs = Entry.objects.filter(case=case)
        if visited is not None:
            unread_qs = unread_qs.filter(recorded_at__gt=visited)
        badge = stored_chain.case_badge(case)
        report = badge.report
        rows.append(
            DashboardRow(
                case_id=str(case.id),
                title=case.title,
                client=client_name(case),
                lender=case.lender,
                role=share.role,
                shared_at=share.accepted_at or share.created_at,
                last_activity=stats["last"],
                entries=stats["n"],
                counts_by_kind=counts,
                chain_ok=report.ok,
                chain_length=report.length,
                first_bad_seq=report.first_bad_seq,
                chain_problem=report.problem,
                chain_checking=badge.checking,
                unread=unread_qs.count(),
                last_visited=visited,
                share_id=share.pk,
            )
        )
    rows.sort(key=lambda r: r.last_activity or r.shared_at, reverse=True)
    return rows


def search_entries(
    case: Case,
    *,
    text: str = "",
    kinds: Sequence[str] = (),
    tag: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Entry]:
    """The case's entries matching every filter given, newest first. `text` is the timeline's
    search (locker/selectors/evidence_text.py, `search`): each word in the entry's own text,
    corrections' changes included, or in the text read from one of its pictures."""
    entries = evidence_text.search(case, Entry.objects.filter(case=case), text)
    if kinds:
        entries = entries.filter(kind__in=list(kinds))
    if tag:
        # Tags are ASCII words from a fixed vocabulary, so matching the quoted word inside the
        # array's JSON text is exact on both databases.
        entries = entries.filter(body__tags__icontains=json.dumps(tag))
    if since is not None:
        entries = entries.filter(occurred_at__gte=since)
    if until is not None:
        entries = entries.filter(occurred_at__lte=until)
    return entries.order_by("-seq")


def unread_count(case: Case, user: Any) -> int:
    visit = CaseVisit.objects.filter(case=case, user=user).first()
    entries = Entry.objects.filter(case=case)
    if visit is not None:
        entries = entries.filter(recorded_at__gt=visit.last_visited)
    return entries.count()


def annotations_for(case: Case) -> QuerySet[Annotation]:
    return Annotation.objects.filter(case=case).select_related("author").order_by("created_at")


def annotation_record(annotation: Annotation) -> dict[str, Any]:
    return {
        "id": annotation.pk,
        "case": str(annotation.case_id),
        "entry_seq": annotation.entry_seq,
        "author": display_name(annotation.author),
        # In the reader's time zone with its offset (a spreadsheet shows the text as it is;
        # UTC there read as the wrong hour of the day).
        "created_at": timezone.localtime(annotation.created_at).isoformat(),
        "text": annotation.text,
    }


ANNOTATION_COLUMNS = ("id", "case", "entry_seq", "author", "created_at", "text")


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting with one of these is a formula in spreadsheet programs.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def annotations_csv(annotations: Iterable[Annotation]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ANNOTATION_COLUMNS)
    for annotation in annotations:
        record = annotation_record(annotation)
        writer.writerow([_csv_cell(record[column]) for column in ANNOTATION_COLUMNS])
    return out.getvalue()


def annotations_json(case: Case, annotations: Iterable[Annotation]) -> str:
    document = {
        "case": str(case.id),
        "note": "Reviewers' private annotations; not part of the case's evidence chain.",
        "annotations": [annotation_record(a) for a in annotations],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def access_log_for(case: Case) -> QuerySet[AccessLog]:
    return AccessLog.objects.filter(case=case).order_by("-at", "-id")


def access_log_until(case: Case, moment: datetime) -> QuerySet[AccessLog]:
    """The case's access log up to `moment`, oldest first: a dossier's access-log section
    stops at the dossier's request, so that rendering it again gives the same lines."""
    return AccessLog.objects.filter(case=case, at__lte=moment).order_by("at", "id")


def open_invitation(token: str) -> Invitation | None:
    """The invitation a raw token names, if it can still be accepted (unused, not expired,
    its share still open); None whatever the reason, so a page cannot tell them apart."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    return (
        Invitation.objects.filter(
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
            share__ended_at__isnull=True,
        )
        .select_related("share", "share__invited_by")
        .first()
    )


def pending_shares_for(user: Any) -> QuerySet[Share]:
    """Shares addressed to the user that they have not yet accepted or declined."""
    return (
        Share.objects.filter(user=user, accepted_at__isnull=True, ended_at__isnull=True)
        .exclude(case__owner=user)
        .select_related("invited_by")
        .order_by("-created_at")
    )


def has_shares(user: Any) -> bool:
    """Whether the user has any open share addressed to them (accepted or not): the cue to
    show them the way to their desk."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return _open_shares_to(user).exists()


def _open_shares_to(user: Any) -> QuerySet[Share]:
    return Share.objects.filter(user=user, ended_at__isnull=True).exclude(case__owner=user)


def with_viewer_has_shares(cases: QuerySet[Case], user: Any) -> QuerySet[Case]:
    """`cases`, each read with has_shares(user) (the same for every row), in the same
    statement: a query less for a page that reads a case anyway."""
    if user is None or not getattr(user, "is_authenticated", False):
        return cases.annotate(viewer_has_shares=Value(False))
    return cases.annotate(viewer_has_shares=Exists(_open_shares_to(user)))


def shares_of_case(case: Case) -> QuerySet[Share]:
    """Every share of the case, ended ones included, newest first (for its owner)."""
    return Share.objects.filter(case=case).select_related("case", "user").order_by("-created_at")


def share_of_case(case: Case, share_id: int) -> Share | None:
    return Share.objects.filter(pk=share_id, case=case).first()


def shares_received_by(user: Any) -> QuerySet[Share]:
    """The shares addressed to the user, pending, active and ended, newest first."""
    return Share.objects.filter(user=user).select_related("invited_by").order_by("-created_at")


def share_received_by(user: Any, share_id: int) -> Share | None:
    """The share with this id if it is addressed to the user; None otherwise."""
    return Share.objects.filter(pk=share_id, user=user).first()


def access_log_rows(case: Case) -> QuerySet[AccessLog, Any]:
    """The case's access log (newest first) as the API's rows, unevaluated for pagination."""
    return access_log_for(case).values("id", "action", "detail", "via", "ip", "at", who=F("actor"))


# The owner's sharing page.


def share_rows(case: Case) -> list[dict[str, Any]]:
    """Every share of the case, newest first, each with the grantee as the owner sees them."""
    shares = case.shares.select_related("user", "ended_by").order_by("-created_at")
    return [
        {"share": share, "label": grantee_label(share), "status": share.status} for share in shares
    ]
