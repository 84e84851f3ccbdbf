"""Appending to a case's chain: entries with their evidence files, signed checkpoints, and
case facts (each change of facts is itself an entry)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from locker.core import chain, kinds
from locker.infra import signing
from locker.infra.storage import (
    FileTooLarge,
    SpooledUpload,
    StorageUnavailable,
    StoredFile,
    UploadError,
    clean_file_name,
    evidence_storage,
    spool_upload,
    storage_name_for,
    store_spooled,
)
from locker.models import Case, Checkpoint, Entry, EvidenceFile, SigningCertificate
from locker.selectors.entries import evidence_bytes_of_owner
from locker.services import case_conduct, case_stats
from locker.services import derived as derived_services
from locker.services import evidence_text as text_services

log = logging.getLogger(__name__)

EARLIEST_OCCURRED_AT = datetime(2000, 1, 1, tzinfo=UTC)
MAX_CLOCK_SKEW = timedelta(minutes=10)
MAX_FILES_PER_ENTRY = 20


class InputError(ValueError):
    """Input the user can fix; the message says what is wrong. Nothing was stored.

    The message is lazy: str(exc) puts it into the language active at that moment, so a page
    shows it in the user's language and the API (under translation.override) in English."""


class TooLarge(InputError):
    """More bytes than a limit allows: one file, one request's files, or the owner's quota.
    The API answers 413 (Content Too Large) for each; the message says which."""


# Multipart framing and the form's text fields, beyond the files themselves.
REQUEST_OVERHEAD_BYTES = 1024 * 1024


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f}".removesuffix(".0")


def request_too_large() -> TooLarge:
    return TooLarge(
        format_lazy(
            gettext_lazy(
                "the files of one record may add up to {megabytes} MB at most; nothing was "
                "saved. Send fewer or smaller files at a time"
            ),
            megabytes=_megabytes(settings.LOCKER_MAX_REQUEST_UPLOAD_BYTES),
        )
    )


def check_request_size(content_length: int) -> None:
    """Refuse, before its body is read, a request that says it is larger than one record's
    files may be (append_entry checks the files themselves again: a length can be left out)."""
    if content_length > settings.LOCKER_MAX_REQUEST_UPLOAD_BYTES + REQUEST_OVERHEAD_BYTES:
        raise request_too_large()


def _message(exc: Exception) -> str | Promise:
    """The (lazy) message an UploadError or BodyError was raised with."""
    return exc.args[0] if len(exc.args) == 1 else str(exc)


@dataclass(frozen=True)
class Upload:
    name: str
    stream: IO[bytes]
    # The raw body a capture device received (locker/services/devices.py), kept as text;
    # never set for a file someone uploads.
    device_post: bool = False


@dataclass(frozen=True)
class DeclaredFile:
    """What a client says it sends for one file, checked against what arrived: a phone that
    lost signal mid-upload must get an error, not an entry without its file."""

    size: int | None = None
    sha256: str | None = None


def parse_declared_files(value: Any) -> list[DeclaredFile]:
    """The entry JSON's optional "files": one object per file sent, in order, each with
    "size" (bytes) and/or "sha256" (lower-case hex). Raises InputError."""
    problem = gettext_lazy(
        'files must be a list with one object per file sent, each with "size" and/or "sha256"'
    )
    if not isinstance(value, list):
        raise InputError(problem)
    declared = []
    for item in value:
        if not isinstance(item, dict) or not item or set(item) - {"size", "sha256", "name"}:
            raise InputError(problem)
        size, sha256 = item.get("size"), item.get("sha256")
        if size is not None and (type(size) is not int or size < 0):
            raise InputError(problem)
        if sha256 is not None and not (isinstance(sha256, str) and chain.is_sha256_hex(sha256)):
            raise InputError(problem)
        if size is None and sha256 is None:
            raise InputError(problem)
        declared.append(DeclaredFile(size=size, sha256=sha256))
    return declared


