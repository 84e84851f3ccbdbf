"""The pipeline the worker runs for one claimed dossier: gather the chain, anchor a
checkpoint for its head, prepare the images, lay out, embed and sign, store under the final
name only once the file is complete, then mark the row ready. Progress goes to the row as it goes
(which also renews the worker's lease)."""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urljoin

from cryptography import x509
from django.conf import settings
from django.core.files import File
from django.utils import timezone, translation

from locker.core import anchors as core_anchors
from locker.core.identity import TEMPLATE_ELEMENTS
from locker.core.names import account_name
from locker.dossier.data import (
    AccessLogPart,
    DossierData,
    build_rows,
    consumer_details,
    include_filter,
    summarise,
)
from locker.dossier.images import PrintImages, audio_durations
from locker.dossier.pack import PackResult, build_pack
from locker.dossier.render import render_pdf
from locker.dossier.sign import sign_dossier, will_time_stamp
from locker.exports.bundle import bundle_lines, entries_jsonl, head_of
from locker.infra import signing
from locker.infra.storage import evidence_storage
from locker.infra.tsa import TSAUnavailable
from locker.models import AnchorLeaf, Dossier
from locker.selectors import access_wording, sharing
from locker.selectors.anchors import anchors_document, trusted_tsa_roots
from locker.selectors.complainant import complainant_of, complaint_of
from locker.selectors.entries import erased_count
from locker.selectors.evidence_text import texts_of
from locker.services import dossiers as services
from locker.services.anchors import anchor_case_head

log = logging.getLogger(__name__)

# Progress milestones (percent). The pictures are made during the layout (images.py).
GATHERED, RENDERED, SIGNED = 5, 85, 95
PROGRESS_INTERVAL_S = 1.0


def dossier_file_name(dossier: Dossier) -> str:
    return f"dossiers/{dossier.case_id}/{dossier.id}.pdf"


class Progress:
    """Writes progress to the row at most once a second (and at each milestone)."""

    def __init__(self, claim: services.Claim) -> None:
        self.claim = claim
        self.last_write = 0.0
        self.value = 0

    def __call__(self, percent: float, state: str | None = None, force: bool = False) -> None:
        value = int(percent)
        now = time.monotonic()
        if not force and state is None and now - self.last_write < PROGRESS_INTERVAL_S:
            return
        self.value = max(self.value, value)
        services.report_progress(claim=self.claim, progress=self.value, state=state)
        self.last_write = now

    def span(self, start: int, end: int) -> Callable[[float], None]:
        return lambda fraction: self(start + (end - start) * min(1.0, max(0.0, fraction)))


def keys_url_beside(verify_url: str) -> str:
    """The public /keys page at the same address as the dossier's /verify page (the views
    store the absolute verify address; /keys is its sibling, under any path prefix of
    LOCKER_PUBLIC_URL too)."""
    return urljoin(verify_url, "keys") if verify_url else ""


def gather(dossier: Dossier) -> DossierData:
    """The dossier's data, with a checkpoint for the chain's head anchored by a TSA at once
    when one is configured. Raises TSAUnavailable (the task retries later) when TSAs are
    configured and none anchored the head: a dossier meant to carry third-party time does
    not go out without it."""
    case = dossier.case
    lines = bundle_lines(case, include=include_filter(dossier))
    length, head = head_of(lines)
    time_stamped = will_time_stamp()
    checkpoint_row = anchor_case_head(case=case, length=length, head=head)
    if time_stamped and not AnchorLeaf.objects.filter(checkpoint=checkpoint_row).exists():
        raise TSAUnavailable(f"case {case.id}: no time-stamp authority anchored the head")
    checkpoint = checkpoint_row.document
    anchors = anchors_document(case, up_to_length=length, checkpoint=checkpoint_row)
    zone = zoneinfo.ZoneInfo(dossier.time_zone)
    rows = build_rows(lines, zone)
    # The certificate the checkpoint carries is the one named on the verification page (a
    # rotation between the two reads could otherwise print another key's fingerprint).
    certificate = x509.load_pem_x509_certificate(checkpoint["certificate"].encode())
    ca = signing.load_signer().ca_certificate
    user = dossier.requested_by
    access_log = None
    if dossier.include_access_log and dossier.template == Dossier.Template.COURT:
        logged = list(sharing.access_log_until(case, dossier.created_at))
        # The names are words (a dossier's "requested <time>"): in the dossier's language
        # and zone, not the worker's.
        with translation.override(dossier.language), timezone.override(zone):
            names = access_wording.file_names(case, logged)
        access_log = AccessLogPart(
            rows=logged, file_names=names, until=dossier.created_at.astimezone(zone)
        )
    # Only the complaint templates carry the complainant's details; no other dossier does.
    carries_details = dossier.template in TEMPLATE_ELEMENTS
    exhibits = sorted(
        (exhibit for row in rows for exhibit in row.exhibits), key=lambda e: (e.seq, e.index)
    )
    read = texts_of(case.pk, {e.sha256 for e in exhibits if e.is_image})
    return DossierData(
        dossier=dossier,
        case_facts=case.facts(),
        rows=rows,
        lines=lines,
        length=length,
        head=head,
        omitted=sum(1 for line in lines if "omitted" in line),
        erased=erased_count(case, up_to_seq=length),
        conduct=summarise(rows, zone),
        # In the order of the chain, as their labels count.
        exhibits=exhibits,
        read_texts={sha: r.text for sha, r in read.items() if r.text},
        zone=zone,
        checkpoint=checkpoint,
        anchors=anchors,
        attestation=core_anchors.attest_lines(
            lines=lines,
            document=anchors,
            trusted_roots=trusted_tsa_roots(),
            late_after=timedelta(seconds=settings.LOCKER_ANCHOR_LATE_S),
        ),
        time_stamped=time_stamped,
        signer_fingerprint=signing.fingerprint(certificate),
        signer_subject=certificate.subject.rfc4514_string(),
        ca_fingerprint=signing.fingerprint(ca),
        keys_url=keys_url_beside(dossier.verify_url),
        generated_at=timezone.now().astimezone(zone),
        requested_by=account_name(user),
        access_log=access_log,
        complainant=complainant_of(case.owner) if carries_details else None,
        complaint=complaint_of(case) if carries_details else None,
        consumer=consumer_details(case),
    )


