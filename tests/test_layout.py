"""The layout the README's "Where things live" describes is the tree there is."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from locker.infra import i18n_compile

REPO = Path(__file__).resolve().parent.parent
LOCKER = REPO / "locker"
# The package marker is no part of the layout.
FRAMEWORK = {"__init__.py"}


def readme_section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split("## Where things live", 1)[1].split("\n## ", 1)[0]


def test_the_readme_names_every_top_level_entry_of_locker_and_no_other() -> None:
    named = set(re.findall(r"`locker/([\w.]+?)/?`", readme_section()))  # top-level only
    present = {p.name for p in LOCKER.iterdir() if p.name != "__pycache__"} - FRAMEWORK
    assert named == present


def test_every_path_the_section_names_exists() -> None:
    named = re.findall(r"`(locker/[\w./]+)`", readme_section())
    assert named and [path for path in named if not (REPO / path).exists()] == []


def test_core_reads_no_database() -> None:
    # import-linter can forbid only whole external packages, so django.db is checked here.
    forbidden = ("django.db", "django.contrib.auth", "locker.models")
    found = []
    for path in sorted((LOCKER / "core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            found += [
                f"{path.name}: {name}"
                for name in names
                if any(name == f or name.startswith(f + ".") for f in forbidden)
            ]
    assert found == []


def test_the_message_compiler_finds_the_catalogues() -> None:
    # make install compiles these; a path left behind by a move made every page English.

    assert sorted(i18n_compile.LOCALE_DIR.glob("*/LC_MESSAGES/django.po")) == [
        REPO / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    ]
