"""The evidence pages (images scaled to print, audio and other files listed) and the court
bundle's exhibit index, which gives the Bates number of the page each exhibit is on."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image, LongTable, Paragraph, Spacer

from locker.dossier.data import Exhibit
from locker.dossier.images import PreparedImage
from locker.dossier.pdf_layout import FRAME_HEIGHT, FRAME_WIDTH, GRID, LayoutKit, para
from locker.dossier.pdf_pages import Anchor, BatesRef
from locker.dossier.provenance import Provenance


def exhibit_caption(
    kit: LayoutKit, exhibit: Exhibit, origin: Provenance | None, extra: str = ""
) -> Paragraph:
    """The caption under a picture: its label and file, who made the record it belongs to
    and its claimed, recorded and time-stamped times, then its hash, type and size."""
    lines = [f"{exhibit.label} · #{exhibit.seq} · {exhibit.name}"]
    lines += origin.lines() if origin is not None else []
    lines.append(f"SHA-256 {exhibit.sha256}\n{exhibit.media_type}, {exhibit.size:,} B{extra}")
    return para("\n".join(lines), kit.styles.tiny, breakable=True)


def evidence(
    kit: LayoutKit,
    exhibits: list[Exhibit],
    *,
    images: Mapping[str, PreparedImage],
    audio_durations: dict[str, int | None],
    refs: dict[str, int],
    origins: Mapping[int, Provenance],
    read_texts: Mapping[str, str] | None = None,
) -> list[Flowable]:
    """The exhibits: images two to a row, the other files in a table, each with its
    record's author and times (`origins`, by seq). Each exhibit's Anchor records its page
    in `refs` for the exhibit index."""
    if not exhibits:
        return [para(_("No evidence files in the chosen range."), kit.styles.small)]
    flow: list[Flowable] = [
        para(
            _(
                "Images are scaled to print resolution; the original files, byte for byte, "
                "are in the case's export bundle under the SHA-256 shown."
            ),
            kit.styles.small,
        )
    ]
    cells: list[list[Flowable]] = []
    others: list[Exhibit] = []
    cell_width = FRAME_WIDTH / 2 - 6
    # Room under the picture for its caption (label, author, three times, hash, type).
    image_height = FRAME_HEIGHT - 62 * mm
    first_of: dict[str, str] = {}  # each file's bytes are drawn once, at its first exhibit
    for exhibit in exhibits:
        first = first_of.setdefault(exhibit.sha256, exhibit.label)
        prepared = images.get(exhibit.sha256) if exhibit.is_image else None
        if first != exhibit.label or prepared is None or prepared.path is None:
            others.append(exhibit)
            continue
        scale = min(cell_width / prepared.width, image_height / prepared.height)
        picture = Image(
            str(prepared.path), width=prepared.width * scale, height=prepared.height * scale
        )
        extra = "" if prepared.matches else "\n" + _("WARNING: stored bytes differ")
        if (read_texts or {}).get(exhibit.sha256):
            extra += "\n" + _("Machine-read text: after the pictures")
        cells.append(
            [
                Anchor(exhibit.label, refs),
                picture,
                exhibit_caption(kit, exhibit, origins.get(exhibit.seq), extra),
            ]
        )
    if cells:
        pairs = [cells[i : i + 2] for i in range(0, len(cells), 2)]
        body = [pair + ([[Spacer(1, 1)]] if len(pair) == 1 else []) for pair in pairs]
        table = LongTable(body, colWidths=[FRAME_WIDTH / 2] * 2)
        table.setStyle(
            kit.table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                    ("BOX", (0, 0), (-1, -1), 0.3, GRID),
                    ("INNERGRID", (0, 0), (-1, -1), 0.3, GRID),
                ]
            )
        )
        flow.append(table)
    flow += machine_read(kit, exhibits, first_of, read_texts or {})
    if others:
        rows = []
        for exhibit in others:
            if first_of[exhibit.sha256] != exhibit.label:
                detail = _("the same file as %(label)s") % {"label": first_of[exhibit.sha256]}
            elif exhibit.is_audio:
                seconds = audio_durations.get(exhibit.sha256)
                detail = (
                    _("duration %(m)d:%(s)02d") % {"m": seconds // 60, "s": seconds % 60}
                    if seconds is not None
                    else _("duration unknown")
                )
            elif exhibit.is_image:
                detail = _("image that cannot be displayed here")
            else:
                detail = _("file not displayed; see the export bundle")
            rows.append(
                [
                    [Anchor(exhibit.label, refs), para(exhibit.label, kit.styles.cell)],
                    f"#{exhibit.seq}",
                    [
                        para(exhibit.name, kit.styles.cell),
                        para("\n".join(_origin_lines(origins, exhibit)), kit.styles.tiny),
                    ],
                    f"{exhibit.media_type}\n{exhibit.size:,} B\n{detail}",
                    para(exhibit.sha256, kit.styles.tiny, breakable=True),
                ]
            )
        flow += [
            Spacer(1, 6),
            para(_("Audio recordings and other files"), kit.styles.h3),
            kit.grid(
                [_("Exhibit"), _("Seq"), _("File"), _("Type, size, duration"), "SHA-256"],
                rows,
                [0.08, 0.07, 0.33, 0.2, 0.32],
                long=True,
            ),
        ]
    return flow


# The most of one picture's machine-read text a dossier quotes (a long scrolling screenshot);
# the rest is said to be left out, never silently cut.
MAX_QUOTED = 4000


def machine_read(
    kit: LayoutKit, exhibits: list[Exhibit], first_of: Mapping[str, str], texts: Mapping[str, str]
) -> list[Flowable]:
    """The text read by machine (OCR) from each picture, under its exhibit's label, marked as
    such: the picture is the evidence, and the reading may be wrong."""
    flow: list[Flowable] = []
    for exhibit in exhibits:
        text = texts.get(exhibit.sha256, "")
        if not text or first_of.get(exhibit.sha256) != exhibit.label:
            continue
        if not flow:
            flow += [
                Spacer(1, 6),
                para(_("Machine-read text (may contain errors)"), kit.styles.h3),
                para(
                    _(
                        "Read from the pictures by a program (OCR) and not checked by anyone; "
                        "the pictures above are the evidence, not this text."
                    ),
                    kit.styles.small,
                ),
            ]
        quoted = text[:MAX_QUOTED]
        if len(text) > MAX_QUOTED:
            quoted += "\n" + _("[%(count)d more characters not quoted]") % {
                "count": len(text) - MAX_QUOTED
            }
        flow += [
            para(
                f"{exhibit.label} · #{exhibit.seq} · {exhibit.name} · "
                + _("Machine-read text (may contain errors)"),
                kit.styles.small,
            ),
            para(quoted, kit.styles.small, breakable=True),
        ]
    return flow


def _origin_lines(origins: Mapping[int, Provenance], exhibit: Exhibit) -> list[str]:
    origin = origins.get(exhibit.seq)
    return origin.lines() if origin is not None else []


def exhibit_index(kit: LayoutKit, exhibits: list[Exhibit]) -> list[Flowable]:
    if not exhibits:
        return [para(_("No evidence files in the chosen range."), kit.styles.small)]
    rows = []
    for exhibit in exhibits:
        rows.append(
            [
                exhibit.label,
                BatesRef(exhibit.label, kit.styles.cell),
                f"#{exhibit.seq}",
                exhibit.name,
                f"{exhibit.media_type}, {exhibit.size:,} B",
                para(exhibit.sha256, kit.styles.tiny, breakable=True),
            ]
        )
    return [
        kit.grid(
            [_("Exhibit"), _("Bates"), _("Seq"), _("File"), _("Type and size"), "SHA-256"],
            rows,
            [0.07, 0.21, 0.06, 0.2, 0.15, 0.31],
            long=True,
        )
    ]
