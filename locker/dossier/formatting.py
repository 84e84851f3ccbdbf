"""How the dossier's templates put values into words: times, amounts of money, and what
stands for a value not given (in the active language: call under translation.override).
The names of kinds, tags and case facts come from locker.core.labels, as on the pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _

from locker.core.money import format_minor


def fmt_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


def fmt_money(minor: Any, currency: str | None) -> str:
    """An amount in minor units as the reader writes money in the active language, with
    Babel: "¥5,000.00" in Chinese, "CN¥5,000.00" in English (never the raw 500000)."""
    if minor is None or minor == "":
        return "—"
    if not currency:
        return format_minor(int(minor))
    locale = to_locale(get_language() or "en")
    return str(format_currency(Decimal(int(minor)) / 100, currency, locale=locale))


def money_in(currency: str | None) -> Callable[[int], str]:
    """fmt_money for one currency, for the wording of changed case facts."""
    return lambda minor: fmt_money(minor, currency)


def unknown() -> str:
    return _("not stated")
