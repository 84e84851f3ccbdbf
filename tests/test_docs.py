"""The hand-verification recipes in docs/chain-format.md must work on a real export."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import needs
from .test_verification import case_with_evidence, export_to

pytestmark = pytest.mark.django_db
DOC = Path(__file__).resolve().parent.parent / "docs" / "chain-format.md"


def code_block(language: str, after: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(after)
    match = re.search(rf"```{language}\n(.*?)```", text[start:], re.S)
    assert match, f"no {language} block after {after!r}"
    return match.group(1)


def test_python_recipe_verifies_an_export_and_catches_a_change(tmp_path) -> None:
    script = tmp_path / "verify.py"
    script.write_text(code_block("python", "### With a dozen lines"), encoding="utf-8")
    good = export_to(tmp_path / "case.zip", case_with_evidence())
    result = subprocess.run([sys.executable, script, good], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "verified: 4 entries" in result.stdout

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "entries.jsonl":
                data = data.replace("晚上11点".encode(), "晚上12点".encode())
            dst.writestr(info.filename, data)
    result = subprocess.run([sys.executable, script, bad], capture_output=True, text=True)
    assert result.returncode != 0 and "seq 4 was changed" in result.stderr


@needs(shutil.which("jq") is not None, "jq is not installed")
def test_jq_recipe_recomputes_the_same_hashes(tmp_path) -> None:
    good = export_to(tmp_path / "case.zip", case_with_evidence())
    script = code_block("sh", "### With `sha256sum` and `jq`").replace(
        "unzip -q case.zip -d case && cd case", f"cd {tmp_path}/case"
    )
    with zipfile.ZipFile(good) as archive:
        archive.extractall(tmp_path / "case")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "changed:" not in result.stdout
    assert ": OK" in result.stdout and "FAILED" not in result.stdout

    jsonl = tmp_path / "case" / "entries.jsonl"
    jsonl.write_bytes(jsonl.read_bytes().replace("晚上11点".encode(), "晚上12点".encode()))
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert "changed: seq 4" in result.stdout
