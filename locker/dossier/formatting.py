"""How the dossier's templates put values into words: times, amounts of money, and what
stands for a value not given (in the active language: call under translation.override).
The names of kinds, tags and case facts come from locker.core.labels, as on the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _


def fmt_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


def fmt_money(minor: Any, currency: str) -> str:
    if minor is None or minor == "":
        return "—"
    return f"{int(minor) // 100:,}.{int(minor) % 100:02d} {currency}"


def unknown() -> str:
    return _("not stated")
