"""The own-PostgreSQL helper works: a cluster made with initdb on a free port takes a
connection, survives a restart and a crash (SIGKILL, then recovery), and never is the
machine's shared server."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.prerequisites import needs

from .processes import PostgresCluster, postgres_bin_dir

pytestmark = [
    pytest.mark.faults,
    needs(postgres_bin_dir() is not None, "initdb and pg_ctl (a PostgreSQL server package)"),
]


def select_one(url: str) -> int:
    with psycopg.connect(url, connect_timeout=5) as connection:
        value = connection.execute("SELECT 1").fetchone()
    assert value is not None
    return int(value[0])


def test_own_cluster_starts_restarts_and_recovers_from_a_kill(tmp_path: Path) -> None:
    cluster = PostgresCluster(tmp_path / "pg").init()
    assert cluster.port != 5432
    try:
        cluster.start()
        url = cluster.create_database("locker")
        assert select_one(url) == 1
        cluster.restart()
        assert select_one(url) == 1
        cluster.kill()
        assert not cluster.running()
        cluster.start()
        assert select_one(url) == 1
    finally:
        cluster.remove()
