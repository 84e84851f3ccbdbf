"""Stored print copies (locker/infra/print_copies.py, issue 13): the JPEG a dossier embeds for
a picture is made by the worker at upload, with the page pictures, and every dossier of the
case then prints it instead of decoding the original again; the PDF's pictures are the same
bytes with and without it; a copy that is damaged, of another picture or of another recipe
is not used; erasure removes it (tests/security/test_erasure.py); files that are no pictures
get none."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader

from locker import services
from locker.dossier.data import Exhibit
from locker.dossier.images import PrintImages
from locker.infra import print_copies, thumbs
from locker.infra.print_recipe import print_jpeg
from locker.infra.storage import evidence_storage
from locker.models import EvidenceFile

from .dossier_helpers import distinct_png, make_dossier, screenshot_png, small_case, wav_bytes
from .factories import add_entry, make_case, run_worker_on_derived

pytestmark = pytest.mark.django_db


def _upload(case: Any, name: str, data: bytes) -> EvidenceFile:
    add_entry(
        case,
        "message",
        {"channel": "sms", "sender": "106900", "text": name},
        uploads=[services.Upload(name, io.BytesIO(data))],
    )
    return EvidenceFile.objects.filter(case=case).order_by("-pk").first()  # type: ignore[return-value]


def _original(row: EvidenceFile) -> bytes:
    with evidence_storage().open(row.storage_name, "rb") as handle:
        return handle.read()


def _exhibits(case: Any) -> list[Exhibit]:
    from locker.dossier.build import gather
    from locker.models import Dossier
    from locker.services import dossiers as dossier_services

    dossier = dossier_services.request_dossier(
        case=case, user=case.owner, template="court", language="en"
    )
    return [e for e in gather(Dossier.objects.get(pk=dossier.pk)).exhibits if e.is_image]


def _printed(case: Any, scratch: Path, caplog: pytest.LogCaptureFixture) -> dict[str, bytes]:
    """The JPEG bytes the dossier would embed per picture, and the pictures' log line."""
    scratch.mkdir()
    caplog.clear()
    with PrintImages(case.pk, _exhibits(case), scratch) as images:
        made = dict(images)
    assert all(p.path is not None and p.matches for p in made.values())
    return {sha: p.path.read_bytes() for sha, p in made.items() if p.path is not None}


def _photo_jpeg() -> bytes:
    """A camera-like JPEG, stored sideways (EXIF orientation 6): larger than the print box."""
    photo = Image.effect_noise((2400, 1600), 40).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def _gif_with_transparency() -> bytes:
    picture = Image.effect_noise((700, 1400), 60).convert("P")
    out = io.BytesIO()
    picture.save(out, "GIF", transparency=0)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("s.png", screenshot_png(1080, 2400)),
        ("photo.jpg", _photo_jpeg()),
        ("a.gif", _gif_with_transparency()),
    ],
)
def test_the_worker_makes_the_print_copy_at_upload_as_the_dossier_would(
    name: str, data: bytes
) -> None:
    case = make_case()
    row = _upload(case, name, data)
    assert print_copies.read_print_copy(case.pk, row.sha256) is None  # not before the worker
    assert run_worker_on_derived(case) == ["ready"]
    stored = print_copies.read_print_copy(case.pk, row.sha256)
    assert stored is not None
    # Exactly what the dossier makes from the original (a PNG or GIF decoded once for the
    # page pictures and the print copy, a JPEG at its own reduced scale).
    printed, jpeg = print_jpeg(_original(row))
    assert stored.jpeg == jpeg and (stored.width, stored.height) == (printed.width, printed.height)
    # The page pictures are made as before, from the same decode.
    for size, edge in thumbs.SIZES.items():
        with evidence_storage().open(thumbs.derived_name(row, size), "rb") as handle:
            page_picture = handle.read()
        row.refresh_from_db()
        assert page_picture == thumbs._render(row, _original(row), edge, None)
    # Sealed like every stored file (master key rotation re-wraps it: test_encryption_at_rest).
    assert evidence_storage().is_sealed(print_copies.print_copy_name(case.pk, row.sha256))


