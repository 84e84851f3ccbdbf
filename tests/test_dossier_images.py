"""The print copies of a dossier's pictures (locker/dossier/images.py, picture.py): made by
separate image processes while the layout runs, and exactly what the worker's own process
would have made; a picture that cannot be decoded is listed, not drawn; a process that dies
leaves its work to the worker; EXIF orientation is applied."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from PIL import Image

from locker import services
from locker.dossier.data import Exhibit
from locker.dossier.images import PrintImages, _Process
from locker.dossier.picture import print_copy, serve
from locker.models import EvidenceFile

from .dossier_helpers import distinct_png, screenshot_png
from .factories import add_entry, make_case

pytestmark = pytest.mark.django_db


def _exhibits(case) -> list[Exhibit]:
    from locker.dossier.build import gather
    from locker.models import Dossier
    from locker.services import dossiers as dossier_services

    dossier = dossier_services.request_dossier(
        case=case, user=case.owner, template="court", language="en"
    )
    return gather(Dossier.objects.get(pk=dossier.pk)).exhibits


def _case_with_pictures(count: int):
    case = make_case()
    png = screenshot_png(540, 1200)
    for number in range(count):
        add_entry(
            case,
            "message",
            {"channel": "sms", "sender": "106900", "text": f"截图 {number}"},
            uploads=[services.Upload(f"s{number}.png", io.BytesIO(distinct_png(png, number)))],
        )
    return case


def test_pictures_are_made_by_image_processes_as_the_worker_would_make_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    case = _case_with_pictures(3)
    exhibits = [e for e in _exhibits(case) if e.is_image]
    assert len(exhibits) == 3
    caplog.set_level(logging.INFO, logger="locker.dossier.images")
    with PrintImages(case.id, exhibits, tmp_path) as images:
        prepared = dict(images)
    assert "3 pictures prepared" in caplog.text and "by 2 image process(es)" in caplog.text
    for exhibit in exhibits:
        made = prepared[exhibit.sha256]
        assert made.matches and made.path is not None
        # 540x1200 fits the print box (520x1150) at 518x1150.
        assert (made.width, made.height) == (518, 1150)
        evidence = EvidenceFile.objects.get(case=case, sha256=exhibit.sha256)
        from locker.infra.storage import evidence_storage

        with evidence_storage().open(evidence.storage_name, "rb") as handle:
            raw = handle.read()
        here = tmp_path / "here.jpg"
        assert print_copy(raw, here).written
        assert made.path.read_bytes() == here.read_bytes()


def test_without_processes_the_same_pictures_are_made_in_threads(tmp_path: Path) -> None:
    case = _case_with_pictures(2)
    exhibits = [e for e in _exhibits(case) if e.is_image]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with PrintImages(case.id, exhibits, tmp_path / "a") as images:
        apart = dict(images)
    with PrintImages(case.id, exhibits, tmp_path / "b", processes=False) as images:
        inside = dict(images)
    for sha, made in apart.items():
        assert made.path is not None and inside[sha].path is not None
        assert made.path.read_bytes() == inside[sha].path.read_bytes()


def test_a_picture_that_cannot_be_decoded_is_answered_as_not_written(tmp_path: Path) -> None:
    png = screenshot_png(60, 120)
    damaged = png[: len(png) // 2]
    requests = io.BytesIO()
    for raw, name in ((damaged, "bad"), (png, "good")):
        (tmp_path / f"{name}.source").write_bytes(raw)
        source, out = tmp_path / f"{name}.source", tmp_path / f"{name}.jpg"
        requests.write(f'{{"in": "{source}", "out": "{out}"}}\n'.encode())
    requests.seek(0)
    answers = io.BytesIO()
    serve(requests, answers)
    lines = answers.getvalue().decode().splitlines()
    import json

    bad, good, end = (json.loads(line) for line in lines)
    assert not bad["written"] and bad["error"] and not (tmp_path / "bad.jpg").exists()
    assert good["written"] and (good["width"], good["height"]) == (60, 120)
    assert end["peak_mb"] > 0
    assert not list(tmp_path.glob("*.source"))  # the handed-over bytes are removed once read


def test_a_dead_image_process_leaves_the_picture_to_the_worker(tmp_path: Path) -> None:
    process = _Process()
    png = screenshot_png(60, 120)
    assert process.print_copy(png, tmp_path / "one.jpg") is not None
    process.popen.kill()
    process.popen.wait()
    # The answer never comes: None, and PrintImages then prepares the picture itself.
    assert process.print_copy(png, tmp_path / "two.jpg") is None
    process.close()


def test_exif_orientation_is_applied_in_the_print_copy(tmp_path: Path) -> None:
    photo = Image.effect_noise((200, 100), 40).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90° clockwise: shown upright it is 100 wide, 200 high
    raw = io.BytesIO()
    photo.save(raw, "JPEG", exif=exif.tobytes())
    printed = print_copy(raw.getvalue(), tmp_path / "photo.jpg")
    assert printed.written and (printed.width, printed.height) == (100, 200)
    with Image.open(tmp_path / "photo.jpg") as made:
        assert made.size == (100, 200)


def test_the_print_formats_are_the_formats_uploads_are_accepted_as() -> None:
    from locker.dossier.picture import PRINT_FORMATS
    from locker.infra.content import PILLOW_FORMATS

    assert set(PRINT_FORMATS) == {*PILLOW_FORMATS.values(), "BMP"}
