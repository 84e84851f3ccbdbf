"""The attachment pack: the dossier split into signed PDF parts of at most PART_LIMIT_BYTES
each, for channels that cap an attachment's size (the Internet Finance Association's, NIFA,
takes 2 MB a file). Part 1 is the dossier without its pictures (cover, template, timeline,
statements, the files that are not pictures, verification page) and carries the chain's
embedded files; the other parts carry the pictures. Every part says "part k of n", its own
content digest and the digests of all parts, so a reader can tell that one is missing.

A part's content digest is the SHA-256 of its manifest (canonical JSON: the dossier, k, n,
the chain head, each exhibit's label, the SHA-256 of its original and of the copy printed
in the part; for part 1 also the SHA-256 of each embedded file). A file cannot state its own
hash, so the signed files' SHA-256 are in the ZIP's manifest.json beside them.

Pictures are printed from the dossier's derived copies (images.py); where a copy would not
fit a part even alone, it is scaled down and re-encoded step by step (DEGRADE_STEPS) and the
page says so. The originals are never touched: their SHA-256 stay in every caption and index.
A picture too large even at the last step is listed in part 1 as not included."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from PIL import Image
from reportlab.platypus import Flowable

from locker.core import chain
from locker.dossier.blocks import Marker, Para, Section
from locker.dossier.data import DossierData, Exhibit
from locker.dossier.images import PreparedImage
from locker.dossier.pdf_layout import LayoutKit, para
from locker.dossier.render import PartLayout, render_pdf
from locker.dossier.sign import sign_dossier
from locker.dossier.templates import sections
from locker.exports.bundle import entries_jsonl

# NIFA's limit is "2 MB"; the smaller reading of it (2,000,000 rather than 2,097,152 bytes).
PART_LIMIT_BYTES = 2_000_000
# Room kept in every part for what signing adds (signature, certificates; B-LTA's DSS,
# CRLs and document time-stamp) and for page text that changes once the digests are known.
SIGNING_HEADROOM_BYTES = 120_000
# An exhibit part's own weight (pages, fonts, header) before any picture, and per picture
# (caption, page furniture); planning estimates, corrected by measuring each rendered part.
PART_BASE_BYTES = 150_000
PICTURE_BYTES = 6_000
# How a copy is reduced when it does not fit: (scale of the dossier's copy, JPEG quality).
DEGRADE_STEPS = ((1.0, 60), (0.75, 50), (0.5, 45), (0.35, 40), (0.25, 35))
PLANNING_ROUNDS = 6


@dataclass
class Copy:
    """The picture a part prints for one exhibit: the dossier's copy or a reduced one."""

    exhibit: Exhibit
    base: PreparedImage  # the dossier's copy
    image: PreparedImage  # what the part prints: `base` or a reduced copy of it
    step: int = -1  # -1: `base` as it is; otherwise an index into DEGRADE_STEPS

    @property
    def size(self) -> int:
        assert self.image.path is not None
        return self.image.path.stat().st_size

    @property
    def sha256(self) -> str:
        assert self.image.path is not None
        return hashlib.sha256(self.image.path.read_bytes()).hexdigest()


@dataclass
class Part:
    number: int
    copies: list[Copy] = field(default_factory=list)
    digest: str = ""
    path: Path | None = None


@dataclass(frozen=True)
class PackResult:
    path: Path  # the ZIP
    parts: int
    sha256s: list[str]  # of each signed part file, in order


def _degrade(copy: PreparedImage, step: int, scratch: Path) -> PreparedImage:
    """A reduced copy of the dossier's copy (never of the original)."""
    assert copy.path is not None
    scale, quality = DEGRADE_STEPS[step]
    with Image.open(copy.path) as source:
        size = (max(1, round(source.width * scale)), max(1, round(source.height * scale)))
        source.draft("RGB", size)
        picture = source.convert("RGB").resize(size, Image.Resampling.BILINEAR)
        path = scratch / f"{copy.sha256}-step{step}.jpg"
        picture.save(path, "JPEG", quality=quality, optimize=True)
    return PreparedImage(copy.sha256, path, size[0], size[1], copy.matches)


def _fit(copy: Copy, budget: int, scratch: Path) -> Copy | None:
    """The copy, reduced as far as needed to weigh at most `budget`; None if even the last
    step does not."""
    while copy.size > budget:
        step = copy.step + 1
        if step >= len(DEGRADE_STEPS):
            return None
        copy = Copy(copy.exhibit, copy.base, _degrade(copy.base, step, scratch), step)
    return copy


def _manifest(data: DossierData, part: Part, count: int, embedded: dict[str, bytes]) -> bytes:
    document: dict[str, Any] = {
        "dossier": str(data.dossier.id),
        "part": part.number,
        "parts": count,
        "chain_head": data.head,
        "exhibits": [
            {"label": c.exhibit.label, "sha256": c.exhibit.sha256, "copy_sha256": c.sha256}
            for c in part.copies
        ],
    }
    if embedded:
        document["embedded"] = {
            name: hashlib.sha256(body).hexdigest() for name, body in sorted(embedded.items())
        }
    return chain.canonical_bytes(document)


