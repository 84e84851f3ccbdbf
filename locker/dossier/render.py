"""Layout of a dossier with reportlab platypus: the template's sections (templates.py) in
order, each block as paragraphs and tables, each marker drawn from the data by its module
(pdf_charts, pdf_records, pdf_exhibits, pdf_verification), with "page n of N" and a Bates
number on every page (pdf_pages). Text reaches the page only through pdf_layout.para(),
which escapes it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO

from django.utils.translation import gettext as _
from reportlab import rl_config
from reportlab.graphics import shapes
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, PageBreak, SimpleDocTemplate, Spacer

from locker.dossier import (
    pdf_authorisation,
    pdf_charts,
    pdf_exhibits,
    pdf_records,
    pdf_verification,
)
from locker.dossier.blocks import Block, Bullets, Grid, KeyValues, Marker, Para, Section
from locker.dossier.cover import template_title
from locker.dossier.data import DossierData, Exhibit
from locker.dossier.images import PreparedImage, PrintImages
from locker.dossier.pdf_keep import KeepTail
from locker.dossier.pdf_layout import MARGIN, PAGE, LayoutKit, forget_texts, make_styles, para
from locker.dossier.pdf_pages import bates_prefix, numbered_canvas
from locker.dossier.provenance import provenance_by_seq
from locker.dossier.templates import sections
from locker.infra import fonts

# The least body text the last page of a part carries before the next part's page break
# (pdf_keep): one or two lines on a page of their own read as a blank page.
MIN_LINES_BEFORE_A_BREAK = 3
# Plain binary streams: ASCII85 costs ~2.5 s per 50 screenshots and 25% more bytes.
rl_config.useA85 = 0


@dataclass(frozen=True)
class PartLayout:
    """One part of an attachment pack (pack.py): its sections instead of the template's,
    the exhibits its evidence pages draw, the markers only the pack has, and what its Bates
    numbers add to the dossier's prefix so that no two parts number pages alike."""

    sections: list[Section]
    exhibits: list[Exhibit]
    markers: dict[str, Callable[[LayoutKit], list[Flowable]]] = field(default_factory=dict)
    bates_suffix: str = ""


class Later(Flowable):
    """Flowables made only when the layout reaches this place: the evidence pages, whose
    pictures are still being made (images.PrintImages) while the pages before them are
    laid out. `_Document` puts what `make` returns in its place."""

    def __init__(self, make: Callable[[], list[Flowable]]) -> None:
        super().__init__()
        self.make = make

    def under(self, heading: list[Flowable]) -> Later:
        """The same, with a section's heading kept with its first flowable (_join)."""
        return Later(lambda: _join(heading, self.make()))

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        raise AssertionError("a Later is replaced before it is laid out")


def _join(heading: list[Flowable], parts: list[Flowable]) -> list[Flowable]:
    """A section's heading travelling with the first thing under it (reportlab's
    keepWithNext does not join a heading to a KeepTogether, so group them here). A
    KeepTogether inside another never fits (its wrap reports an endless height to force a
    split): the outer one then breaks the page whenever it is not at the top, leaving the
    rest of the page blank. Its contents are joined instead."""
    if not heading or not parts:
        return heading + parts
    first = parts[0]
    inner = first._content if isinstance(first, KeepTogether) else [first]
    return [KeepTogether(heading + inner), *parts[1:]]


class _Document(SimpleDocTemplate):
    def filterFlowables(self, flowables: list[Flowable]) -> None:
        # Called before each flowable is laid out: a Later becomes what it stands for.
        while flowables and isinstance(flowables[0], Later):
            flowables[0:1] = flowables[0].make()


