"""The compose deployment (issues 10 and 14): compose.yaml, the Dockerfile, .env.example and
bin/container-entrypoint agree with each other and with config/settings.py, compose.yaml is
a valid compose file, and the entry point's web and celery paths work, run here the way
compose runs them, with the image's and compose's settings, minus Docker (there is no
Docker engine on these machines): SQLite in a temporary data dir instead of the postgres
service."""

from __future__ import annotations

import importlib
import json
import os
import re
import runpy
import shlex
import shutil
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml

from locker.infra import signing

from .faults.processes import (
    MOTO_SERVER,
    MotoS3Server,
    PostgresCluster,
    Service,
    free_port,
    postgres_bin_dir,
    wait_until,
)
from .prerequisites import needs

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
SETTINGS = ROOT / "config" / "settings.py"
GUNICORN_CONF = ROOT / "config" / "gunicorn.py"
HEALTHCHECK = ROOT / "bin" / "container-healthcheck"
APP_SERVICES = ("web", "worker", "beat")
IMAGE_ROOT = "/app"  # the Dockerfile's WORKDIR: this repository inside the image

# How config/settings.py reads a variable: os.environ.get("X"…), os.environ["X"],
# env_bool("X"…), env_list("X"…). test_settings_read_nothing_this_pattern_misses checks it.
SETTINGS_READ = re.compile(
    r"""(?:os\.environ\.get\(|os\.environ\[|os\.getenv\(|env_bool\(|env_list\()\s*"([A-Z][A-Z0-9_]*)\""""
)
INTERPOLATION = re.compile(r"\$\{([A-Z][A-Z0-9_]*):-([^}]*)\}")
EXAMPLE_LINE = re.compile(r"^#([A-Z][A-Z0-9_]*)=(.*)$")
NOT_READ_LINE = re.compile(r"^#   ([A-Z][A-Z0-9_]*(?: [A-Z][A-Z0-9_]*)*)$")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def app_environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's environment list as a mapping; a bare name (passed from .env or the
    shell) maps to None."""
    entries: dict[str, str | None] = {}
    for item in service["environment"]:
        name, equals, value = item.partition("=")
        entries[name] = value if equals else None
    return entries


def settings_variables() -> set[str]:
    """What config/settings.py and config/gunicorn.py (the web server's own) read."""
    return {
        name
        for path in (SETTINGS, GUNICORN_CONF)
        for name in SETTINGS_READ.findall(path.read_text(encoding="utf-8"))
    }


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in strings(key) + strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return [value] if isinstance(value, str) else []


def compose_defaults() -> dict[str, str]:
    """compose.yaml's own variables, ${NAME:-default} in its values, and their defaults."""
    return dict(pair for text in strings(compose()) for pair in INTERPOLATION.findall(text))


def env_example() -> tuple[dict[str, str], set[str]]:
    """.env.example's commented-out assignments (name: the value shown), and the names it
    lists as not read from the file."""
    examples: dict[str, str] = {}
    not_read: set[str] = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if match := EXAMPLE_LINE.match(line):
            assert match[1] not in examples, f"{match[1]} twice in .env.example"
            examples[match[1]] = match[2]
        elif match := NOT_READ_LINE.match(line):
            not_read.update(match[1].split())
        else:
            assert not re.match(r"^[A-Z][A-Z0-9_]*=", line), f"{line!r}: uncommented"
    return examples, not_read


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each Dockerfile instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def runtime_stage() -> list[tuple[str, str]]:
    """The instructions of the Dockerfile's last stage: what the image runs with."""
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in runtime_stage():
        if keyword == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(arguments))
    return env


def exec_form(keyword: str) -> list[str]:
    [arguments] = [arguments for kw, arguments in runtime_stage() if kw == keyword]
    return json.loads(arguments)


# --- compose.yaml ---------------------------------------------------------------------------


