"""The CJK font dossiers (and anything else that draws Chinese) embed.

reportlab cannot use CFF-outline fonts such as Noto Sans CJK, and its built-in CID font
STSong-Light is never embedded (readers then ask for a font pack: not acceptable for
evidence). WenQuanYi Micro Hei has TrueType outlines and a licence that allows
redistribution (Apache-2.0 or GPL-3+ with font exception). It comes from PyPI with the
project's own dependencies (package `paperang-p2-fonts-cjk`, whose file is byte-identical
to Debian's `fonts-wqy-microhei` 0.2.0-beta-3.1), so a fresh clone renders Chinese after
`make run` without system packages. LOCKER_CJK_FONT names another TrueType font instead.
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

from django.conf import settings

# SHA-256 of wqy-microhei.ttc as Debian ships it: the packaged copy must be that exact file.
WQY_MICROHEI_SHA256 = "2420e8078af796b19a3f6ef13de527a1a91c1e7171eea115926c614ced1009b3"
FONT_PACKAGE = "paperang_p2_fonts_cjk"
SYSTEM_FALLBACKS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)


class FontMissing(RuntimeError):
    """No usable CJK font: reinstall the project (`make install`) or set LOCKER_CJK_FONT."""


def _packaged_font() -> Path | None:
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "wqy-microhei.ttc"
    return path if path.is_file() else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    """A TrueType-outline font file covering Simplified Chinese and Latin (subfont 0 of a
    .ttc). Raises FontMissing when none can be found."""
    configured = getattr(settings, "LOCKER_CJK_FONT", "")
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise FontMissing(f"LOCKER_CJK_FONT={configured} is not a file")
        return path
    packaged = _packaged_font()
    if packaged is not None:
        if _sha256(packaged) != WQY_MICROHEI_SHA256:
            raise FontMissing(
                f"{packaged} is not the expected WenQuanYi Micro Hei file; reinstall the "
                "project or set LOCKER_CJK_FONT"
            )
        return packaged
    for path in SYSTEM_FALLBACKS:
        if path.is_file():
            return path
    raise FontMissing(
        "no CJK font found: run `make install` (it installs WenQuanYi Micro Hei from PyPI) "
        "or set LOCKER_CJK_FONT to a TrueType font file"
    )


FONT_NAME = "LockerCJK"


@lru_cache(maxsize=1)
def register_reportlab_font() -> str:
    """Register the CJK font with reportlab once per process; returns its reportlab name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT_NAME, str(cjk_font_path()), subfontIndex=0))
    return FONT_NAME