def test_a_dossier_prints_the_stored_copy_without_decoding_the_original(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    case = make_case()
    png = screenshot_png(1080, 2400)
    rows = [_upload(case, f"s{n}.png", distinct_png(png, n)) for n in range(3)]
    run_worker_on_derived(case)
    caplog.set_level(logging.INFO, logger="locker.dossier.images")
    printed = _printed(case, tmp_path / "a", caplog)
    assert "3 from stored print copies, 0 stored, by 0 image process(es)" in caplog.text
    for row in rows:
        stored = print_copies.read_print_copy(case.pk, row.sha256)
        assert stored is not None and printed[row.sha256] == stored.jpeg

    # The marker: a stored copy that is a different (valid) picture, recorded for this
    # original, is what the dossier prints: nothing decoded the PNG.
    marker = io.BytesIO()
    Image.new("RGB", (40, 80), "red").save(marker, "JPEG")
    print_copies.store_print_copy(case.pk, rows[0].sha256, marker.getvalue(), 40, 80)
    assert _printed(case, tmp_path / "b", caplog)[rows[0].sha256] == marker.getvalue()


def _embedded_images(pdf: bytes) -> list[bytes]:
    """The image streams of a PDF as stored in it, page by page."""
    reader = PdfFileReader(io.BytesIO(pdf))
    found: list[bytes] = []

    def walk(node: Any) -> None:
        if node.get("/Type") == "/Pages":
            for kid in node["/Kids"]:
                walk(kid.get_object())
            return
        xobjects = node.get("/Resources", {}).get("/XObject", {})
        for name in sorted(xobjects):
            image = xobjects[name]
            if image.get("/Subtype") == "/Image":
                found.append(image.encoded_data)

    walk(reader.root["/Pages"])
    return found


def test_the_dossier_embeds_the_same_image_bytes_with_and_without_a_stored_copy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    case = small_case()
    photo = _upload(case, "photo.jpg", _photo_jpeg())
    run_worker_on_derived(case)
    pictures = EvidenceFile.objects.filter(case=case, media_type__startswith="image/")
    names = [print_copies.print_copy_name(case.pk, row.sha256) for row in pictures]
    assert len(names) == 2 and all(evidence_storage().exists(name) for name in names)
    caplog.set_level(logging.INFO, logger="locker.dossier.images")
    _dossier, warm = make_dossier(case, "court", "en")
    assert "2 from stored print copies" in caplog.text

    for name in names:  # as before print copies existed: the dossier makes the pictures
        evidence_storage().delete(name)
    caplog.clear()
    _dossier, cold = make_dossier(case, "court", "en")
    # (Made by one or two image processes: each thread starts one at its first picture.)
    assert "0 from stored print copies, 2 stored" in caplog.text
    warm_images, cold_images = _embedded_images(warm), _embedded_images(cold)
    # (Sorted: reportlab names a picture's XObject after its scratch file's path.)
    assert len(warm_images) >= 3 and sorted(warm_images) == sorted(cold_images)
    stored = print_copies.read_print_copy(case.pk, photo.sha256)
    assert stored is not None and stored.jpeg in warm_images
    # ... and stored them for the next dossier of the case.
    assert all(evidence_storage().exists(name) for name in names)


def _tamper(case: Any, row: EvidenceFile, how: str) -> None:
    name = print_copies.print_copy_name(case.pk, row.sha256)
    with evidence_storage().open(name, "rb") as handle:
        data = handle.read()
    if how == "jpeg":  # a byte of the picture changed: its hash no longer matches
        data = data[:-10] + bytes([data[-10] ^ 1]) + data[-9:]
    elif how == "other picture":  # another picture's copy put under this one's name
        other = print_jpeg(screenshot_png(300, 300, seed=9))[1]
        data = print_copies.packed("0" * 64, other, 300, 300)
    elif how == "garbage":
        data = b"not a print copy"
    elif how == "header":
        data = data.replace(b'"width": ', b'"width": -', 1)
    storage = evidence_storage()
    storage.delete(name)
    storage.save(name, io.BytesIO(data))


@pytest.mark.parametrize("how", ["jpeg", "other picture", "garbage", "header"])
def test_a_tampered_or_mismatched_copy_is_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    case = make_case()
    row = _upload(case, "s.png", screenshot_png(540, 1200))
    run_worker_on_derived(case)
    _tamper(case, row, how)
    assert print_copies.read_print_copy(case.pk, row.sha256) is None
    caplog.set_level(logging.INFO, logger="locker.dossier.images")
    printed = _printed(case, tmp_path / "a", caplog)
    assert printed[row.sha256] == print_jpeg(_original(row))[1]
    assert "0 from stored print copies, 1 stored" in caplog.text
    assert print_copies.read_print_copy(case.pk, row.sha256) is not None  # made anew


def test_a_copy_whose_original_no_longer_hashes_to_the_record_is_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    case = make_case()
    row = _upload(case, "s.png", screenshot_png(540, 1200))
    run_worker_on_derived(case)
    changed = screenshot_png(540, 1200, seed=5)  # the stored original replaced behind our back
    storage = evidence_storage()
    storage.delete(row.storage_name)
    storage.save(row.storage_name, io.BytesIO(changed))
    caplog.set_level(logging.INFO, logger="locker.dossier.images")
    scratch = tmp_path / "a"
    scratch.mkdir()
    with PrintImages(case.pk, _exhibits(case), scratch) as images:
        made = images[row.sha256]
    # Printed from the bytes stored now, flagged as not matching, as without print copies;
    # and no copy is stored under the record's hash from bytes that do not have it.
    assert not made.matches and made.path is not None
    assert made.path.read_bytes() == print_jpeg(changed)[1]
    assert "0 from stored print copies, 0 stored" in caplog.text


def test_a_change_of_print_recipe_invalidates_the_stored_copies(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case()
    row = _upload(case, "s.png", screenshot_png(540, 1200))
    run_worker_on_derived(case)
    assert print_copies.read_print_copy(case.pk, row.sha256) is not None
    # What a release with another size, quality, resampling or Pillow would compute.
    monkeypatch.setattr(print_copies, "RECIPE", "another-recipe")
    assert print_copies.read_print_copy(case.pk, row.sha256) is None
    caplog.set_level(logging.INFO, logger="locker.dossier.images")
    _printed(case, tmp_path / "a", caplog)
    assert "0 from stored print copies, 1 stored" in caplog.text
    assert print_copies.read_print_copy(case.pk, row.sha256) is not None  # under the new one


def test_a_copy_a_dossier_stores_for_a_file_erased_meanwhile_is_removed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    case = make_case()
    row = _upload(case, "s.png", screenshot_png(540, 1200))
    exhibits = _exhibits(case)
    scratch = tmp_path / "a"
    scratch.mkdir()
    with PrintImages(case.pk, exhibits, scratch) as images:
        assert images[row.sha256].path is not None
        # The erasure commits (its rows gone, its files removed) while the dossier runs.
        EvidenceFile.objects.filter(pk=row.pk).delete()
        evidence_storage().delete(print_copies.print_copy_name(case.pk, row.sha256))
        print_copies.store_print_copy(case.pk, row.sha256, b"\xff\xd8late", 1, 1)
    assert not evidence_storage().exists(print_copies.print_copy_name(case.pk, row.sha256))


def test_no_picture_no_print_copy() -> None:
    case = make_case()
    recording = _upload(case, "call.wav", wav_bytes())
    assert run_worker_on_derived(case) == ["none needed"]
    assert not evidence_storage().exists(print_copies.print_copy_name(case.pk, recording.sha256))
    assert not evidence_storage().exists(f"derived/{case.pk}")


def test_stored_bytes_that_are_not_the_evidence_get_no_print_copy() -> None:
    case = make_case()
    row = _upload(case, "s.png", screenshot_png(540, 1200))
    storage = evidence_storage()  # replaced before the worker ran
    storage.delete(row.storage_name)
    storage.save(row.storage_name, io.BytesIO(screenshot_png(540, 1200, seed=7)))
    run_worker_on_derived(case)
    assert not storage.exists(print_copies.print_copy_name(case.pk, row.sha256))