def test_app_services_share_one_image_environment_and_data_volume() -> None:
    services = compose()["services"]
    web = services["web"]
    for name in APP_SERVICES:
        service = services[name]
        assert service["image"] == "evidence-locker" and service["build"] == ".", name
        assert service["environment"] == web["environment"], name
        assert service["volumes"] == ["lockerdata:/data"], name
        assert service["restart"] == "unless-stopped", name
        assert service["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "bucket": {"condition": "service_completed_successfully"},
        }, name
    assert set(compose()["volumes"]) == {"pgdata", "redisdata", "lockerdata", "s3data"}

    environment = app_environment(web)
    assert environment["LOCKER_DATA_DIR"] == "/data" == image_env()["LOCKER_DATA_DIR"]
    assert ("VOLUME", '["/data"]') in runtime_stage()
    assert environment["DATABASE_URL"] == (
        "postgres://locker:${POSTGRES_PASSWORD:-locker}@postgres:5432/locker"
    )
    postgres_password = services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert postgres_password == "${POSTGRES_PASSWORD:-locker}"
    assert environment["REDIS_URL"] == "redis://redis:6379/0"


def test_backing_services_are_checked_and_kept() -> None:
    services = compose()["services"]
    postgres, redis = services["postgres"], services["redis"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert "--username=locker" in postgres["healthcheck"]["test"]
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    for service in (postgres, redis):
        assert service["restart"] == "unless-stopped"
        assert all(port.startswith("127.0.0.1:") for port in service["ports"])
    seaweedfs = services["seaweedfs"]
    assert seaweedfs["image"].startswith("chrislusf/seaweedfs:")
    assert seaweedfs["volumes"] == ["s3data:/data"] and "ports" not in seaweedfs
    assert seaweedfs["healthcheck"]["test"][-1] == "http://127.0.0.1:8333/healthz"
    assert seaweedfs["restart"] == "unless-stopped"
    [script] = seaweedfs["command"]
    # The gateway knows the app's credentials only: requests without them are refused.
    assert '"$$S3_ACCESS_KEY" "$$S3_SECRET_KEY"' in script and "-s3.config=" in script
    environment = seaweedfs["environment"]
    assert environment["S3_ACCESS_KEY"] == "${AWS_ACCESS_KEY_ID:-locker}"
    assert environment["S3_SECRET_KEY"] == "${AWS_SECRET_ACCESS_KEY:-locker-s3-secret}"
    app = app_environment(services["web"])
    assert app["AWS_ACCESS_KEY_ID"] == environment["S3_ACCESS_KEY"]
    assert app["AWS_SECRET_ACCESS_KEY"] == environment["S3_SECRET_KEY"]
    assert app["LOCKER_STORAGE"] == "${LOCKER_STORAGE:-s3}"
    assert app["AWS_S3_ENDPOINT_URL"] == "${AWS_S3_ENDPOINT_URL:-http://seaweedfs:8333}"
    bucket = services["bucket"]
    assert bucket["command"] == ["python", "manage.py", "prepare_bucket"]
    assert bucket["environment"] == services["web"]["environment"]
    assert bucket["depends_on"] == {"seaweedfs": {"condition": "service_healthy"}}
    assert bucket["restart"] == "no"
    web = services["web"]
    assert web["ports"] == ["127.0.0.1:${WEB_PORT:-8000}:8000"]
    assert web["healthcheck"]["test"] == [
        "CMD",
        f"{IMAGE_ROOT}/bin/container-healthcheck",
        "http://127.0.0.1:8000/readyz",
    ]


def test_the_commands_name_what_exists() -> None:
    services = compose()["services"]
    web = services["web"]["command"]
    assert web[0] == "gunicorn" and web == exec_form("CMD")  # the image's default is web's
    # The project's gunicorn settings (its access log redacts token URLs), then the app.
    assert web[1:3] == ["-c", "config/gunicorn.py"] and (ROOT / web[2]).is_file()
    module, _, attribute = web[3].partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))

    from celery.app.utils import find_app

    from config.celery import app

    for name in ("worker", "beat"):
        command = services[name]["command"]
        assert command[:3] == ["celery", "-A", "config"] and command[3] == name
        assert find_app(command[2]) is app
    [schedule] = [arg for arg in services["beat"]["command"] if arg.startswith("--schedule=")]
    assert Path(schedule.removeprefix("--schedule=")).parent == Path("/data")


# --- the variables ------------------------------------------------------------------------


