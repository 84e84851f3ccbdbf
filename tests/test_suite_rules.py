"""Rules the suite keeps so that its result does not depend on the machine: no test reads the
clock when it is collected or imported (module level, class bodies, decorators and their
arguments such as parametrize lists). A time read then is stale by the time a slow, busy
machine runs the test; tests that depend on "now" freeze the clock (time_machine) instead."""

from __future__ import annotations

import ast
from pathlib import Path

CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}
TESTS = Path(__file__).resolve().parent


def collection_time_clock_reads(source: str) -> list[int]:
    """Line numbers of clock reads that run when the module is imported."""
    tree = ast.parse(source)
    places: list[ast.AST] = []

    def visit_body(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                places.extend(node.decorator_list)
                places.extend(node.args.defaults + [d for d in node.args.kw_defaults if d])
            elif isinstance(node, ast.ClassDef):
                places.extend(node.decorator_list)
                visit_body(node.body)
            else:
                places.append(node)

    visit_body(tree.body)
    return sorted(
        call.lineno
        for place in places
        for call in ast.walk(place)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr in CLOCK_CALLS
        # A lambda or nested function defined at module level runs later, not at import.
        and not any(
            isinstance(outer, ast.Lambda | ast.FunctionDef) and call in ast.walk(outer)
            for outer in ast.walk(place)
        )
    )


def test_the_detector_finds_a_clock_read_in_a_parametrize_list() -> None:
    source = (
        "import pytest\nfrom django.utils import timezone\n"
        "@pytest.mark.parametrize('v', [timezone.now()])\ndef test_x(v):\n"
        "    assert timezone.now()\n"
        "LATER = lambda: timezone.now()\n"
    )
    assert collection_time_clock_reads(source) == [3]


def test_no_test_module_reads_the_clock_at_collection() -> None:
    found = {
        str(path.relative_to(TESTS)): lines
        for path in sorted(TESTS.rglob("*.py"))
        if (lines := collection_time_clock_reads(path.read_text(encoding="utf-8")))
    }
    assert found == {}
