"""The messages waiting in the broker the tests run with, whichever it is: the file-system
broker's folder (no REDIS_URL) or Redis' list for the default queue (REDIS_URL, as CI
runs). Tests that count what a page or an append asked the worker to do read them here, so
they run, and can fail, under both."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

# Celery's default queue; the project routes nothing elsewhere.
QUEUE = "celery"


@dataclass(frozen=True)
class Waiting:
    headers: dict[str, Any]
    remove: Callable[[], None]


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(str(settings.CELERY_BROKER_URL))


def waiting() -> list[Waiting]:
    if settings.CELERY_BROKER_URL.startswith("filesystem:"):
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
        return [
            Waiting(json.loads(path.read_text())["headers"], path.unlink)
            for path in sorted(folder.glob("*.msg"))
        ]
    client = _redis()

    def remover(raw: bytes) -> Callable[[], None]:
        return lambda: client.lrem(QUEUE, 1, raw)

    return [
        Waiting(json.loads(raw)["headers"], remover(raw)) for raw in client.lrange(QUEUE, 0, -1)
    ]


def messages_for(task_name: str | None, argument: str) -> list[Waiting]:
    """The waiting messages that send `task_name` (any task if None) with `argument` among
    their arguments (as Celery's `argsrepr` writes them)."""
    return [
        message
        for message in waiting()
        if (task_name is None or message.headers.get("task") == task_name)
        and repr(argument) in str(message.headers.get("argsrepr"))
    ]