def test_env_example_lists_every_setting_and_compose_passes_it() -> None:
    examples, not_read = env_example()
    environment = app_environment(compose()["services"]["web"])
    # Passed from .env: bare, or ${NAME:-default} of its own name (compose's default then).
    passed = {
        name
        for name, value in environment.items()
        if value is None
        or (INTERPOLATION.fullmatch(value) is not None and value[2:].startswith(name + ":"))
    }
    set_by_compose = set(environment) - passed
    settings = settings_variables()
    compose_own = set(compose_defaults())

    assert passed <= settings, "compose.yaml passes variables no setting reads"
    assert set(examples) | not_read == settings | compose_own, "out of step with the settings"
    assert not set(examples) & not_read
    # What .env.example offers to set is what compose.yaml reads: its own or passed on.
    assert set(examples) == passed | compose_own
    assert set_by_compose <= not_read and not passed & not_read
    # The paths under the data dir and the static files are the image's: never passed.
    assert {"MEDIA_ROOT", "LOCKER_KEY_DIR", "STATIC_ROOT"} <= not_read - passed
    assert image_env()["STATIC_ROOT"].startswith(IMAGE_ROOT + "/")


def settings_with(env: dict[str, str]) -> dict[str, Any]:
    """config/settings.py's upper-case names, run afresh with exactly `env` as environment."""
    with mock.patch.dict(os.environ, env, clear=True):
        namespace = runpy.run_path(str(SETTINGS))
    return {name: value for name, value in namespace.items() if name.isupper()}


def test_env_example_shows_the_defaults(tmp_path) -> None:
    """Uncommenting any line of .env.example as it is changes nothing."""
    examples, _ = env_example()
    base = {"LOCKER_DATA_DIR": str(tmp_path)}
    defaults = settings_with(base)
    compose_own = compose_defaults()
    for name, value in examples.items():
        if name in compose_own:
            assert value == compose_own[name], name
            continue
        changed = settings_with({**base, name: value})
        differing = sorted(key for key in defaults if changed[key] != defaults[key])
        assert not differing, f"{name}={value} is not the default: it changes {differing}"
    # The comparison can tell: a value that is not the default shows.
    assert settings_with({**base, "LOCKER_TSA_URL": "https://tsa.example"}) != defaults


def test_gunicorn_reads_its_shape_from_the_environment_with_the_defaults_shown() -> None:
    """config/gunicorn.py: each GUNICORN_* setting, and .env.example shows its default."""
    examples, _ = env_example()
    names = {
        "GUNICORN_WORKERS": "workers",
        "GUNICORN_THREADS": "threads",
        "GUNICORN_TIMEOUT": "timeout",
        "GUNICORN_GRACEFUL_TIMEOUT": "graceful_timeout",
        "GUNICORN_KEEPALIVE": "keepalive",
        "GUNICORN_MAX_REQUESTS": "max_requests",
        "GUNICORN_MAX_REQUESTS_JITTER": "max_requests_jitter",
    }
    assert {n for n in settings_variables() if n.startswith("GUNICORN_")} == set(names)
    with mock.patch.dict(os.environ, {}, clear=True):
        defaults = runpy.run_path(str(GUNICORN_CONF))
    changed_env = {name: str(41 + i) for i, name in enumerate(names)}
    with mock.patch.dict(os.environ, changed_env, clear=True):
        changed = runpy.run_path(str(GUNICORN_CONF))
    for i, (name, attribute) in enumerate(names.items()):
        assert str(defaults[attribute]) == examples[name], name
        assert changed[attribute] == 41 + i, name
    # The commands leave these to the config file: a flag there would override the variable.
    web = compose()["services"]["web"]["command"]
    assert not {"--workers", "-w", "--threads", "--timeout"} & set(web + exec_form("CMD"))


