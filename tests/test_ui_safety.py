"""Safety on every page: quick exit and its lock, no-store, titles without case details,
small pages for slow phones, derived images without metadata, originals only as downloads."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from locker import services
from locker.infra import thumbs
from locker.infra.storage import evidence_storage
from locker.models import EvidenceFile

from .factories import UserFactory, make_case, run_worker_on_derived
from .security import samples
from .ui_helpers import body_of, client_for, csrf_post, png_bytes

pytestmark = pytest.mark.django_db

PAGE_BUDGET = 150 * 1024


@pytest.fixture
def owned():
    user = UserFactory()
    case = make_case(owner=user, title="秘密标题-张三-闪电借款", lender="闪电借款")
    entry = services.append_entry(
        case=case,
        author=f"user:{user.pk}",
        kind="message",
        body={"channel": "sms", "text": "不还钱就爆通讯录", "tags": ["threat"]},
        uploads=[services.Upload(name="gps.jpg", stream=io.BytesIO(png_bytes(exif=True)))],
    ).entry
    link, _ = services.create_contact_link(case=case, user=user)
    return case, entry, link, client_for(user)


def _pages(case, entry, link) -> list[str]:
    c = case.pk
    return [
        reverse("home"),
        reverse("case_list"),
        reverse("case_create"),
        reverse("preferences"),
        reverse("password_change"),
        reverse("case_detail", args=[c]),
        reverse("case_edit", args=[c]),
        reverse("quick_log", args=[c]),
        *(reverse("log_entry", args=[c, name]) for name in ("call", "message", "contact", "note")),
        reverse("timeline", args=[c]),
        reverse("entry_detail", args=[c, entry.seq]),
        reverse("receipt", args=[c, entry.seq]),
        reverse("correct_entry", args=[c, entry.seq]),
        reverse("links", args=[c]),
        reverse("link_detail", args=[c, link.pk]),
        reverse("shares", args=[c]),
        reverse("access_log", args=[c]),
        reverse("kept_receipts", args=[c]),
        reverse("dossier_export", args=[c]),
    ]


def test_titles_never_carry_case_details_and_pages_are_not_stored(owned) -> None:
    case, entry, link, client = owned
    for url in _pages(case, entry, link):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        html = response.content.decode()
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
        for secret in ("秘密标题", "张三", "闪电借款", str(case.pk)[:8]):
            assert secret not in title, (url, title)
        assert "no-store" in response["Cache-Control"], url
        assert 'id="quick-exit"' in html, url
        assert 'name="viewport"' in html


def test_every_page_within_the_weight_budget(owned) -> None:
    """HTML plus the CSS, JS, icons and manifest it loads (user images aside) ≤ 150 KB."""
    case, entry, link, client = owned
    anonymous = Client()
    pages = [(client, url) for url in _pages(case, entry, link)]
    pages += [(anonymous, reverse(name)) for name in ("home", "login", "signup", "password_reset")]
    weights = {}
    for who, url in pages:
        html = who.get(url, follow=True).content
        total = len(html)
        assets = set(re.findall(rb'(?:href|src)="(/static/[^"]+|/manifest\.webmanifest)"', html))
        for asset in assets:
            response = who.get(asset.decode())
            assert response.status_code == 200, asset
            total += len(body_of(response))
        weights[url] = total
    assert max(weights.values()) <= PAGE_BUDGET, weights


def test_quick_exit_locks_the_session_until_the_password_is_given(owned, settings) -> None:
    case, _entry, _link, client = owned
    page = client.get(reverse("case_detail", args=[case.pk]))
    assert reverse("quick_exit") in page.content.decode()
    # The page's quick-exit form posts (a GET leaves but locks nothing: tests/security).
    leave = csrf_post(client, reverse("quick_exit"), {})
    assert leave.status_code == 302 and leave["Location"] == settings.LOCKER_QUICK_EXIT_URL
    # Going back to the case now shows a password prompt, not the case.
    back = client.get(reverse("case_detail", args=[case.pk]))
    assert back.status_code == 302 and back["Location"].startswith(reverse("unlock"))
    prompt = client.get(back["Location"]).content.decode()
    assert case.title not in prompt
    wrong = csrf_post(client, back["Location"], {"password": "nope"})
    assert wrong.status_code == 200
    assert client.get(reverse("timeline", args=[case.pk])).status_code == 302
    right = csrf_post(client, back["Location"], {"password": "correct horse battery staple"})
    assert right.status_code == 302 and right["Location"] == reverse("case_detail", args=[case.pk])
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200


def test_quick_exit_script_replaces_the_page_in_history() -> None:
    from pathlib import Path

    from django.contrib.staticfiles import finders

    script = Path(finders.find("locker/app.js")).read_text(encoding="utf-8")
    assert "location.replace(" in script


def test_manifest_and_icons_for_the_home_screen() -> None:
    client = Client()
    manifest = client.get(reverse("manifest"))
    assert manifest["Content-Type"] == "application/manifest+json"
    data = manifest.json()
    assert data["display"] == "standalone" and data["start_url"] == reverse("case_list")
    sizes = set()
    for icon in data["icons"]:
        body = body_of(client.get(icon["src"]))
        if icon["type"] == "image/svg+xml":
            assert body.startswith(b"<svg ") and icon["sizes"] == "any"
            continue
        image = Image.open(io.BytesIO(body))
        assert image.format == "PNG"
        sizes.add(image.size)
    assert {(192, 192), (512, 512)} <= sizes


def test_original_is_a_download_with_nosniff_and_exact_bytes(owned) -> None:
    case, entry, _link, client = owned
    item = entry.evidence[0]
    response = client.get(reverse("evidence_original", args=[case.pk, item["sha256"]]))
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert body_of(response) == png_bytes(exif=True)


def test_derived_copy_is_a_small_jpeg_without_exif_and_the_original_is_untouched(owned) -> None:
    case, entry, _link, client = owned
    item = entry.evidence[0]
    original = EvidenceFile.objects.get(case=case, sha256=item["sha256"])
    with evidence_storage().open(original.storage_name) as handle:
        before = handle.read()
    url = reverse("evidence_derived", args=[case.pk, item["sha256"], "thumb"])
    # Before the worker ran: a placeholder that says so, and the web process decoded nothing.
    waiting = client.get(url)
    assert waiting["Content-Type"] == "image/svg+xml" and "no-store" in waiting["Cache-Control"]
    assert "<svg" in waiting.content.decode()  # a picture that says it is being prepared
    assert not evidence_storage().exists(thumbs.derived_name(original, "thumb"))
    assert run_worker_on_derived(case) == ["ready"]
    response = client.get(url)
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    image = Image.open(io.BytesIO(body_of(response)))
    assert image.format == "JPEG"
    assert not image.getexif()  # no maker, no GPS, no orientation left
    assert image.size == (120, 60)  # the EXIF rotation was applied before it was dropped
    with evidence_storage().open(original.storage_name) as handle:
        assert handle.read() == before
    assert evidence_storage().exists(thumbs.derived_name(original, "thumb"))
    assert evidence_storage().listdir(f"derived/{case.pk}")  # under the derived/ prefix


def test_no_picture_for_files_that_are_not_images(owned) -> None:
    case, _entry, _link, client = owned
    pdf = samples.pdf()
    entry = services.append_entry(
        case=case,
        author=f"user:{case.owner_id}",
        kind="note",
        body={"text": "合同"},
        uploads=[services.Upload(name="contract.pdf", stream=io.BytesIO(pdf))],
    ).entry
    sha = entry.evidence[0]["sha256"]
    assert client.get(reverse("evidence_derived", args=[case.pk, sha, "thumb"])).status_code == 404
    assert client.get(reverse("evidence_derived", args=[case.pk, sha, "huge"])).status_code == 404
