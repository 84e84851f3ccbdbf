"""The access log as the owner reads it on "who has seen this case": a burst of rows (one
timeline opened fetches a picture of every file, one row each) folded into one line.

Only the page groups. The log itself keeps every access as its own row, and the API
(`GET /api/cases/{id}/access-log`) hands out the raw rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import ngettext

from locker.models import AccessLog

# Raw rows per page. Large enough that a burst rarely straddles two pages, small enough that a
# page stays light on a phone.
PAGE_SIZE = 200

# Neighbouring rows further apart than this are separate visits.
BURST_GAP = timedelta(minutes=10)

# Actions whose detail names a distinct thing (a file, a page), so a burst reads as "N files".
FILE_PICTURES = "view_file"
FILE_DOWNLOADS = "download"
PAGE_VIEWS = "view"


@dataclass(frozen=True)
class Item:
    at: datetime
    what: str


@dataclass
class LogLine:
    """One displayed line: a single row, or a burst of rows (newest first) by the same person,
    doing the same thing, the same way, from the same address."""

    rows: list[AccessLog]
    action: str = ""
    what: str = ""
    summary: str = ""
    items: list[Item] = field(default_factory=list)

    @property
    def log(self) -> AccessLog:
        return self.rows[0]

    @property
    def first_at(self) -> datetime:
        return self.rows[-1].at

    @property
    def last_at(self) -> datetime:
        return self.rows[0].at

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def is_burst(self) -> bool:
        return len(self.rows) > 1

    @property
    def same_day(self) -> bool:
        return timezone.localtime(self.first_at).date() == timezone.localtime(self.last_at).date()


def _key(row: AccessLog) -> tuple[object, ...]:
    return (row.user_id, row.action, row.via, row.ip)


def bursts(rows: Iterable[AccessLog], gap: timedelta = BURST_GAP) -> list[list[AccessLog]]:
    """Consecutive rows (in the order given, newest first) with the same person, action, way
    and address, each within `gap` of its neighbour, as one list; every other row alone."""
    groups: list[list[AccessLog]] = []
    for row in rows:
        if groups:
            previous = groups[-1][-1]
            if _key(previous) == _key(row) and abs(previous.at - row.at) <= gap:
                groups[-1].append(row)
                continue
        groups.append([row])
    return groups


def summary(action: str, label: str, rows: list[AccessLog]) -> str:
    """What a burst did, in words: "looked at pictures of 14 files", counting distinct files
    or pages where the action names one, otherwise the number of times."""
    distinct = len({row.detail for row in rows})
    if action == FILE_PICTURES:
        return ngettext(
            "looked at the picture of %(count)s file",
            "looked at pictures of %(count)s files",
            distinct,
        ) % {"count": distinct}
    if action == FILE_DOWNLOADS:
        return ngettext(
            "downloaded %(count)s original file",
            "downloaded %(count)s original files",
            distinct,
        ) % {"count": distinct}
    if action == PAGE_VIEWS:
        return ngettext("looked at %(count)s page", "looked at %(count)s pages", distinct) % {
            "count": distinct
        }
    return ngettext("%(action)s, %(count)s time", "%(action)s, %(count)s times", len(rows)) % {
        "action": label,
        "count": len(rows),
    }


def log_lines(
    rows: Iterable[AccessLog],
    *,
    action_label: Callable[[str], str],
    describe: Callable[[str], str],
) -> list[LogLine]:
    """The page's lines: `action_label` words an action, `describe` a row's detail."""
    lines = []
    for group in bursts(rows):
        head = group[0]
        label = action_label(head.action)
        line = LogLine(rows=group, action=label, what=describe(head.detail))
        if line.is_burst:
            line.summary = summary(head.action, label, group)
            line.items = [Item(at=row.at, what=describe(row.detail)) for row in group]
        lines.append(line)
    return lines