def _check_declared(
    declared: Sequence[DeclaredFile], spooled: Sequence[tuple[SpooledUpload, str]]
) -> None:
    for number, (expected, (got, name)) in enumerate(zip(declared, spooled, strict=True), 1):
        if (expected.size is not None and expected.size != got.size) or (
            expected.sha256 is not None and expected.sha256 != got.sha256
        ):
            raise InputError(
                format_lazy(
                    gettext_lazy(
                        "file {number} ({name}) is not what the request said it would send "
                        "(the upload may have been cut off); nothing was saved, send it again"
                    ),
                    number=number,
                    name=name,
                )
            )


@dataclass(frozen=True)
class AppendResult:
    entry: Entry
    receipt: dict[str, Any]


def parse_occurred_at(value: str | datetime | None) -> datetime | None:
    """The user's claimed time: ISO 8601 with a zone; refuses the unparseable, the future
    (beyond a small clock skew) and anything before 2000."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise InputError(
                format_lazy(
                    gettext_lazy("occurred_at {value} is not an ISO 8601 date and time"),
                    value=repr(value),
                )
            ) from exc
    else:
        raise InputError(gettext_lazy("occurred_at must be a string"))
    if moment.tzinfo is None:
        raise InputError(gettext_lazy("occurred_at must include a time zone (e.g. Z or +08:00)"))
    moment = moment.astimezone(UTC)
    if moment > timezone.now() + MAX_CLOCK_SKEW:
        raise InputError(gettext_lazy("occurred_at is in the future"))
    if moment < EARLIEST_OCCURRED_AT:
        raise InputError(gettext_lazy("occurred_at is before 2000-01-01"))
    return moment


def _spool_files(uploads: Sequence[Upload]) -> list[tuple[SpooledUpload, str]]:
    """Every file copied aside, hashed and its content checked, none stored yet; the
    per-file and per-request limits applied. The caller closes the spools."""
    if len(uploads) > MAX_FILES_PER_ENTRY:
        raise InputError(
            format_lazy(gettext_lazy("at most {count} files per entry"), count=MAX_FILES_PER_ENTRY)
        )
    spooled: list[tuple[SpooledUpload, str]] = []
    total = 0
    try:
        for upload in uploads:
            name = clean_file_name(upload.name)
            try:
                item = spool_upload(upload.stream, device_post=upload.device_post)
            except UploadError as exc:
                error = TooLarge if isinstance(exc, FileTooLarge) else InputError
                raise error(
                    format_lazy("{name}: {problem}", name=name, problem=_message(exc))
                ) from exc
            spooled.append((item, name))
            total += item.size
            if total > settings.LOCKER_MAX_REQUEST_UPLOAD_BYTES:
                raise request_too_large()
    except BaseException:
        for item, _name in spooled:
            item.close()
        raise
    return spooled


def _check_quota(case: Case, spooled: Sequence[tuple[SpooledUpload, str]]) -> None:
    """The case owner's evidence, with these files, must fit LOCKER_USER_QUOTA_BYTES (0: no
    limit). Bytes the case already holds are not counted twice. Two requests at once for
    the same owner may each just fit: the overshoot is at most one request's files."""
    quota = settings.LOCKER_USER_QUOTA_BYTES
    if quota <= 0 or not spooled:
        return
    new = {item.sha256: item.size for item, _name in spooled}
    held = set(
        EvidenceFile.objects.filter(case=case, sha256__in=new).values_list("sha256", flat=True)
    )
    adding = sum(size for sha256, size in new.items() if sha256 not in held)
    used = evidence_bytes_of_owner(case.owner_id)
    if adding and used + adding > quota:
        raise TooLarge(
            format_lazy(
                gettext_lazy(
                    "there is no room for these files in this account's evidence storage: "
                    "{used} MB of {quota} MB are used and they add {adding} MB; nothing was saved"
                ),
                used=_megabytes(used),
                quota=_megabytes(quota),
                adding=_megabytes(adding),
            )
        )


