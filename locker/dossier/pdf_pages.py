"""Page furniture and page numbers: the header and footer of every page ("page n of N",
the Bates number), drawn once the page count is known, and the exhibit index's references
to the pages exhibits land on, drawn once every page is laid out."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from locker.dossier.pdf_layout import GRID, MARGIN, PAGE, draw_text


def bates_prefix(case_id: uuid.UUID, dossier_id: uuid.UUID) -> str:
    """The Bates prefix of one dossier: the start of its case's id and of its own, so two
    dossiers never number their pages alike (within a case the dossier part differs unless
    two random ids share their first 32 bits), and a page names the case it belongs to."""
    return f"EL-{case_id.hex[:8].upper()}-{dossier_id.hex[:8].upper()}-"


def bates(prefix: str, page: int) -> str:
    return f"{prefix}{page:06d}"


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
        self.canv.page_refs.append((self.key, x, y, self.width, self.style))


def numbered_canvas(
    header_left: str,
    header_right: str,
    footer_right: str,
    page_label: Callable[[int, int], str],
    bates_prefix: str,
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
            self.page_refs: list[tuple[str, float, float, float, ParagraphStyle]] = []

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
            # The case's title is the user's text: any character in it.
            draw_text(self, MARGIN, height - 10 * mm, header_left[:90], 7)
            draw_text(self, width - MARGIN, height - 10 * mm, header_right[:70], 7, right=True)
            self.setStrokeColor(GRID)
            self.line(MARGIN, height - 11.5 * mm, width - MARGIN, height - 11.5 * mm)
            self.line(MARGIN, 11.5 * mm, width - MARGIN, 11.5 * mm)
            self.setFont(font, 8)
            self.setFillColor(colors.black)
            self.drawString(MARGIN, 7.5 * mm, bates(bates_prefix, page))
            self.drawCentredString(width / 2, 7.5 * mm, page_label(page, total))
            self.setFont(font, 6.5)
            self.drawRightString(width - MARGIN, 7.5 * mm, footer_right)
            self.restoreState()

        def _bates_refs(self) -> None:
            if not self.page_refs:
                return
            self.saveState()
            for key, x, y, width, style in self.page_refs:
                page = refs.get(key)
                text = bates(bates_prefix, page) if page else "…"
                # On one line, smaller where the column is narrower than the number.
                size = min(
                    style.fontSize,
                    style.fontSize * width / self.stringWidth(text, style.fontName, style.fontSize),
                )
                self.setFont(style.fontName, size)
                self.setFillColor(style.textColor)
                self.drawString(x, y, text)
            self.restoreState()

    return NumberedCanvas
