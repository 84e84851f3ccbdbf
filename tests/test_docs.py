"""The docs must stay true: the hand-verification recipes in docs/chain-format.md work on a
real export, and every module, setting, command, route and test docs/security.md names
exists (and every attack file under tests/security/ is named there)."""

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


# docs/security.md names modules, settings, commands and tests: each must exist -------------

SECURITY_DOC = DOC.parent / "security.md"
REPO = DOC.parent.parent
PATH_ROOTS = ("locker/", "config/", "templates/", "static/", "tools/", "docs/", "tests/", "bench/")
# A setting, an environment variable or a module constant: capitals (and underscores).
CONSTANT = re.compile(r"[A-Z][A-Z0-9_]{3,}")
# A class of ours (a model, a middleware).
CLASS = re.compile(r"[A-Z][a-z][A-Za-z0-9]*")
# A route: a path of this site, or a method and a path.
ROUTE = re.compile(r"(?:(?:GET|POST|PUT|PATCH|DELETE) )?(/[\w/.-]*)")
DOTTED = re.compile(r"locker(?:\.\w+)+")
COMMAND = re.compile(r"(?:python )?manage\.py (\w+)")


def _defines(path: Path, name: str) -> bool:
    """`name` is a function, class (at any depth) or module-level name of the file at `path`."""
    pattern = rf"^(?:\s*(?:async )?def |\s*class ){name}\b|^{name}\s*[:=]"
    return re.search(pattern, path.read_text(encoding="utf-8"), re.M) is not None


def _environment_variables() -> set[str]:
    source = (REPO / "config" / "settings.py").read_text(encoding="utf-8")
    return set(
        re.findall(r"""(?:environ\.get|environ\[|env_bool|env_list)\(?\s*["'](\w+)["']""", source)
    )


def _module_constant(name: str) -> bool:
    return any(
        _defines(path, name)
        for root in ("locker", "config")
        for path in (REPO / root).rglob("*.py")
    )


def _importable(dotted: str) -> bool:
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def missing_references(text: str) -> list[str]:
    """What the backquoted names of `text` name that does not exist: files (and the test or
    definition after `::`), settings and environment variables, `locker.…` objects, and
    management commands."""
    from django.conf import settings
    from django.core.management import get_commands
    from django.urls import Resolver404, resolve

    environment = _environment_variables()
    commands = get_commands()
    missing = []
    for span in sorted(set(re.findall(r"`([^`\n]+)`", text))):
        if span.startswith(PATH_ROOTS):
            path, _, name = span.partition("::")
            file = REPO / path
            if not file.exists():
                missing.append(f"{span}: no such file")
            elif name and not _defines(file, name):
                missing.append(f"{span}: {path} defines no {name}")
        elif CONSTANT.fullmatch(span):
            known = hasattr(settings, span) or span in environment or _module_constant(span)
            if not known:
                missing.append(f"{span}: no such setting, variable or constant")
        elif CLASS.fullmatch(span):
            if not _module_constant(span):
                missing.append(f"{span}: no such class")
        elif match := ROUTE.fullmatch(span):
            try:
                resolve(match.group(1))
            except Resolver404:
                missing.append(f"{span}: no such route")
        elif DOTTED.fullmatch(span):
            if not _importable(span):
                missing.append(f"{span}: cannot be imported")
        elif (command := COMMAND.match(span)) and command.group(1) not in commands:
            missing.append(f"{span}: no such command")
    return missing


def test_security_doc_names_only_what_exists() -> None:
    assert missing_references(SECURITY_DOC.read_text(encoding="utf-8")) == []


def test_the_check_catches_each_kind_of_stale_name() -> None:
    stale = (
        "`locker/infra/gone.py` `tests/security/test_accounts.py::test_no_such_attack` "
        "`locker/permissions.py::no_such_helper` `LOCKER_NO_SUCH_SETTING` "
        "`locker.infra.login_throttle.NoSuchBackend` `manage.py no_such_command` "
        "`locker/permissions.py::case_access_or_404` `LOCKER_SESSION_IDLE_S` `SECURE_COOKIES` "
        "`MAX_UNCOMPRESSED_BYTES` `manage.py changepassword` `locker.permissions.RoleRefused` "
        "`LOGGING` `Annotation` `NoSuchMiddleware` `/accounts/unlock/` `POST /api/no-such` "
        "`GET /api/account/security-events`"
    )
    assert [line.split(":")[0] for line in missing_references(stale)] == [
        "LOCKER_NO_SUCH_SETTING",
        "NoSuchMiddleware",
        "POST /api/no-such",
        "locker.infra.login_throttle.NoSuchBackend",
        "locker/infra/gone.py",
        "locker/permissions.py",
        "manage.py no_such_command",
        "tests/security/test_accounts.py",
    ]


def test_security_doc_names_every_security_test_file() -> None:
    """Each attack file under tests/security/ is a defence this page must describe."""
    text = SECURITY_DOC.read_text(encoding="utf-8")
    files = sorted((REPO / "tests" / "security").glob("test_*.py"))
    assert files
    unnamed = [str(f.relative_to(REPO)) for f in files if f"`{f.relative_to(REPO)}" not in text]
    assert unnamed == [], "docs/security.md does not say which defence these test"
