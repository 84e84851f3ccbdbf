"""Money as the app stores it: integer minor units (fen, cents), never floats. Pure, so the
forms that read amounts and the template filter that prints them share one spelling."""

from __future__ import annotations


def format_minor(value: int, *, grouping: bool = True) -> str:
    """Minor units as major units with two decimals: 350050 -> "3,500.50"."""
    major, minor = divmod(value, 100)
    whole = f"{major:,}" if grouping else str(major)
    return f"{whole}.{minor:02d}"