def pack_file_name(dossier: Dossier) -> str:
    return f"dossiers/{dossier.case_id}/{dossier.id}-pack.zip"


@dataclass(frozen=True)
class Rendered:
    signed: Path
    pages: int
    pack: PackResult | None  # the attachment pack, when the dossier asked for one


def render_and_sign(
    data: DossierData, scratch: Path, progress: Callable[..., None] | None = None
) -> Rendered:
    """Render and sign into `scratch` (and the attachment pack, when asked)."""
    report = progress or (lambda *args, **kwargs: None)
    dossier = data.dossier
    with (
        translation.override(dossier.language),
        # Started before the layout, which runs meanwhile and waits for them only when it
        # reaches the evidence pages; ended (processes and all) whatever happens.
        PrintImages(dossier.case_id, data.exhibits, scratch) as images,
    ):
        durations = audio_durations(dossier.case_id, data.exhibits)
        unsigned = scratch / "unsigned.pdf"
        with unsigned.open("wb") as out:
            pages = render_pdf(
                data,
                out,
                images=images,
                audio_durations=durations,
                progress=lambda f: report(GATHERED + (RENDERED - GATHERED) * f),
            )
        report(RENDERED, state=Dossier.State.SIGNING)
        signed = scratch / "signed.pdf"
        # Opened for reading too: a B-LTA signature appends its DSS and time-stamp to it.
        with unsigned.open("rb") as source, signed.open("w+b") as out:
            level = sign_dossier(
                source,
                out,
                entries=entries_jsonl(data.lines),
                checkpoint=data.checkpoint,
                anchors=data.anchors,
                reason=f"Evidence Locker dossier {dossier.id} of case {dossier.case_id}",
                # As the verification page says (decided when the data was gathered).
                time_stamp=data.time_stamped,
            )
        log.info("dossier %s signed at PAdES %s", dossier.id, level)
        pack = None
        if dossier.attachment_pack:
            pack = build_pack(
                data,
                scratch,
                images=images,
                audio_durations=durations,
                reason=f"Evidence Locker dossier {dossier.id} of case {dossier.case_id}",
            )
            log.info("dossier %s: attachment pack of %d parts", dossier.id, pack.parts)
    return Rendered(signed, pages, pack)


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _store(name: str, path: Path) -> str:
    storage = evidence_storage()
    if storage.exists(name):
        # Left by an attempt that died between storing and finishing; the name is this
        # dossier's alone and we hold its lease, so the leftover is ours to replace.
        storage.delete(name)
    with path.open("rb") as handle:
        return storage.save(name, File(handle, name=path.name))


def build_dossier(claim: services.Claim) -> None:
    """Make the claimed dossier. Raises LeaseLost if another worker took it over."""
    progress = Progress(claim)
    dossier = Dossier.objects.select_related("case", "requested_by").get(pk=claim.row_id)
    progress(1, force=True)
    data = gather(dossier)
    progress(GATHERED, force=True)
    # Scratch space is private to this attempt: a killed worker leaves nothing under the
    # final name, only a temporary directory the OS cleans.
    with tempfile.TemporaryDirectory(prefix="dossier-") as scratch_dir:
        rendered = render_and_sign(data, Path(scratch_dir), progress)
        progress(SIGNED, force=True)
        sha256, size = _sha256(rendered.signed)
        pages = rendered.pages
        storage = evidence_storage()
        stored = _store(dossier_file_name(dossier), rendered.signed)
        pack = None
        if rendered.pack is not None:
            pack_sha256, pack_size = _sha256(rendered.pack.path)
            pack = services.StoredPack(
                file_name=_store(pack_file_name(dossier), rendered.pack.path),
                sha256=pack_sha256,
                size=pack_size,
                parts=rendered.pack.parts,
            )
    if not services.finish_dossier(
        claim=claim,
        file_name=stored,
        sha256=sha256,
        size=size,
        pages=pages,
        chain_length=data.length,
        chain_head=data.head,
        pack=pack,
    ):
        # Our files are referenced by nothing: another worker owns the row now.
        storage.delete(stored)
        if pack is not None:
            storage.delete(pack.file_name)
        raise services.LeaseLost(f"dossier {dossier.id}: lease lost before finishing")
    log.info("dossier %s ready: %d pages, %d bytes", dossier.id, pages, size)
