"""The summary's charts: contacts per day (per week over longer periods) and by hour of
day, night-time in red."""

from __future__ import annotations

from django.utils.translation import gettext as _
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from locker.core import stats
from locker.dossier.data import Conduct
from locker.dossier.pdf_layout import DAY, FRAME_WIDTH, NIGHT, LayoutKit, para


def charts(kit: LayoutKit, conduct: Conduct) -> list[Flowable]:
    flow: list[Flowable] = []
    if conduct.per_day:
        flow += [
            para(_("Contacts per day (red: before 08:00 or after 21:00)"), kit.styles.h3),
            per_day_chart(kit, conduct),
        ]
    if conduct.contact_count:
        flow += [
            para(_("Contacts by hour of day (red: night-time)"), kit.styles.h3),
            per_hour_chart(kit, conduct),
        ]
    return flow


def _bar_chart(
    kit: LayoutKit, series: list[list[int]], labels: list[str], height: float
) -> tuple[Drawing, VerticalBarChart]:
    drawing = Drawing(FRAME_WIDTH, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 28, 22
    chart.width, chart.height = FRAME_WIDTH - 40, height - 34
    chart.data = series
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontName = kit.font
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.angle = 0 if len(labels) <= 24 else 90
    chart.categoryAxis.labels.boxAnchor = "n" if len(labels) <= 24 else "e"
    chart.valueAxis.labels.fontName = kit.font
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    top = max((sum(col) for col in zip(*series, strict=True)), default=1)
    chart.valueAxis.valueMax = max(1, top)
    chart.valueAxis.valueStep = max(1, -(-top // 5))
    chart.barSpacing = 0.5
    chart.groupSpacing = 1
    chart.bars.strokeWidth = 0
    drawing.add(chart)
    return drawing, chart


def per_day_chart(kit: LayoutKit, conduct: Conduct) -> Drawing:
    days = list(conduct.per_day.items())
    if len(days) > 62:  # weeks, so bars stay readable on paper
        weekly: dict[str, list[int]] = {}
        for day, (d, n) in days:
            label = f"{day.isocalendar().year}-W{day.isocalendar().week:02d}"
            bucket = weekly.setdefault(label, [0, 0])
            bucket[0] += d
            bucket[1] += n
        labels = list(weekly)
        values = list(weekly.values())
    else:
        labels = [day.strftime("%m-%d") for day, _counts in days]
        values = [[d, n] for _day, (d, n) in days]
    step = max(1, len(labels) // 31)
    shown = [label if i % step == 0 else "" for i, label in enumerate(labels)]
    drawing, chart = _bar_chart(
        kit, [[v[0] for v in values], [v[1] for v in values]], shown, 60 * mm
    )
    chart.categoryAxis.style = "stacked"
    chart.bars[0].fillColor = DAY
    chart.bars[1].fillColor = NIGHT
    return drawing


def per_hour_chart(kit: LayoutKit, conduct: Conduct) -> Drawing:
    hours = conduct.per_hour
    drawing, chart = _bar_chart(kit, [hours], [f"{h:02d}" for h in range(24)], 50 * mm)
    chart.bars[0].fillColor = DAY
    for hour in range(24):
        if hour < stats.NIGHT_BEFORE_HOUR or hour >= stats.NIGHT_FROM_HOUR:
            chart.bars[(0, hour)].fillColor = NIGHT
    drawing.add(Rect(FRAME_WIDTH - 90, 2, 6, 6, fillColor=NIGHT, strokeWidth=0))
    drawing.add(String(FRAME_WIDTH - 80, 2, _("night-time"), fontName=kit.font, fontSize=6))
    return drawing
