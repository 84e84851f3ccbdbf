"""Starting the loopback TSA (tests/tsa_server.py) as its own process, for tests."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

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
