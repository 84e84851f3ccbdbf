"""Fixtures of the fault suite: a directory per test with its own Redis, an SQLite database
the app processes share (migrated once per test), instance keys, an account, and whatever
app processes the test starts; all stopped when the test ends, whatever happened."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import time
import uuid
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
    PostgresCluster,
    RedisServer,
    Service,
    app_env,
    manage,
    postgres_bin_dir,
)

USERNAME = "faults"
PASSWORD = "a long password for fault tests"
SLOW_S = 5.0  # no request may take longer, whatever is down

needs_redis_server = needs(
    shutil.which("redis-server") is not None, "the fault tests start their own redis-server"
)

needs_postgres_server = needs(
    postgres_bin_dir() is not None, "initdb and pg_ctl (a PostgreSQL server package)"
)
POSTGRES_TEMPLATE = "locker_template"

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

    def query(self, statement: str, *params: object) -> list[tuple[Any, ...]]:
        """Rows of the test's SQLite database, read directly (the app processes share it)."""
        with contextlib.closing(sqlite3.connect(self.workdir / "locker.sqlite3", timeout=10)) as db:
            return db.execute(statement, params).fetchall()

    def count(self, table: str) -> int:
        return int(self.query(f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608  # our names


def prepare_database(env: dict[str, str], *more: tuple[str, ...]) -> None:
    """Migrate the environment's database, run the `more` commands, make the account."""
    account = (
        "from django.contrib.auth.models import User; "
        f"User.objects.create_user({USERNAME!r}, password={PASSWORD!r})"
    )
    for args in (("migrate", "--noinput"), *more, ("shell", "-c", account)):
        result = manage(env, *args)
        assert result.returncode == 0, f"manage.py {args}:\n{result.stdout}{result.stderr}"


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, instance keys and an account, made once per session; each
    test works on its own copy (migrating takes seconds)."""
    template = tmp_path_factory.mktemp("faults-template")
    env = app_env(template, database_url=f"sqlite:///{template / 'locker.sqlite3'}", redis_url="")
    prepare_database(env, ("locker_keys",))
    return template


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    """A durable cluster (an immediate stop must not lose commits) with a migrated template
    database holding the fault suite's account; each test works on a copy."""
    workdir = tmp_path_factory.mktemp("faults-postgres")
    own = PostgresCluster(workdir / "pg", durable=True).init()
    try:
        own.start()
        env = app_env(workdir, database_url=own.create_database(POSTGRES_TEMPLATE), redis_url="")
        prepare_database(env)
        yield own
    finally:
        own.remove()


def postgres_app_env(
    cluster: PostgresCluster, migrated: Path, workdir: Path, **extra: str
) -> dict[str, str]:
    """The environment of app processes on a fresh copy of the cluster's migrated template
    (DATABASE_URL), with the session's instance keys and no Redis (a file cache)."""
    database_url = cluster.create_database(
        f"locker_{uuid.uuid4().hex[:12]}", template=POSTGRES_TEMPLATE
    )
    shutil.copytree(migrated / "keys", workdir / "keys")
    return app_env(workdir, database_url=database_url, redis_url="", **extra)


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


def api_case(base_url: str, title: str) -> tuple[dict[str, str], str]:
    """A new API token for the account and a new case: (the Authorization header, its id)."""
    token = requests.post(
        base_url + "/api/tokens",
        json={"username": USERNAME, "password": PASSWORD, "name": "faults"},
        timeout=10,
    )
    assert token.status_code == 201, token.text
    auth = {"Authorization": f"Bearer {token.json()['token']}"}
    case = requests.post(base_url + "/api/cases", json={"title": title}, headers=auth, timeout=10)
    assert case.status_code == 201, case.text
    return auth, str(case.json()["id"])


def signed_in(stack: Stack, timed: Timed, title: str = "故障测试") -> tuple[Gunicorn, Visitor, str]:
    """The stack's web server, a signed-in Visitor with an API token, and a new case's id."""
    web = stack.web()
    visitor = Visitor(web.base_url, timed)
    visitor.log_in()
    token = visitor.new_token()
    assert token.status_code == 201, token.text
    visitor.token = token.json()["token"]
    case = visitor.api("POST", "/api/cases", json={"title": title})
    assert case.status_code == 201, case.text
    return web, visitor, case.json()["id"]
