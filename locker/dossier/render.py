"""Layout of a dossier with reportlab platypus: the template's sections, the charts, the
timeline table, evidence pages, and the verification page, with "page n of N" and a Bates
number on every page.

All text that reaches a Paragraph goes through `para()`, which escapes it: user text can
never become reportlab markup (CVE-2023-33733 showed where that leads)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any
from xml.sax.saxutils import escape

import qrcode
from django.utils.translation import gettext as _
from reportlab import rl_config
from reportlab.graphics import shapes
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    LongTable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from locker.core import stats
from locker.dossier import templates as tpl
from locker.dossier.data import DossierData, Exhibit, is_night, row_party, row_summary
from locker.dossier.images import PreparedImage
from locker.infra import fonts
from locker.selectors import access_wording

# Plain binary streams: ASCII85 costs ~2.5 s per 50 screenshots and 25% more bytes.
rl_config.useA85 = 0

PAGE = A4
MARGIN = 16 * mm
FRAME_WIDTH = PAGE[0] - 2 * MARGIN
FRAME_HEIGHT = PAGE[1] - 2 * MARGIN - 12 * mm
BATES_PREFIX = "EL-"
MACHINE_LINE_PREFIX = "EL-CHAIN-HEAD"
NIGHT = colors.HexColor("#c62828")
DAY = colors.HexColor("#607d8b")
GRID = colors.HexColor("#b0bec5")
HEADER_BG = colors.HexColor("#eceff1")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


def bates(page: int) -> str:
    return f"{BATES_PREFIX}{page:06d}"


@dataclass(frozen=True)
class Styles:
    body: ParagraphStyle
    small: ParagraphStyle
    lead: ParagraphStyle
    h1: ParagraphStyle
    h2: ParagraphStyle
    h3: ParagraphStyle
    cell: ParagraphStyle
    cell_head: ParagraphStyle
    tiny: ParagraphStyle


def make_styles() -> Styles:
    font = fonts.register_reportlab_font()

    def style(name: str, size: float, leading: float, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading, **kw)

    return Styles(
        body=style("body", 9.5, 13.5, spaceAfter=4),
        small=style("small", 8, 11, textColor=colors.HexColor("#455a64"), spaceAfter=3),
        lead=style("lead", 11, 15, spaceAfter=8),
        # Headings stay on the page of what they introduce.
        h1=style("h1", 18, 23, spaceAfter=10, textColor=colors.HexColor("#1a237e"), keepWithNext=1),
        h2=style(
            "h2",
            14,
            18,
            spaceBefore=4,
            spaceAfter=6,
            textColor=colors.HexColor("#1a237e"),
            keepWithNext=1,
        ),
        h3=style(
            "h3",
            11,
            14,
            spaceBefore=6,
            spaceAfter=3,
            textColor=colors.HexColor("#283593"),
            keepWithNext=1,
        ),
        cell=style("cell", 7.5, 9.5),
        cell_head=style("cell_head", 7.5, 9.5, textColor=colors.HexColor("#263238")),
        tiny=style("tiny", 6.5, 8.5, textColor=colors.HexColor("#37474f")),
    )


def para(text: Any, style: ParagraphStyle, *, breakable: bool = False) -> Paragraph:
    """A Paragraph of literal text: escaped, line breaks kept. `breakable` lets long tokens
    such as hashes wrap anywhere."""
    value = "" if text is None else str(text)
    markup = escape(value).replace("\n", "<br/>")
    if breakable or _CJK.search(value):
        style = ParagraphStyle(f"{style.name}-cjk", parent=style, wordWrap="CJK")
    return Paragraph(markup, style)


class Anchor(Flowable):
    """Records the page it lands on (for the exhibit index's Bates numbers)."""

    def __init__(self, key: str, refs: dict[str, int]) -> None:
        super().__init__()
        self.key, self.refs = key, refs
        self.width = self.height = 0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.refs.setdefault(self.key, self.canv.getPageNumber())


class BatesRef(Flowable):
    """The Bates number of the page `key`'s Anchor lands on, where that page may come later
    in the document: it takes the place of a one-line Paragraph in `style` and leaves the
    text to the canvas, which draws it in save(), once every Anchor has recorded its page."""

    def __init__(self, key: str, style: ParagraphStyle) -> None:
        super().__init__()
        self.key, self.style = key, style

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        # The size the Paragraph would take, so the table lays out the same.
        self.width, self.height = available_width, self.style.leading
        return self.width, self.height

    def draw(self) -> None:
        # Where a Paragraph puts its first baseline (rl_config.paraFontSizeHeightOffset).
        x, y = self.canv.absolutePosition(0, self.height - self.style.fontSize)
        self.canv.page_refs.append((self.key, x, y, self.style))


class MachineLine(Flowable):
    """One unbroken line of ASCII the verifier reads back from the page content."""

    def __init__(self, text: str, font: str) -> None:
        super().__init__()
        self.text, self.font = text, font

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return available_width, 10

    def draw(self) -> None:
        self.canv.setFont(self.font, 6.5)
        self.canv.setFillColor(colors.HexColor("#37474f"))
        self.canv.drawString(0, 2, self.text)


def machine_line(case: str, length: int, head: str) -> str:
    return f"{MACHINE_LINE_PREFIX} case={case} length={length} head={head}"


def _numbered_canvas(
    header_left: str,
    header_right: str,
    footer_right: str,
    page_label: Callable[[int, int], str],
    font: str,
    on_page: Callable[[int], None],
    refs: Mapping[str, int],
) -> type[Canvas]:
    class NumberedCanvas(Canvas):
        """Defers the page furniture until the page count is known, and the BatesRefs
        until every Anchor has recorded its page (`refs`)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # Every font in the file embedded: no standard Helvetica as the starting font.
            kwargs["initialFontName"] = kwargs.get("initialFontName") or font
            super().__init__(*args, **kwargs)
            self._saved: list[dict[str, Any]] = []
            self.page_refs: list[tuple[str, float, float, ParagraphStyle]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._saved.append(dict(self.__dict__))
            # The saved copy is shallow: the next page needs a list of its own.
            self.page_refs = []
            on_page(len(self._saved))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved)
            for state in self._saved:
                self.__dict__.update(state)
                self._furniture(total)
                self._bates_refs()
                super().showPage()
            self._saved.clear()
            super().save()

        def _furniture(self, total: int) -> None:
            page = self.getPageNumber()
            width, height = PAGE
            self.saveState()
            self.setFont(font, 7)
            self.setFillColor(colors.HexColor("#546e7a"))
            self.drawString(MARGIN, height - 10 * mm, header_left[:90])
            self.drawRightString(width - MARGIN, height - 10 * mm, header_right[:70])
            self.setStrokeColor(GRID)
            self.line(MARGIN, height - 11.5 * mm, width - MARGIN, height - 11.5 * mm)
            self.line(MARGIN, 11.5 * mm, width - MARGIN, 11.5 * mm)
            self.setFont(font, 8)
            self.setFillColor(colors.black)
            self.drawString(MARGIN, 7.5 * mm, bates(page))
            self.drawCentredString(width / 2, 7.5 * mm, page_label(page, total))
            self.setFont(font, 6.5)
            self.drawRightString(width - MARGIN, 7.5 * mm, footer_right)
            self.restoreState()

        def _bates_refs(self) -> None:
            if not self.page_refs:
                return
            self.saveState()
            for key, x, y, style in self.page_refs:
                page = refs.get(key)
                self.setFont(style.fontName, style.fontSize)
                self.setFillColor(style.textColor)
                self.drawString(x, y, bates(page) if page else "…")
            self.restoreState()

    return NumberedCanvas


class Renderer:
    def __init__(
        self,
        data: DossierData,
        images: dict[str, PreparedImage],
        audio_durations: dict[str, int | None],
        progress: Callable[[float], None] | None = None,
    ) -> None:
        self.data = data
        self.images = images
        self.audio_durations = audio_durations
        self.progress = progress or (lambda fraction: None)
        self.s = make_styles()
        self.font = fonts.register_reportlab_font()
        # Charts start from this state: without it they set (unembedded) Helvetica.
        shapes.STATE_DEFAULTS["fontName"] = self.font
        self.refs: dict[str, int] = {}
        logged = len(data.access_log.rows) if data.access_log is not None else 0
        self.expected_pages = max(
            4,
            6
            + len(data.rows) // 28
            + (len([e for e in data.exhibits if e.is_image]) + 1) // 2
            + logged // 40,
        )

    # -- blocks ------------------------------------------------------------------------

    def table_style(self, commands: list[tuple[Any, ...]]) -> TableStyle:
        # A table sets its cell font even around Paragraphs: keep it the embedded one.
        return TableStyle([("FONTNAME", (0, 0), (-1, -1), self.font), *commands])

    def grid(
        self,
        header: list[str],
        rows: list[list[Any]],
        widths: list[float],
        *,
        long: bool = False,
        zebra: bool = True,
    ) -> Table:
        body = [[para(h, self.s.cell_head) for h in header]]
        for row in rows:
            # A list is a cell of several flowables (an Anchor and its label), not text.
            body.append(
                [
                    cell if isinstance(cell, Flowable | list) else para(cell, self.s.cell)
                    for cell in row
                ]
            )
        cls = LongTable if long else Table
        table = cls(body, colWidths=[w * FRAME_WIDTH for w in widths], repeatRows=1)
        commands: list[tuple[Any, ...]] = [
            ("BACKGROUND", (0, 0), (-1, 0), HEADER_BG),
            ("GRID", (0, 0), (-1, -1), 0.3, GRID),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
        if zebra:
            commands.append(("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, "#f7f9fa"]))
        table.setStyle(self.table_style(commands))
        return table

    def key_values(self, items: list[tuple[str, str]]) -> Table:
        body = [
            [para(k, self.s.cell_head), para(v, self.s.cell, breakable=len(str(v)) > 40)]
            for k, v in items
        ]
        table = Table(body, colWidths=[0.3 * FRAME_WIDTH, 0.7 * FRAME_WIDTH])
        table.setStyle(
            self.table_style(
                [
                    ("GRID", (0, 0), (-1, -1), 0.3, GRID),
                    ("BACKGROUND", (0, 0), (0, -1), HEADER_BG),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        return table

    def block(self, block: tpl.Block) -> list[Flowable]:
        if isinstance(block, tpl.Para):
            return [para(block.text, getattr(self.s, block.style))]
        if isinstance(block, tpl.KeyValues):
            # A few facts read as one block: never leave a row or two on the next page.
            return [KeepTogether([self.key_values(block.items)]), Spacer(1, 4)]
        if isinstance(block, tpl.Bullets):
            return [para(f"• {item}", self.s.body) for item in block.items]
        if isinstance(block, tpl.Grid):
            return [self.grid(block.header, block.rows, block.widths), Spacer(1, 4)]
        return getattr(self, f"marker_{block.name}")()

    # -- markers -----------------------------------------------------------------------

    def marker_charts(self) -> list[Flowable]:
        conduct = self.data.conduct
        flow: list[Flowable] = []
        if conduct.per_day:
            flow += [
                para(_("Contacts per day (red: before 08:00 or after 21:00)"), self.s.h3),
                self.per_day_chart(),
            ]
        if conduct.contact_count:
            flow += [
                para(_("Contacts by hour of day (red: night-time)"), self.s.h3),
                self.per_hour_chart(),
            ]
        return flow

    def _bar_chart(self, series: list[list[int]], labels: list[str], height: float) -> Drawing:
        drawing = Drawing(FRAME_WIDTH, height)
        chart = VerticalBarChart()
        chart.x, chart.y = 28, 22
        chart.width, chart.height = FRAME_WIDTH - 40, height - 34
        chart.data = series
        chart.categoryAxis.categoryNames = labels
        chart.categoryAxis.labels.fontName = self.font
        chart.categoryAxis.labels.fontSize = 6
        chart.categoryAxis.labels.angle = 0 if len(labels) <= 24 else 90
        chart.categoryAxis.labels.boxAnchor = "n" if len(labels) <= 24 else "e"
        chart.valueAxis.labels.fontName = self.font
        chart.valueAxis.labels.fontSize = 6
        chart.valueAxis.valueMin = 0
        top = max((sum(col) for col in zip(*series, strict=True)), default=1)
        chart.valueAxis.valueMax = max(1, top)
        chart.valueAxis.valueStep = max(1, -(-top // 5))
        chart.barSpacing = 0.5
        chart.groupSpacing = 1
        chart.bars.strokeWidth = 0
        drawing.add(chart)
        self._chart = chart
        return drawing

    def per_day_chart(self) -> Drawing:
        days = list(self.data.conduct.per_day.items())
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
        drawing = self._bar_chart([[v[0] for v in values], [v[1] for v in values]], shown, 60 * mm)
        self._chart.categoryAxis.style = "stacked"
        self._chart.bars[0].fillColor = DAY
        self._chart.bars[1].fillColor = NIGHT
        return drawing

    def per_hour_chart(self) -> Drawing:
        hours = self.data.conduct.per_hour
        drawing = self._bar_chart([hours], [f"{h:02d}" for h in range(24)], 50 * mm)
        self._chart.bars[0].fillColor = DAY
        for hour in range(24):
            if hour < stats.NIGHT_BEFORE_HOUR or hour >= stats.NIGHT_FROM_HOUR:
                self._chart.bars[(0, hour)].fillColor = NIGHT
        drawing.add(Rect(FRAME_WIDTH - 90, 2, 6, 6, fillColor=NIGHT, strokeWidth=0))
        drawing.add(String(FRAME_WIDTH - 80, 2, _("night-time"), fontName=self.font, fontSize=6))
        return drawing

    def marker_timeline(self) -> list[Flowable]:
        header = [
            _("Seq"),
            _("Time (claimed / recorded)"),
            _("Kind"),
            _("Number or channel"),
            _("Summary"),
            _("Tags"),
            _("Exhibits"),
            _("Hash"),
        ]
        rows = []
        for row in self.data.rows:
            claimed = tpl.fmt_time(row.occurred) if row.occurred else _("not stated")
            time_cell = f"{claimed}\n{tpl.fmt_time(row.recorded)}"
            rows.append(
                [
                    str(row.seq),
                    time_cell,
                    tpl.kind_label(row.kind),
                    row_party(row),
                    row_summary(row),
                    ", ".join(tpl.tag_label(t) for t in row.tags),
                    " ".join(e.label for e in row.exhibits),
                    para(row.hash[:12], self.s.tiny, breakable=True),
                ]
            )
        if not rows:
            return [para(_("No records in the chosen range."), self.s.body)]
        omitted = self.data.omitted
        note = (
            _(
                "%(omitted)d records outside the chosen dates or kinds are left out; their hashes "
                "are kept in the embedded chain."
            )
            % {"omitted": omitted}
            if omitted
            else _("All records of the case are shown.")
        )
        table = self.grid(header, rows, [0.05, 0.13, 0.08, 0.12, 0.34, 0.11, 0.07, 0.10], long=True)
        night_rows = [
            ("TEXTCOLOR", (1, i + 1), (1, i + 1), NIGHT)
            for i, row in enumerate(self.data.rows)
            if row.kind in ("call", "message", "contact_report") and is_night(row.when)
        ]
        if night_rows:
            table.setStyle(TableStyle(night_rows))
        return [para(note, self.s.small), table]

    def marker_statements(self) -> list[Flowable]:
        flow: list[Flowable] = []
        for row in self.data.rows:
            full = row_summary(row, limit=None)
            shown_in_full = row.kind in ("contact_report", "note") or (
                row.kind in ("message", "call") and len(full) > 280
            )
            if not shown_in_full or not full:
                continue
            title = f"#{row.seq} · {tpl.kind_label(row.kind)} · {tpl.fmt_time(row.when)}"
            flow.append(KeepTogether([para(title, self.s.h3)]))
            flow.append(para(full, self.s.body))
        return flow or [
            para(_("There are no statements or notes in the chosen range."), self.s.small)
        ]

    def exhibit_caption(self, exhibit: Exhibit, extra: str = "") -> Paragraph:
        text = (
            f"{exhibit.label} · #{exhibit.seq} · {exhibit.name}\n"
            f"SHA-256 {exhibit.sha256}\n{exhibit.media_type}, {exhibit.size:,} B{extra}"
        )
        return para(text, self.s.tiny, breakable=True)

    def marker_evidence(self) -> list[Flowable]:
        exhibits = self.data.exhibits
        if not exhibits:
            return [para(_("No evidence files in the chosen range."), self.s.small)]
        flow: list[Flowable] = [
            para(
                _(
                    "Images are scaled to print resolution; the original files, byte for byte, "
                    "are in the case's export bundle under the SHA-256 shown."
                ),
                self.s.small,
            )
        ]
        cells: list[list[Flowable]] = []
        others: list[Exhibit] = []
        cell_width = FRAME_WIDTH / 2 - 6
        image_height = FRAME_HEIGHT - 45 * mm
        for exhibit in exhibits:
            prepared = self.images.get(exhibit.sha256) if exhibit.is_image else None
            if prepared is None or prepared.path is None:
                others.append(exhibit)
                continue
            scale = min(cell_width / prepared.width, image_height / prepared.height)
            picture = Image(
                str(prepared.path), width=prepared.width * scale, height=prepared.height * scale
            )
            extra = "" if prepared.matches else "\n" + _("WARNING: stored bytes differ")
            cells.append(
                [Anchor(exhibit.label, self.refs), picture, self.exhibit_caption(exhibit, extra)]
            )
        if cells:
            pairs = [cells[i : i + 2] for i in range(0, len(cells), 2)]
            body = [pair + ([[Spacer(1, 1)]] if len(pair) == 1 else []) for pair in pairs]
            table = LongTable(body, colWidths=[FRAME_WIDTH / 2] * 2)
            table.setStyle(
                self.table_style(
                    [
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                        ("BOX", (0, 0), (-1, -1), 0.3, GRID),
                        ("INNERGRID", (0, 0), (-1, -1), 0.3, GRID),
                    ]
                )
            )
            flow.append(table)
        if others:
            rows = []
            for exhibit in others:
                if exhibit.is_audio:
                    seconds = self.audio_durations.get(exhibit.sha256)
                    detail = (
                        _("duration %(m)d:%(s)02d") % {"m": seconds // 60, "s": seconds % 60}
                        if seconds is not None
                        else _("duration unknown")
                    )
                elif exhibit.is_image:
                    detail = _("image that cannot be displayed here")
                else:
                    detail = _("file not displayed; see the export bundle")
                rows.append(
                    [
                        [Anchor(exhibit.label, self.refs), para(exhibit.label, self.s.cell)],
                        f"#{exhibit.seq}",
                        exhibit.name,
                        f"{exhibit.media_type}\n{exhibit.size:,} B\n{detail}",
                        para(exhibit.sha256, self.s.tiny, breakable=True),
                    ]
                )
            flow += [
                Spacer(1, 6),
                para(_("Audio recordings and other files"), self.s.h3),
                self.grid(
                    [_("Exhibit"), _("Seq"), _("File"), _("Type, size, duration"), "SHA-256"],
                    rows,
                    [0.08, 0.07, 0.25, 0.22, 0.38],
                    long=True,
                ),
            ]
        return flow

    def marker_exhibit_index(self) -> list[Flowable]:
        if not self.data.exhibits:
            return [para(_("No evidence files in the chosen range."), self.s.small)]
        rows = []
        for exhibit in self.data.exhibits:
            rows.append(
                [
                    exhibit.label,
                    BatesRef(exhibit.label, self.s.cell),
                    f"#{exhibit.seq}",
                    exhibit.name,
                    f"{exhibit.media_type}, {exhibit.size:,} B",
                    para(exhibit.sha256, self.s.tiny, breakable=True),
                ]
            )
        return [
            self.grid(
                [_("Exhibit"), _("Bates"), _("Seq"), _("File"), _("Type and size"), "SHA-256"],
                rows,
                [0.07, 0.11, 0.06, 0.22, 0.18, 0.36],
                long=True,
            )
        ]

    def marker_access_log(self) -> list[Flowable]:
        part = self.data.access_log
        zone = self.data.dossier.time_zone
        until = f"{part.until:%Y-%m-%d %H:%M:%S}" if part is not None else "—"
        if part is None or not part.rows:
            return [
                para(
                    _("Nobody other than the owner opened the case up to %(until)s (%(zone)s).")
                    % {"until": until, "zone": zone},
                    self.s.body,
                )
            ]
        rows = [
            [
                f"{row.at.astimezone(self.data.zone):%Y-%m-%d %H:%M:%S}",
                row.actor,
                access_wording.what(row, part.file_names),
                access_wording.via_label(row.via),
                para(row.ip or "—", self.s.tiny, breakable=True),
            ]
            for row in part.rows
        ]
        note = _("Accesses up to %(until)s: %(count)d. Times are in %(zone)s.") % {
            "count": len(rows),
            "until": until,
            "zone": zone,
        }
        return [
            para(note, self.s.small),
            self.grid(
                [_("When"), _("Who"), _("What"), _("Via"), _("IP address")],
                rows,
                [0.15, 0.19, 0.41, 0.12, 0.13],
                long=True,
            ),
        ]

    def marker_verification(self) -> list[Flowable]:
        data = self.data
        checkpoint = data.checkpoint["checkpoint"]
        url = data.dossier.verify_url
        items = [
            (_("Case id"), checkpoint["case"]),
            (_("Chain length"), str(checkpoint["length"])),
            (_("Head hash (SHA-256 of the last record)"), checkpoint["head"]),
            (_("Checkpoint signed at (UTC)"), checkpoint["signed_at"]),
            (_("Checkpoint signature (ECDSA P-256, base64)"), data.checkpoint["signature"]),
            (_("Signer"), data.signer_subject),
            (_("Signer certificate fingerprint (SHA-256)"), data.signer_fingerprint),
            (_("Embedded files"), "entries.jsonl, checkpoint.json"),
            (_("Records shown / omitted"), f"{len(data.rows)} / {data.omitted}"),
        ]
        steps = [
            _(
                "Open this PDF in a reader that shows signatures (Adobe Reader, or pdfsig from "
                "poppler): the signature must be valid and cover the whole document. Any change "
                "to the file breaks it."
            ),
            _(
                "Upload the PDF to the verify page (QR code below) or run `python manage.py "
                "verify_bundle dossier.pdf` on the instance: it checks the signature, the "
                "embedded chain and that this instance signed the head."
            ),
            _(
                "Or check it yourself: take the attached entries.jsonl; each line's entry, "
                'serialised as canonical JSON (RFC 8785), must hash (SHA-256) to its "hash"; '
                "each record's \"prev\" must equal the previous record's hash (the first: 64 "
                "zeros); the last hash must equal the head hash above and in checkpoint.json."
            ),
            _(
                "Every exhibit's SHA-256 is printed beside it; the original file, from the "
                "export bundle, must hash to the same value."
            ),
        ]
        flow: list[Flowable] = [
            self.key_values(items),
            Spacer(1, 6),
            para(_("How to verify"), self.s.h3),
        ]
        flow += [para(f"{i}. {step}", self.s.body) for i, step in enumerate(steps, start=1)]
        if url:
            flow += [Spacer(1, 4), self.qr_code(url), para(url, self.s.small)]
        flow += [
            Spacer(1, 4),
            MachineLine(
                machine_line(checkpoint["case"], checkpoint["length"], checkpoint["head"]),
                self.font,
            ),
        ]
        return flow

    def qr_code(self, url: str) -> Image:
        code = qrcode.QRCode(
            border=2, box_size=4, error_correction=qrcode.constants.ERROR_CORRECT_M
        )
        code.add_data(url)
        code.make(fit=True)
        buffer = io.BytesIO()
        code.make_image().save(buffer)
        buffer.seek(0)
        image = Image(buffer, width=32 * mm, height=32 * mm)
        image.hAlign = "LEFT"
        return image

    # -- document ----------------------------------------------------------------------

    def story(self) -> list[Flowable]:
        flow: list[Flowable] = []
        for index, section in enumerate(tpl.sections(self.data)):
            if section.new_page and index:
                flow.append(PageBreak())
            style = self.s.h1 if index == 0 else self.s.h2
            # Headings travel with the first thing under them (reportlab's keepWithNext does
            # not join a heading to a KeepTogether, so group them here).
            heading: list[Flowable] = [para(section.title, style)]
            for block in section.blocks:
                parts = self.block(block)
                if isinstance(block, tpl.Para) and block.style in ("h2", "h3"):
                    heading += parts
                    continue
                if heading and parts:
                    flow.append(KeepTogether(heading + parts[:1]))
                    parts, heading = parts[1:], []
                flow += parts
            flow += heading
        return flow

    def build(self, out: IO[bytes]) -> int:
        """Lay out the document into `out`; returns the number of pages."""
        data = self.data
        checkpoint = data.checkpoint["checkpoint"]
        counter = {"pages": 0}

        def on_page(page: int) -> None:
            counter["pages"] = page
            self.progress(min(1.0, page / self.expected_pages))

        canvas_class = _numbered_canvas(
            header_left=str(data.case_facts.get("title") or ""),
            header_right=tpl.template_title(data.dossier.template),
            footer_right=f"head {checkpoint['head'][:16]}…",
            page_label=lambda n, total: _("page %(n)d of %(total)d") % {"n": n, "total": total},
            font=self.font,
            on_page=on_page,
            refs=self.refs,
        )
        doc = SimpleDocTemplate(
            out,
            pagesize=PAGE,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN + 2 * mm,
            bottomMargin=MARGIN,
            title=tpl.template_title(data.dossier.template),
            author="Evidence Locker",
            subject=f"case {checkpoint['case']} length {checkpoint['length']} "
            f"head {checkpoint['head']}",
            creator="Evidence Locker",
            lang=data.dossier.language,
            initialFontName=self.font,
        )
        doc.build(self.story(), canvasmaker=canvas_class)
        return counter["pages"]


def render_pdf(
    data: DossierData,
    out: IO[bytes],
    *,
    images: dict[str, PreparedImage],
    audio_durations: dict[str, int | None],
    progress: Callable[[float], None] | None = None,
) -> int:
    """Render the dossier (unsigned) into `out`; returns its page count."""
    return Renderer(data, images, audio_durations, progress).build(out)
