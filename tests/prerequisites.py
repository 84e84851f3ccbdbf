"""Tests that need something a machine may lack (PostgreSQL, Redis, Chromium, poppler …).

Elsewhere such a test is skipped, with its reason in the summary. Where
LOCKER_REQUIRE_SERVICES=1 (CI sets it) a missing prerequisite fails the test instead, so the
tests that prove row locks, triggers and the worker cannot drop out of a green build
unnoticed. The failure happens at set-up, before the test body, so the test's own code never
runs against what is not there. No Django here: tests/test_prerequisites.py runs this module
in a bare pytest of its own."""

from __future__ import annotations

import os

import pytest

MISSING = "prerequisite_missing"


def services_required() -> bool:
    return os.environ.get("LOCKER_REQUIRE_SERVICES") == "1"


def needs(condition: bool, reason: str) -> pytest.MarkDecorator:
    """A mark for a test that needs `condition`: nothing when it holds; otherwise a skip, or,
    where services are required, a failure, both with `reason`."""
    if condition:
        return pytest.mark.skipif(False, reason=reason)
    if services_required():
        return getattr(pytest.mark, MISSING)(reason=reason)
    return pytest.mark.skip(reason=reason)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MISSING}(reason): a prerequisite CI must have is missing (fails the test)"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    mark = item.get_closest_marker(MISSING)
    if mark is not None:
        pytest.fail(f"CI must have it: {mark.kwargs['reason']}", pytrace=False)