class RecordingEnviron(dict[str, str]):
    """An os.environ that notes every name read from it."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def test_settings_read_nothing_this_pattern_misses(tmp_path, monkeypatch) -> None:
    read: set[str] = set()
    for branches in (
        {},
        {
            "DATABASE_URL": "postgres://locker@db.invalid/locker",
            "REDIS_URL": "redis://redis.invalid:6379/0",
            "LOCKER_STORAGE": "s3",
            "SECRET_KEY": "x" * 50,
        },
    ):
        recording = RecordingEnviron({"LOCKER_DATA_DIR": str(tmp_path), **branches})
        monkeypatch.setattr(os, "environ", recording)
        runpy.run_path(str(SETTINGS))
        monkeypatch.undo()
        read |= recording.read
    assert read <= settings_variables()
    assert {"AWS_STORAGE_BUCKET_NAME", "SECRET_KEY", "LOCKER_VERIFY_RATE"} <= read


# --- the Dockerfile -------------------------------------------------------------------------


def test_the_dockerfile_runs_the_entrypoint_as_a_user_on_the_source_tree() -> None:
    [entrypoint] = exec_form("ENTRYPOINT")
    script = ROOT / Path(entrypoint).relative_to(IMAGE_ROOT)
    # (In a fresh clone the mode is git's.)
    for path in (script, HEALTHCHECK):
        assert path.is_file() and os.access(path, os.X_OK), f"{path} is not executable"

    stage = runtime_stage()
    [user] = [arguments for keyword, arguments in stage if keyword == "USER"]
    assert user not in {"root", "0"}
    assert image_env()["PYTHONPATH"] == IMAGE_ROOT
    for keyword, arguments in dockerfile_instructions():
        if keyword == "FROM":
            assert arguments.startswith("python:3.11-slim"), arguments
        if keyword == "COPY" and not arguments.startswith("--from="):
            *sources, _ = shlex.split(arguments)
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        if keyword == "RUN" and "manage.py" in arguments:
            # Importing the settings writes into the data dir (and a SECRET_KEY there): at
            # build time that must be a throw-away one, never the image's /data.
            guarded = r"LOCKER_DATA_DIR=/tmp/\S+\s+SECRET_KEY=\S+\s+python manage\.py"
            assert len(re.findall(guarded, arguments)) == arguments.count("manage.py"), arguments
        if keyword == "RUN" and "pip install" in arguments:
            assert "-e " not in arguments and "[dev]" not in arguments
    for command in ("python -m locker.infra.i18n_compile", "manage.py collectstatic"):
        assert any(command in arguments for keyword, arguments in stage if keyword == "RUN")


def test_dockerignore_keeps_local_state_and_secrets_out() -> None:
    ignored = set(DOCKERIGNORE.read_text(encoding="utf-8").split())
    assert {".git", ".venv", ".env", "var/", "**/__pycache__"} <= ignored


# --- running it -----------------------------------------------------------------------------


class Entrypoint(Service):
    """bin/container-entrypoint with a command, as compose starts a service."""

    def __init__(self, name: str, workdir: Path, command: list[str], env: dict[str, str]):
        self.name = name
        super().__init__(workdir, [str(ROOT / "bin" / "container-entrypoint"), *command], env)

    def ready(self) -> bool:
        return True


def container_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment the image and compose.yaml give web, worker and beat, here: /app is
    this checkout, /data and the image's build output temporary directories, the virtualenv
    this test runs in; no DATABASE_URL or REDIS_URL (they name compose's postgres and redis),
    so SQLite and the file-system broker in the data dir; the names compose passes from .env
    unset, as in a compose run without one."""
    env = {key: os.environ[key] for key in ("HOME", "LANG", "TMPDIR") if key in os.environ}
    for name, value in image_env().items():
        if name == "PATH":
            value = value.replace("/opt/venv/bin", str(Path(sys.executable).parent))
            value = value.replace("$PATH", os.environ["PATH"])
        elif value == IMAGE_ROOT:
            value = str(ROOT)
        elif value.startswith(IMAGE_ROOT + "/"):
            value = str(data_dir.parent / "image" / value.removeprefix(IMAGE_ROOT + "/"))
        env[name] = value
    for name, value in app_environment(compose()["services"]["web"]).items():
        if value is not None and name not in {"DATABASE_URL", "REDIS_URL"}:
            # ${NAME:-default}: compose's default, as with no .env.
            env[name] = INTERPOLATION.sub(lambda match: match[2], value)
    env["LOCKER_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def get(url: str, host: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Host": host})  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None
    except OSError:
        return 0, None


