"""Every character a dossier prints is drawn by some embedded font: the CJK font first
(locker.infra.fonts), then the fallbacks below, chosen per character by their character maps,
then the missing-glyph font (locker.infra.missing_glyphs), which shows the code point in a
box and keeps the character in the text layer.

The fallbacks are Debian packages (installed by .ci/run and the Dockerfile; see README
"Development"): a font that is not installed, or that reportlab cannot embed (CFF/PostScript
outlines, no `glyf` table), is left out with a warning, and its characters fall to the next
font or to the placeholder; a dossier never fails for want of a font. Colour emoji fonts
(bitmaps, COLR) cannot be embedded by reportlab; Symbola draws emoji in outline.

Right-to-left text (Hebrew, Arabic) is put in visual order line by line with the Unicode
bidirectional algorithm (python-bidi) before it is drawn, as PDF readers expect: they read it
back into logical order, so the text layer holds the characters as stored. Arabic letters are
drawn in their isolated forms (no joining), and a right-to-left passage long enough to wrap
over several lines is reordered as one line before it is wrapped.

reportlab (up to 5.1 at least) writes a character above U+FFFF into a subset's ToUnicode map
as its bare code point (`<1F52A>`) where PDF wants UTF-16BE (`<D83DDD2A>`), so readers
extract 🔪 as U+1F52 and 𠮷 as U+20BB; `_fix_to_unicode_maps()` corrects those entries."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from locker.infra import fonts, missing_glyphs

log = logging.getLogger(__name__)

DEBIAN_FONTS = Path("/usr/share/fonts/truetype")
# Hebrew, Arabic, Syriac, Thaana, N'Ko ... and their presentation forms.
_RIGHT_TO_LEFT = re.compile(
    r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff\U00010800-\U00010fff\U0001e800-\U0001efff]"
)


def visual_order(line: str) -> str:
    """One line of text in the order its characters are drawn left to right."""
    if not _RIGHT_TO_LEFT.search(line):
        return line
    from bidi import get_display

    return str(get_display(line))


@dataclass(frozen=True)
class Fallback:
    name: str  # the reportlab font name
    paths: tuple[Path, ...]  # the first that exists is used
    package: str  # the Debian package that installs it
    covers: str  # what it is there for (in the warning when it is missing)


FALLBACKS = (
    Fallback(
        "LockerSans",
        (DEBIAN_FONTS / "dejavu/DejaVuSans.ttf",),
        "fonts-dejavu-core",
        "Arabic, Hebrew, Greek, Cyrillic, accented Latin and symbols",
    ),
    Fallback(
        "LockerHanMinA",
        (DEBIAN_FONTS / "hanazono/HanaMinA.ttf",),
        "fonts-hanazono",
        "CJK Extension A and rare ideographs",
    ),
    Fallback(
        "LockerHanMinB",
        (DEBIAN_FONTS / "hanazono/HanaMinB.ttf",),
        "fonts-hanazono",
        "CJK Extensions B to F (such as 𠮷)",
    ),
    Fallback(
        "LockerSymbols",
        (
            DEBIAN_FONTS / "ancient-scripts/Symbola_hint.ttf",
            DEBIAN_FONTS / "ancient-scripts/Symbola.ttf",
        ),
        "fonts-symbola",
        "emoji in outline and other symbols",
    ),
)


class UnusableFont(ValueError):
    """A font file reportlab cannot embed."""


def load_truetype(name: str, source: str | io.BytesIO, subfont: int = 0) -> tuple[object, set[int]]:
    """Parse a font for embedding; returns the reportlab font and the code points it maps.
    Raises UnusableFont unless it has TrueType (glyf) outlines."""
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    try:
        font = TTFont(name, source, subfontIndex=subfont)
    except (TTFError, OSError) as error:  # CFF outlines are refused here, by reportlab
        raise UnusableFont(f"{source}: {error}") from error
    if "glyf" not in font.face.table:
        raise UnusableFont(f"{source}: no TrueType outlines")
    # A code point mapped to glyph 0 (.notdef) is one the font cannot draw.
    return font, {point for point, glyph in font.face.charToGlyph.items() if glyph}


class FontChain:
    """The fonts in the order they are tried, each with the code points it has. A fallback
    is read (and registered with reportlab) only when a character that no font before it
    has first occurs, and only up to the first that has it: most dossiers need none, and a
    few characters outside the CJK font (a dash, an arrow) need DejaVu Sans alone, not the
    53 MB of HanaMin that reportlab would otherwise read and keep in memory."""

    def __init__(self, primary: str, points: set[int]) -> None:
        self.primary = primary
        self._fonts: list[tuple[str, set[int]]] = [(primary, points)]
        # The fallbacks not read yet, in their order (FALLBACKS).
        self._unread: list[Fallback] | None = None
        # The font chosen for each character met outside the primary font's fast path; the
        # characters are a document's, so forget() empties it after each (pdf_layout).
        self._choice: dict[str, str] = {}

    def forget(self) -> None:
        """Drop the characters met so far (the fonts read stay)."""
        self._choice.clear()

    @property
    def fonts(self) -> list[tuple[str, set[int]]]:
        """Every usable font of the chain, fallbacks read."""
        while self._read_next():
            pass
        return self._fonts

    def _read_next(self) -> bool:
        """Read the next fallback not read yet; False when none is left."""
        if self._unread is None:
            self._unread = list(FALLBACKS)
        while self._unread:
            loaded = load_fallback(self._unread.pop(0))
            if loaded is not None:
                self._fonts.append(loaded)
                return True
        return False

    def font_for(self, char: str) -> str:
        """The reportlab name of the font that draws `char` (the placeholder font when no
        other has it)."""
        found = self._choice.get(char)
        if found is not None:
            return found
        point = ord(char)
        # The first font of the chain that has it, reading fallbacks only as far as needed:
        # the same choice as with all of them read.
        checked = 0
        while found is None:
            for name, points in self._fonts[checked:]:
                if point in points:
                    found = name
                    break
            checked = len(self._fonts)
            if found is None and not self._read_next():
                break
        found = found or placeholder_font(char)
        self._choice[char] = found
        return found

    def runs(self, text: str) -> Iterator[tuple[str, str]]:
        """`text` cut into runs of characters drawn by one font: (font name, run)."""
        if self._fonts[0][1].issuperset(map(ord, text)):
            # Nearly all text: the primary font has every character (no per-character walk).
            if text:
                yield self.primary, text
            return
        current, start = "", 0
        for index, char in enumerate(text):
            name = self.font_for(char)
            if name != current:
                if index > start:
                    yield current, text[start:index]
                current, start = name, index
        if len(text) > start:
            yield current, text[start:]


def _utf16_hex(point: int) -> str:
    return chr(point).encode("utf-16-be").hex().upper()


@lru_cache(maxsize=1)
def _fix_to_unicode_maps() -> None:
    """Wrap reportlab's ToUnicode map writer so that characters beyond the BMP map to
    their UTF-16BE code units (see the module's docstring)."""
    from reportlab.pdfbase import ttfonts

    write_map = ttfonts.makeToUnicodeCMap

    def to_unicode_map(fontname: str, subset: list[int]) -> str:
        text: str = write_map(fontname, subset)
        for index, point in enumerate(subset):
            if point > 0xFFFF:
                text = text.replace(
                    f"<{index:02X}> <{point:04X}>\n", f"<{index:02X}> <{_utf16_hex(point)}>\n", 1
                )
        return text

    ttfonts.makeToUnicodeCMap = to_unicode_map


def placeholder_font(char: str) -> str:
    """Register (once) the missing-glyph font of `char`'s block; returns its name."""
    return _register_placeholder_block(missing_glyphs.block_of(char))


@cache
def _register_placeholder_block(block: int) -> str:
    from reportlab.pdfbase import pdfmetrics

    name = missing_glyphs.font_name(block)
    font, _points = load_truetype(name, io.BytesIO(missing_glyphs.block_font(block)))
    pdfmetrics.registerFont(font)
    return name


def load_fallback(fallback: Fallback) -> tuple[str, set[int]] | None:
    """The fallback font registered with reportlab, with its code points; None (logged)
    when it is not installed or not usable."""
    from reportlab.pdfbase import pdfmetrics

    path = next((p for p in fallback.paths if p.is_file()), None)
    if path is None:
        log.warning(
            "font for %s not installed (Debian package %s): those characters print as placeholders",
            fallback.covers,
            fallback.package,
        )
        return None
    try:
        font, points = load_truetype(fallback.name, str(path))
    except UnusableFont as error:
        log.warning("font %s left out: %s", path, error)
        return None
    pdfmetrics.registerFont(font)
    return fallback.name, points


@lru_cache(maxsize=1)
def font_chain() -> FontChain:
    """The chain of this process, its primary font registered with reportlab."""
    from reportlab.pdfbase import pdfmetrics

    _fix_to_unicode_maps()
    primary = fonts.register_reportlab_font()
    face = pdfmetrics.getFont(primary).face
    return FontChain(primary, {point for point, glyph in face.charToGlyph.items() if glyph})
