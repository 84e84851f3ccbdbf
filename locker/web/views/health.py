"""GET /healthz and GET /readyz, for container health checks, load balancers and operators.
No authentication and nothing secret. /healthz: the process answers (liveness; it touches no
database, so a database outage does not get every web process restarted). /readyz: whether
this instance can serve: the database answers or not, and how many evidence files no entry
names (see `manage.py evidence_orphans`), whether the broker answers, and whether the evidence
store does, each probe with a timeout of a second or two.

503 when the database or the evidence store does not answer: this instance cannot record
evidence then, and a load balancer should send the request elsewhere. The broker alone
being away keeps 200 (with "broker": "unavailable"): evidence is recorded without it and
dossiers wait for the sweep (docs/operations.md), so taking every web process out of
service for it would stop what still works."""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from locker.infra.queue import broker_answers
from locker.infra.storage import storage_answers
from locker.selectors.orphans import orphan_count
from locker.web.middleware.unavailable import RETRY_AFTER_S

log = logging.getLogger(__name__)


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except (OperationalError, InterfaceError):
        return False
    return True


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    database = _database_answers()
    storage = storage_answers()
    payload: dict[str, Any] = {
        "database": "ok" if database else "unavailable",
        "storage": "ok" if storage else "unavailable",
        "broker": "ok" if broker_answers() else "unavailable",
        "orphan_files": None,
        "orphan_scan_complete": None,
    }
    if database and storage:
        try:
            # Counted at most every few minutes per process, and over a bounded scan.
            payload["orphan_files"], payload["orphan_scan_complete"] = orphan_count()
        except (OperationalError, InterfaceError):
            payload["database"] = "unavailable"
        except Exception:  # the store's own errors (OSError, botocore …): reported, not raised
            log.exception("readyz: the evidence storage could not be listed")
            payload["storage"] = "unavailable"
    ready = payload["database"] == "ok" and payload["storage"] == "ok"
    response = JsonResponse(payload, status=200 if ready else 503)
    if response.status_code == 503:
        response["Retry-After"] = str(RETRY_AFTER_S)
    return response