def _store_spooled(
    case: Case, spooled: Sequence[tuple[SpooledUpload, str]], written: list[str]
) -> list[tuple[StoredFile, str]]:
    """Store the checked files; the names of those not already stored go into `written`,
    so that a failure before the entry exists can take them away again."""
    stored = []
    for item, name in spooled:
        before = evidence_storage().exists(storage_name_for(str(case.id), item.sha256))
        result = store_spooled(str(case.id), item)
        if not before:
            written.append(result.storage_name)
        stored.append((result, name))
    return stored


def _discard(case: Case, names: Sequence[str]) -> None:
    """Remove files this request stored for an entry that was not made. Under the case's
    lock, like evidence_orphans: an append that stored (or found) the same bytes meanwhile
    either made its row already, and the file stays, or finds it gone under the same lock
    and fails as retryable; it never names a missing file."""
    if not names:
        return
    try:
        with transaction.atomic():
            Case.objects.select_for_update().filter(pk=case.pk).first()
            named = set(
                EvidenceFile.objects.filter(case=case, storage_name__in=names).values_list(
                    "storage_name", flat=True
                )
            )
            for name in names:
                if name not in named:
                    evidence_storage().delete(name)
    except Exception:  # noqa: BLE001 - the original failure matters; orphans are swept later
        log.warning("could not remove files of a failed append in case %s", case.pk, exc_info=True)


@contextlib.contextmanager
def _files_of_the_entry(
    case: Case, uploads: Sequence[Upload], declared_files: Sequence[DeclaredFile] | None
) -> Iterator[list[tuple[StoredFile, str]]]:
    """Check every file (limits, content, what was declared, the owner's quota) before any is
    stored, then store them; if anything fails before the entry is made, the files this
    request stored are removed again: a refused request leaves nothing."""
    spooled = _spool_files(uploads)
    written: list[str] = []
    try:
        if declared_files is not None:
            _check_declared(declared_files, spooled)
        _check_quota(case, spooled)
        try:
            yield _store_spooled(case, spooled, written)
        except BaseException:
            _discard(case, written)
            raise
    finally:
        for item, _name in spooled:
            item.close()


def _record_evidence_file(case: Case, stored: StoredFile, name: str) -> None:
    if EvidenceFile.objects.filter(case=case, sha256=stored.sha256).exists():
        return
    state = derived_services.initial_state(stored.media_type)
    try:
        with transaction.atomic():
            row = EvidenceFile.objects.create(
                case=case,
                sha256=stored.sha256,
                size=stored.size,
                media_type=stored.media_type,
                original_name=name,
                storage_name=stored.storage_name,
                derived=state,
                derived_enqueued_at=timezone.now() if state else None,
            )
            # A picture's text is read by the worker too (OCR): a derived annotation.
            text_services.mark_pending(evidence=row)
    except IntegrityError:
        return  # the same bytes were recorded by a concurrent upload
    if state:
        # Pictures and playable copies are the worker's, after the commit: never this
        # request's (a 12-megapixel decode in a web worker), never the chain's.
        derived_services.enqueue_on_commit(row.pk)


def _validate_correction(case: Case, body: dict[str, Any]) -> None:
    target = Entry.objects.filter(case=case, seq=body["corrects_seq"]).first()
    if target is None:
        raise InputError(
            format_lazy(
                gettext_lazy("correction names seq {seq}, which does not exist"),
                seq=body["corrects_seq"],
            )
        )
    if target.is_erased:
        raise InputError(
            format_lazy(
                gettext_lazy("entry {seq} cannot be corrected: its content was erased"),
                seq=target.seq,
            )
        )
    if target.kind == "redaction":
        raise InputError(
            format_lazy(
                gettext_lazy("entry {seq} records an erasure and cannot be corrected"),
                seq=target.seq,
            )
        )
    allowed = set(kinds.BODY_MODELS[target.kind].model_fields) | {"occurred_at"}
    unknown = set(body["changes"]) - allowed
    if unknown:
        raise InputError(
            format_lazy(
                gettext_lazy("correction changes unknown members {members} of a {kind} entry"),
                members=str(sorted(unknown)),
                kind=target.kind,
            )
        )
    try:
        body["changes"] = kinds.changes_with_e164(target.kind, target.body, body["changes"])
    except kinds.BodyError as exc:
        raise InputError(_message(exc)) from exc
    if "occurred_at" in body["changes"]:
        moment = parse_occurred_at(body["changes"]["occurred_at"])
        body["changes"]["occurred_at"] = chain.format_timestamp(moment) if moment else None
    patched = {k: v for k, v in {**target.body, **body["changes"]}.items() if k != "occurred_at"}
    try:
        kinds.clean_body(target.kind, patched)
    except kinds.BodyError as exc:
        raise InputError(
            format_lazy(
                gettext_lazy("corrected {kind} would be invalid: {problem}"),
                kind=target.kind,
                problem=_message(exc),
            )
        ) from exc


