"""Every browser page and form, as the owner, a stranger (another account) and an anonymous
visitor, with CSRF checks on as in a browser."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from locker.core import chain
from locker.models import Case, ContactLink, Entry

from .factories import UserFactory, add_entry, make_case
from .personas import Personas
from .ui_helpers import body_of, client_for, csrf_post, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world: Personas) -> Personas:
    """The shared case with the screenshot, tagged as a threat, after its opening entry, and
    its contact link."""
    world.add_screenshot(tags=["threat"])  # entry 2
    world.contact_link  # noqa: B018
    return world


def case_pages(w: Personas) -> dict[str, str]:
    c = w.case.pk
    return {
        "detail": reverse("case_detail", args=[c]),
        "edit": reverse("case_edit", args=[c]),
        "quick_log": reverse("quick_log", args=[c]),
        "log_call": reverse("log_entry", args=[c, "call"]),
        "log_message": reverse("log_entry", args=[c, "message"]),
        "log_contact": reverse("log_entry", args=[c, "contact"]),
        "log_note": reverse("log_entry", args=[c, "note"]),
        "timeline": reverse("timeline", args=[c]),
        "entry": reverse("entry_detail", args=[c, 2]),
        "receipt": reverse("receipt", args=[c, 2]),
        "receipt_json": reverse("receipt_json", args=[c, 2]),
        "correct": reverse("correct_entry", args=[c, 2]),
        "original": reverse("evidence_original", args=[c, w.sha]),
        "thumb": reverse("evidence_derived", args=[c, w.sha, "thumb"]),
        "view": reverse("evidence_derived", args=[c, w.sha, "view"]),
        "links": reverse("links", args=[c]),
        "link": reverse("link_detail", args=[c, w.contact_link.pk]),
    }


PAGE_NAMES = [
    "detail", "edit", "quick_log", "log_call", "log_message", "log_contact", "log_note",
    "timeline", "entry", "receipt", "receipt_json", "correct", "original", "thumb", "view",
    "links", "link",
]  # fmt: skip


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_case_pages_owner_stranger_anonymous(world, name) -> None:
    url = case_pages(world)[name]
    owner = world.web("owner").get(url)
    assert owner.status_code == 200, name
    body_of(owner)
    assert "no-store" in owner["Cache-Control"]
    assert world.web("stranger").get(url).status_code == 404
    anonymous = world.web("anonymous").get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))


def test_unknown_case_is_404_like_a_strangers(world) -> None:
    url = reverse("case_detail", args=["00000000-0000-4000-8000-000000000000"])
    assert world.web("owner").get(url).status_code == 404


@pytest.mark.parametrize(
    "url_name", ["home", "signup", "login", "password_reset", "manifest", "statement"]
)
def test_public_pages_answer_everyone(world, url_name) -> None:
    url = reverse(url_name)
    for persona in ("owner", "stranger", "anonymous"):
        response = world.web(persona).get(url)
        assert response.status_code in (200, 302, 410), (persona, url_name)


@pytest.mark.parametrize("url_name", ["case_list", "case_create", "preferences", "password_change"])
def test_account_pages_need_login(world, url_name) -> None:
    url = reverse(url_name)
    assert world.web("owner").get(url).status_code == 200
    assert world.web("stranger").get(url).status_code == 200
    response = world.web("anonymous").get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_case_list_shows_only_my_cases(world) -> None:
    mine = world.web("owner").get(reverse("case_list")).content.decode()
    theirs = world.web("stranger").get(reverse("case_list")).content.decode()
    url = reverse("case_detail", args=[world.case.pk])
    assert url in mine and url not in theirs


# --- forms: what each persona's post does ---------------------------------------------------


def _post_forms(w: Personas) -> dict[str, tuple[str, dict]]:
    pages = case_pages(w)
    c = w.case.pk
    return {
        "edit": (pages["edit"], {"title": "改过的标题", "currency": "CNY",
                                 "principal_minor": "5000"}),
        "log_call": (pages["log_call"], {"direction": "incoming", "number": "170 1234 5678",
                                         "occurred_at": "2026-01-05T23:10", "tags": ["threat"]}),
        "log_message": (pages["log_message"], {"channel": "sms", "text": "还钱",
                                               "occurred_at": "2026-01-05T23:12"}),
        "log_contact": (pages["log_contact"], {"contact_name": "妈妈", "channel": "call",
                                               "occurred_at": "2026-01-05T23:15"}),
        "log_note": (pages["log_note"], {"text": "睡不着", "occurred_at": "2026-01-05T23:20"}),
        "correct": (pages["correct"], {"reason": "发件人写错了", "channel": "sms",
                                       "sender": "95188", "text": "再不还钱就爆你通讯录",
                                       "tags": ["threat"]}),
        "check": (reverse("case_check", args=[c]), {}),
        "links": (pages["links"], {"label": "妈妈", "days": "7"}),
        "revoke": (reverse("link_revoke", args=[c, w.contact_link.pk]), {}),
    }  # fmt: skip


FORM_NAMES = ["edit", "log_call", "log_message", "log_contact", "log_note", "correct", "check",
              "links", "revoke"]  # fmt: skip


def _state(case: Case) -> tuple[int, int, int]:
    return (
        Entry.objects.filter(case=case).count(),
        ContactLink.objects.filter(case=case).count(),
        ContactLink.objects.filter(case=case, revoked_at__isnull=False).count(),
    )


@pytest.mark.parametrize("name", FORM_NAMES)
def test_forms_stranger_and_anonymous_change_nothing(world, name) -> None:
    url, data = _post_forms(world)[name]
    before = _state(world.case)
    assert csrf_post(world.web("stranger"), url, data).status_code == 404
    anonymous = csrf_post(world.web("anonymous"), url, data)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert _state(world.case) == before
    assert Case.objects.get(pk=world.case.pk).title == world.case.title


@pytest.mark.parametrize("name", FORM_NAMES)
def test_forms_without_csrf_token_are_refused(world, name) -> None:
    url, data = _post_forms(world)[name]
    before = _state(world.case)
    assert world.web("owner").post(url, data).status_code == 403
    assert _state(world.case) == before


@pytest.mark.parametrize("name", FORM_NAMES)
def test_forms_work_for_the_owner(world, name) -> None:
    url, data = _post_forms(world)[name]
    entries, links, revoked = _state(world.case)
    world.web("owner").get(url) if name not in ("check", "revoke") else None
    response = csrf_post(world.web("owner"), url, data)
    assert response.status_code == 302, response.content[:2000]
    after = _state(world.case)
    expected = {
        "edit": (entries + 1, links, revoked),
        "check": (entries, links, revoked),
        "links": (entries, links + 1, revoked),
        "revoke": (entries, links, revoked + 1),
    }.get(name, (entries + 1, links, revoked))
    assert after == expected
    assert chain.verify_lines(e.as_line() for e in world.case.entries.order_by("seq")).ok


def test_log_call_stores_body_time_in_user_zone_and_shows_receipt(world) -> None:
    owner = world.web("owner")
    url, data = _post_forms(world)["log_call"]
    owner.get(url)
    response = csrf_post(owner, url, {**data, "duration": "3:20", "caller_claims": "法务部"})
    entry = Entry.objects.filter(case=world.case).order_by("-seq").first()
    assert entry.kind == "call" and entry.author == f"user:{world.case.owner_id}"
    assert entry.body == {
        "direction": "incoming",
        "number": "170 1234 5678",
        "number_e164": "+8617012345678",  # beside the typed number (docs/chain-format.md)
        "duration_s": 200,
        "caller_claims": "法务部",
        "summary": "",  # the service fills in the kind's defaults
        "tags": ["threat"],
    }
    # Typed as 23:10 in Asia/Shanghai (the owner's zone) = 15:10 UTC.
    assert entry.as_entry()["occurred_at"] == "2026-01-05T15:10:00.000000Z"
    receipt = owner.get(response["Location"])
    assert entry.hash[:12].encode() in receipt.content
    download = owner.get(reverse("receipt_json", args=[world.case.pk, entry.seq]))
    document = json.loads(body_of(download))
    assert document["checkpoint"]["head"] == entry.hash
    assert document["checkpoint"]["length"] == entry.seq
    chain.verify_checkpoint(document)
    assert download["Content-Disposition"].startswith("attachment;")


def test_message_with_several_files_in_one_go(world) -> None:
    owner = world.web("owner")
    url = case_pages(world)["log_message"]
    owner.get(url)
    files = [
        SimpleUploadedFile("a.png", png_bytes(color="blue"), content_type="image/png"),
        SimpleUploadedFile("b.png", png_bytes(color="green"), content_type="image/png"),
    ]
    photo = SimpleUploadedFile("cam.jpg", png_bytes(exif=True), content_type="image/jpeg")
    response = csrf_post(
        owner,
        url,
        {"channel": "wechat", "occurred_at": "2026-01-06T08:00", "files": files, "photo": photo},
    )
    assert response.status_code == 302
    entry = Entry.objects.filter(case=world.case).order_by("-seq").first()
    assert [e["name"] for e in entry.evidence] == ["a.png", "b.png", "cam.jpg"]


def test_invalid_form_keeps_what_was_typed(world) -> None:
    owner = world.web("owner")
    url = case_pages(world)["log_call"]
    owner.get(url)
    response = csrf_post(
        owner,
        url,
        {"direction": "incoming", "number": "abc", "summary": "他骂我", "occurred_at": ""},
    )
    assert response.status_code == 400
    assert "他骂我" in response.content.decode()
    assert Entry.objects.filter(case=world.case).count() == 2


def test_xhr_post_answers_json_and_a_retry_does_not_save_twice(world) -> None:
    owner = world.web("owner")
    url = case_pages(world)["log_note"]
    page = owner.get(url).content.decode()
    submission = page.split('name="submission" value="')[1].split('"')[0]
    data = {"text": "第一次", "occurred_at": "2026-01-05T23:20", "submission": submission}
    first = csrf_post(owner, url, data, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert first.status_code == 200
    again = csrf_post(owner, url, data, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert again.json() == first.json()
    assert Entry.objects.filter(case=world.case, kind="note").count() == 1
    bad = csrf_post(
        owner, url, {"text": "", "occurred_at": "x"}, HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    )
    assert bad.status_code == 400 and bad.json()["errors"]


def test_future_time_is_refused_with_a_message(world) -> None:
    owner = world.web("owner")
    url = case_pages(world)["log_note"]
    owner.get(url)
    response = csrf_post(owner, url, {"text": "x", "occurred_at": "2099-01-01T00:00"})
    assert response.status_code == 400
    # The page is in zh-hans (no Accept-Language): the service's message is too.
    assert "将来的时间" in response.content.decode()


def test_case_create_converts_yuan_to_fen_without_floats(world) -> None:
    owner = world.web("owner")
    owner.get(reverse("case_create"))
    response = csrf_post(
        owner,
        reverse("case_create"),
        {"title": "新案子", "currency": "CNY", "principal_minor": "5,000",
         "received_minor": "3500.10", "demanded_minor": "0.29"},
    )  # fmt: skip
    assert response.status_code == 302
    case = Case.objects.filter(title="新案子").get()
    assert (case.principal_minor, case.received_minor, case.demanded_minor) == (
        500000, 350010, 29,
    )  # fmt: skip
    first = case.entries.get()
    assert first.kind == "case_update" and first.body["changes"]["received_minor"] == 350010


def test_case_edit_records_a_case_update_with_previous_values(world) -> None:
    owner = world.web("owner")
    url = case_pages(world)["edit"]
    owner.get(url)
    csrf_post(owner, url, {"title": "新标题", "currency": "CNY", "demanded_minor": "8600"})
    update = Entry.objects.filter(case=world.case).order_by("-seq").first()
    assert update.kind == "case_update"
    assert update.body["changes"]["demanded_minor"] == 860000
    assert update.body["previous"]["title"] == world.case.title


def test_correction_is_a_new_entry_and_the_original_stays(world) -> None:
    owner = world.web("owner")
    url, data = _post_forms(world)["correct"]
    owner.get(url)
    csrf_post(owner, url, data)
    original = Entry.objects.get(case=world.case, seq=2)
    correction = Entry.objects.filter(case=world.case).order_by("-seq").first()
    assert correction.kind == "correction"
    assert correction.body["corrects_seq"] == 2
    assert correction.body["changes"] == {"sender": "95188"}
    assert original.body["sender"] == ""
    page = owner.get(reverse("entry_detail", args=[world.case.pk, 2])).content.decode()
    assert f"/entries/{correction.seq}/" in page


def test_timeline_filters_by_kind_tag_and_dates(world) -> None:
    case = world.case
    add_entry(
        case,
        "call",
        {"number": "1", "tags": ["night_time"]},
        occurred_at="2026-01-02T23:00:00+08:00",
    )
    add_entry(
        case, "call", {"number": "2", "tags": ["threat"]}, occurred_at="2026-01-03T01:00:00+08:00"
    )
    add_entry(case, "note", {"text": "记"}, occurred_at="2026-01-04T10:00:00+08:00")
    url = case_pages(world)["timeline"]

    def seqs(query: str) -> list[int]:
        html = world.web("owner").get(url + query).content.decode()
        return [int(s) for s in re.findall(r'class="seq">#(\d+)<', html)]

    assert seqs("?kind=call") == [4, 3]
    # Entry 2 has no claimed time, so it sits at its recorded time (now): newest.
    assert seqs("?tag=threat") == [2, 4]
    # 2026-01-03 01:00 in Shanghai is 2026-01-02 17:00 UTC: the date is the user's.
    assert seqs("?start=2026-01-03&end=2026-01-03") == [4]
    assert seqs("?start=2026-01-02&end=2026-01-02") == [3]
    assert seqs("?kind=note&tag=threat") == []
    assert world.web("owner").get(url + "?start=not-a-date").status_code == 200


def test_full_check_reports_a_changed_file(world, settings) -> None:
    from locker.infra.storage import evidence_storage
    from locker.models import EvidenceFile

    owner = world.web("owner")
    url = reverse("case_check", args=[world.case.pk])
    owner.get(case_pages(world)["detail"])
    csrf_post(owner, url, {})
    page = owner.get(case_pages(world)["detail"]).content.decode()
    assert 'class="badge ok"' in page
    stored = EvidenceFile.objects.get(case=world.case)
    path = evidence_storage().path(stored.storage_name)
    with open(path, "ab") as handle:
        handle.write(b"tampered")
    # The quick badge does not re-read files; the full check does, and the badge says so.
    csrf_post(owner, url, {})
    page = owner.get(case_pages(world)["detail"]).content.decode()
    assert 'class="badge bad"' in page and "2" in page


def test_new_user_can_sign_up_without_a_phone_number() -> None:
    client = client_for()
    page = client.get(reverse("signup")).content.decode()
    assert 'type="tel"' not in page and 'name="phone' not in page
    response = csrf_post(
        client,
        reverse("signup"),
        {"username": "xiaoming", "password1": "Yq7-lantern-mosaic",
         "password2": "Yq7-lantern-mosaic", "time_zone": "Asia/Shanghai"},
    )  # fmt: skip
    assert response.status_code == 302 and response["Location"] == reverse("case_create")
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="xiaoming")
    assert user.locker_profile.time_zone == "Asia/Shanghai"


def test_login_logout_and_password_change() -> None:
    user = UserFactory()
    client = client_for()
    client.get(reverse("login"))
    response = csrf_post(
        client,
        reverse("login"),
        {"username": user.username, "password": "correct horse battery staple"},
    )
    assert response.status_code == 302
    assert client.get(reverse("case_list")).status_code == 200
    client.get(reverse("password_change"))
    response = csrf_post(
        client,
        reverse("password_change"),
        {"old_password": "correct horse battery staple", "new_password1": "Zz9-new-harbour-light",
         "new_password2": "Zz9-new-harbour-light"},
    )  # fmt: skip
    assert response.status_code == 302
    csrf_post(client, reverse("logout"), {})
    assert client.get(reverse("case_list")).status_code == 302


def test_password_reset_sends_a_console_style_email(mailoutbox=None) -> None:
    from django.core import mail

    user = UserFactory(email="someone@example.org")
    client = client_for()
    client.get(reverse("password_reset"))
    response = csrf_post(client, reverse("password_reset"), {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "/accounts/reset/" in mail.outbox[0].body


def test_many_login_attempts_are_rate_limited() -> None:
    client = client_for()
    client.get(reverse("login"))
    codes = [
        csrf_post(client, reverse("login"), {"username": "x", "password": "y"}).status_code
        for _ in range(32)
    ]
    assert codes[0] == 200 and codes[-1] == 429


def test_stranger_cannot_reach_owner_files_even_with_the_hash(world) -> None:
    other_case = make_case(owner=UserFactory())
    url = reverse("evidence_original", args=[other_case.pk, world.sha])
    assert world.web("owner").get(url).status_code == 404
