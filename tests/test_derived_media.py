"""Derived copies made by the worker after the commit (issue 16 item 6, issue 14): an AMR call
recording gets an AAC/M4A copy browsers play, a HEIC photo gets JPEG pictures; the original
stays the evidence (the chain names its hash only, it is what is downloaded), the copies are
sealed, removed with the evidence, and until they exist (or when ffmpeg is missing) the page
says so. The recordings and photos are real: encoded here (tests/media_helpers.py)."""

from __future__ import annotations

import io

import mutagen.mp4
import pytest
from django.urls import reverse
from PIL import Image, ImageFile

from locker import services
from locker.core import chain
from locker.dossier.data import Exhibit
from locker.dossier.images import prepare_images
from locker.infra import derived, thumbs
from locker.infra.content import check_content
from locker.infra.storage import evidence_storage
from locker.models import EvidenceFile
from locker.services import derived as derived_services

from .factories import add_entry, make_case, run_worker_on_derived
from .media_helpers import amr_recording, heic_photo, needs_amr_encoder, needs_ffmpeg
from .ui_helpers import body_of, client_for

pytestmark = pytest.mark.django_db


def _append(case, name: str, data: bytes, kind: str = "call"):
    body = {"number": "170 1234 5678"} if kind == "call" else {"text": "照片"}
    return add_entry(
        case, kind, body, uploads=[services.Upload(name=name, stream=io.BytesIO(data))]
    )


def _page(case, entry) -> str:
    client = client_for(case.owner)
    return client.get(reverse("entry_detail", args=[case.pk, entry.seq])).content.decode()


