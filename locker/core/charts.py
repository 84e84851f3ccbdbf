"""Geometry for the case page's SVG pictures, from the figures in stats.py. The templates
(templates/locker/_charts.html) only place what is computed here, so the pictures need no
script and no chart library."""

from __future__ import annotations

from dataclasses import dataclass

from locker.core import stats

WIDTH = 360
DAYS_HEIGHT = 150
DAYS_TOP = 14
DAYS_BOTTOM = 20
MIN_DAY_SLOTS = 14
HOURS_HEIGHT = 120
HOURS_TOP = 14
HOURS_BOTTOM = 20


@dataclass(frozen=True)
class DayBar:
    x: float
    width: float
    calls_y: float
    calls_h: float
    messages_y: float
    messages_h: float
    label: str


@dataclass(frozen=True)
class DaysChart:
    bars: list[DayBar]
    peak: int
    peak_y: float
    first: str
    last: str
    last_x: float
    width: int = WIDTH
    height: int = DAYS_HEIGHT
    base_y: float = DAYS_HEIGHT - DAYS_BOTTOM


def days_chart(days: list[stats.DayCount]) -> DaysChart | None:
    if not days:
        return None
    peak = max(d.total for d in days) or 1
    plot_h = DAYS_HEIGHT - DAYS_TOP - DAYS_BOTTOM
    base = DAYS_HEIGHT - DAYS_BOTTOM
    # A short history keeps narrow bars (as if 14 days were shown) instead of one wide block.
    step = WIDTH / max(len(days), MIN_DAY_SLOTS)
    gap = min(2.0, step * 0.2)
    bars = []
    for index, day in enumerate(days):
        calls_h = plot_h * day.calls / peak
        messages_h = plot_h * day.messages / peak
        bars.append(
            DayBar(
                x=round(index * step + gap / 2, 2),
                width=round(step - gap, 2),
                calls_y=round(base - calls_h, 2),
                calls_h=round(calls_h, 2),
                messages_y=round(base - calls_h - messages_h, 2),
                messages_h=round(messages_h, 2),
                label=f"{day.day.isoformat()}: {day.calls} / {day.messages}",
            )
        )
    return DaysChart(
        bars=bars,
        peak=peak,
        peak_y=DAYS_TOP,
        first=days[0].day.strftime("%m-%d"),
        last=days[-1].day.strftime("%m-%d"),
        last_x=round(len(days) * step, 2),
    )


@dataclass(frozen=True)
class HourBar:
    hour: int
    x: float
    width: float
    y: float
    height: float
    count: int
    night: bool


@dataclass(frozen=True)
class HoursChart:
    bars: list[HourBar]
    night_total: int
    total: int
    peak: int
    step: float
    night_early_w: float
    night_late_x: float
    night_late_w: float
    width: int = WIDTH
    height: int = HOURS_HEIGHT
    base_y: float = HOURS_HEIGHT - HOURS_BOTTOM
    top_y: float = HOURS_TOP


def hours_chart(hours: list[int]) -> HoursChart | None:
    """One bar per hour of the day; the night hours sit on a shaded band."""
    total = sum(hours)
    if not total:
        return None
    peak = max(hours)
    step = WIDTH / 24
    base = HOURS_HEIGHT - HOURS_BOTTOM
    plot_h = base - HOURS_TOP
    bars = []
    for hour, count in enumerate(hours):
        height = plot_h * count / peak
        bars.append(
            HourBar(
                hour=hour,
                x=round(hour * step + 1.5, 2),
                width=round(step - 3, 2),
                y=round(base - height, 2),
                height=round(height, 2),
                count=count,
                night=hour < stats.NIGHT_BEFORE_HOUR or hour >= stats.NIGHT_FROM_HOUR,
            )
        )
    return HoursChart(
        bars=bars,
        night_total=sum(b.count for b in bars if b.night),
        total=total,
        peak=peak,
        step=step,
        night_early_w=round(stats.NIGHT_BEFORE_HOUR * step, 2),
        night_late_x=round(stats.NIGHT_FROM_HOUR * step, 2),
        night_late_w=round((24 - stats.NIGHT_FROM_HOUR) * step, 2),
    )
