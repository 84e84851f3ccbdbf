"""Evidence files made ready for print: each picture's stored print copy (made by the worker
at upload, locker/infra/print_copies.py) when it has a valid one, otherwise the image decoded,
scaled to print resolution and re-encoded as JPEG in a scratch directory (a 1080x2400
screenshot at full size costs seconds per page and megabytes; the originals stay byte-exact
in the export bundle), and audio durations read where the format allows. Each file is
re-hashed while it is read, so a caption never shows a hash the stored bytes no longer have.

The pictures are made in separate processes (picture.py) while the worker lays out the
text of the dossier (PrintImages): decoding a hundred full-size PNG screenshots takes
seconds of CPU, and Pillow holds the interpreter lock for part of it. The processes are
plain child processes (subprocess), not a multiprocessing pool, whose children a Celery
prefork worker's daemonic processes may not have; they are given the bytes, never the
storage, its key or the settings. A picture made here (no stored copy yet: uploaded before
print copies existed, or the print recipe changed) is stored as its print copy for the next
dossier of the case; the processes start only for the first such picture.

A stored copy is used only for an original whose stored bytes were just read and hash to
the exhibit's SHA-256, the one the dossier states, and only if the copy records that hash
and the current recipe and its JPEG is whole; otherwise the picture is made from the
original as before, so a damaged or mismatched copy never prints in place of the picture."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import locker
from locker.dossier.data import Exhibit
from locker.dossier.picture import (
    JPEG_QUALITY,
    MAX_HEIGHT_PX,
    MAX_SOURCE_PIXELS,
    MAX_WIDTH_PX,
    Printed,
    print_copy,
)
from locker.infra.print_copies import (
    StoredPrint,
    print_copy_name,
    read_print_copy,
    store_print_copy,
)
from locker.infra.storage import evidence_storage
from locker.infra.thumbs import derived_name_for
from locker.models import EvidenceFile

__all__ = [
    "JPEG_QUALITY",
    "MAX_HEIGHT_PX",
    "MAX_SOURCE_PIXELS",
    "MAX_WIDTH_PX",
    "PreparedImage",
    "PrintImages",
    "audio_durations",
    "prepare_images",
]

log = logging.getLogger(__name__)

# Image processes per dossier: the reference machine has two cores, and the worker's own
# process lays out the text meanwhile.
WORKERS = 2
# What the image processes inherit of the worker's environment: enough to run Python, and
# none of the worker's settings (its keys, database address).
_ENV_KEPT = ("PATH", "LD_LIBRARY_PATH", "TMPDIR", "LANG", "LC_ALL", "SYSTEMROOT")


# Printed from the worker's decoded copy rather than the original (HEIC/HEIF: the image
# processes and reportlab read JPEG, PNG, GIF, WebP).
DECODED_BY_THE_WORKER = frozenset({"image/heic", "image/heif"})


@dataclass(frozen=True)
class Substitute:
    """The bytes to print in place of an original, and whether the original has its hash."""

    picture: bytes
    original_matches: bool


Loaded = bytes | Substitute | StoredPrint | Exception | None


@dataclass(frozen=True)
class PreparedImage:
    sha256: str
    path: Path | None
    width: int
    height: int
    matches: bool  # the stored bytes still hash to the recorded SHA-256


def _read(storage_name: str) -> bytes:
    with evidence_storage().open(storage_name, "rb") as handle:
        return handle.read()


class _Process:
    """One image process (locker/dossier/picture.py's `serve`), fed over a pipe."""

    def __init__(self) -> None:
        root = str(Path(locker.__file__).resolve().parent.parent)
        env = {name: os.environ[name] for name in _ENV_KEPT if name in os.environ}
        env["PYTHONPATH"] = root
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "locker.dossier.picture"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=root,
        )
        self.peak_mb: float | None = None

    def send(self, raw: bytes, out: Path) -> bool:
        """Hand a picture over; False if the process is gone."""
        stdin, _stdout = self._pipes()
        source = out.with_suffix(".source")  # in the dossier's private scratch directory
        try:
            source.write_bytes(raw)
            stdin.write(json.dumps({"in": str(source), "out": str(out)}).encode() + b"\n")
            stdin.flush()
        except OSError:
            source.unlink(missing_ok=True)
            return False
        return True

    def receive(self) -> Printed | None:
        """The answer to the picture handed over, or None if the process is gone."""
        _stdin, stdout = self._pipes()
        try:
            answer = stdout.readline()
        except OSError:
            return None
        return Printed(**json.loads(answer)) if answer else None

    def print_copy(self, raw: bytes, out: Path) -> Printed | None:
        """The answer, or None if the process is gone (the caller then does it itself)."""
        return self.receive() if self.send(raw, out) else None

    def close(self) -> None:
        stdin, stdout = self._pipes()
        try:
            stdin.close()
            last = stdout.readline()
            if last:
                self.peak_mb = json.loads(last).get("peak_mb")
        except (OSError, ValueError):
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        stdout.close()

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        assert self.popen.stdin is not None and self.popen.stdout is not None
        return self.popen.stdin, self.popen.stdout


