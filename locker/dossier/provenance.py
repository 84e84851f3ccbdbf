"""Where each record comes from, as every dossier shows it beside the record and on its
exhibit pages: who made it (the borrower, a contact through their link, an automatic
source), the time it claims (when it happened, as its author said), the time the server
recorded it, and the time a time-stamp authority (RFC 3161) vouches it existed by.
Plain text in the active language (call under translation.override)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from locker.core import labels
from locker.dossier.data import DossierData, Row
from locker.dossier.formatting import fmt_time


@dataclass(frozen=True)
class Provenance:
    author: str
    claimed: str  # "not stated" when the author gave no time
    recorded: str
    # None: no time-stamp authority has vouched for anything of this case, so the dossier
    # says so once (verification page) rather than on every row.
    attested: str | None
    attested_by: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """Labelled lines, for an exhibit's caption."""
        out = [
            _("By: %(author)s") % {"author": self.author},
            _("Claimed time: %(when)s") % {"when": self.claimed},
            _("Recorded: %(when)s") % {"when": self.recorded},
        ]
        if self.attested is not None:
            out.append(_("Time-stamp (TSA): %(when)s") % {"when": self.attested})
        return out


def record_author(data: DossierData, row: Row) -> str:
    """Who made the record, worded as on the pages (locker.core.labels.author_label)."""
    return labels.author_label(
        row.entry.get("author", ""), body=row.body, owner_id=data.dossier.case.owner_id
    )


def not_attested_text() -> str:
    return _("not yet time-stamped")


def provenance(data: DossierData, row: Row) -> Provenance:
    report = data.attestation
    attested: str | None = None
    attested_by: tuple[str, ...] = ()
    if data.time_stamped or (report is not None and report.attested_length):
        span = report.range_of(row.seq) if report is not None else None
        if span is None or span.attested_at is None:
            attested = not_attested_text()
        else:
            attested = fmt_time(span.attested_at.astimezone(data.zone))
            attested_by = span.attested_by
    return Provenance(
        author=record_author(data, row),
        claimed=fmt_time(row.occurred) if row.occurred else _("not stated"),
        recorded=fmt_time(row.recorded),
        attested=attested,
        attested_by=attested_by,
    )


def provenance_by_seq(data: DossierData) -> dict[int, Provenance]:
    return {row.seq: provenance(data, row) for row in data.rows}
