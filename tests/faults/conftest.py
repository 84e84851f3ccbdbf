"""Fixtures of the fault suite: a directory per test with its own Redis, an SQLite database
the app processes share (migrated once per test), instance keys, an account, and whatever
app processes the test starts; all stopped when the test ends, whatever happened."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

from tests.prerequisites import needs

from .processes import (
    CeleryBeat,
    CeleryWorker,
    Gunicorn,
    RedisServer,
    Service,
    app_env,
    manage,
)

USERNAME = "faults"
PASSWORD = "a long password for fault tests"
SLOW_S = 5.0  # no request may take longer, whatever is down

needs_redis_server = needs(
    shutil.which("redis-server") is not None, "the fault tests start their own redis-server"
)

S = TypeVar("S", bound=Service)


@dataclass
class Stack:
    """One test's processes and the environment they share."""

    workdir: Path
    redis: RedisServer
    env: dict[str, str]
    services: list[Service] = field(default_factory=list)

    def start(self, service: S, timeout: float = 60) -> S:
        self.services.append(service)
        service.start().wait_ready(timeout)
        return service

    def web(self) -> Gunicorn:
        return self.start(Gunicorn(self.workdir, self.env))

    def worker(self, name: str = "worker") -> CeleryWorker:
        return self.start(CeleryWorker(self.workdir, self.env, name))

    def beat(self) -> CeleryBeat:
        return self.start(CeleryBeat(self.workdir, self.env))

    def manage(self, *args: str) -> str:
        result = manage(self.env, *args)
        assert result.returncode == 0, (
            f"manage.py {' '.join(args)}:\n{result.stdout}{result.stderr}"
        )
        return result.stdout

    def logs(self) -> str:
        return "\n".join(service.output() for service in [self.redis, *self.services])


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, instance keys and an account, made once per session; each
    test works on its own copy (migrating takes seconds)."""
    template = tmp_path_factory.mktemp("faults-template")
    env = app_env(template, database_url=f"sqlite:///{template / 'locker.sqlite3'}", redis_url="")
    for args in (
        ("migrate", "--noinput"),
        ("locker_keys",),
        (
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            f"User.objects.create_user({USERNAME!r}, password={PASSWORD!r})",
        ),
    ):
        result = manage(env, *args)
        assert result.returncode == 0, f"manage.py {args}:\n{result.stdout}{result.stderr}"
    return template


@pytest.fixture
def stack(tmp_path: Path, migrated: Path) -> Iterator[Stack]:
    shutil.copy(migrated / "locker.sqlite3", tmp_path / "locker.sqlite3")
    shutil.copytree(migrated / "keys", tmp_path / "keys")
    redis = RedisServer(tmp_path)
    redis.start().wait_ready(20)
    env = app_env(
        tmp_path, database_url=f"sqlite:///{tmp_path / 'locker.sqlite3'}", redis_url=redis.url
    )
    built = Stack(tmp_path, redis, env)
    try:
        yield built
    finally:
        for service in reversed(built.services):
            service.stop()
        redis.stop()


@dataclass
class Timed:
    """Every request a test made: (what, status, seconds)."""

    calls: list[tuple[str, int, float]] = field(default_factory=list)

    def __call__(self, what: str, send: Callable[[], requests.Response]) -> requests.Response:
        started = time.monotonic()
        try:
            response = send()
        except requests.RequestException as exc:
            elapsed = time.monotonic() - started
            self.calls.append((what, 0, elapsed))
            raise AssertionError(f"{what}: no answer after {elapsed:.1f} s ({exc!r})") from exc
        self.calls.append((what, response.status_code, time.monotonic() - started))
        return response

    def slowest(self) -> float:
        return max((seconds for _, _, seconds in self.calls), default=0.0)

    def failures(self) -> list[tuple[str, int, float]]:
        return [call for call in self.calls if call[1] >= 500 or call[2] > SLOW_S]


class Visitor:
    """A signed-in browser (session cookie and CSRF token) and an API token, against one
    gunicorn; every request timed."""

    def __init__(self, base_url: str, timed: Timed) -> None:
        self.base = base_url
        self.timed = timed
        self.browser = requests.Session()
        self.token = ""

    def log_in(self) -> None:
        login = self.base + "/accounts/login/"
        self.timed("login page", lambda: self.browser.get(login, timeout=10))
        response = self.timed(
            "log in",
            lambda: self.browser.post(
                login,
                data={"username": USERNAME, "password": PASSWORD, **self._csrf()},
                headers={"Referer": login},
                timeout=10,
            ),
        )
        assert response.ok and "sessionid" in self.browser.cookies, response.text[:500]

    def _csrf(self) -> dict[str, str]:
        return {"csrfmiddlewaretoken": self.browser.cookies.get("csrftoken", "")}

    def new_token(self) -> requests.Response:
        return self.timed(
            "POST /api/tokens",
            lambda: requests.post(
                self.base + "/api/tokens",
                json={"username": USERNAME, "password": PASSWORD, "name": "faults"},
                timeout=10,
            ),
        )

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.timed(
            f"{method} {path}",
            lambda: requests.request(
                method, self.base + path, headers=headers, timeout=10, **kwargs
            ),
        )

    def page(self, path: str) -> requests.Response:
        return self.timed(f"GET {path}", lambda: self.browser.get(self.base + path, timeout=10))

    def post_form(self, path: str, data: dict[str, str]) -> requests.Response:
        url = self.base + path
        return self.timed(
            f"POST {path}",
            lambda: self.browser.post(
                url,
                data={**data, **self._csrf()},
                headers={"Referer": url},
                allow_redirects=False,
                timeout=10,
            ),
        )
