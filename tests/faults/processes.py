"""Real processes for the fault tests, each started by the test on a free port in its own
temporary directory, and stopped, killed, frozen (SIGSTOP) or thawed (SIGCONT) by it: a
`redis-server`, gunicorn, a Celery worker, Celery beat, and a PostgreSQL cluster made with
`initdb`. None of them ever touches the machine's shared PostgreSQL (5432) or Redis (6379).

Each service runs in its own session (process group), so a kill takes its children too
(gunicorn's and Celery's pool processes), and its output goes to a log file the failure
messages quote."""

from __future__ import annotations

import base64
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from locker.core import envelope

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(
    condition: Callable[[], Any], timeout: float, what: str, log: Callable[[], str] = str
) -> Any:
    """`condition()`'s first truthy value within `timeout` seconds, or an AssertionError
    that says what was awaited and quotes `log()`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{log()}")
        time.sleep(0.05)


class Service:
    """One supervised-by-the-test process: start, stop (TERM, then KILL), kill (KILL),
    freeze (STOP) and thaw (CONT), all to its whole process group."""

    name = "service"

    def __init__(self, workdir: Path, argv: Sequence[str], env: dict[str, str]) -> None:
        self.workdir = workdir
        self.argv = list(argv)
        self.env = env
        self.log_path = workdir / f"{self.name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def output(self, tail: int = 6000) -> str:
        try:
            return f"--- {self.name} log ---\n" + self.log_path.read_text(errors="replace")[-tail:]
        except FileNotFoundError:
            return f"--- {self.name}: no log ---"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        raise NotImplementedError

    def wait_ready(self, timeout: float = 60) -> Service:
        def check() -> bool:
            if not self.alive:
                raise AssertionError(f"{self.name} exited before it was ready\n{self.output()}")
            return self.ready()

        wait_until(check, timeout, f"{self.name} to be ready", self.output)
        return self

    def _signal_group(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def freeze(self) -> None:
        self._signal_group(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_group(signal.SIGCONT)

    def kill(self) -> None:
        self._signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if not self.alive:
            return
        self.thaw()  # a frozen process cannot act on TERM
        self._signal_group(signal.SIGTERM)
        assert self.process is not None
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class RedisServer(Service):
    """Its own redis-server, nothing persisted; restartable on the same port."""

    name = "redis"

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        binary = shutil.which("redis-server") or "redis-server"
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(workdir)]
        super().__init__(workdir, argv, dict(os.environ))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


# The master key the stacks' processes seal evidence under, so a test can read what they
# stored (unsealed) straight from the media directory.
MASTER_KEY = os.urandom(32)


def unsealed(path: Path) -> bytes:
    """A stored evidence file's plaintext, as the app reads it (docs/storage-encryption.md);
    a file without the sealed header (a planted one) as it is."""
    with path.open("rb") as handle:
        if not envelope.is_sealed(handle.read(len(envelope.MAGIC))):
            return path.read_bytes()
        keys = {envelope.key_id(MASTER_KEY): MASTER_KEY}
        with envelope.open_sealed(handle, path.stat().st_size, keys) as opened:
            return opened.read()


def app_env(workdir: Path, *, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of an app process (web, worker, beat, manage.py) of one test: its
    own data dir, keys and media, the given database and Redis, short dossier timings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "LOCKER_", "CELERY_", "DJANGO_"))
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "LOCKER_DATA_DIR": str(workdir / "data"),
            "LOCKER_KEY_DIR": str(workdir / "keys"),
            "MEDIA_ROOT": str(workdir / "media"),
            "SECRET_KEY": "faults-" + uuid.uuid4().hex,
            "LOCKER_MASTER_KEY": base64.b64encode(MASTER_KEY).decode(),
            "LOCKER_DOSSIER_LEASE_S": "6",
            "LOCKER_DOSSIER_REQUEUE_S": "2",
            "LOCKER_DOSSIER_SWEEP_S": "1",
            "LOCKER_CACHE_RETRY_S": "2",
            "LOG_LEVEL": "INFO",
            "SECURE_COOKIES": "0",  # plain http on 127.0.0.1
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def manage(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`manage.py args…` in the app's environment; the result, whatever its exit status."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


MOTO_SERVER = shutil.which("moto_server", path=str(VENV_BIN))


class MotoS3Server(Service):
    """moto's standalone server: a real S3-protocol endpoint on loopback, in place of
    compose's SeaweedFS (tests/test_s3_storage.py, tests/test_compose.py)."""

    name = "moto"

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        assert MOTO_SERVER is not None, "moto_server is not installed"
        port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
        super().__init__(workdir, [MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)], env)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/", timeout=1):  # noqa: S310
                return True
        except OSError:
            return False