def append_entry(
    *,
    case: Case,
    author: str,
    kind: str,
    body: Any,
    occurred_at: str | datetime | None = None,
    uploads: Sequence[Upload] = (),
    declared_files: Sequence[DeclaredFile] | None = None,
    allow_kinds: Sequence[str] = kinds.APPENDABLE_KINDS,
) -> AppendResult:
    """Validate, store evidence, then link the entry to the case's chain under a row lock
    and sign the new head. Raises InputError (nothing stored in the chain) on bad input,
    including files that are not what `declared_files` says was sent."""
    if kind not in allow_kinds:
        if kind in kinds.BODY_MODELS:
            raise InputError(
                format_lazy(
                    gettext_lazy("entries of kind {kind} cannot be added here"), kind=repr(kind)
                )
            )
        raise InputError(
            format_lazy(
                gettext_lazy("unknown kind {kind}; expected one of {kinds}"),
                kind=repr(kind),
                kinds=", ".join(allow_kinds),
            )
        )
    try:
        # Every path that records a call or a message comes here: the E.164 form of its
        # number is filled in here, once, the same for all of them.
        clean = kinds.with_e164(kind, kinds.clean_body(kind, body))
    except kinds.BodyError as exc:
        raise InputError(_message(exc)) from exc
    if kind == "call" and not uploads and kinds.is_empty_call(clean):
        raise InputError(kinds.EMPTY_CALL)
    claimed = parse_occurred_at(occurred_at)
    if kind == "correction":
        _validate_correction(case, clean)
    if declared_files is not None and len(declared_files) != len(uploads):
        raise InputError(
            format_lazy(
                gettext_lazy(
                    "the request said it would send {declared} files, but {received} arrived "
                    "(the upload may have been cut off); nothing was saved, send it again"
                ),
                declared=len(declared_files),
                received=len(uploads),
            )
        )
    # Files first, all checked before any is stored; a failure before the entry is made
    # removes what this request stored (one after it commits leaves, at worst, an orphan).
    with _files_of_the_entry(case, uploads, declared_files) as stored:
        entry, receipt = _link_entry(case, author, kind, clean, claimed, stored)
    return AppendResult(entry=entry, receipt=receipt)


