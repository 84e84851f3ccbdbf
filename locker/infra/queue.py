"""Sending work to the Celery worker. The broker carries only hints that a row needs work;
the rows are the truth (locker/services/dossiers.py). Tasks are sent by name (send_task), so
that the services which send them need not import locker/tasks.py, which is the layer above
them and imports them, and a web process that never imported it can still send them."""

from __future__ import annotations

import logging
import os
from typing import Any

import redis
from django.conf import settings
from kombu.exceptions import OperationalError as BrokerOperationalError

from config.celery import app

log = logging.getLogger(__name__)

RENDER_DOSSIER = "locker.tasks.render_dossier"
SWEEP_DOSSIERS = "locker.tasks.sweep_dossiers"
DELETE_EXPIRED_IDEMPOTENCY_KEYS = "locker.tasks.delete_expired_idempotency_keys"
ANCHOR_CHECKPOINTS = "locker.tasks.anchor_checkpoints"
MAIL_DAILY_RECEIPTS = "locker.tasks.mail_daily_receipts"
BUILD_DATA_EXPORT = "locker.tasks.build_data_export"
TEND_DATA_EXPORTS = "locker.tasks.tend_data_exports"
MAKE_DERIVED = "locker.tasks.make_derived"
SWEEP_DERIVED = "locker.tasks.sweep_derived"
READ_TEXT = "locker.tasks.read_text"
REFRESH_CASE_CONDUCT = "locker.tasks.refresh_case_conduct"
SWEEP_CASE_CONDUCT = "locker.tasks.sweep_case_conduct"
CHECK_CASE_CHAIN = "locker.tasks.check_case_chain"
REBUILD_CASE_STATS = "locker.tasks.rebuild_case_stats"


def enqueue_dossier(dossier_id: Any) -> bool:
    """Send the render task; False (and the row stays queued for the sweep) when the broker
    cannot be reached. Fails fast instead of retrying: a user is waiting on the request."""
    return _send_row_task(RENDER_DOSSIER, dossier_id, "dossier")


def enqueue_data_export(export_id: Any) -> bool:
    """Send the task that builds a download of all one's data; like enqueue_dossier."""
    return _send_row_task(BUILD_DATA_EXPORT, export_id, "data export")


def enqueue_derived(evidence_id: Any) -> bool:
    """Send the task that makes an evidence file's derived copies (pictures, a playable
    recording); like enqueue_dossier, the row waits for the sweep when the broker is away."""
    return _send_row_task(MAKE_DERIVED, evidence_id, "derived copies of evidence")


def enqueue_text(evidence_id: Any) -> bool:
    """Send the task that reads a picture's text (OCR, locker/infra/ocr.py); like
    enqueue_derived, the row waits for the sweep when the broker is away."""
    return _send_row_task(READ_TEXT, evidence_id, "text of evidence")


def enqueue_case_conduct(case_id: Any) -> bool:
    """Send the task that computes a case's conduct panel (locker/services/case_conduct.py);
    False when the broker is away (the sweep asks again)."""
    return _send_row_task(REFRESH_CASE_CONDUCT, case_id, "conduct panel of case")


def enqueue_chain_check(case_id: Any) -> bool:
    """Send the task that checks a long case's whole chain for its badge (selectors/chain.py,
    check_chain_in_worker); False when the broker is away."""
    return _send_row_task(CHECK_CASE_CHAIN, case_id, "chain check of case")


def enqueue_case_stats(case_id: Any, zone: str) -> bool:
    """Send the task that rebuilds a long case's figures row in the IANA zone `zone`
    (services/case_stats.py); False when the broker is away."""
    return _send_row_task(REBUILD_CASE_STATS, case_id, "figures of case", zone)


def _send_row_task(task_name: str, row_id: Any, what: str, *extra: str) -> bool:
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=0, timeout=2)
            # By name: a web process never imports locker/tasks.py, so the task is not in
            # its registry (looking it up there raised NotRegistered, a 500).
            app.send_task(task_name, args=(str(row_id), *extra), connection=connection, retry=False)
    except (BrokerOperationalError, OSError) as exc:
        log.warning("%s %s stays queued: broker unavailable (%s)", what, row_id, exc)
        return False
    return True


def broker_answers(timeout_s: float = 1.0) -> bool:
    """Whether the broker takes connections now, within `timeout_s` (GET /readyz): Redis
    answers a PING; kombu's file-system transport (no REDIS_URL) has its folder writable."""
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith(("redis://", "rediss://", "unix://")):
        try:
            client = redis.Redis.from_url(
                url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
            )
            try:
                return bool(client.ping())
            finally:
                client.close()
        except (redis.RedisError, OSError):
            return False
    folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in")
    return bool(folder) and os.path.isdir(str(folder)) and os.access(str(folder), os.W_OK)
