"""Every character is drawn (issue 13): emoji, CJK Extensions A and B, Arabic and Hebrew, in
every template and both languages, on the page and in the text layer; a character no font
has shows its code point in a box and stays in the text layer; every font is embedded."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from locker.dossier.pdf_layout import font_markup
from locker.infra import font_chain, missing_glyphs

from .conftest import needs
from .dossier_helpers import has, make_dossier, pdf_text, render_page, run_tool, word_boxes
from .factories import add_entry, make_case

pytestmark = pytest.mark.django_db

needs_poppler = needs(
    has("pdftotext") and has("pdffonts") and has("pdftoppm"),
    "poppler-utils (pdftotext, pdffonts, pdftoppm) is not installed",
)
needs_fonts = needs(
    all(any(p.is_file() for p in f.paths) for f in font_chain.FALLBACKS),
    "the fallback fonts are not installed (fonts-dejavu-core, fonts-hanazono, fonts-symbola)",
)

KNIFE = "🔪"  # U+1F52A, Symbola
EXT_A = "䶮"  # U+4DAE, HanaMinA
EXT_B = "𠮷"  # U+20BB7, HanaMin
NAME = "王𠮷"
ARABIC = "مرحبا"
HEBREW = "שלום"
# U+1FAE8 SHAKING FACE (Unicode 15): in none of the fonts.
NO_FONT = "\U0001fae8"
DRAWN = (KNIFE, EXT_A, EXT_B, NAME, ARABIC, HEBREW)
TEMPLATES = ("cn_regulator", "cn_12321", "us_cfpb", "court")


def characters_case():  # type: ignore[no-untyped-def]
    case = make_case(title=f"催收 {KNIFE} {NAME}", borrower_name=NAME)
    add_entry(
        case,
        "message",
        {"channel": "sms", "sender": "10690001", "text": f"不还钱就 {KNIFE} 你"},
        occurred_at="2026-01-05T22:10:00+08:00",
    )
    add_entry(
        case,
        "note",
        {
            "text": f"{NAME} 说 {EXT_A} 和 {EXT_B} ; {ARABIC} ; {HEBREW} ; {NO_FONT} ; "
            f"{KNIFE} <b>&amp;</b>"
        },
        occurred_at="2026-01-06T10:00:00+08:00",
    )
    return case


def write(tmp_path: Path, data: bytes, name: str = "dossier.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@needs_poppler
@needs_fonts
@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_character_is_in_the_text_layer_and_every_font_embedded(
    tmp_path: Path, template: str, language: str
) -> None:
    _dossier, data = make_dossier(characters_case(), template, language)
    path = write(tmp_path, data)
    text = pdf_text(path)
    for characters in DRAWN:
        assert characters in text, characters
    # The character no font has is in the text layer as itself (its placeholder glyph is
    # mapped to it), never a gap.
    assert NO_FONT in text
    assert "<b>&amp;</b>" in text  # still literal, never markup
    # The header of every page carries the case title, emoji included.
    assert text.count(f"催收 {KNIFE} {NAME}") >= 2
    fonts = run_tool("pdffonts", path).splitlines()[2:]
    names = " ".join(row.split()[0] for row in fonts)
    for expected in ("HanaMinA", "DejaVuSans", "Symbola", "LockerMissingGlyph-01FA"):
        assert expected in names, (expected, names)
    for row in fonts:
        assert re.search(r"\s+yes\s+yes\s+yes\s+", row), row


def _ink(png: Path, box: tuple[float, float, float, float], dpi: int) -> int:
    """Dark pixels inside a box given in PDF points (from the top left)."""
    scale = dpi / 72
    with Image.open(png) as image:
        crop = image.convert("L").crop(tuple(round(v * scale) for v in box))
        return sum(crop.histogram()[:128])


@needs_poppler
@needs_fonts
def test_the_rare_ideograph_and_the_placeholder_are_drawn(tmp_path: Path) -> None:
    """Cropped around 𠮷 (alone as a word) and around the character no font has, the page
    has ink: a glyph, not a gap."""
    _dossier, data = make_dossier(characters_case(), "court", "en")
    path = write(tmp_path, data)
    pages = int(re.search(r"Pages:\s+(\d+)", run_tool("pdfinfo", path)).group(1))  # type: ignore[union-attr]
    found = {}
    for page in range(1, pages + 1):
        for word, *box in word_boxes(path, page):
            if word in (EXT_B, NO_FONT) and word not in found:
                found[word] = (page, tuple(box))
    assert set(found) == {EXT_B, NO_FONT}, found
    dpi = 300
    for word, (page, box) in found.items():
        png = render_page(path, page, dpi, tmp_path / f"page{page}")
        assert _ink(png, box, dpi) > 40, word  # type: ignore[arg-type]


def test_runs_choose_the_font_that_has_each_character() -> None:
    chain = font_chain.font_chain()
    runs = list(chain.runs(f"王{EXT_B}x{NO_FONT}"))
    assert runs[0] == (chain.primary, "王")
    assert runs[-1] == (missing_glyphs.font_name(ord(NO_FONT) // 256), NO_FONT)
    assert "".join(run for _name, run in runs) == f"王{EXT_B}x{NO_FONT}"


@needs_fonts
def test_fallbacks_are_read_only_as_far_as_a_character_needs() -> None:
    """A character the CJK font lacks but DejaVu Sans has (the subscript i of the analysis
    pages) reads that first fallback alone, not HanaMin's 53 MB; each character still gets
    the font it gets with every fallback read."""
    chain = font_chain.font_chain()
    primary = (chain.primary, chain.fonts[0][1])
    lazy = font_chain.FontChain(*primary)
    assert lazy.font_for("ᵢ") == "LockerSans"
    assert [name for name, _points in lazy._fonts] == [chain.primary, "LockerSans"]
    for char in (*"".join(DRAWN), NO_FONT, "王", "ᵢ"):
        fresh = font_chain.FontChain(*primary)
        assert fresh.font_for(char) == chain.font_for(char), char
    # Every fallback read once a character none of them has is met.
    assert lazy.font_for(NO_FONT) == missing_glyphs.font_name(ord(NO_FONT) // 256)
    assert [name for name, _points in lazy._fonts] == [name for name, _p in chain.fonts]


def test_markup_escapes_every_run() -> None:
    markup = font_markup(f'<font name="Helvetica">{KNIFE}</font> & {ARABIC}\nnext')
    assert '<font name="Helvetica">' not in markup
    assert '&lt;font name="Helvetica"&gt;' in markup
    assert "&amp;" in markup and "<br/>" in markup


def test_placeholder_font_has_truetype_outlines_and_maps_its_block() -> None:
    import io

    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(missing_glyphs.block_font(ord(NO_FONT) // 256)))
    assert "glyf" in font and "CFF " not in font
    cmap = font.getBestCmap()
    assert ord(NO_FONT) in cmap
    assert font["glyf"][cmap[ord(NO_FONT)]].isComposite()
    # An invisible character (a variation selector's block is U+FE00..FEFF) draws nothing.
    invisible = TTFont(io.BytesIO(missing_glyphs.block_font(0xFE)))
    glyph = invisible.getBestCmap()[0xFE0F]
    assert invisible["hmtx"][glyph][0] == 0
    assert missing_glyphs.hex_rows(0x1FAE8) == ("01F", "AE8")
    assert missing_glyphs.hex_rows(0x4DAE) == ("4D", "AE")


def test_a_missing_or_unusable_fallback_font_degrades_to_the_placeholder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bogus = tmp_path / "not-a-font.ttf"
    bogus.write_bytes(b"OTTO" + b"\0" * 64)  # a CFF-outline signature reportlab refuses
    fallbacks = (
        font_chain.Fallback("LockerBogus", (bogus,), "none", "nothing"),
        font_chain.Fallback("LockerAbsent", (tmp_path / "absent.ttf",), "none", "nothing"),
    )
    monkeypatch.setattr(font_chain, "FALLBACKS", fallbacks)
    font_chain.font_chain.cache_clear()
    try:
        chain = font_chain.font_chain()
        assert [name for name, _points in chain.fonts] == [chain.primary]
        assert chain.font_for(EXT_B) == missing_glyphs.font_name(ord(EXT_B) // 256)
    finally:
        font_chain.font_chain.cache_clear()


def test_ci_and_the_image_install_every_fallback_font() -> None:
    root = Path(__file__).resolve().parent.parent
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    dockerfile = (root / "Dockerfile").read_text(encoding="utf-8")
    for fallback in font_chain.FALLBACKS:
        assert f"need+=({fallback.package})" in ci, fallback.package
        assert fallback.package in dockerfile, fallback.package


def test_a_document_leaves_no_text_or_character_behind_for_the_next() -> None:
    """The markup cache (pdf_layout._font_markup) and the chain's per-character choices
    hold a case's words and characters: both are emptied once the dossier is made, so a
    long-lived worker keeps nothing of one case while it renders the next."""
    from locker.dossier.pdf_layout import _font_markup, forget_texts

    chain = font_chain.font_chain()
    make_dossier(characters_case(), "cn_12321", "en")
    assert _font_markup.cache_info().currsize == 0
    assert chain._choice == {}
    # They were used while it was made: the same text fills them again.
    font_markup(f"{KNIFE} {EXT_B}")
    assert _font_markup.cache_info().currsize == 1 and KNIFE in chain._choice
    forget_texts()
