"""Starting the loopback TSA (tests/tsa_server.py) as its own process, for tests."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .faults.processes import free_port

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class LoopbackTSA:
    directory: Path
    name: str = "Loopback TSA"
    mode: str = "ok"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tsa"

    @property
    def root_pem(self) -> Path:
        return self.directory / "root.pem"

    @property
    def certificate_pem(self) -> Path:
        return self.directory / "tsa.pem"

    def start(self) -> LoopbackTSA:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.tsa_server",
                "--dir",
                str(self.directory),
                "--port",
                str(self.port),
                "--name",
                self.name,
                "--mode",
                self.mode,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                health = f"http://127.0.0.1:{self.port}/health"
                with urllib.request.urlopen(health, timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise AssertionError(f"the loopback TSA did not start: {error}")
            time.sleep(0.05)

    def set_clock(self, moment: datetime | None) -> None:
        """Fix the time this TSA writes into its tokens (None: its real clock)."""
        data = moment.isoformat().encode() if moment else b""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/clock", data=data, method="POST"
        )
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 (loopback http)
            pass

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def closed_url() -> str:
    """The URL of a TSA that is down: a loopback port nothing listens on."""
    return f"http://127.0.0.1:{free_port()}/tsa"


@pytest.fixture
def tsa_pair(tmp_path: Path) -> Iterator[tuple[LoopbackTSA, LoopbackTSA]]:
    """Two independent TSAs, each with its own root CA, as two real processes."""
    first = LoopbackTSA(tmp_path / "tsa-a", name="Loopback TSA A").start()
    second = LoopbackTSA(tmp_path / "tsa-b", name="Loopback TSA B").start()
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def anchored_round(tsas: tuple[LoopbackTSA, ...], moment: datetime) -> None:
    """One anchoring round at `moment` + 30 s, the TSAs' clocks at `moment` + 1 minute."""
    import time_machine

    from locker.services import anchors as anchor_services

    for tsa in tsas:
        tsa.set_clock(moment + timedelta(minutes=1))
    with time_machine.travel(moment + timedelta(seconds=30), tick=False):
        anchor_services.anchor_pending_checkpoints()


def case_anchored_as_made(tsas: tuple[LoopbackTSA, ...], start: datetime, records: int) -> Any:
    """A case opened at `start` (seq 1) and `records` notes ten minutes apart (seq 2 on),
    each anchored by a round right after it was made."""
    import time_machine

    from .factories import add_entry, make_case

    with time_machine.travel(start, tick=False):
        case = make_case()
    anchored_round(tsas, start)
    for number in range(1, records + 1):
        moment = start + timedelta(minutes=10 * number)
        with time_machine.travel(moment, tick=False):
            add_entry(case, body={"text": f"record {number}"})
        anchored_round(tsas, moment)
    return case