class Renderer:
    def __init__(
        self,
        data: DossierData,
        images: Mapping[str, PreparedImage],
        audio_durations: dict[str, int | None],
        progress: Callable[[float], None] | None = None,
        *,
        part: PartLayout | None = None,
    ) -> None:
        self.data = data
        self.part = part
        # The exhibits drawn on the evidence pages: all of them, or one attachment part's.
        self.exhibits = part.exhibits if part is not None else data.exhibits
        self.images = images
        self.audio_durations = audio_durations
        self.progress = progress or (lambda fraction: None)
        self.done = 0.0  # the fraction of the pages laid out so far
        styles = make_styles()
        self.font = fonts.register_reportlab_font()
        self.kit = LayoutKit(styles, self.font)
        # Charts start from this state: without it they set (unembedded) Helvetica.
        shapes.STATE_DEFAULTS["fontName"] = self.font
        # Where each exhibit lands (its Anchor's page), for the exhibit index.
        self.refs: dict[str, int] = {}
        logged = len(data.access_log.rows) if data.access_log is not None else 0
        self.expected_pages = max(
            4,
            6
            + len(data.rows) // 28
            + (len([e for e in self.exhibits if e.is_image]) + 1) // 2
            + logged // 40,
        )

    # -- blocks ------------------------------------------------------------------------

    def block(self, block: Block) -> list[Flowable]:
        kit = self.kit
        if isinstance(block, Para):
            return [para(block.text, getattr(kit.styles, block.style))]
        if isinstance(block, KeyValues):
            # A few facts read as one block: never leave a row or two on the next page.
            return [KeepTogether([kit.key_values(block.items)]), Spacer(1, 4)]
        if isinstance(block, Bullets):
            return [para(f"• {item}", kit.styles.body) for item in block.items]
        if isinstance(block, Grid):
            return [kit.grid(block.header, block.rows, block.widths), Spacer(1, 4)]
        return self.marker(block)

    def marker(self, marker: Marker) -> list[Flowable]:
        """The part a marker stands for, drawn from the data."""
        kit, data = self.kit, self.data
        if self.part is not None and marker.name in self.part.markers:
            return self.part.markers[marker.name](kit)
        if marker.name == "charts":
            return pdf_charts.charts(kit, data.conduct)
        if marker.name == "timeline":
            return pdf_records.timeline(kit, data)
        if marker.name == "statements":
            return pdf_records.statements(kit, data)
        if marker.name == "access_log":
            return pdf_records.access_log(kit, data)
        if marker.name == "evidence":
            return [Later(self.evidence)]
        if marker.name == "exhibit_index":
            return pdf_exhibits.exhibit_index(kit, data.exhibits)
        if marker.name == "verification":
            return pdf_verification.verification(kit, data)
        if marker.name == "authorisation":
            return pdf_authorisation.authorisation(kit, data)
        raise ValueError(f"unknown marker {marker.name!r}")

    def evidence(self) -> list[Flowable]:
        if isinstance(self.images, PrintImages):
            # Still being made: wait for the last, renewing the lease meanwhile.
            self.images.wait(tick=lambda: self.progress(self.done))
        return pdf_exhibits.evidence(
            self.kit,
            self.exhibits,
            images=self.images,
            audio_durations=self.audio_durations,
            refs=self.refs,
            origins=provenance_by_seq(self.data),
            read_texts=self.data.read_texts,
        )

    def story(self) -> list[Flowable]:
        # The flowables between two page breaks, each run laid out by KeepTail.
        runs: list[list[Flowable]] = [[]]
        parts = self.part.sections if self.part is not None else sections(self.data)
        for index, section in enumerate(parts):
            if section.new_page and index:
                runs.append([])
            flow = runs[-1]
            style = self.kit.styles.h1 if index == 0 else self.kit.styles.h2
            # Headings travel with the first thing under them (_join).
            heading: list[Flowable] = [para(section.title, style)]
            for block in section.blocks:
                parts = self.block(block)
                if isinstance(block, Para) and block.style in ("h2", "h3"):
                    heading += parts
                    continue
                if heading and parts:
                    if isinstance(parts[0], Later):
                        parts = [parts[0].under(heading), *parts[1:]]
                    else:
                        parts = _join(heading, parts)
                    heading = []
                flow += parts
            flow += heading
        story: list[Flowable] = []
        for run in runs:
            if story:
                story.append(PageBreak())
            story += self.keep_tail(run)
        return story

    def keep_tail(self, run: list[Flowable]) -> list[Flowable]:
        """The run with its end kept from a page of its own (pdf_keep.KeepTail): from the last
        Later on (whatever it will stand for is laid out as it comes)."""
        start = max((i + 1 for i, f in enumerate(run) if isinstance(f, Later)), default=0)
        if start == len(run):
            return run
        lines = MIN_LINES_BEFORE_A_BREAK * self.kit.styles.body.leading
        return [*run[:start], KeepTail(run[start:], lines)]

    def build(self, out: IO[bytes]) -> int:
        """Lay out the document into `out`; returns the number of pages."""
        data = self.data
        checkpoint = data.checkpoint["checkpoint"]
        counter = {"pages": 0}

        def on_page(page: int) -> None:
            counter["pages"] = page
            self.done = min(1.0, page / self.expected_pages)
            self.progress(self.done)

        canvas_class = numbered_canvas(
            header_left=str(data.case_facts.get("title") or ""),
            header_right=template_title(data.dossier.template),
            footer_right=f"head {checkpoint['head'][:16]}…",
            page_label=lambda n, total: _("page %(n)d of %(total)d") % {"n": n, "total": total},
            bates_prefix=bates_prefix(data.dossier.case_id, data.dossier.id)
            + (self.part.bates_suffix if self.part is not None else ""),
            font=self.font,
            on_page=on_page,
            refs=self.refs,
        )
        doc = _Document(
            out,
            pagesize=PAGE,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN + 2 * mm,
            bottomMargin=MARGIN,
            title=template_title(data.dossier.template),
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
    images: Mapping[str, PreparedImage],
    audio_durations: dict[str, int | None],
    progress: Callable[[float], None] | None = None,
    part: PartLayout | None = None,
) -> int:
    """Render the dossier (unsigned) into `out`, or one part of its attachment pack;
    returns its page count."""
    try:
        return Renderer(data, images, audio_durations, progress, part=part).build(out)
    finally:
        forget_texts()