@needs_ffmpeg
@needs_amr_encoder
def test_an_amr_recording_gets_a_playable_copy_and_stays_the_evidence() -> None:
    case = make_case()
    original = amr_recording(seconds=2.0)
    entry = _append(case, "通话录音.amr", original)
    row = EvidenceFile.objects.get(case=case)
    assert row.media_type == "audio/amr" and row.derived == EvidenceFile.Derived.PENDING

    # Before the worker ran: no player that cannot play, a notice, the original downloadable.
    page = _page(case, entry)
    assert "<audio" not in page
    assert "正在为这段录音（AMR）准备可播放的副本" in page  # the owner reads Chinese
    assert reverse("evidence_original", args=[case.pk, row.sha256]) in page
    playable = reverse("evidence_playable", args=[case.pk, row.sha256])
    assert client_for(case.owner).get(playable).status_code == 404

    assert run_worker_on_derived(case) == ["ready"]
    assert run_worker_on_derived(case) == []  # done: not claimed again
    page = _page(case, entry)
    assert f'<audio controls preload="metadata" src="{playable}"' in page
    response = client_for(case.owner).get(playable)
    copy = body_of(response)
    assert response.status_code == 200 and response["Content-Type"] == "audio/mp4"
    assert check_content(io.BytesIO(copy)) == "audio/mp4"
    info = mutagen.mp4.MP4(io.BytesIO(copy)).info
    assert info.codec.startswith("mp4a.40") and abs(info.length - 2.0) < 0.2
    # A player seeking gets a part of it.
    part = client_for(case.owner).get(playable, HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and len(body_of(part)) == 100

    # The evidence is the original: the chain names its hash, never the copy's.
    assert [item["sha256"] for item in entry.evidence] == [chain.sha256_hex(original)]
    download = client_for(case.owner).get(reverse("evidence_original", args=[case.pk, row.sha256]))
    assert body_of(download) == original
    name = derived.playable_name(row)
    assert evidence_storage().is_sealed(name)  # stored sealed, like every file
    assert not EvidenceFile.objects.filter(sha256=chain.sha256_hex(copy)).exists()


@needs_ffmpeg
@needs_amr_encoder
def test_the_playable_copy_goes_with_the_erased_evidence(
    django_capture_on_commit_callbacks,
) -> None:
    case = make_case()
    entry = _append(case, "call.amr", amr_recording(seconds=1.0))
    row = EvidenceFile.objects.get(case=case)
    run_worker_on_derived(case)
    name = derived.playable_name(row)
    assert evidence_storage().exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        services.erase_entry(
            case=case, seq=entry.seq, user=case.owner, author=f"user:{case.owner_id}"
        )
    assert not evidence_storage().exists(name)
    assert not evidence_storage().exists(row.storage_name)


@needs_amr_encoder
def test_without_ffmpeg_the_page_says_the_recording_cannot_be_played(settings) -> None:
    settings.LOCKER_FFMPEG = "no-such-ffmpeg-here"
    case = make_case()
    entry = _append(case, "call.amr", amr_recording(seconds=1.0))
    assert run_worker_on_derived(case) == ["no_tool"]
    page = _page(case, entry)
    assert "<audio" not in page
    assert "这段录音的格式（AMR）无法在浏览器中播放；请下载原始文件。" in page
    assert reverse("evidence_original", args=[case.pk, entry.evidence[0]["sha256"]]) in page
    # Once ffmpeg is there, the sweep sends the file to the worker again.
    assert derived_services.sweep_derived() == []
    settings.LOCKER_FFMPEG = "ffmpeg"
    if derived.ffmpeg_path() is not None:
        assert derived_services.sweep_derived() == [EvidenceFile.objects.get(case=case).pk]


def test_a_recording_browsers_play_needs_no_copy() -> None:
    from .security import samples

    case = make_case()
    entry = _append(case, "call.mp3", samples.mp3())
    assert EvidenceFile.objects.get(case=case).derived == EvidenceFile.Derived.NONE
    wav = _append(case, "memo.wav", samples.wav())
    assert run_worker_on_derived(case) == ["none needed"]  # PCM: played as it is
    for shown in (entry, wav):
        original = reverse("evidence_original", args=[case.pk, shown.evidence[0]["sha256"]])
        assert f'<audio controls preload="none" src="{original}"' in _page(case, shown)


def test_a_heic_photo_gets_jpeg_pictures_and_a_dossier_picture() -> None:
    case = make_case()
    photo = heic_photo(320, 240)
    entry = _append(case, "IMG_0001.HEIC", photo, kind="note")
    row = EvidenceFile.objects.get(case=case)
    assert row.media_type == "image/heic"
    view = reverse("evidence_derived", args=[case.pk, row.sha256, "view"])
    waiting = client_for(case.owner).get(view)
    assert waiting["Content-Type"] == "image/svg+xml"
    assert "正在准备这张图片的预览" in _page(case, entry)

    assert run_worker_on_derived(case) == ["ready"]
    assert f'<img src="{view}"' in _page(case, entry)
    picture = Image.open(io.BytesIO(body_of(client_for(case.owner).get(view))))
    assert picture.format == "JPEG" and picture.size == (320, 240)
    thumb = reverse("evidence_derived", args=[case.pk, row.sha256, "thumb"])
    assert Image.open(io.BytesIO(body_of(client_for(case.owner).get(thumb)))).size == (240, 180)

    # Dossiers print it from the decoded copy; the caption's hash is the original's.
    exhibit = Exhibit(seq=entry.seq, sha256=row.sha256, size=row.size, media_type=row.media_type,
                      name="IMG_0001.HEIC")  # fmt: skip
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as scratch:
        prepared = prepare_images(case.pk, [exhibit], Path(scratch))[row.sha256]
        assert prepared.path is not None and prepared.matches
        assert (prepared.width, prepared.height) == (320, 240)


def test_a_big_jpeg_is_decoded_at_a_reduced_scale(monkeypatch) -> None:
    """draft(): the worker asks the JPEG decoder for at least the picture's size, not all of
    a camera photo's pixels."""
    big = Image.effect_noise((4000, 3000), 30).convert("RGB")
    out = io.BytesIO()
    big.save(out, "JPEG", quality=85)
    case = make_case()
    _append(case, "camera.jpg", out.getvalue(), kind="note")
    decoded: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def recording_load(image: ImageFile.ImageFile):  # the real decoder, its output size noted
        result = load(image)
        if image.format == "JPEG":
            decoded.append(image.size)
        return result

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    assert run_worker_on_derived(case) == ["ready"]
    assert decoded and max(decoded) <= (2000, 1500)  # 1/2 scale for the 1280 view, not 4000
    row = EvidenceFile.objects.get(case=case)
    with evidence_storage().open(thumbs.derived_name(row, "thumb")) as handle:
        assert Image.open(handle).size == (240, 180)
