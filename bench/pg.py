"""The PostgreSQL database a benchmark runs against (not a test helper).

DATABASE_URL if it is set (a scratch database: benchmarks add cases, users and entries to
it); otherwise postgres://postgres@127.0.0.1:5432/locker_bench, created if missing. Imported
before Django is set up, so that the settings read the URL chosen here."""

from __future__ import annotations

import os
import tempfile

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/"
DEFAULT_NAME = "locker_bench"


def database_url() -> str:
    """The URL to use, the scratch database made first when none was given."""
    url = os.environ.get("DATABASE_URL")
    if url:
        if not url.startswith(("postgres://", "postgresql://")):
            raise SystemExit(f"this benchmark needs PostgreSQL; DATABASE_URL is {url!r}")
        return url
    import psycopg

    with psycopg.connect(DEFAULT_SERVER + "postgres", autocommit=True) as admin:
        found = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DEFAULT_NAME]
        ).fetchone()
        if not found:
            admin.execute(f'CREATE DATABASE "{DEFAULT_NAME}"')
    return DEFAULT_SERVER + DEFAULT_NAME


def setup_django() -> str:
    """Django configured for the benchmark's database (migrated, keys made); its URL."""
    url = database_url()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("LOCKER_DATA_DIR", tempfile.mkdtemp(prefix="locker-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("locker_keys", verbosity=0)
    return url
