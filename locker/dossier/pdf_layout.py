"""The layout pieces every part of a dossier PDF is built from: the page geometry and
colours, the paragraph styles, `para()` and the tables.

All text that reaches a Paragraph goes through `para()`, which escapes it: user text can
never become reportlab markup (CVE-2023-33733 showed where that leads). It also cuts the text
into runs by the font that has each character (locker.infra.font_chain), so that emoji, rare
ideographs and Arabic or Hebrew are drawn, and a character no font has shows its code point;
`draw_text()` does the same for text drawn straight on the canvas."""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, LongTable, Paragraph, Table, TableStyle
from reportlab.platypus.paragraph import cleanBlockQuotedText, textTransformFrags
from reportlab.platypus.paraparser import ParaParser

from locker.infra import fonts
from locker.infra.font_chain import FontChain, font_chain, visual_order

PAGE = A4
MARGIN = 16 * mm
FRAME_WIDTH = PAGE[0] - 2 * MARGIN
FRAME_HEIGHT = PAGE[1] - 2 * MARGIN - 12 * mm
NIGHT = colors.HexColor("#c62828")
DAY = colors.HexColor("#607d8b")
GRID = colors.HexColor("#b0bec5")
HEADER_BG = colors.HexColor("#eceff1")
# Text with these breaks between any two characters (CJK, including Extensions B and on).
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f\U00020000-\U0003ffff]")
# A lone surrogate (possible in JSON text) is no character and cannot be written to a PDF.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


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
    markup = font_markup(value)
    if breakable or _CJK.search(value):
        style = _cjk_style(style)
    parsed = _parsed(markup, style)
    if parsed is None:
        return _Paragraph(markup, style)
    text, frags = parsed
    # Each Paragraph its own fragments: the line breaking marks them (reportlab's _fkind).
    return _Paragraph(
        text,
        style,
        frags=[f.clone(link=list(f.link), us_lines=list(f.us_lines)) for f in frags],
    )


# The markup's fragments as reportlab's parser makes them, per style and markup: a dossier
# repeats its labels, kinds, authors and tags in thousands of cells, and the parser (an
# HTMLParser per paragraph) was a fifth of the layout. Emptied after each document
# (forget_texts), as the markup cache is.
_PARSED: weakref.WeakKeyDictionary[ParagraphStyle, dict[str, tuple[str, list[Any]] | None]] = (
    weakref.WeakKeyDictionary()
)


def _parsed(markup: str, style: ParagraphStyle) -> tuple[str, list[Any]] | None:
    """The cleaned text and the fragments reportlab's Paragraph would parse `markup` into in
    `style`; None where the parse gives anything a copy of the fragments would not (a
    bullet, a style of its own: never for para()'s markup, which has only font and br tags)."""
    known = _PARSED.setdefault(style, {})
    if markup in known:
        return known[markup]
    # As Paragraph._setup parses (its caseSensitive is 1).
    text = cleanBlockQuotedText(markup)
    parser = ParaParser()
    parser.caseSensitive = 1
    parsed_style, frags, bullet = parser.parse(text, style)
    result = None
    if frags is not None and bullet is None and parsed_style is style:
        textTransformFrags(frags, style)
        if all(
            isinstance(getattr(f, "link", None), list)
            and isinstance(getattr(f, "us_lines", None), list)
            for f in frags
        ):
            result = (text, frags)
    known[markup] = result
    return result


class _Paragraph(Paragraph):
    """A Paragraph that breaks its lines once per width. A table wraps each cell to measure
    its row, again when a long table is split across pages (each piece measures its rows)
    and again to draw it: three times the same line breaking, the layout's largest cost. The
    lines depend on the width and the style alone, and a Paragraph's text never changes, so
    a second wrap at the same width returns the first one's result."""

    _wrapped: tuple[float, tuple[float, float]] | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        # A split that finds no room deletes the lines (reportlab's Paragraph.split): they
        # are broken again then.
        if (
            self._wrapped is not None
            and self._wrapped[0] == availWidth
            and "blPara" in self.__dict__
        ):
            return self._wrapped[1]
        size = super().wrap(availWidth, availHeight)
        self._wrapped = (availWidth, size)
        return size


# Each style's CJK-wrapping twin, made once (a dossier has some ten thousand paragraphs).
_CJK_STYLES: weakref.WeakKeyDictionary[ParagraphStyle, ParagraphStyle] = weakref.WeakKeyDictionary()


def _cjk_style(style: ParagraphStyle) -> ParagraphStyle:
    twin = _CJK_STYLES.get(style)
    if twin is None:
        twin = ParagraphStyle(f"{style.name}-cjk", parent=style, wordWrap="CJK")
        _CJK_STYLES[style] = twin
    return twin


def printable(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text.replace("\r\n", "\n").replace("\t", " "))


def font_markup(text: str) -> str:
    """Paragraph markup for literal `text`: escaped, each run of characters in the font that
    has them (font names are ours, never the user's), line breaks kept."""
    return _font_markup(font_chain(), text)


# Cached by chain and text: a dossier repeats its labels, kinds and tags hundreds of times.
# Emptied after each document (forget_texts), so that a long-lived worker does not keep one
# case's words in memory while it renders the next.
@lru_cache(maxsize=4096)
def _font_markup(chain: FontChain, text: str) -> str:
    lines = []
    for line in printable(text).split("\n"):
        parts = []
        for name, run in chain.runs(visual_order(line)):
            if name == chain.primary:
                parts.append(escape(run))
            else:
                parts.append(f'<font name="{name}">{escape(run)}</font>')
        lines.append("".join(parts))
    return "<br/>".join(lines)


def forget_texts() -> None:
    """Forget the texts and characters of the document just made (render_pdf calls it)."""
    _font_markup.cache_clear()
    _PARSED.clear()
    font_chain().forget()


def draw_text(
    canvas: Canvas, x: float, y: float, text: str, size: float, *, right: bool = False
) -> None:
    """Draw one line of literal text on the canvas at (x, y) (its right end there when
    `right`), each run in the font that has its characters."""
    chain = font_chain()
    runs = list(chain.runs(visual_order(printable(text).replace("\n", " "))))
    if right:
        x -= sum(canvas.stringWidth(run, name, size) for name, run in runs)
    for name, run in runs:
        canvas.setFont(name, size)
        canvas.drawString(x, y, run)
        x += canvas.stringWidth(run, name, size)


@dataclass(frozen=True)
class LayoutKit:
    """The styles and the embedded font, with the tables drawn in them."""

    styles: Styles
    font: str

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
        body = [[para(h, self.styles.cell_head) for h in header]]
        for row in rows:
            # A list is a cell of several flowables (an Anchor and its label), not text.
            body.append(
                [
                    cell if isinstance(cell, Flowable | list) else para(cell, self.styles.cell)
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
            [para(k, self.styles.cell_head), para(v, self.styles.cell, breakable=len(str(v)) > 40)]
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
