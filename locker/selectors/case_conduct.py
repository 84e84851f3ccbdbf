"""The case page's conduct panel as the page shows it (docs/analysis.md, "On the case
page"): read from the CaseConduct row the worker keeps (locker/services/case_conduct.py),
which the case page fetches with the case itself (select_related), so the panel costs the
page no query and no work that grows with the case."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import translation

from locker.core import conduct, labels
from locker.models import Case, CaseConduct


@dataclass(frozen=True)
class ConductPanel:
    figures: dict[str, Any] | None  # core.conduct.compact's; None: being prepared
    seq: int  # the record the figures go up to
    updating: bool  # the chain has grown (or changed) since: a computation is on its way
    failed: bool  # the computation at the current head failed
    zone: str  # where the days and nights were counted, as a person reads it

    @property
    def empty(self) -> bool:
        """Nothing to show: no contact, no suggestion, nobody else reached."""
        f = self.figures
        return (
            f is not None
            and not self.updating
            and not (f["contacts"] or f["suggestions"] or f["contacts_reached"])
        )

    @property
    def more_numbers(self) -> int:
        f = self.figures or {}
        return int(f.get("numbers_total", 0)) - len(f.get("numbers", []))


def conduct_panel(case: Case, head: tuple[int, str]) -> ConductPanel | None:
    """The panel of `case` at chain head `head`; None while the case has no entry. Reads
    the row loaded with the case (Case.objects.select_related("conduct")), else one query."""
    if head[0] == 0:
        return None
    try:
        row: CaseConduct | None = case.conduct
    except CaseConduct.DoesNotExist:
        row = None
    if row is None:
        return ConductPanel(figures=None, seq=0, updating=True, failed=False, zone="")
    figures = row.figures
    if not isinstance(figures, dict) or figures.get("v") != conduct.COMPACT_VERSION:
        figures = None
    zone = ""
    if figures is not None and row.time_zone and row.computed_at is not None:
        zone = labels.time_zone_label(
            row.time_zone, language=translation.get_language() or "en", at=row.computed_at
        )
    return ConductPanel(
        figures=figures,
        seq=row.seq,
        updating=(row.seq, row.head) != tuple(head),
        failed=bool(row.error) and row.failed_seq == head[0],
        zone=zone,
    )
