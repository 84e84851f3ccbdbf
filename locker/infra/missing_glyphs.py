"""The font that stands in for characters no other font can draw: each code point gets a
glyph of its own, a framed box with its code point in hexadecimal (two rows of two digits
for the Basic Multilingual Plane, two rows of three above it: "01F" over "52A" for U+1F52A),
as the Unicode "last resort" fonts show them. Because the placeholder is the character
itself, drawn in this font, the PDF's text layer (its ToUnicode map) keeps the original
character: copying or searching the page finds what the collector wrote, and the page shows
which code point it was instead of a silent gap.

Invisible characters (format controls such as ZERO WIDTH JOINER, variation selectors) get
an empty glyph of no width: kept in the text layer, drawn as nothing, as they should be.

The fonts are built here with fontTools, with TrueType outlines, one per block of 256 code
points (only the blocks that occur; locker.infra.font_chain registers each once per
process)."""

from __future__ import annotations

import io
import unicodedata

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

UNITS_PER_EM = 1000
PIXEL = 60  # one cell of the 3 x 5 digit grid, in font units
BOTTOM = -120  # the box's lower edge (a little below the baseline, like descenders)
BEARING = 50
BLOCK = 256

# Each hex digit on a 3 x 5 grid, top row first.
DIGITS = {
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "001", "001", "001"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
    "A": ("111", "101", "111", "101", "101"),
    "B": ("110", "101", "110", "101", "110"),
    "C": ("111", "100", "100", "100", "111"),
    "D": ("110", "101", "101", "101", "110"),
    "E": ("111", "100", "111", "100", "111"),
    "F": ("111", "100", "111", "100", "100"),
}


def is_invisible(char: str) -> bool:
    """A character that is drawn as nothing: format controls (joiners, bidi marks, the
    byte-order mark) and variation selectors."""
    point = ord(char)
    return (
        unicodedata.category(char) == "Cf"
        or 0xFE00 <= point <= 0xFE0F
        or 0xE0100 <= point <= 0xE01EF
        or point == 0x034F
    )


def hex_rows(point: int) -> tuple[str, str]:
    digits = f"{point:04X}" if point <= 0xFFFF else f"{point:06X}"
    half = len(digits) // 2
    return digits[:half], digits[half:]


def _rectangle(pen: TTGlyphPen, x0: int, y0: int, x1: int, y1: int, *, hole: bool = False) -> None:
    # TrueType fills clockwise contours; a counter-clockwise one inside cuts a hole.
    corners = [(x0, y0), (x0, y1), (x1, y1), (x1, y0)]
    if hole:
        corners.reverse()
    pen.moveTo(corners[0])
    for corner in corners[1:]:
        pen.lineTo(corner)
    pen.closePath()


def _digit_glyph(digit: str) -> object:
    pen = TTGlyphPen(None)
    for row, bits in enumerate(DIGITS[digit]):
        top = 5 * PIXEL - row * PIXEL
        column = 0
        while column < 3:
            if bits[column] != "1":
                column += 1
                continue
            start = column
            while column < 3 and bits[column] == "1":
                column += 1
            _rectangle(pen, start * PIXEL, top - PIXEL, column * PIXEL, top)
    return pen.glyph()


def _box_width(columns: int) -> int:
    # frame, padding, the digits with a cell between them, padding, frame
    return (2 + 3 * columns + (columns - 1) + 2) * PIXEL


def _frame_glyph(columns: int) -> object:
    width, height = _box_width(columns), 15 * PIXEL
    pen = TTGlyphPen(None)
    x0, y0 = BEARING, BOTTOM
    _rectangle(pen, x0, y0, x0 + width, y0 + height)
    _rectangle(pen, x0 + PIXEL, y0 + PIXEL, x0 + width - PIXEL, y0 + height - PIXEL, hole=True)
    return pen.glyph()


def _placeholder_glyph(point: int, parts: dict[str, object]) -> tuple[object, int]:
    """The composite glyph of one code point (of the frame and digit glyphs in `parts`) and
    its advance width."""
    rows = hex_rows(point)
    columns = len(rows[0])
    pen = TTGlyphPen(parts)
    pen.addComponent(f"frame{columns}", (1, 0, 0, 1, 0, 0))
    for line, digits in enumerate(rows):
        y = BOTTOM + (2 + (1 - line) * 6) * PIXEL
        for index, digit in enumerate(digits):
            x = BEARING + (2 + 4 * index) * PIXEL
            pen.addComponent(f"digit{digit}", (1, 0, 0, 1, x, y))
    return pen.glyph(), _box_width(columns) + 2 * BEARING


def font_name(block: int) -> str:
    return f"LockerMissingGlyph-{block:04X}"


def block_of(char: str) -> int:
    return ord(char) // BLOCK


def block_font(block: int) -> bytes:
    """A TrueType font (its bytes) with a placeholder glyph for each code point of `block`."""
    glyphs: dict[str, object] = {".notdef": TTGlyphPen(None).glyph()}
    metrics: dict[str, tuple[int, int]] = {".notdef": (0, 0)}
    for digit in DIGITS:
        glyphs[f"digit{digit}"] = _digit_glyph(digit)
        metrics[f"digit{digit}"] = (3 * PIXEL, 0)
    for columns in (2, 3):
        glyphs[f"frame{columns}"] = _frame_glyph(columns)
        metrics[f"frame{columns}"] = (_box_width(columns) + 2 * BEARING, BEARING)
    parts = dict(glyphs)
    cmap: dict[int, str] = {}
    for point in range(block * BLOCK, (block + 1) * BLOCK):
        if 0xD800 <= point <= 0xDFFF:
            continue  # surrogates are not characters
        name = f"u{point:06X}"
        if is_invisible(chr(point)):
            glyphs[name], metrics[name] = TTGlyphPen(None).glyph(), (0, 0)
        else:
            glyphs[name], advance = _placeholder_glyph(point, parts)
            metrics[name] = (advance, BEARING)
        cmap[point] = name
    builder = FontBuilder(UNITS_PER_EM, isTTF=True)
    builder.setupGlyphOrder(list(glyphs))
    builder.setupCharacterMap(cmap)
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics(metrics)
    builder.setupHorizontalHeader(ascent=880, descent=-120)
    family = "Locker Missing Glyph"
    builder.setupNameTable(
        {"familyName": family, "styleName": "Regular", "psName": font_name(block)}
    )
    builder.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    builder.setupPost()
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()