class PrintImages(Mapping[str, PreparedImage]):
    """Scaled JPEG copies of the image exhibits in `scratch`, keyed by SHA-256, made by
    `workers` image processes while the caller goes on (the dossier's layout): looking a
    picture up waits for it. Each process has a thread of this process that reads the
    evidence from storage, hands the bytes over and takes the answer; a process that cannot
    be started or dies leaves its thread to prepare the pictures itself. Use it as a context
    manager (or call close()): the processes end with it."""

    def __init__(
        self,
        case_id: Any,
        exhibits: Iterable[Exhibit],
        scratch: Path,
        workers: int = WORKERS,
        processes: bool = True,
    ) -> None:
        # The same bytes may be an exhibit of several entries: prepared once.
        chosen = list({e.sha256: e for e in exhibits if e.is_image}.values())
        names = dict(
            EvidenceFile.objects.filter(
                case_id=case_id, sha256__in=[e.sha256 for e in chosen]
            ).values_list("sha256", "storage_name")
        )
        self.case_id = case_id
        self.scratch = scratch
        self.started = time.perf_counter()
        self._futures: dict[str, Future[PreparedImage]] = {e.sha256: Future() for e in chosen}
        # In the order of the exhibits, as the evidence pages draw them.
        self._jobs = deque((e, names.get(e.sha256)) for e in chosen)
        self._lock = threading.Lock()
        self._processes: list[_Process] = []
        self._from_store = 0  # pictures printed from their stored print copy
        self._stored: list[str] = []  # print copies stored by this dossier (sha256)
        self._threads = [
            threading.Thread(
                target=self._run, args=(processes,), name=f"dossier-images-{n}", daemon=True
            )
            for n in range(min(workers, len(chosen)))
        ]
        for thread in self._threads:
            thread.start()

    # -- the mapping -------------------------------------------------------------------

    def __getitem__(self, sha256: str) -> PreparedImage:
        return self._futures[sha256].result()

    def __iter__(self) -> Iterator[str]:
        return iter(self._futures)

    def __len__(self) -> int:
        return len(self._futures)

    def wait(self, tick: Callable[[], None] | None = None, every_s: float = 0.5) -> None:
        """Wait until every picture is made, calling `tick` every `every_s` seconds meanwhile
        (the worker renews its lease with it)."""
        for future in self._futures.values():
            while True:
                try:
                    future.result(timeout=every_s)
                    break
                except FutureTimeout:
                    if tick is not None:
                        tick()

    # -- the work ----------------------------------------------------------------------

    def _next(self) -> tuple[Exhibit, str | None] | None:
        with self._lock:
            return self._jobs.popleft() if self._jobs else None

    def _run(self, processes: bool) -> None:
        started: list[_Process | None] = []  # this thread's process, once asked for

        def process() -> _Process | None:
            """The thread's image process, started for the first picture it must make."""
            if not started:
                started.append(self._start_process() if processes else None)
            return started[0]

        try:
            # Each picture's file is read (and decrypted) while the process makes the one
            # before: reading competes with the layout for this process's interpreter lock
            # and takes about as long as making the picture.
            job = self._next()
            loaded = self._load(job)
            while job is not None:
                exhibit = job[0]
                future = self._futures[exhibit.sha256]
                ahead: list[Any] = []

                def read_ahead(ahead: list[Any] = ahead) -> None:
                    if not ahead:
                        following = self._next()
                        ahead[:] = [following, self._load(following)]

                try:
                    future.set_result(self._prepare(exhibit, loaded, process, read_ahead))
                except BaseException as exc:
                    # Raised where the picture is looked up, as if it had been made there.
                    future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                read_ahead()
                job, loaded = ahead
        finally:
            if started and started[0] is not None:
                started[0].close()

    def _start_process(self) -> _Process | None:
        try:
            process = _Process()
        except OSError as exc:
            log.warning("no image process (%s): pictures are prepared in the worker", exc)
            return None
        with self._lock:
            self._processes.append(process)
        return process

    def _load(self, job: tuple[Exhibit, str | None] | None) -> Loaded:
        """The stored bytes of the job's file; None if there are none or they cannot be
        read (logged); an unexpected error, to be raised where the picture is looked up.
        For HEIC/HEIF, the worker's decoded copy (locker/infra/thumbs.py, the same picture
        as a JPEG) with whether the original still has its hash: the caption's hash is the
        original's. The stored print copy instead, when the original has its hash and the
        copy is valid (locker/infra/print_copies.py)."""
        if job is None or job[1] is None:
            return None
        try:
            raw = _read(job[1])
            matches = hashlib.sha256(raw).hexdigest() == job[0].sha256
            if matches and (stored := read_print_copy(self.case_id, job[0].sha256)) is not None:
                return stored
            if job[0].media_type not in DECODED_BY_THE_WORKER:
                return raw
            try:
                copy = _read(derived_name_for(self.case_id, job[0].sha256, "view"))
            except OSError:
                log.info("no decoded copy of %s yet: the original is decoded", job[0].sha256)
                return Substitute(raw, matches)
            return Substitute(copy, matches)
        except OSError:
            log.warning("evidence %s cannot be read", job[0].sha256)
            return None
        except Exception as exc:  # noqa: BLE001 - raised for this picture, not this thread
            return exc

    def _prepare(
        self,
        exhibit: Exhibit,
        loaded: Loaded,
        process: Callable[[], _Process | None],
        read_ahead: Callable[[], None],
    ) -> PreparedImage:
        if isinstance(loaded, Exception):
            raise loaded
        if loaded is None:
            return PreparedImage(exhibit.sha256, None, 0, 0, False)
        path = self.scratch / f"{exhibit.sha256}.jpg"
        if isinstance(loaded, StoredPrint):
            # reportlab embeds a JPEG file's bytes as they are: these are the PDF's.
            path.write_bytes(loaded.jpeg)
            with self._lock:
                self._from_store += 1
            return PreparedImage(exhibit.sha256, path, loaded.width, loaded.height, True)
        made = self._make(exhibit, loaded, path, process(), read_ahead)
        if made.matches and made.path is not None:
            self._keep(exhibit, made)
        return made

    def _make(
        self,
        exhibit: Exhibit,
        loaded: bytes | Substitute,
        path: Path,
        process: _Process | None,
        read_ahead: Callable[[], None],
    ) -> PreparedImage:
        original_matches: bool | None = None
        if isinstance(loaded, Substitute):
            original_matches = loaded.original_matches
            loaded = loaded.picture
        printed = None
        if process is not None and process.send(loaded, path):
            read_ahead()
            printed = process.receive()
        if printed is None:
            if process is not None:
                log.warning("an image process ended early: the worker prepares the rest")
            printed = print_copy(loaded, path)
        matches = printed.sha256 == exhibit.sha256 if original_matches is None else original_matches
        if not printed.written:
            log.warning("evidence %s cannot be displayed: %s", exhibit.sha256, printed.error)
            return PreparedImage(exhibit.sha256, None, 0, 0, matches)
        return PreparedImage(exhibit.sha256, path, printed.width, printed.height, matches)

    def _keep(self, exhibit: Exhibit, made: PreparedImage) -> None:
        """Store the picture just made as its print copy, for the next dossier of the case.
        A failing store costs only that: the next dossier makes the picture again."""
        assert made.path is not None
        try:
            store_print_copy(
                self.case_id, exhibit.sha256, made.path.read_bytes(), made.width, made.height
            )
        except Exception:  # noqa: BLE001 - a dossier never fails for want of a cache
            log.warning("print copy %s not stored", exhibit.sha256, exc_info=True)
            return
        with self._lock:
            self._stored.append(exhibit.sha256)

    def _forget_erased(self) -> None:
        """Remove the print copies this dossier stored of files erased meanwhile (erasure
        removes the copies it knows of once it commits; one stored after that would stay).
        In the caller's thread: the image threads have no database connection of their own."""
        if not self._stored:
            return
        still = set(
            EvidenceFile.objects.filter(case_id=self.case_id, sha256__in=self._stored).values_list(
                "sha256", flat=True
            )
        )
        storage = evidence_storage()
        for sha256 in set(self._stored) - still:
            storage.delete(print_copy_name(self.case_id, sha256))

    def close(self) -> None:
        """Stop handing out pictures (one being made is finished) and end the processes."""
        with self._lock:
            left = list(self._jobs)
            self._jobs.clear()
        for exhibit, _name in left:
            future = self._futures[exhibit.sha256]
            if not future.done():
                future.cancel()
        for thread in self._threads:
            thread.join()
        self._forget_erased()
        peaks = [p.peak_mb for p in self._processes if p.peak_mb is not None]
        log.info(
            "%d pictures prepared in %.2f s, %d from stored print copies, %d stored, "
            "by %d image process(es), peak memory %s MB",
            len(self._futures),
            time.perf_counter() - self.started,
            self._from_store,
            len(self._stored),
            len(self._processes),
            # No slash in the line: the log's redaction filter would read the whole URLconf
            # for it (half a second in a fresh worker process), as for a line with a path.
            " and ".join(f"{peak:.0f}" for peak in peaks) or "-",
        )

    def __enter__(self) -> PrintImages:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prepare_images(
    case_id: Any,
    exhibits: Iterable[Exhibit],
    scratch: Path,
    workers: int = WORKERS,
) -> dict[str, PreparedImage]:
    """All the print copies at once (PrintImages, waited for)."""
    with PrintImages(case_id, exhibits, scratch, workers) as images:
        return dict(images)


def audio_durations(case_id: Any, exhibits: Iterable[Exhibit]) -> dict[str, int | None]:
    """Whole seconds per audio exhibit, or None where the format does not tell (AMR,
    damaged files)."""
    import mutagen

    chosen = list({e.sha256: e for e in exhibits if e.is_audio}.values())
    names = dict(
        EvidenceFile.objects.filter(
            case_id=case_id, sha256__in=[e.sha256 for e in chosen]
        ).values_list("sha256", "storage_name")
    )
    durations: dict[str, int | None] = {}
    for exhibit in chosen:
        seconds = None
        name = names.get(exhibit.sha256)
        if name:
            try:
                with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
                    spool.write(_read(name))
                    spool.seek(0)
                    parsed = mutagen.File(spool)
                if parsed is not None and getattr(parsed.info, "length", None):
                    seconds = round(parsed.info.length)
            except Exception:  # noqa: BLE001 - mutagen raises many kinds on odd files
                log.info("duration of %s unknown", exhibit.sha256)
        durations[exhibit.sha256] = seconds
    return durations
