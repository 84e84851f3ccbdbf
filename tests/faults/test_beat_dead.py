"""Beat killed, then the worker rendering a dossier SIGKILLed mid-render: the other worker's
own sweep timer (not beat, not its start-up sweep, long past) recovers the render."""

from __future__ import annotations

import re
import sqlite3
import time
from typing import Any

import pytest

from .conftest import Stack, needs_redis_server
from .processes import wait_until

pytestmark = [pytest.mark.faults, needs_redis_server]

MAKE_CASE_AND_REQUEST = """
import io
import locker.tasks  # registers the tasks, as the web process does
from django.contrib.auth.models import User
from locker import services
from locker.services import dossiers
from tests.dossier_helpers import distinct_png, screenshot_png
owner = User.objects.get(username="faults")
case = services.create_case(owner=owner, author=f"user:{owner.pk}", title="催收")
png = screenshot_png(1080, 2400)
for n in range(16):
    services.append_entry(
        case=case, author=f"user:{owner.pk}", kind="message",
        body={"channel": "sms", "sender": "106900", "text": f"截图 {n}"},
        uploads=[services.Upload(f"s{n}.png", io.BytesIO(distinct_png(png, n)))],
    )
dossier = dossiers.request_dossier(case=case, user=owner, template="court", language="en")
print("DOSSIER", dossier.pk)
"""


def rendering(worker: Any) -> int:
    """How many render tasks `worker` took and has not finished. On a busy machine the
    sweep may send the render again while it runs; the other worker then takes that copy,
    finds the row claimed and finishes it at once, so having received one says nothing."""
    log = worker.output(200_000)
    return len(re.findall(r"render_dossier\[[^\]]+\] received", log)) - len(
        re.findall(r"render_dossier\[[^\]]+\] (?:succeeded|failed|retry)", log)
    )


def test_with_beat_dead_a_worker_timer_recovers_a_render_whose_worker_was_killed(
    stack: Stack,
) -> None:
    beat = stack.beat()
    beat.kill()
    first, second = stack.worker("first"), stack.worker("second")
    out = stack.manage("shell", "-c", MAKE_CASE_AND_REQUEST)
    dossier_id = out.split("DOSSIER", 1)[1].split()[0].replace("-", "")
    database = sqlite3.connect(stack.workdir / "locker.sqlite3", timeout=10)

    def row() -> tuple[str, int, int, str]:
        found = database.execute(
            "SELECT state, progress, attempts, error FROM locker_dossier WHERE id = ?",
            (dossier_id,),
        ).fetchone()
        assert found is not None
        return found  # type: ignore[no-any-return]

    wait_until(
        lambda: row()[0] in ("rendering", "signing") and row()[1] >= 5, 60, "a render", stack.logs
    )
    victim, survivor = (first, second) if rendering(first) >= rendering(second) else (second, first)
    victim.kill()
    killed = time.monotonic()
    assert row()[0] in ("rendering", "signing"), "the render finished before the kill"
    assert not beat.alive
    state = wait_until(
        lambda: row()[0] in ("ready", "failed") and row(), 90, "the recovered render", stack.logs
    )
    print(f"killed render recovered in {time.monotonic() - killed:.1f} s (lease 6 s, sweep 1 s)")
    assert state[0] == "ready", state
    assert state[2] == 2
    assert "sweep re-enqueued" not in beat.output()
    assert "render_dossier[" in survivor.output(200_000)