class Pack:
    def __init__(
        self,
        data: DossierData,
        images: Mapping[str, PreparedImage],
        audio_durations: dict[str, int | None],
        scratch: Path,
        limit: int = PART_LIMIT_BYTES,
    ) -> None:
        self.data, self.images, self.durations = data, images, audio_durations
        self.scratch, self.limit = scratch, limit
        self.budget = limit - SIGNING_HEADROOM_BYTES
        self.embedded = {
            "entries.jsonl": entries_jsonl(data.lines),
            "checkpoint.json": chain.canonical_bytes(data.checkpoint),
            "anchors.json": chain.canonical_bytes(data.anchors),
        }
        self.unfit: set[str] = set()  # labels of pictures too large for any part
        self.placed: dict[str, int] = {}  # label -> part number
        self.first: list[Exhibit] = []  # part 1's exhibits (files that are not pictures)
        self.parts: list[Part] = []

    # -- planning ----------------------------------------------------------------------

    def _copies(self) -> list[Copy]:
        seen: set[str] = set()
        copies = []
        for exhibit in self.data.exhibits:
            prepared = self.images.get(exhibit.sha256) if exhibit.is_image else None
            drawn = prepared is not None and prepared.path is not None
            if not drawn or exhibit.sha256 in seen:
                self.first.append(exhibit)
                continue
            assert prepared is not None
            seen.add(exhibit.sha256)
            copy = Copy(exhibit, prepared, prepared)
            fitted = _fit(copy, self.budget - PART_BASE_BYTES - PICTURE_BYTES, self.scratch)
            if fitted is None:
                self.unfit.add(exhibit.label)
                self.first.append(exhibit)
            else:
                copies.append(fitted)
        return copies

    def plan(self) -> None:
        """Pictures into parts 2.. in the chain's order, each part filled up to the budget
        by estimate."""
        self.parts = [Part(1)]
        current: Part | None = None
        weight = 0
        for copy in self._copies():
            cost = copy.size + PICTURE_BYTES
            if current is None or weight + cost > self.budget:
                current = Part(len(self.parts) + 1)
                self.parts.append(current)
                weight = PART_BASE_BYTES
            current.copies.append(copy)
            weight += cost

    def _split(self, part: Part) -> None:
        """Move the last picture of an over-weight part into a new part after it."""
        index = self.parts.index(part)
        moved = part.copies.pop()
        self.parts.insert(index + 1, Part(0, [moved]))

    # -- the parts' pages --------------------------------------------------------------

    def _header(self, part: Part) -> Callable[[LayoutKit], list[Flowable]]:
        count = len(self.parts)

        def draw(kit: LayoutKit) -> list[Flowable]:
            reduced = [c for c in part.copies if c.step >= 0]
            items = [
                (_("Part"), _("part %(k)d of %(n)d") % {"k": part.number, "n": count}),
                (_("Dossier"), str(self.data.dossier.id)),
                (_("Chain head"), self.data.head),
                (_("This part's content digest (SHA-256)"), part.digest),
            ]
            items += [
                (
                    _("Digest of part %(k)d") % {"k": other.number},
                    other.digest
                    + " · "
                    + (
                        _("the dossier, the chain files and %(count)d files listed")
                        % {"count": len(self.first)}
                        if other.number == 1
                        else _("%(count)d pictures") % {"count": len(other.copies)}
                    ),
                )
                for other in self.parts
            ]
            flow: list[Flowable] = [kit.key_values(items)]
            flow.append(
                para(
                    _(
                        "This attachment pack has %(n)d parts, each a signed PDF of at most "
                        "%(limit)s bytes. A part's content digest is the SHA-256 of its "
                        "manifest (its exhibits' labels, the SHA-256 of each original and of "
                        "the copy printed here); manifest.json in the pack lists them with the "
                        "SHA-256 of each signed file. If any part listed here is missing, the "
                        "pack is incomplete."
                    )
                    % {"n": count, "limit": f"{self.limit:,}"},
                    kit.styles.small,
                )
            )
            if reduced:
                flow.append(
                    para(
                        _(
                            "To fit the size limit, %(count)d pictures in this part are "
                            "printed smaller or at lower JPEG quality than in the full "
                            "dossier. The originals are unchanged, byte for byte, in the "
                            "case's export bundle under the SHA-256 shown."
                        )
                        % {"count": len(reduced)},
                        kit.styles.small,
                    )
                )
            return flow

        return draw

    def _index(self, kit: LayoutKit) -> list[Flowable]:
        rows = []
        for exhibit in self.data.exhibits:
            number = self.placed.get(exhibit.label, 1)
            if exhibit.label in self.unfit:
                where = _(
                    "not in any part: too large for %(limit)s bytes even reduced; see the "
                    "export bundle"
                ) % {"limit": f"{self.limit:,}"}
            else:
                where = _("part %(k)d") % {"k": number}
            rows.append([exhibit.label, f"#{exhibit.seq}", exhibit.name, where, exhibit.sha256])
        return [
            kit.grid(
                [_("Exhibit"), _("Seq"), _("File"), _("In part"), "SHA-256"],
                rows,
                [0.09, 0.07, 0.22, 0.2, 0.42],
                long=True,
            )
        ]

    def _layout(self, part: Part) -> PartLayout:
        header = Section(
            _("Attachment pack: part %(k)d of %(n)d") % {"k": part.number, "n": len(self.parts)},
            [Marker("pack_header")],
        )
        markers = {"pack_header": self._header(part), "pack_index": self._index}
        if part.number == 1:
            template = sections(self.data)
            for section in template:
                if any(isinstance(b, Marker) and b.name == "evidence" for b in section.blocks):
                    section.blocks = [
                        Para(
                            _(
                                "The pictures are in the other parts of this pack; this "
                                "index says which part has each exhibit."
                            ),
                            "small",
                        ),
                        Marker("pack_index"),
                        Marker("evidence"),
                    ]
            return PartLayout(
                sections=[template[0], header, *template[1:]],
                exhibits=self.first,
                markers=markers,
                bates_suffix="P1-",
            )
        evidence = Section(_("Evidence"), [Marker("evidence")], new_page=True)
        return PartLayout(
            sections=[header, evidence],
            exhibits=[c.exhibit for c in part.copies],
            markers=markers,
            bates_suffix=f"P{part.number}-",
        )

    def _render(self, part: Part) -> Path:
        path = self.scratch / f"part-{part.number:02d}-unsigned.pdf"
        images = {c.exhibit.sha256: c.image for c in part.copies}
        with path.open("wb") as out:
            render_pdf(
                self.data,
                out,
                images=images,
                audio_durations=self.durations,
                part=self._layout(part),
            )
        return path

    def _number(self) -> None:
        for number, part in enumerate(self.parts, start=1):
            part.number = number
            for copy in part.copies:
                self.placed[copy.exhibit.label] = number
        count = len(self.parts)
        for part in self.parts:
            part.digest = hashlib.sha256(
                _manifest(self.data, part, count, self.embedded if part.number == 1 else {})
            ).hexdigest()

    def settle(self) -> list[Path]:
        """Render every part, splitting those over the budget, until all fit."""
        for _round in range(PLANNING_ROUNDS):
            self._number()
            rendered = [self._render(part) for part in self.parts]
            heavy = [
                part
                for part, path in zip(self.parts, rendered, strict=True)
                if path.stat().st_size > self.budget and len(part.copies) > 1
            ]
            if not heavy:
                return rendered
            for part in heavy:
                self._split(part)
        raise RuntimeError("attachment pack: parts still over the limit after planning")

    def sign(self, unsigned: list[Path], reason: str) -> list[Path]:
        signed = []
        for part, source_path in zip(self.parts, unsigned, strict=True):
            path = self.scratch / f"part-{part.number:02d}.pdf"
            with source_path.open("rb") as source, path.open("w+b") as out:
                sign_dossier(
                    source,
                    out,
                    entries=self.embedded["entries.jsonl"],
                    checkpoint=self.data.checkpoint,
                    anchors=self.data.anchors,
                    reason=f"{reason}, part {part.number} of {len(self.parts)}",
                    time_stamp=self.data.time_stamped,
                    embed_chain=part.number == 1,
                )
            size = path.stat().st_size
            if size > self.limit:
                raise RuntimeError(
                    f"attachment pack: part {part.number} is {size} bytes after signing"
                )
            part.path = path
            signed.append(path)
        return signed