def _link_entry(
    case: Case,
    author: str,
    kind: str,
    clean: Any,
    claimed: datetime | None,
    stored: Sequence[tuple[StoredFile, str]],
) -> tuple[Entry, dict[str, Any]]:
    evidence = [
        {"sha256": f.sha256, "size": f.size, "media_type": f.media_type, "name": name}
        for f, name in stored
    ]
    case_id = str(case.pk)
    document: dict[str, Any] = {
        "v": chain.VERSION,
        "case": case_id,
        "seq": 1,
        "prev": chain.GENESIS_PREV,
        "kind": kind,
        "recorded_at": chain.format_timestamp(timezone.now()),
        "occurred_at": chain.format_timestamp(claimed) if claimed else None,
        "author": author,
        "body": clean,
        "evidence": evidence,
    }
    # The shape is checked before the lock is taken: under it only seq, prev and
    # recorded_at change, and those are ours and always well formed.
    try:
        chain.check_entry_shape(document)
    except chain.FormatError as exc:
        raise InputError(str(exc)) from exc
    postgresql = connection.vendor == "postgresql"
    with transaction.atomic(), _server_bound_cursor() if postgresql else _no_cursor() as cursor:
        # One statement takes the case's lock and reads its head (kept on the row): the
        # lock orders appends (and evidence_orphans) on this case. SQLite has no FOR
        # UPDATE: there every transaction begins IMMEDIATE (config/settings.py) and holds
        # the database's one writer lock from its start, which orders appends as well.
        # On PostgreSQL the same statement reads the case's figures row (CaseStats), locked
        # too, so that the figures are folded in and written with the entry.
        head_seq, head_hash, head_recorded_at, figures = _lock_head(case, cursor)
        # Under the case's lock, which evidence_orphans also takes before it removes a file
        # no row names: a file it removed after we stored (or found) it is caught here, and
        # once its row exists it is no orphan any more.
        for f, name in stored:
            if not evidence_storage().exists(f.storage_name):
                raise StorageUnavailable(f"{f.storage_name} vanished before its entry was made")
            _record_evidence_file(case, f, name)
        recorded_at = timezone.now()
        if head_recorded_at is not None and recorded_at < head_recorded_at:
            recorded_at = head_recorded_at  # the clock stepped back; keep the chain monotone
        recorded_text = chain.format_timestamp(recorded_at)
        document["seq"] = head_seq + 1
        document["prev"] = head_hash
        document["recorded_at"] = recorded_text
        digest = chain.entry_hash(document)
        entry = Entry(
            case_id=case.pk,
            seq=document["seq"],
            prev=head_hash,
            hash=digest,
            kind=kind,
            recorded_at=chain.parse_timestamp(recorded_text),
            occurred_at=claimed,
            author=author,
            body=clean,
            evidence=evidence,
        )
        signed = signing.sign_checkpoint_parts(
            case_id=case_id, length=entry.seq, head=digest, signed_at=timezone.now()
        )
        # The entry, the checkpoint of its head, and the head on the case row: together, in
        # this transaction, under the case's lock.
        if postgresql:
            # The case page's figures (CaseStats) with the entry folded in, written by the
            # same statement. A case whose row was not there (or the first entry) takes
            # the ORM path below, as on SQLite.
            folded = None
            if figures is not None and entry.seq > 1:
                folded = case_stats.fold_appended(
                    case=case, entry=entry, seq=figures[0], tally=figures[1]
                )
            _write_append_postgresql(cursor, entry, signed, folded)
            if folded is not None:
                case_stats.drop_spent_counts(case, folded.deltas)
            if figures is None or entry.seq == 1:
                case_stats.record_appended(case=case, entry=entry)
        else:
            _store_certificate(signed)
            entry.save(force_insert=True)
            _checkpoint_row(case_id, signed).save(force_insert=True)
            Case.objects.filter(pk=case.pk).update(
                head_seq=entry.seq, head_hash=digest, head_recorded_at=entry.recorded_at
            )
            # The case page's figures, kept up to date in the same transaction (CaseStats).
            case_stats.record_appended(case=case, entry=entry)
        # The case page's conduct panel, computed by the worker once this commits (no
        # statement here: a cache key and, once per burst, a message to the broker).
        case_conduct.enqueue_on_commit(case.pk)
    return entry, signed.document


def _checkpoint_row(case_id: str, signed: signing.SignedCheckpoint) -> Checkpoint:
    """The compact row of a signed checkpoint: its signature and its certificate's
    fingerprint; the document is rebuilt from the columns (Checkpoint.document)."""
    return Checkpoint(
        case_id=case_id,
        length=signed.body["length"],
        head=signed.body["head"],
        signed_at=chain.parse_timestamp(signed.body["signed_at"]),
        signature=signed.signature,
        certificate_id=signed.certificate_fingerprint,
    )