@needs(MOTO_SERVER is not None, "moto_server (pip install 'moto[server]', in the dev extras)")
def test_the_entrypoint_serves_web_and_holds_celery_until_migrated(tmp_path) -> None:
    """compose's bucket, web and celery commands through the entry point, with compose's
    settings (LOCKER_STORAGE=s3, the AWS_* defaults) and moto's S3 server in place of the
    seaweedfs service: the bucket command prepares the bucket and exits 0; web migrates and
    creates the keys, then gunicorn answers /readyz (the bucket included) and /healthz; a
    celery command started before waits for the migrations, then runs; the container's
    health check passes the Host the app accepts. The public name is the only allowed
    host, as in production."""
    data = tmp_path / "data"
    s3 = MotoS3Server(tmp_path / "moto").start()
    s3.wait_ready(60)
    env = container_env(data, ALLOWED_HOSTS="locker.example.org", AWS_S3_ENDPOINT_URL=s3.endpoint)
    assert env["LOCKER_STORAGE"] == "s3" and env["AWS_S3_ADDRESSING_STYLE"] == "path"
    bucket = subprocess.run(
        [str(ROOT / "bin" / "container-entrypoint"), *compose()["services"]["bucket"]["command"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bucket.returncode == 0, bucket.stdout + bucket.stderr
    assert "bucket locker-evidence: created, versioning Enabled" in bucket.stdout
    port = free_port()
    command = list(compose()["services"]["web"]["command"])
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"  # loopback only, here
    celery = Entrypoint("celery", tmp_path, ["celery", "--version"], env)
    web = Entrypoint("web", tmp_path, command, env)
    try:
        celery.start()
        time.sleep(4)
        assert celery.alive, f"celery ran before the migrations\n{celery.output()}"

        web.start()
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if not web.alive:
                raise AssertionError(f"the web entry point exited\n{web.output()}")
            return get(f"{base}/readyz", "locker.example.org")[0] == 200

        wait_until(ready, 120, "/readyz to answer 200", web.output)
        status, body = get(f"{base}/readyz", "locker.example.org")
        assert status == 200 and body["database"] == "ok" and body["storage"] == "ok", body
        assert get(f"{base}/healthz", "locker.example.org") == (200, {"status": "ok"})
        assert get(f"{base}/readyz", "127.0.0.1")[0] == 400  # not an allowed host

        assert "Created keys in" in web.output()
        assert (data / "keys" / signing.SIGNING_CERT).is_file()
        assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
        assert not (ROOT / "staticfiles").exists()

        assert celery.process is not None
        assert celery.process.wait(timeout=60) == 0, celery.output()
        assert re.search(r"\d+\.\d+\.\d+", celery.output()), celery.output()

        def healthcheck(**changed: str) -> int:
            return subprocess.run(
                [sys.executable, str(HEALTHCHECK), f"{base}/readyz"],
                env={**env, **changed},
                capture_output=True,
                timeout=30,
            ).returncode

        # It runs in the web container, with the web process's environment.
        assert healthcheck() == 0
        assert healthcheck(ALLOWED_HOSTS="") == 1  # then it sends 127.0.0.1, which is refused
    finally:
        web.stop()
        celery.stop()
        s3.stop()
    free = f"http://127.0.0.1:{free_port()}/readyz"
    assert subprocess.run([sys.executable, str(HEALTHCHECK), free], timeout=30).returncode == 1


@needs(postgres_bin_dir() is not None, "initdb and pg_ctl (a PostgreSQL server package)")
def test_web_containers_starting_together_migrate_one_at_a_time(tmp_path) -> None:
    """Three web entry points at once on one fresh PostgreSQL database, as `docker compose
    up --scale web=3` starts them: each migrates, creates or finds the keys, and runs its
    command. (Without the advisory lock the later ones fail, creating tables the first is
    creating.)"""
    cluster = PostgresCluster(tmp_path / "pg").init()
    try:
        cluster.start()
        data = tmp_path / "data"
        env = container_env(data, DATABASE_URL=cluster.create_database("locker"))
        webs = [Entrypoint(f"web{n}", tmp_path, ["gunicorn", "--version"], env) for n in range(3)]
        try:
            for web in webs:
                web.start()
            for web in webs:
                assert web.process is not None
                assert web.process.wait(timeout=180) == 0, web.output()
                assert "gunicorn" in web.output().rsplit("keys in", 1)[-1], web.output()
        finally:
            for web in webs:
                web.stop()
        logs = "".join(web.output() for web in webs)
        assert logs.count("Created keys in") == 1, logs
        assert logs.count("Applying locker.0001_initial... OK") == 1, logs
    finally:
        cluster.remove()


@pytest.mark.parametrize(
    ("allowed_hosts", "host"),
    [
        ("locker.example.org,127.0.0.1", "locker.example.org"),
        (" , .example.org", "example.org"),  # a domain and its subdomains: the domain matches
        ("*", None),  # anything goes: the URL's own
        ("", None),
    ],
)
def test_the_healthcheck_names_an_allowed_host(monkeypatch, allowed_hosts, host) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", allowed_hosts)
    assert runpy.run_path(str(HEALTHCHECK))["host_header"]() == host


# --- the compose file's validity ------------------------------------------------------------


def docker_compose_config(workdir: Path) -> dict[str, Any]:
    """`docker-compose config` of compose.yaml copied into `workdir` (so that only the .env
    the test puts there is read), resolved, as compose would run it."""
    shutil.copy(COMPOSE, workdir / "compose.yaml")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in settings_variables() | set(compose_defaults())
    }
    result = subprocess.run(
        ["docker-compose", "-f", "compose.yaml", "config"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@needs(shutil.which("docker-compose") is not None, "docker-compose (Debian's) is not installed")
def test_docker_compose_accepts_the_file_with_and_without_a_env_file(tmp_path) -> None:
    plain = docker_compose_config(tmp_path)
    web = plain["services"]["web"]["environment"]
    assert web["DATABASE_URL"] == "postgres://locker:locker@postgres:5432/locker"
    assert web["LOCKER_TSA_URL"] is None  # unset: the settings' default
    assert plain["services"]["web"]["ports"] == ["127.0.0.1:8000:8000/tcp"]

    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")  # as it is: nothing changes
    assert docker_compose_config(tmp_path) == plain

    (tmp_path / ".env").write_text(
        "POSTGRES_PASSWORD=s3cret\nLOCKER_TSA_URL=https://tsa.example\n", encoding="utf-8"
    )
    edited = docker_compose_config(tmp_path)
    for name in APP_SERVICES:
        environment = edited["services"][name]["environment"]
        assert environment["LOCKER_TSA_URL"] == "https://tsa.example", name
        assert environment["DATABASE_URL"] == "postgres://locker:s3cret@postgres:5432/locker"
    assert edited["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == "s3cret"

    # The bucket's secret reaches the store and the app alike. The store's shell reads the
    # variables itself: `config` prints the $$ escaped again (valid input), not interpolated.
    (tmp_path / ".env").write_text("AWS_SECRET_ACCESS_KEY=Other9Secret\n", encoding="utf-8")
    resolved = docker_compose_config(tmp_path)["services"]
    assert resolved["seaweedfs"]["environment"]["S3_SECRET_KEY"] == "Other9Secret"
    for name in (*APP_SERVICES, "bucket"):
        environment = resolved[name]["environment"]
        assert environment["AWS_SECRET_ACCESS_KEY"] == "Other9Secret", name
        assert environment["LOCKER_STORAGE"] == "s3", name
    assert '"$$S3_ACCESS_KEY" "$$S3_SECRET_KEY"' in resolved["seaweedfs"]["command"][0]
    assert "Other9Secret" not in resolved["seaweedfs"]["command"][0]
    assert resolved["bucket"]["depends_on"]["seaweedfs"]["condition"] == "service_healthy"

    (tmp_path / ".env").write_text("WEB_PORT=8080\n", encoding="utf-8")
    assert docker_compose_config(tmp_path)["services"]["web"]["ports"] == [
        "127.0.0.1:8080:8000/tcp"
    ]