def build_pack(
    data: DossierData,
    scratch: Path,
    *,
    images: Mapping[str, PreparedImage],
    audio_durations: dict[str, int | None],
    reason: str,
    limit: int = PART_LIMIT_BYTES,
) -> PackResult:
    """Render, sign and zip the attachment pack into `scratch` (call under the dossier's
    language)."""
    folder = scratch / "pack"
    folder.mkdir(exist_ok=True)
    pack = Pack(data, images, audio_durations, folder, limit)
    pack.plan()
    signed = pack.sign(pack.settle(), reason)
    sha256s = [hashlib.sha256(path.read_bytes()).hexdigest() for path in signed]
    manifest = {
        "dossier": str(data.dossier.id),
        "case": str(data.dossier.case_id),
        "chain_head": data.head,
        "chain_length": data.length,
        "limit_bytes": limit,
        "parts": [
            {
                "part": part.number,
                "file": path.name,
                "size": path.stat().st_size,
                "sha256": sha256,
                "content_digest": part.digest,
                "exhibits": [c.exhibit.label for c in part.copies]
                if part.number > 1
                else [e.label for e in pack.first],
                "reduced": [c.exhibit.label for c in part.copies if c.step >= 0],
            }
            for part, path, sha256 in zip(pack.parts, signed, sha256s, strict=True)
        ],
        "not_included": sorted(pack.unfit),
    }
    archive = scratch / "pack.zip"
    # Stored, not deflated: PDFs of JPEGs do not shrink, and each part's size is what counts.
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as out:
        out.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        for path in signed:
            out.write(path, path.name)
    return PackResult(archive, len(signed), sha256s)