def _store_certificate(signed: signing.SignedCheckpoint) -> None:
    """The signing certificate's row, made if it is not there yet (once per key; after that
    this finds it and writes nothing)."""
    row = SigningCertificate(fingerprint=signed.certificate_fingerprint, pem=signed.certificate_pem)
    SigningCertificate.objects.bulk_create([row], ignore_conflicts=True)


def _lock_head(
    case: Case, cursor: Any
) -> tuple[int, str, datetime | None, tuple[int, dict] | None]:
    """Lock the case's row and read its head, and on PostgreSQL (`cursor`, the append's
    _server_bound_cursor; None on SQLite) its figures row (CaseStats) locked as well: one
    statement. The figures (the seq they cover and the tally's head part) are None on
    SQLite (record_appended reads them there) and when the case has no such row."""
    if cursor is None:
        head = (
            Case.objects.select_for_update()
            .filter(pk=case.pk)
            .values_list("head_seq", "head_hash", "head_recorded_at")
            .get()
        )
        return head[0], head[1], head[2], None
    # Written out rather than built by the ORM: this runs once per append, and building
    # the query cost more than its round trip (bench/append.py).
    cursor.execute(_LOCK_HEAD_AND_FIGURES_SQL, [case.pk])
    row = cursor.fetchone()
    if row is None:
        # No figures row (a case from before it existed, or an empty one): the lock alone.
        cursor.execute(_LOCK_HEAD_SQL, [case.pk])
        row = cursor.fetchone()
        if row is None:
            raise Case.DoesNotExist(f"case {case.pk} does not exist")
        return row[0], row[1], row[2], None
    # Django's PostgreSQL backend hands jsonb over as text (JSONField decodes it).
    tally = json.loads(row[4]) if isinstance(row[4], str) else row[4]
    return row[0], row[1], row[2], (row[3], tally)


def _no_cursor() -> contextlib.nullcontext[None]:
    return contextlib.nullcontext()


def _server_bound_cursor() -> Any:
    """A cursor on the PostgreSQL connection that sends its parameters apart from the query
    (psycopg's Cursor; Django's binds them into the query text on the client, which cost
    the append's two statements more CPU on both sides, bench/append_cost.py), wrapped by
    Django as its own cursors are (errors as Django's, execute wrappers, query logging).
    Unprepared, as Django's are, so that connection poolers keep working."""
    import psycopg

    connection.ensure_connection()
    # Any: django-stubs type make_cursor's argument as Django's own wrapper, not the raw cursor.
    cursor: Any = psycopg.Cursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


_LOCK_HEAD_SQL = (
    "SELECT head_seq, head_hash, head_recorded_at FROM locker_case WHERE id = %s FOR UPDATE"
)

# Both rows are locked (an inner join, FOR UPDATE of both): the figures row is only written
# under the case's lock, and locking it too makes PostgreSQL read its latest committed
# version after waiting for the lock. With FOR UPDATE OF the case alone, a statement that
# waited would see the figures row of its own (older) snapshot. The counts
# (CaseStatsCount) are not read: an append adds to them.
_LOCK_HEAD_AND_FIGURES_SQL = (
    "SELECT c.head_seq, c.head_hash, c.head_recorded_at, s.seq, s.tally "
    "FROM locker_case c JOIN locker_casestats s ON s.case_id = c.id WHERE c.id = %s FOR UPDATE"
)

