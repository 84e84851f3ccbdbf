"""Annex A of the complaint to the regulator: the agent's written authorisation (art. 14 of
the NFRA complaint measures), the picture the owner uploaded, opened from sealed storage,
re-hashed and scaled to the page, with its SHA-256 beneath."""

from __future__ import annotations

import hashlib
import io
import logging

from django.utils.translation import gettext as _
from PIL import Image as PILImage
from PIL import ImageOps
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image

from locker.dossier.data import DossierData
from locker.dossier.pdf_layout import FRAME_HEIGHT, FRAME_WIDTH, LayoutKit, para
from locker.infra.storage import evidence_storage

log = logging.getLogger(__name__)
MAX_PIXELS = 60_000_000
PRINT_PX = 1400  # about 170 dpi across the frame


def _picture(raw: bytes) -> tuple[io.BytesIO, int, int]:
    with PILImage.open(io.BytesIO(raw)) as source:
        if source.width * source.height > MAX_PIXELS:
            raise ValueError("picture too large")
        picture = ImageOps.exif_transpose(source).convert("RGB")
        picture.thumbnail((PRINT_PX, PRINT_PX))
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=85)
        out.seek(0)
        return out, picture.width, picture.height


def authorisation(kit: LayoutKit, data: DossierData) -> list[Flowable]:
    stored = data.complaint.authorisation if data.complaint else None
    if stored is None:
        return []
    caption = _("As uploaded by the complainant; SHA-256 %(sha256)s, %(size)d bytes.") % {
        "sha256": stored.sha256,
        "size": stored.size,
    }
    try:
        with evidence_storage().open(stored.storage_name, "rb") as handle:
            raw = handle.read()
        if hashlib.sha256(raw).hexdigest() != stored.sha256:
            caption += " " + _("WARNING: stored bytes differ")
        jpeg, width, height = _picture(raw)
    except (OSError, ValueError, PILImage.DecompressionBombError) as exc:
        log.warning("authorisation of case %s cannot be shown: %s", data.dossier.case_id, exc)
        return [para(_("The authorisation file cannot be read."), kit.styles.body)]
    scale = min(FRAME_WIDTH / width, (FRAME_HEIGHT - 40 * mm) / height)
    return [
        Image(jpeg, width=width * scale, height=height * scale),
        para(caption, kit.styles.small),
    ]
