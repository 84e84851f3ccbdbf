"""The verification page: the signed chain head, how to check the dossier, the verify
page's QR code, and the machine line the verifier reads back from the page."""

from __future__ import annotations

import io

import qrcode
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image, Spacer

from locker.core.chain import fingerprint_groups
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
        (_("Embedded files"), ", ".join(EMBEDDED_NAMES)),
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
    flow += [
        kit.key_values(items),
        Spacer(1, 6),
        para(_("How to verify"), kit.styles.h3),
    ]
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