# The append's writes on PostgreSQL in one statement: the signing certificate's row if it is
# new, the entry, its head's checkpoint (compact: signature and certificate fingerprint), the
# case's new head. Every round trip here is paid while the case's lock is held, and that is
# what limits appends to one case; the ORM would take four. The columns are the models'
# (tests/test_append_scale.py checks that every column is named).
_APPEND_SQL = """
WITH certificate AS (
    INSERT INTO locker_signingcertificate (fingerprint, pem, created_at)
    VALUES (%(fingerprint)s, %(pem)s, %(now)s) ON CONFLICT DO NOTHING
), entry AS (
    INSERT INTO locker_entry (case_id, seq, prev, hash, kind, recorded_at, occurred_at,
                              author, body, evidence, erased_at, erased_by_id)
    VALUES (%(case)s, %(seq)s, %(prev)s, %(hash)s, %(kind)s, %(recorded_at)s,
            %(occurred_at)s, %(author)s, %(body)s, %(evidence)s, NULL, NULL) RETURNING id
), checkpoint AS (
    INSERT INTO locker_checkpoint (case_id, length, head, signed_at, document, signature,
                                   certificate_id)
    VALUES (%(case)s, %(seq)s, %(hash)s, %(signed_at)s, NULL, %(signature)s, %(fingerprint)s)
), head AS (
    UPDATE locker_case SET head_seq = %(seq)s, head_hash = %(hash)s,
                           head_recorded_at = %(recorded_at)s
    WHERE id = %(case)s
)%s
SELECT id FROM entry
"""

# The case's figures brought up to the new head in the same statement: the row's head part
# (small) rewritten, and the few counts the entry changes added to (a count made if new).
# Counts a correction takes to zero are deleted after it (case_stats.drop_spent_counts).
_FIGURES_SQL = """, figures AS (
    UPDATE locker_casestats SET seq = %(seq)s, head = %(hash)s, tally = %(tally)s
    WHERE case_id = %(case)s
), counts AS (
    INSERT INTO locker_casestatscount (case_id, key, count)
    SELECT %(case)s, step.key, step.count
    FROM unnest(%(keys)s::text[], %(steps)s::bigint[]) AS step(key, count)
    ON CONFLICT (case_id, key) DO UPDATE SET count = locker_casestatscount.count + EXCLUDED.count
)"""
_APPEND_SQL_WITH_FIGURES = _APPEND_SQL.replace(")%s\n", ")" + _FIGURES_SQL + "\n")
_APPEND_SQL = _APPEND_SQL.replace(")%s\n", ")\n")


def _write_append_postgresql(
    cursor: Any,
    entry: Entry,
    signed: signing.SignedCheckpoint,
    figures: case_stats.Folded | None = None,
) -> None:
    """Run _APPEND_SQL for `entry` and its signed head, and with `figures` the case's
    figures as folded (_APPEND_SQL_WITH_FIGURES), on `cursor` (_server_bound_cursor); the
    instance gets its id and counts as saved. The parameters are named, so that each is
    sent once however often the statement uses it."""
    json_value = connection.ops.adapt_json_value
    params = {
        "fingerprint": signed.certificate_fingerprint,
        "pem": signed.certificate_pem,
        "now": timezone.now(),
        "case": entry.case_id,
        "seq": entry.seq,
        "prev": entry.prev,
        "hash": entry.hash,
        "kind": entry.kind,
        "recorded_at": entry.recorded_at,
        "occurred_at": entry.occurred_at,
        "author": entry.author,
        "body": json_value(entry.body, None),
        "evidence": json_value(entry.evidence, None),
        "signed_at": chain.parse_timestamp(signed.body["signed_at"]),
        "signature": signed.signature,
    }
    sql = _APPEND_SQL
    if figures is not None:
        # Brought up to the entry itself (fold_appended): its seq and hash are the row's.
        assert (figures.seq, figures.head) == (entry.seq, entry.hash)
        sql = _APPEND_SQL_WITH_FIGURES
        params["tally"] = json_value(figures.tally, None)
        params["keys"] = list(figures.deltas)
        params["steps"] = list(figures.deltas.values())
    cursor.execute(sql, params)
    (entry.pk,) = cursor.fetchone()
    entry._state.adding = False
    entry._state.db = connection.alias


def issue_checkpoint_row(*, case: Case, length: int, head: str) -> Checkpoint:
    """Sign the head and store the checkpoint (the next anchoring round picks it up)."""
    signed = signing.sign_checkpoint_parts(
        case_id=str(case.pk), length=length, head=head, signed_at=timezone.now()
    )
    checkpoint = _checkpoint_row(str(case.pk), signed)
    with transaction.atomic():
        _store_certificate(signed)
        checkpoint.save(force_insert=True)
    return checkpoint


