"""`needs()` in a bare pytest of its own: a missing prerequisite is a skip on a developer's
machine and a failure where LOCKER_REQUIRE_SERVICES=1, as in CI."""

from __future__ import annotations

import pytest

EXAMPLE = """
from tests.prerequisites import needs

@needs(False, "PostgreSQL is not running")
def test_needs_postgres():
    pass

@needs(True, "always there")
def test_needs_nothing_missing():
    pass
"""


def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, required: str | None):
    pytester.makepyfile(test_example=EXAMPLE)
    if required is None:
        monkeypatch.delenv("LOCKER_REQUIRE_SERVICES", raising=False)
    else:
        monkeypatch.setenv("LOCKER_REQUIRE_SERVICES", required)
    return pytester.runpytest_inprocess(
        "-p", "tests.prerequisites", "-p", "no:django", "-p", "no:cacheprovider", "-rs"
    )


def test_a_missing_prerequisite_fails_the_run_where_services_are_required(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run(pytester, monkeypatch, "1")
    result.assert_outcomes(passed=1, errors=1)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*CI must have it: PostgreSQL is not running*"])


@pytest.mark.parametrize("required", [None, "0"])
def test_elsewhere_it_is_skipped_with_its_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, required: str | None
) -> None:
    result = run(pytester, monkeypatch, required)
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*SKIPPED*PostgreSQL is not running*"])
