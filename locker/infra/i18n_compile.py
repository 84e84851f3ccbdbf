"""Compile locale/*/LC_MESSAGES/*.po into .mo with Babel, so a fresh clone needs no gettext
binaries. Recompiles only catalogues whose .po is newer than their .mo."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"


def compile_all(locale_dir: Path = LOCALE_DIR) -> int:
    compiled = 0
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        with mo_path.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        compiled += 1
    return compiled


if __name__ == "__main__":
    count = compile_all()
    if count:
        print(f"compiled {count} message catalogue(s)", file=sys.stderr)