class Gunicorn(Service):
    name = "web"

    def __init__(self, workdir: Path, env: dict[str, str], workers: int = 2) -> None:
        self.port = free_port()
        # The project's own gunicorn settings (its redacting access log), as bin/run-local.
        argv = [str(VENV_BIN / "gunicorn"), "-c", "config/gunicorn.py", "config.wsgi:application"]
        argv += ["--bind", f"127.0.0.1:{self.port}", "--workers", str(workers)]
        argv += ["--timeout", "30", "--access-logfile", "-"]
        super().__init__(workdir, argv, env)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        try:
            login = self.base_url + "/accounts/login/"  # http, to our own port
            with urllib.request.urlopen(login, timeout=2) as page:  # noqa: S310
                return bool(page.status == 200)
        except (urllib.error.URLError, OSError):
            return False


class CeleryWorker(Service):
    name = "worker"

    def __init__(self, workdir: Path, env: dict[str, str], name: str = "worker") -> None:
        self.name = name
        argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO"]
        argv += ["--concurrency=1", f"--hostname={name}-{uuid.uuid4().hex[:6]}@%h"]
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        super().__init__(workdir, argv, env)

    def ready(self) -> bool:
        return " ready." in self.output(tail=200_000)


class CeleryBeat(Service):
    name = "beat"

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        argv = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"]
        argv += [f"--schedule={workdir / 'celerybeat-schedule'}"]
        super().__init__(workdir, argv, env)

    def ready(self) -> bool:
        return "beat: Starting" in self.output(tail=200_000)


def postgres_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: the newest /usr/lib/postgresql/*/bin, or else PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    for candidate in reversed(candidates):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    return None


class PostgresCluster:
    """Its own PostgreSQL cluster (initdb, trust authentication for local connections) on a
    free port, with its socket in the test's directory. PostgreSQL refuses to run as root,
    so as root the cluster belongs to the `postgres` account and commands run as it.

    Commits are not flushed (`synchronous_commit=off`) unless `durable`: faster, and safe for
    a fast stop or a SIGKILL of one backend, but an immediate stop (a crash of the whole
    server) may then lose the last commits, which a test that counts acknowledged writes
    across such a stop must not mistake for the app's fault."""

    def __init__(self, workdir: Path, *, durable: bool = False) -> None:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise RuntimeError("initdb and pg_ctl are not installed")
        self.bin_dir = bin_dir
        if os.geteuid() == 0:
            # pytest's tmp dirs are private to root: the postgres account cannot reach them.
            workdir = Path(tempfile.mkdtemp(prefix="locker-faults-pg-"))
        self.workdir = workdir
        self.data_dir = workdir / "pgdata"
        self.socket_dir = workdir / "pgsocket"
        self.log_path = workdir / "postgres.log"
        self.port = free_port()
        self.durable = durable

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return argv

    def _run(self, *argv: str, timeout: float = 60) -> None:
        result = subprocess.run(
            self._as_owner([str(self.bin_dir / argv[0]), *argv[1:]]),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {result.stdout}{result.stderr}\n{self.output()}")

    def output(self) -> str:
        try:
            return "--- postgres log ---\n" + self.log_path.read_text(errors="replace")[-4000:]
        except (FileNotFoundError, PermissionError):
            return "--- postgres: no log ---"

    def init(self) -> PostgresCluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            for path in (self.workdir, self.socket_dir):
                shutil.chown(path, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        return self

    def start(self) -> PostgresCluster:
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off "
            f"-c synchronous_commit={'on' if self.durable else 'off'}"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, PermissionError, ValueError, IndexError):
            return None

    def running(self) -> bool:
        pid = self.postmaster_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL the postmaster (a crash: the next start runs recovery)."""
        pid = self.postmaster_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not self.running(), 10, "postgres to die", self.output)

    def remove(self) -> None:
        """Stop the cluster at once and delete its files."""
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database (a copy of `template`, which nobody may be connected to); its URL."""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as connection:
            connection.execute(statement)
        return self.url(name)


def mount_tmpfs(directory: Path, size: str) -> None:
    """A tmpfs of `size` (mount's syntax: 2m) on `directory`: a disk that fills up. Needs
    the right to mount (root, outside a locked-down container)."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(directory)],
        check=True,
        capture_output=True,
        timeout=10,
    )


def unmount(directory: Path) -> None:
    # Lazy: a process of the test that still has the directory open does not block it.
    subprocess.run(["umount", "-l", str(directory)], check=False, capture_output=True, timeout=10)


def can_mount_tmpfs() -> bool:
    """Whether this process may mount a tmpfs (tried on a throw-away directory)."""
    if shutil.which("mount") is None or shutil.which("umount") is None:
        return False
    probe = Path(tempfile.mkdtemp(prefix="locker-faults-mount-"))
    try:
        mount_tmpfs(probe, "64k")
    except (subprocess.SubprocessError, OSError):
        return False
    else:
        unmount(probe)
        return True
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()