def issue_checkpoint(*, case: Case, length: int, head: str) -> dict[str, Any]:
    return issue_checkpoint_row(case=case, length=length, head=head).document


def parse_date(value: str | date | None, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InputError(
            format_lazy(
                gettext_lazy("{name}: {value} is not a date (YYYY-MM-DD)"),
                name=name,
                value=repr(value),
            )
        ) from exc


def _fact_value(name: str, value: Any) -> Any:
    field = Case._meta.get_field(name)
    if value in (None, "") and field.null:
        return None
    internal = field.get_internal_type()
    if internal == "DateField":
        return parse_date(value, name)
    if internal == "BigIntegerField":
        if isinstance(value, bool) or not isinstance(value, int):
            if name == "stated_rate_bp":
                raise InputError(
                    gettext_lazy("stated_rate_bp must be an integer count of basis points")
                )
            raise InputError(
                format_lazy(
                    gettext_lazy("{name} must be an integer count of minor units (fen, cents)"),
                    name=name,
                )
            )
        if not 0 <= value <= chain.MAX_SAFE_INTEGER:
            raise InputError(format_lazy(gettext_lazy("{name} is out of range"), name=name))
        return value
    if not isinstance(value, str):
        raise InputError(format_lazy(gettext_lazy("{name} must be a string"), name=name))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            format_lazy(gettext_lazy("{name} is not valid Unicode text"), name=name)
        ) from None
    if "\x00" in value:
        raise InputError(
            format_lazy(
                gettext_lazy("{name} must not contain the NUL character (U+0000)"), name=name
            )
        )
    value = value.strip()
    if name == "currency":
        value = value.upper()
        if len(value) != 3 or not value.isalpha():
            raise InputError(gettext_lazy("currency must be a three-letter ISO 4217 code"))
    if name == "title" and not value:
        raise InputError(gettext_lazy("title must not be empty"))
    max_length = getattr(field, "max_length", None)
    if max_length and len(value) > max_length:
        raise InputError(
            format_lazy(
                gettext_lazy("{name} is longer than {count} characters"),
                name=name,
                count=max_length,
            )
        )
    return value


def _clean_facts(facts: dict[str, Any]) -> dict[str, Any]:
    unknown = set(facts) - set(Case.FACT_FIELDS)
    if unknown:
        raise InputError(
            format_lazy(gettext_lazy("unknown case fields {fields}"), fields=str(sorted(unknown)))
        )
    return {name: _fact_value(name, value) for name, value in facts.items()}


def _json_fact(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def create_case(*, owner: User, author: str, title: str, **facts: Any) -> Case:
    """A new case; its initial facts are the chain's first entry (kind case_update)."""
    clean = _clean_facts({"title": title, **facts})
    with transaction.atomic():
        case = Case.objects.create(owner=owner, **clean)
        changes = {name: _json_fact(value) for name, value in case.facts().items()}
        append_entry(
            case=case,
            author=author,
            kind="case_update",
            body={"changes": changes},
            allow_kinds=("case_update",),
        )
    return case


def update_case_facts(*, case: Case, author: str, changes: dict[str, Any]) -> AppendResult | None:
    """Change case facts and record the change as a case_update entry. None if nothing changed."""
    clean = _clean_facts(changes)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        before = locked.facts()
        changed = {k: v for k, v in clean.items() if _json_fact(v) != before[k]}
        if not changed:
            return None
        for name, value in changed.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(changed))
        result = append_entry(
            case=locked,
            author=author,
            kind="case_update",
            body={
                "changes": {k: _json_fact(v) for k, v in changed.items()},
                "previous": {k: before[k] for k in changed},
            },
            allow_kinds=("case_update",),
        )
    for name in changed:
        setattr(case, name, getattr(locked, name))
    return result
