"""The verification page: the signed chain head, how to check the dossier, the verify
page's QR code, and the machine line the verifier reads back from the page."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import qrcode
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image, Spacer

from locker.core.anchors import AttestationReport
from locker.core.chain import fingerprint_groups
from locker.core.labels import join_list
from locker.dossier.data import DossierData
from locker.dossier.pdf_layout import LayoutKit, para
from locker.dossier.sign import EMBEDDED_NAMES, SignatureLevel

MACHINE_LINE_PREFIX = "EL-CHAIN-HEAD"
SIGNER_LINE_PREFIX = "EL-SIGNER-SHA256"
CA_LINE_PREFIX = "EL-CA-SHA256"


class MachineLine(Flowable):
    """One unbroken line of ASCII the verifier reads back from the page content."""

    def __init__(self, text: str, font: str) -> None:
        super().__init__()
        self.text, self.font = text, font

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return available_width, 10

    def draw(self) -> None:
        self.canv.setFont(self.font, 6.5)
        self.canv.setFillColor(colors.HexColor("#37474f"))
        self.canv.drawString(0, 2, self.text)


def machine_line(case: str, length: int, head: str) -> str:
    return f"{MACHINE_LINE_PREFIX} case={case} length={length} head={head}"


def no_third_party_time_note() -> str:
    """What the verification page says when no time-stamp authority is configured."""
    return _(
        "No trusted time-stamp: this dossier carries no third-party time. Every time in it "
        "is this server's own, and nothing outside the server vouches for when the records "
        "existed."
    )


def signature_level_text(time_stamped: bool) -> str:
    if time_stamped:
        return _(
            "PAdES %(level)s: time-stamped by an independent RFC 3161 time-stamp authority, "
            "with the certificates and revocation data to check it later"
        ) % {"level": SignatureLevel.B_LTA.value}
    return _("PAdES %(level)s: no time-stamp") % {"level": SignatureLevel.B_B.value}


@dataclass(frozen=True)
class AttestedRow:
    """Consecutive ranges of the report shown as one row: every run of ranges attested in
    time is one row (with the spread of their attested times and the largest lag), each late
    range and the not-yet-attested tail their own rows."""

    first_seq: int
    last_seq: int
    recorded_from: datetime | None
    recorded_to: datetime | None
    attested_from: datetime | None
    attested_to: datetime | None
    largest_lag: timedelta | None
    late: bool
    attested_by: tuple[str, ...]


def attested_rows(report: AttestationReport) -> list[AttestedRow]:
    rows: list[AttestedRow] = []
    for span in report.ranges:
        previous = rows[-1] if rows else None
        if (
            previous is not None
            and not previous.late
            and not span.late
            and previous.attested_from is not None
            and span.attested_at is not None
        ):
            rows[-1] = AttestedRow(
                first_seq=previous.first_seq,
                last_seq=span.last_seq,
                recorded_from=_earliest(previous.recorded_from, span.recorded_from),
                recorded_to=_latest(previous.recorded_to, span.recorded_to),
                attested_from=previous.attested_from,
                attested_to=span.attested_at,
                largest_lag=_latest(previous.largest_lag, span.largest_lag),
                late=False,
                attested_by=tuple(dict.fromkeys(previous.attested_by + span.attested_by)),
            )
            continue
        rows.append(
            AttestedRow(
                first_seq=span.first_seq,
                last_seq=span.last_seq,
                recorded_from=span.recorded_from,
                recorded_to=span.recorded_to,
                attested_from=span.attested_at,
                attested_to=span.attested_at,
                largest_lag=span.largest_lag,
                late=span.late,
                attested_by=span.attested_by,
            )
        )
    return rows


def _earliest(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else max(a, b)


def _lag_text(lag: timedelta | None) -> str:
    if lag is None:
        return "—"
    minutes = int(lag.total_seconds() // 60)
    if minutes < 120:
        return _("%(n)d min") % {"n": minutes}
    return _("%(n)d h") % {"n": minutes // 60}


def attestation_flow(kit: LayoutKit, data: DossierData) -> list[Flowable]:
    """Third-party time on the verification page: per range of records, when they were
    recorded, when a time-stamp authority first vouched for them, and late ones marked."""
    report = data.attestation
    if report is None:
        return []
    zone = data.zone

    def when(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "—"

    flow: list[Flowable] = [para(_("Third-party time"), kit.styles.h3)]
    if report.conflicts:
        flow.append(
            _notice(
                _(
                    "A time-stamp authority vouched for a different version of these records "
                    "at record(s) %(seqs)s: the chain was rewritten after it saw it."
                )
                % {"seqs": join_list(str(c.length) for c in report.conflicts)},
                kit,
            )
        )
    if report.first_late_seq is not None:
        flow.append(
            _notice(
                _(
                    "From record %(seq)s on, records were time-stamped by a third party much "
                    "later than the time they claim to have been recorded. A back-dated "
                    "rewrite looks like this (so does a long time-stamp outage): look closer."
                )
                % {"seq": report.first_late_seq},
                kit,
            )
        )
    rows = []
    for row in attested_rows(report):
        span = (
            str(row.first_seq)
            if row.first_seq == row.last_seq
            else f"{row.first_seq}–{row.last_seq}"
        )
        recorded = when(row.recorded_from)
        if row.recorded_to and when(row.recorded_to) != recorded:
            recorded += " – " + when(row.recorded_to)
        if row.attested_from is None:
            attested = _("not yet time-stamped")
        else:
            attested = when(row.attested_from)
            if row.attested_to and when(row.attested_to) != attested:
                attested += " – " + when(row.attested_to)
        lag = _lag_text(row.largest_lag) + (" " + _("late") if row.late else "")
        rows.append([span, recorded, attested, lag, join_list(row.attested_by, strong=True)])
    flow.append(
        kit.grid(
            [
                _("Records"),
                _("Recorded (%(zone)s)") % {"zone": zone.key},
                _("Existed no later than (%(zone)s)") % {"zone": zone.key},
                _("Largest gap"),
                _("Vouched for by"),
            ],
            rows,
            [0.1, 0.24, 0.24, 0.12, 0.3],
        )
    )
    flow.append(Spacer(1, 6))
    return flow


def _notice(text: str, kit: LayoutKit) -> Flowable:
    style = ParagraphStyle(
        "notice",
        parent=kit.styles.body,
        borderColor=colors.HexColor("#b26a00"),
        borderWidth=0.8,
        borderPadding=4,
        backColor=colors.HexColor("#fff8e1"),
        spaceBefore=4,
        spaceAfter=8,
    )
    return para(text, style)


def verification(kit: LayoutKit, data: DossierData) -> list[Flowable]:
    checkpoint = data.checkpoint["checkpoint"]
    url = data.dossier.verify_url
    items = [
        (_("Case id"), checkpoint["case"]),
        (_("Chain length"), str(checkpoint["length"])),
        (_("Head hash (SHA-256 of the last record)"), checkpoint["head"]),
        (_("Checkpoint signed at (UTC)"), checkpoint["signed_at"]),
        (_("Checkpoint signature (ECDSA P-256, base64)"), data.checkpoint["signature"]),
        (_("Signer"), data.signer_subject),
        (
            _("Signer certificate fingerprint (SHA-256)"),
            fingerprint_groups(data.signer_fingerprint),
        ),
        (_("Instance CA fingerprint (SHA-256)"), fingerprint_groups(data.ca_fingerprint)),
        (_("Signature"), signature_level_text(data.time_stamped)),
        (_("Embedded files"), join_list(EMBEDDED_NAMES)),
        (_("Records shown / omitted"), f"{len(data.rows)} / {data.omitted}"),
    ]
    if data.keys_url:
        items.append((_("This instance's published keys"), data.keys_url))
    reader_step = (
        _(
            "Open this PDF in a reader that shows signatures (Adobe Reader, or pdfsig from "
            "poppler): the signature must be valid. After it come only the validation data "
            "(certificates and revocation lists) and a document time-stamp from the "
            "time-stamp authority, which covers the whole document. Any change to the file "
            "breaks them."
        )
        if data.time_stamped
        else _(
            "Open this PDF in a reader that shows signatures (Adobe Reader, or pdfsig from "
            "poppler): the signature must be valid and cover the whole document. Any change "
            "to the file breaks it."
        )
    )
    steps = [
        reader_step,
        _(
            "Upload the PDF to the verify page (QR code below) or run `python manage.py "
            "verify_bundle dossier.pdf` on the instance: it checks the signature, the "
            "embedded chain and that this instance signed the head."
        ),
        _(
            "Or check it yourself: take the attached entries.jsonl; each line's entry, "
            'serialised as canonical JSON (RFC 8785), must hash (SHA-256) to its "hash"; '
            "each record's \"prev\" must equal the previous record's hash (the first: 64 "
            "zeros); the last hash must equal the head hash above and in checkpoint.json."
        ),
        _(
            "Every exhibit's SHA-256 is printed beside it; the original file, from the "
            "export bundle, must hash to the same value."
        ),
        _(
            "Compare the two fingerprints above with the keys this instance publishes "
            "(%(url)s): the signer must be listed there as its current key or a former "
            "one, and the CA must be the same. A rotated key stays listed, so an older "
            "dossier still checks."
        )
        % {"url": data.keys_url or "/keys"},
    ]
    flow: list[Flowable] = []
    if not data.time_stamped:
        flow.append(_notice(no_third_party_time_note(), kit))
    flow += [kit.key_values(items), Spacer(1, 6)]
    flow += attestation_flow(kit, data)
    flow.append(para(_("How to verify"), kit.styles.h3))
    flow += [para(f"{i}. {step}", kit.styles.body) for i, step in enumerate(steps, start=1)]
    if url:
        flow += [Spacer(1, 4), qr_code(url), para(url, kit.styles.small)]
    flow += [
        Spacer(1, 4),
        MachineLine(
            machine_line(checkpoint["case"], checkpoint["length"], checkpoint["head"]),
            kit.font,
        ),
        # The fingerprints once more, unbroken, for a program (or a search) to find.
        MachineLine(f"{SIGNER_LINE_PREFIX} {data.signer_fingerprint}", kit.font),
        MachineLine(f"{CA_LINE_PREFIX} {data.ca_fingerprint}", kit.font),
    ]
    return flow


def qr_code(url: str) -> Image:
    code = qrcode.QRCode(border=2, box_size=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    buffer.seek(0)
    image = Image(buffer, width=32 * mm, height=32 * mm)
    image.hAlign = "LEFT"
    return image
