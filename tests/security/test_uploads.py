"""Evidence uploads: each accepted format is accepted as what it is, by parsing; everything
else (archives, polyglots, a valid header over garbage, pixel bombs, videos) is refused;
quotas per file, per request and per user; hostile file names are kept as evidence but never
used as paths; and a request with any refused file stores nothing, whoever sends it."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from PIL import Image, ImageFile

from locker import services
from locker.infra.storage import iter_stored
from locker.models import Entry, EvidenceFile

from ..factories import make_case
from ..personas import Personas
from ..ui_helpers import csrf_post
from . import samples

pytestmark = pytest.mark.django_db

NOTE = {"text": "催收短信截图"}


def append(case: Any, *files: tuple[str, bytes]) -> Entry:
    return services.append_entry(
        case=case,
        author=f"user:{case.owner_id}",
        kind="note",
        body=NOTE,
        uploads=[services.Upload(name, io.BytesIO(data)) for name, data in files],
    ).entry


def refusal(case: Any, data: bytes, name: str = "x.png") -> str:
    with pytest.raises(services.InputError) as refused:
        append(case, (name, data))
    return str(refused.value)


def media_files(settings: Any) -> list[Path]:
    return sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())


# Accepted, as what they are ---------------------------------------------------------------

ACCEPTED = {
    **samples.ACCEPTED,
    "image/jpeg (progressive)": samples.progressive_jpeg,
    "audio/amr (wide band)": lambda: samples.amr(wide=True),
}


@pytest.mark.parametrize("label", sorted(ACCEPTED))
def test_each_accepted_format_is_stored_as_what_it_is(label: str, settings) -> None:
    data = ACCEPTED[label]()
    case = make_case()
    entry = append(case, ("evidence", data))
    media_type = label.split(" ")[0]
    assert entry.evidence[0]["media_type"] == media_type
    stored = EvidenceFile.objects.get(case=case)
    assert stored.media_type == media_type and stored.size == len(data)
    # One file on disk (sealed at rest), and through the store it is exactly what was sent.
    assert len(media_files(settings)) == 1
    assert b"".join(iter_stored(stored.storage_name)) == data


def test_a_jpeg_with_its_exif_thumbnail_and_trailing_padding_is_accepted() -> None:
    image = Image.effect_noise((64, 48), 40).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "Phone"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    data = out.getvalue() + b"\x00" * 100  # some encoders pad after end of image
    assert append(make_case(), ("photo.jpg", data)).evidence[0]["media_type"] == "image/jpeg"


def test_an_encrypted_pdf_is_accepted_on_its_structure() -> None:
    from pyhanko.pdf_utils.crypt import StandardSecurityHandler
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(samples.pdf())))
    writer._assign_security_handler(StandardSecurityHandler.build_from_pw("owner", "银行"))
    out = io.BytesIO()
    writer.write(out)
    entry = append(make_case(), ("statement.pdf", out.getvalue()))
    assert entry.evidence[0]["media_type"] == "application/pdf"


# Refused: not what it claims, not whole, or something else too ----------------------------

ZIP = samples.zip_of("invoice.exe", b"MZ" + bytes(100))


def _png_signature_then_garbage() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + os.urandom(2000)


def _png_with_a_broken_picture() -> bytes:
    data = bytearray(samples.png())
    middle = data.index(b"IDAT") + 40
    data[middle : middle + 20] = bytes(20)  # the chunk's CRC no longer matches
    return bytes(data)


def _truncated(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


REFUSED = {
    "png signature then garbage": (_png_signature_then_garbage, "cannot be read as one"),
    "png with a damaged chunk": (_png_with_a_broken_picture, "cannot be read as one"),
    "truncated jpeg": (lambda: _truncated(samples.jpeg()), "cannot be read as one"),
    "truncated png": (lambda: _truncated(samples.png()), "cannot be read as one"),
    "pdf header then garbage": (lambda: b"%PDF-1.7\n" + os.urandom(3000), "cannot be read"),
    "pdf without pages": (
        lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        "cannot be read as one",
    ),
    "mp3 tag then garbage": (
        lambda: b"ID3\x04\x00\x00\x00\x00\x00\x00" + os.urandom(3000).replace(b"\xff", b"\x00"),
        "cannot be read",
    ),
    "amr with a reserved frame type": (
        lambda: b"#!AMR\n" + bytes([(7 << 3) | 4]) + bytes(31) + bytes([(12 << 3) | 4]),
        "cannot be read as one",
    ),
    "amr cut in a frame": (lambda: samples.amr()[:-5], "cannot be read as one"),
    "ogg with data after its last page": (
        lambda: samples.opus() + b"<script>alert(1)</script>",
        "other data after its end",
    ),
    "wav with data after its chunks": (
        lambda: samples.wav() + b"MZ" + bytes(5000),
        "other data after its end",
    ),
    "png with html after IEND": (
        lambda: samples.png() + b"<html><script>alert(1)</script></html>",
        "other data after its end",
    ),
    "gif with data after its trailer": (
        lambda: samples.gif() + b"#!/bin/sh\nrm -rf ~\n",
        "other data after its end",
    ),
    "jpeg with 5 kB of zeros after EOI": (
        lambda: samples.jpeg() + bytes(5000),
        "other data after its end",
    ),
    "png + zip polyglot": (lambda: samples.png() + ZIP, "archives"),
    "jpeg + zip polyglot": (lambda: samples.jpeg() + ZIP, "archives"),
    "pdf + zip polyglot": (lambda: samples.pdf() + ZIP, "archives"),
    "mp3 + zip polyglot": (lambda: samples.mp3() + ZIP, "archives"),
    "zip hidden in a png chunk": (
        lambda: samples.png()[:33] + samples.png_chunk(b"zzIp", ZIP) + samples.png()[33:],
        "archives",
    ),
    "zip": (lambda: ZIP, "archives"),
    "rar": (lambda: b"Rar!\x1a\x07\x01\x00" + bytes(100), "archives"),
    "7z": (lambda: b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(100), "archives"),
    "gzip": (lambda: b"\x1f\x8b\x08\x00" + bytes(100), "archives"),
    "tar": (lambda: bytes(257) + b"ustar\x0000" + bytes(300), "archives"),
    "windows program": (lambda: b"MZ" + bytes(200), "file type is not accepted"),
    "html": (lambda: b"<!doctype html><script>alert(1)</script>", "file type is not accepted"),
    "svg": (
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        "file type is not accepted",
    ),
    "bmp": (lambda: _bmp(), "file type is not accepted"),
    "mp4 video": (lambda: samples.m4a(handler=b"vide"), "file type is not accepted"),
}


def _bmp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "BMP")
    return out.getvalue()


@pytest.mark.parametrize("label", sorted(REFUSED))
def test_refused_files_store_nothing_and_say_why(label: str, settings) -> None:
    make, expected = REFUSED[label]
    case = make_case()
    message = refusal(case, make())
    assert expected in message, message
    assert case.entries.count() == 1 and not EvidenceFile.objects.exists()
    assert media_files(settings) == []


def test_the_refusal_is_in_chinese_for_a_chinese_page() -> None:
    case = make_case()
    with pytest.raises(services.InputError) as refused:
        append(case, ("截图.png", samples.png() + ZIP))
    with translation.override("zh-hans"):
        assert str(refused.value) == (
            "截图.png: 不能上传压缩包（ZIP、RAR、7z 等）：请直接上传图片或录音本身"
        )


# Pixel bombs -------------------------------------------------------------------------------


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any decode fails the test: a bomb must be refused from its header alone."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        pytest.fail("the picture was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.mark.parametrize("edge", [10_000, 50_000], ids=["10000²", "50000²"])
def test_pixel_bombs_are_refused_before_decoding(edge: int, settings, no_decoding) -> None:
    bomb = samples.png_of_pixels(edge, edge)
    assert len(bomb) < 400_000  # what it costs to send
    case = make_case()
    assert "too many pixels: at most 50 megapixels" in refusal(case, bomb)
    assert media_files(settings) == []


def test_the_pixel_cap_is_the_setting_and_a_picture_just_under_it_is_decoded(settings) -> None:
    settings.LOCKER_MAX_IMAGE_PIXELS = 3000 * 7000
    assert append(make_case(), ("tall.png", samples.png_of_pixels(3000, 7000)))
    settings.LOCKER_MAX_IMAGE_PIXELS = 3000 * 7000 - 1
    assert "too many pixels" in refusal(make_case(), samples.png_of_pixels(3000, 7000))


def test_an_animation_counts_every_frame(settings) -> None:
    settings.LOCKER_MAX_IMAGE_PIXELS = 32 * 32 * 3 - 1  # the sample GIF: three 32×32 frames
    assert "too many pixels" in refusal(make_case(), samples.gif(), "sticker.gif")
    settings.LOCKER_MAX_IMAGE_PIXELS = 32 * 32 * 3
    assert append(make_case(), ("sticker.gif", samples.gif()))


def test_pillow_opens_only_the_format_the_file_claims(monkeypatch) -> None:
    opened: list[Any] = []
    real_open = Image.open

    def recording(fp: Any, mode: str = "r", formats: Any = None) -> Any:
        opened.append(formats)
        return real_open(fp, mode, formats)

    monkeypatch.setattr(Image, "open", recording)
    append(make_case(), ("a.webp", samples.webp()))
    assert opened and all(formats == ["WEBP"] for formats in opened)


# Hostile names ------------------------------------------------------------------------------

HOSTILE_NAMES = {
    "../../../../etc/cron.d/evil.png": "evil.png",
    "..\\..\\windows\\system32\\x.png": "x.png",
    "shot\x00.php.png": "shot.php.png",
    "invoice\u202egnp.exe": "invoicegnp.exe",
    "line\r\nbreak.png": "linebreak.png",
    "/": "file",
    "名" * 5000 + ".png": "名" * 200,
}


@pytest.mark.parametrize("name", sorted(HOSTILE_NAMES), ids=range(len(HOSTILE_NAMES)))
def test_hostile_names_are_kept_as_text_and_never_used_as_a_path(name: str, settings) -> None:
    case = make_case()
    data = samples.png()
    entry = append(case, (name, data))
    kept = entry.evidence[0]["name"]
    assert kept == HOSTILE_NAMES[name]
    assert EvidenceFile.objects.get(case=case).original_name == kept
    sha = entry.evidence[0]["sha256"]
    [path] = media_files(settings)
    assert path == Path(settings.MEDIA_ROOT) / "evidence" / str(case.id) / sha[:2] / sha
    stored = EvidenceFile.objects.get(case=case)
    assert b"".join(iter_stored(stored.storage_name)) == data


def test_the_download_of_a_hostile_name_is_a_quoted_attachment(world: Personas) -> None:
    entry = append(world.case, ('a"; filename=evil.html\u202e.png', samples.png()))
    sha = entry.evidence[0]["sha256"]
    response = world.web("owner").get(reverse("evidence_original", args=[world.case.pk, sha]))
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "\u202e" not in disposition and "filename=evil.html;" not in disposition
    assert response["X-Content-Type-Options"] == "nosniff"


# Quotas -------------------------------------------------------------------------------------


def multipart_entry(*files: tuple[str, bytes]) -> dict[str, Any]:
    return {
        "entry": json.dumps({"kind": "note", "body": NOTE}),
        "files": [SimpleUploadedFile(name, data) for name, data in files],
    }


def test_one_request_over_the_request_limit_is_413_and_stores_nothing(
    world: Personas, settings
) -> None:
    three = [(f"{n}.png", samples.png_of_size(60_000, seed=n)) for n in range(3)]
    settings.LOCKER_MAX_UPLOAD_BYTES = 100_000
    settings.LOCKER_MAX_REQUEST_UPLOAD_BYTES = 150_000  # two fit, three do not
    before = world.case.entries.count()
    response = world.api("owner").post_multipart(
        f"/api/cases/{world.case.id}/entries", multipart_entry(*three)
    )
    assert response.status_code == 413
    assert "may add up to 0.1 MB at most" in response.json()["detail"]
    assert world.case.entries.count() == before and not EvidenceFile.objects.exists()
    assert media_files(settings) == []
    response = world.api("owner").post_multipart(
        f"/api/cases/{world.case.id}/entries", multipart_entry(*three[:2])
    )
    assert response.status_code == 201


def test_a_request_saying_it_is_too_large_is_refused_before_its_body_is_read(
    world: Personas, settings, monkeypatch
) -> None:
    settings.LOCKER_MAX_REQUEST_UPLOAD_BYTES = 10_000

    def unread(*args: Any, **kwargs: Any) -> None:
        pytest.fail("the body was parsed")

    monkeypatch.setattr("django.http.multipartparser.MultiPartParser.parse", unread)
    response = world.api("owner").client.post(
        f"/api/cases/{world.case.id}/entries",
        multipart_entry(("big.png", samples.png_of_size(1_100_000))),
        **world.api("owner").headers,
    )
    assert response.status_code == 413


def test_one_file_over_its_limit_is_413(world: Personas, settings) -> None:
    settings.LOCKER_MAX_UPLOAD_BYTES = 50_000
    response = world.api("owner").post_multipart(
        f"/api/cases/{world.case.id}/entries",
        multipart_entry(("a.png", samples.png()), ("big.png", samples.png_of_size(60_000))),
    )
    assert response.status_code == 413 and "big.png" in response.json()["detail"]
    assert not EvidenceFile.objects.exists() and media_files(settings) == []


def test_the_owners_quota_covers_all_their_cases_and_counts_a_file_once(settings) -> None:
    case = make_case()
    other = make_case(case.owner)
    first, second = samples.png_of_size(40_000, seed=1), samples.png_of_size(40_000, seed=2)
    settings.LOCKER_USER_QUOTA_BYTES = 100_000
    append(case, ("1.png", first))
    append(other, ("2.png", second))
    append(case, ("again.png", first))  # the same bytes in the same case: nothing new
    with pytest.raises(services.TooLarge) as refused:
        append(other, ("3.png", samples.png_of_size(40_000, seed=3)))
    assert "no room for these files" in str(refused.value)
    assert "0.1 MB are used" in str(refused.value) or "of 0.1 MB" in str(refused.value)
    assert EvidenceFile.objects.count() == 2 and len(media_files(settings)) == 2
    # Someone else's cases are not counted against this owner.
    assert append(make_case(), ("4.png", samples.png_of_size(90_000, seed=4)))
    settings.LOCKER_USER_QUOTA_BYTES = 0  # no limit
    assert append(other, ("3.png", samples.png_of_size(40_000, seed=3)))


def test_the_quota_refusal_through_the_api_is_413_in_chinese(world: Personas, settings) -> None:
    settings.LOCKER_USER_QUOTA_BYTES = 1000
    api = world.api("owner")
    response = api.client.post(
        f"/api/cases/{world.case.id}/entries",
        multipart_entry(("a.png", samples.png())),
        HTTP_ACCEPT_LANGUAGE="zh-CN",
        **api.headers,
    )
    assert response.status_code == 413
    assert "这个账户的证据存储空间放不下这些文件" in response.json()["detail"]


# A refused file stores nothing, not even the accepted files beside it -----------------------


def test_a_refused_file_leaves_no_entry_row_or_file(settings) -> None:
    case = make_case()
    with pytest.raises(services.InputError):
        append(case, ("good.png", samples.png()), ("bad.png", samples.png() + ZIP))
    assert case.entries.count() == 1 and not EvidenceFile.objects.exists()
    assert media_files(settings) == []


def test_the_web_form_refuses_the_whole_record_in_the_users_language(
    world: Personas, settings
) -> None:
    before = world.case.entries.count()
    url = reverse("log_entry", args=[world.case.pk, "note"])
    world.web("owner").get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    response = csrf_post(
        world.web("owner"),
        url,
        {
            "text": "他们又打电话了",
            "occurred_at": "2026-01-05T22:40",
            "files": [
                SimpleUploadedFile("good.jpg", samples.jpeg()),
                SimpleUploadedFile("bomb.png", samples.png_of_pixels(10_000, 10_000)),
            ],
        },
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    assert "图片的像素太多" in response.content.decode()
    assert world.case.entries.count() == before
    assert not EvidenceFile.objects.exists() and media_files(settings) == []


def test_a_contact_link_holder_cannot_leave_files_behind(world: Personas, settings) -> None:
    contact = world.web("contact")
    url = reverse("statement")
    contact.get(url)
    statement = {
        "contact_name": "王阿姨",
        "channel": "call",
        "occurred_at": "2026-01-05T22:30",
        "summary": "半夜打电话",
        "tags": ["third_party_contact"],
    }
    for _attempt in range(3):  # the link stays open: it may be tried again and again
        response = csrf_post(
            contact,
            url,
            {
                **statement,
                "files": [
                    SimpleUploadedFile("1.png", samples.png()),
                    SimpleUploadedFile("2.png", samples.png() + ZIP),
                ],
            },
        )
        assert response.status_code == 400
    assert not EvidenceFile.objects.exists() and media_files(settings) == []
    assert not Entry.objects.filter(kind="contact_report").exists()
    response = csrf_post(
        contact, url, {**statement, "files": [SimpleUploadedFile("1.png", samples.png())]}
    )
    assert response.status_code in (200, 302)
    assert EvidenceFile.objects.count() == 1 and len(media_files(settings)) == 1


def test_declared_files_that_do_not_match_leave_no_file(world: Personas, settings) -> None:
    data = samples.png()
    entry = {"kind": "note", "body": NOTE, "files": [{"size": len(data) + 1}]}
    response = world.api("owner").post_multipart(
        f"/api/cases/{world.case.id}/entries",
        {"entry": json.dumps(entry), "files": [SimpleUploadedFile("a.png", data)]},
    )
    assert response.status_code == 422
    assert not EvidenceFile.objects.exists() and media_files(settings) == []


def test_a_failure_after_the_files_are_stored_removes_only_this_requests_files(
    settings, monkeypatch
) -> None:
    case = make_case()
    kept = samples.png_of_size(20_000, seed=7)
    append(case, ("kept.png", kept))
    [kept_path] = media_files(settings)

    def failing(**kwargs: Any) -> None:
        raise services.InputError("the chain refused it")

    monkeypatch.setattr("locker.infra.signing.sign_checkpoint_parts", failing)
    with pytest.raises(services.InputError):
        append(case, ("kept-again.png", kept), ("new.png", samples.png()))
    assert media_files(settings) == [kept_path]
    assert EvidenceFile.objects.count() == 1


# The checks themselves are bounded ---------------------------------------------------------


def test_a_framing_walk_stops_after_its_step_budget(monkeypatch) -> None:
    from locker.infra import content

    monkeypatch.setattr(content, "MAX_WALK_STEPS", 10)
    assert append(make_case(), ("short.amr", samples.amr(frames=9)))
    # Eleven frames need more steps than allowed: refused, not walked to the end.
    assert "cannot be read as one" in refusal(make_case(), samples.amr(frames=11), "long.amr")


def test_many_zip_signatures_are_taken_for_an_archive_without_checking_each() -> None:
    from locker.infra import content

    assert content._holds_zip(b"PK\x05\x06" * (content.MAX_ZIP_CANDIDATES + 1))
    assert not content._holds_zip(b"PK\x05\x06" * 3)  # no central directory behind them
    assert content._holds_zip(samples.png() + ZIP)
