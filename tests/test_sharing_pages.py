"""The sharing pages in the browser, with every persona: the owner, a viewer, a reviewer, a
lawyer whose share was ended, a stranger and an anonymous visitor. CSRF is checked as a
browser would; those without access get 404 (never 403), anonymous visitors the log-in page."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from locker import services
from locker.exports.verification import verify_bundle_zip
from locker.models import AccessLog, Annotation, CaseVisit, Entry, Share

from .factories import UserFactory, add_entry, make_case, share_with
from .personas import WITHOUT_CONTACT, Personas
from .ui_helpers import body_of, client_for, csrf_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world: Personas) -> Personas:
    """The shared case with a call, then the screenshot (from a known sender), every persona,
    and the reviewer's professional profile."""
    add_entry(world.case, "call", {"number": "95188", "summary": "威胁要上门", "tags": ["threat"]})
    world.add_screenshot(sender="170 1234 5678")
    world.everyone()
    services.upsert_profile(
        user=world.user("reviewer"), name="王律师", organisation="明理律师事务所"
    )
    return world


def urls(w: Personas) -> dict[str, str]:
    c, seq = w.case.pk, w.screenshot.seq
    return {
        "review": reverse("review", args=[c]),
        "review_entry": reverse("review", args=[c]) + f"?seq={seq}",
        "export_zip": reverse("export_zip", args=[c]),
        "notes_csv": reverse("annotation_export", args=[c, "csv"]),
        "notes_json": reverse("annotation_export", args=[c, "json"]),
        "shares": reverse("shares", args=[c]),
        "access_log": reverse("access_log", args=[c]),
        # Issue 3's pages: readable by lawyers, write pages the owner's alone.
        "detail": reverse("case_detail", args=[c]),
        "timeline": reverse("timeline", args=[c]),
        "entry": reverse("entry_detail", args=[c, seq]),
        "picture": reverse("evidence_derived", args=[c, w.sha, "view"]),
        "original": reverse("evidence_original", args=[c, w.sha]),
        "receipt_json": reverse("receipt_json", args=[c, seq]),
        "edit": reverse("case_edit", args=[c]),
        "quick_log": reverse("quick_log", args=[c]),
        "log_call": reverse("log_entry", args=[c, "call"]),
        "correct": reverse("correct_entry", args=[c, seq]),
        "links": reverse("links", args=[c]),
    }


READERS = {"owner", "viewer", "reviewer"}
EXPECTED_GET: dict[str, set[str]] = {
    "review": READERS,
    "review_entry": READERS,
    "export_zip": READERS,
    "notes_csv": {"reviewer"},
    "notes_json": {"reviewer"},
    "shares": {"owner"},
    "access_log": {"owner"},
    "detail": READERS,
    "timeline": READERS,
    "entry": READERS,
    "picture": READERS,
    "original": READERS,
    "receipt_json": READERS,
    "edit": {"owner"},
    "quick_log": {"owner"},
    "log_call": {"owner"},
    "correct": {"owner"},
    "links": {"owner"},
}


@pytest.mark.parametrize("persona", WITHOUT_CONTACT)
def test_every_case_page_answers_each_persona_as_expected(world: Personas, persona: str) -> None:
    client = world.web(persona)
    answers = {}
    for name, url in urls(world).items():
        response = client.get(url)
        body_of(response)
        allowed = persona in EXPECTED_GET[name]
        expected = 302 if persona == "anonymous" else 200 if allowed else 404
        answers[name] = (response.status_code, expected)
        if persona == "anonymous":
            assert response["Location"].startswith(reverse("login") + "?next="), name
    assert {k: v for k, v in answers.items() if v[0] != v[1]} == {}


@pytest.mark.parametrize("persona", WITHOUT_CONTACT)
def test_desk_pages_need_a_sign_in_and_nothing_else(world: Personas, persona: str) -> None:
    client = world.web(persona)
    for url in (reverse("shared"), reverse("professional_profile")):
        response = client.get(url)
        if persona == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        else:
            assert response.status_code == 200, url


def test_lawyers_see_no_write_controls_and_the_owner_does(world: Personas) -> None:
    c, seq = world.case.pk, world.screenshot.seq
    write_urls = [
        reverse("quick_log", args=[c]),
        reverse("case_edit", args=[c]),
        reverse("links", args=[c]),
        reverse("shares", args=[c]),
        reverse("access_log", args=[c]),
        reverse("correct_entry", args=[c, seq]),
    ]
    pages = [
        reverse("case_detail", args=[c]),
        reverse("timeline", args=[c]),
        reverse("entry_detail", args=[c, seq]),
        reverse("receipt", args=[c, seq]),
        reverse("review", args=[c]),
    ]
    for persona in ("viewer", "reviewer"):
        client = world.web(persona)
        for page in pages:
            html = client.get(page).content.decode()
            leaked = [url for url in write_urls if f'href="{url}"' in html]
            assert leaked == [], (persona, page, leaked)
        detail = client.get(pages[0]).content.decode()
        assert reverse("review", args=[c]) in detail
    owner = world.web("owner")
    detail = owner.get(pages[0]).content.decode()
    for url in write_urls[:5]:
        assert f'href="{url}"' in detail, url
    entry = owner.get(pages[2]).content.decode()
    assert f'href="{write_urls[5]}"' in entry


@pytest.mark.parametrize("persona", ("viewer", "reviewer"))
def test_write_actions_stay_404_for_lawyers_even_when_posted(world: Personas, persona: str) -> None:
    client = world.web(persona)
    c, seq = world.case.pk, world.screenshot.seq
    before = Entry.objects.filter(case=world.case).count()
    for url, data in (
        (reverse("log_entry", args=[c, "note"]), {"text": "律师不能写", "occurred_at": ""}),
        (reverse("case_edit", args=[c]), {"title": "changed"}),
        (reverse("correct_entry", args=[c, seq]), {"reason": "x"}),
        (reverse("links", args=[c]), {"label": "x", "days": 7}),
        (reverse("shares", args=[c]), {"grantee": "stranger", "role": "viewer"}),
        (reverse("share_end", args=[c, world.share("viewer").pk]), {}),
    ):
        assert csrf_post(client, url, data).status_code == 404, url
    assert Entry.objects.filter(case=world.case).count() == before
    assert Share.objects.filter(case=world.case, ended_at__isnull=True).count() == 2


@pytest.mark.parametrize("persona", WITHOUT_CONTACT)
def test_only_reviewers_add_notes(world: Personas, persona: str) -> None:
    client = world.web(persona)
    url = reverse("annotation_add", args=[world.case.pk])
    response = csrf_post(
        client, url, {"text": "注意第2条的号码", "entry_seq": world.screenshot.seq}
    )
    if persona == "reviewer":
        assert response.status_code == 302
        assert response["Location"].endswith(f"?seq={world.screenshot.seq}#notes")
        note = Annotation.objects.get()
        assert note.author == world.user("reviewer") and note.entry_seq == world.screenshot.seq
        page = client.get(response["Location"]).content.decode()
        assert "注意第2条的号码" in page and "王律师 (明理律师事务所)" in page
    else:
        expected = 302 if persona == "anonymous" else 404
        assert response.status_code == expected
        assert not Annotation.objects.exists()


def test_notes_stay_private_to_reviewers(world: Personas) -> None:
    services.add_annotation(
        case=world.case, author=world.user("reviewer"), text="私下：证据链完整", entry_seq=None
    )
    review = reverse("review", args=[world.case.pk])
    assert "私下：证据链完整" in world.web("reviewer").get(review).content.decode()
    for persona in ("owner", "viewer"):
        html = world.web(persona).get(review).content.decode()
        assert "私下：证据链完整" not in html and 'id="notes"' not in html


def test_notes_export_as_csv_and_json(world: Personas) -> None:
    reviewer = world.user("reviewer")
    services.add_annotation(case=world.case, author=reviewer, text="=HYPERLINK(1)", entry_seq=2)
    services.add_annotation(case=world.case, author=reviewer, text="催收录音需要公证")
    client = world.web("reviewer")
    csv_response = client.get(reverse("annotation_export", args=[world.case.pk, "csv"]))
    assert csv_response["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_response["Content-Disposition"]
    text = csv_response.content.decode("utf-8-sig")
    assert "催收录音需要公证" in text and "'=HYPERLINK(1)" in text
    # Times in the reader's zone with its offset (the reviewer's profile: Asia/Shanghai), not
    # UTC, which a spreadsheet shows as the wrong hour.
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and all(row["created_at"].endswith("+08:00") for row in rows)
    data = json.loads(
        client.get(reverse("annotation_export", args=[world.case.pk, "json"])).content
    )
    assert [a["text"] for a in data["annotations"]] == ["=HYPERLINK(1)", "催收录音需要公证"]
    assert client.get(reverse("annotation_export", args=[world.case.pk, "xml"])).status_code == 404
    rows = AccessLog.objects.filter(user=reviewer, action="export")
    assert sorted(rows.values_list("detail", flat=True)) == ["notes.csv", "notes.json"]


def test_notes_form_refuses_an_empty_note_and_a_foreign_post(world: Personas) -> None:
    client = world.web("reviewer")
    url = reverse("annotation_add", args=[world.case.pk])
    response = csrf_post(client, url, {"text": "   "})
    assert response.status_code == 302 and not Annotation.objects.exists()
    # Without the page's CSRF token (a forged cross-site post) nothing is written.
    forged = client.post(url, {"text": "forged"})
    assert forged.status_code == 403 and not Annotation.objects.exists()


def test_revocation_while_the_lawyer_has_the_review_page_open(world: Personas) -> None:
    lawyer = world.web("reviewer")
    c = world.case.pk
    review = reverse("review", args=[c]) + f"?seq={world.screenshot.seq}"
    page = lawyer.get(review)
    assert page.status_code == 200
    picture = reverse("evidence_derived", args=[c, world.sha, "view"])
    assert picture in page.content.decode()
    assert lawyer.get(picture).status_code == 200

    owner = world.web("owner")
    owner.get(reverse("shares", args=[c]))
    ended = csrf_post(owner, reverse("share_end", args=[c, world.share("reviewer").pk]), {})
    assert ended.status_code == 302

    # The page is still open in the lawyer's browser; every next request finds nothing.
    assert lawyer.get(review).status_code == 404
    assert lawyer.get(picture).status_code == 404
    assert lawyer.get(reverse("evidence_original", args=[c, world.sha])).status_code == 404
    assert lawyer.get(reverse("export_zip", args=[c])).status_code == 404
    assert lawyer.get(reverse("annotation_export", args=[c, "csv"])).status_code == 404
    note = csrf_post(lawyer, reverse("annotation_add", args=[c]), {"text": "too late"})
    assert note.status_code == 404 and not Annotation.objects.exists()
    assert str(c) not in lawyer.get(reverse("shared")).content.decode()


def test_lawyers_page_views_and_downloads_are_logged_and_the_owners_are_not(
    world: Personas,
) -> None:
    c, seq = world.case.pk, world.screenshot.seq
    owner = world.web("owner")
    for url in (reverse("review", args=[c]), reverse("evidence_original", args=[c, world.sha])):
        body_of(owner.get(url))
    assert not AccessLog.objects.exists()

    lawyer = world.web("viewer")
    lawyer.get(reverse("review", args=[c]) + f"?seq={seq}")
    body_of(lawyer.get(reverse("evidence_derived", args=[c, world.sha, "view"])))
    body_of(lawyer.get(reverse("evidence_original", args=[c, world.sha])))
    body_of(lawyer.get(reverse("export_zip", args=[c])))
    rows = list(AccessLog.objects.order_by("id").values_list("action", "detail", "via", "ip"))
    assert rows == [
        ("view", f"GET {reverse('review', args=[c])} entry {seq}", "web", "127.0.0.1"),
        ("view_file", world.sha, "web", "127.0.0.1"),
        ("download", world.sha, "web", "127.0.0.1"),
        ("export", "bundle", "web", "127.0.0.1"),
    ]
    assert set(AccessLog.objects.values_list("user__username", flat=True)) == {"viewer"}

    # The owner reads all of it on "who has seen this case", file names resolved.
    html = owner.get(reverse("access_log", args=[c])).content.decode()
    assert html.count('<li class="card">') == 4
    assert "viewer" in html and "shot.png" in html and "127.0.0.1" in html


def test_shared_page_lists_cases_pending_shares_and_logs_the_listing(world: Personas) -> None:
    other_owner = UserFactory(username="zhang")
    other = make_case(other_owner, title="另一案", lender="速贷", borrower_name="张先生")
    pending = share_with(other, world.user("reviewer"), Share.VIEWER, accept=False)
    client = world.web("reviewer")
    html = client.get(reverse("shared")).content.decode()
    assert "李小姐" in html and "闪电借款" in html  # the accepted share's row
    assert "张先生" not in html and "速贷" not in html  # nothing of a case before acceptance
    assert reverse("share_accept", args=[pending.pk]) in html
    assert [(r.case_id, r.action) for r in AccessLog.objects.all()] == [(world.case.pk, "list")]

    # Someone else cannot accept or decline it.
    stranger = world.web("stranger")
    stranger.get(reverse("shared"))
    assert csrf_post(stranger, reverse("share_accept", args=[pending.pk]), {}).status_code == 404
    assert csrf_post(stranger, reverse("share_leave", args=[pending.pk]), {}).status_code == 404

    accepted = csrf_post(client, reverse("share_accept", args=[pending.pk]), {})
    assert accepted.status_code == 302 and accepted["Location"] == reverse(
        "review", args=[other.pk]
    )
    pending.refresh_from_db()
    assert pending.status == "active"
    assert "张先生" in client.get(reverse("shared")).content.decode()


def test_declining_and_leaving_end_the_share(world: Personas) -> None:
    other = make_case(UserFactory(), borrower_name="赵女士")
    pending = share_with(other, world.user("viewer"), Share.VIEWER, accept=False)
    client = world.web("viewer")
    client.get(reverse("shared"))
    assert csrf_post(client, reverse("share_leave", args=[pending.pk]), {}).status_code == 302
    pending.refresh_from_db()
    assert pending.status == "ended" and pending.ended_by == world.user("viewer")

    share = world.share("viewer")
    assert csrf_post(client, reverse("share_leave", args=[share.pk]), {}).status_code == 302
    assert client.get(reverse("review", args=[world.case.pk])).status_code == 404


def test_dashboard_shows_counts_chain_status_and_unread(world: Personas) -> None:
    client = world.web("reviewer")
    html = client.get(reverse("shared")).content.decode()
    assert "✔" in html
    client.get(reverse("review", args=[world.case.pk]))
    add_entry(world.case, "note", {"text": "昨晚又打了十次"})
    html = client.get(reverse("shared")).content.decode()
    assert '<span class="pill new">1</span>' in html


def test_review_page_filters_searches_and_shows_the_chosen_entry(world: Personas) -> None:
    add_entry(world.case, "note", {"text": "对方自称法院工作人员"})
    client = world.web("reviewer")
    url = reverse("review", args=[world.case.pk])

    everything = client.get(url).content.decode()
    assert everything.count('class="rrow') == 4

    found = client.get(url, {"q": "通讯录"}).content.decode()
    assert found.count('class="rrow') == 1 and "再不还钱就爆你通讯录" in found
    # The match is selected in the viewer: its picture, hash and seq.
    assert reverse("evidence_derived", args=[world.case.pk, world.sha, "view"]) in found
    assert world.sha in found and f"#{world.screenshot.seq}" in found

    calls = client.get(url, {"kind": "call"}).content.decode()
    assert calls.count('class="rrow') == 1 and "95188" in calls
    threats = client.get(url, {"tag": "threat"}).content.decode()
    assert threats.count('class="rrow') == 1
    none = client.get(url, {"q": "不存在的词"}).content.decode()
    assert 'class="rrow' not in none
    future = client.get(url, {"start": "2999-01-01"}).content.decode()
    assert 'class="rrow' not in future
    assert client.get(url, {"seq": 999}).status_code == 404


def test_review_visit_is_remembered_for_unread(world: Personas) -> None:
    client = world.web("viewer")
    client.get(reverse("review", args=[world.case.pk]))
    visit = CaseVisit.objects.get(user=world.user("viewer"), case=world.case)
    add_entry(world.case, "note", {"text": "新的一条"})
    html = client.get(reverse("review", args=[world.case.pk])).content.decode()
    assert html.count('class="flag new"') == 1
    visit_after = CaseVisit.objects.get(pk=visit.pk)
    assert visit_after.last_visited > visit.last_visited


def test_export_zip_is_the_verifiable_bundle(world: Personas) -> None:
    response = world.web("viewer").get(reverse("export_zip", args=[world.case.pk]))
    assert response["Content-Type"] == "application/zip"
    data = body_of(response)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert any(name.endswith(world.sha) or world.sha in name for name in archive.namelist())
    report = verify_bundle_zip(io.BytesIO(data))
    assert report.ok, report


def test_owner_shares_by_username_and_by_email_and_ends_a_share(world: Personas) -> None:
    owner = world.web("owner")
    url = reverse("shares", args=[world.case.pk])
    owner.get(url)
    sent = len(mail.outbox)
    response = csrf_post(owner, url, {"grantee": "stranger", "role": "reviewer"})
    assert response.status_code == 302
    share = Share.objects.get(case=world.case, user=world.user("stranger"))
    assert share.role == "reviewer" and share.status == "pending"

    response = csrf_post(owner, url, {"grantee": "Lawyer@Example.org", "role": "viewer"})
    assert response.status_code == 302
    assert len(mail.outbox) == sent + 1  # the invitation; the username share mails nobody
    html = owner.get(url).content.decode()
    assert "Lawyer@Example.org" in html and "stranger" in html

    again = csrf_post(owner, url, {"grantee": "stranger", "role": "viewer"})
    assert again.status_code == 400 and "已经与此人共享" in again.content.decode()
    # A name without an account is recorded like one with (tests/security/).
    unknown = csrf_post(owner, url, {"grantee": "nobody-here", "role": "viewer"})
    assert unknown.status_code == 302

    end = csrf_post(owner, reverse("share_end", args=[world.case.pk, share.pk]), {})
    assert end.status_code == 302
    share.refresh_from_db()
    assert share.status == "ended"
    # CSRF: a post without the page's token ends nothing.
    viewer_share = world.share("viewer")
    forged = owner.post(reverse("share_end", args=[world.case.pk, viewer_share.pk]))
    assert forged.status_code == 403
    viewer_share.refresh_from_db()
    assert viewer_share.status == "active"


def _invitation_link() -> str:
    match = re.search(r"https?://\S+/invitations/[^/\s]+/", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(0)


def test_invitation_to_a_new_address_leads_through_sign_up_to_the_case(world: Personas) -> None:
    owner = world.web("owner")
    owner.get(reverse("shares", args=[world.case.pk]))
    csrf_post(
        owner,
        reverse("shares", args=[world.case.pk]),
        {"grantee": "new@law.example", "role": "reviewer"},
    )
    link = _invitation_link()
    path = link.split("://", 1)[1].split("/", 1)[1]
    token = path.rstrip("/").rsplit("/", 1)[1]

    visitor = Client(enforce_csrf_checks=True)
    opened = visitor.get("/" + path)
    assert opened.status_code == 302 and opened["Location"] == reverse("invitation")
    assert opened["Referrer-Policy"] == "no-referrer"
    page = visitor.get(reverse("invitation"))
    html = page.content.decode()
    assert token not in html and "网贷催收" not in html and "闪电借款" not in html
    signup_url = f"{reverse('signup')}?next={reverse('invitation').replace('/', '%2F')}"
    assert signup_url in html

    form = visitor.get(signup_url).content.decode()
    assert f'name="next" value="{reverse("invitation")}"' in form
    created = csrf_post(
        visitor,
        reverse("signup"),
        {
            "username": "lawyer-wang",
            "password1": "Plum-river-2026!",
            "password2": "Plum-river-2026!",
            "email": "",
            "time_zone": "Asia/Shanghai",
            "next": reverse("invitation"),
        },
    )
    assert created.status_code == 302 and created["Location"] == reverse("invitation")
    confirm = visitor.get(reverse("invitation"))
    assert confirm.status_code == 200 and "lawyer-wang" in confirm.content.decode()
    accepted = csrf_post(visitor, reverse("invitation"), {"accept": "1"})
    assert accepted.status_code == 302
    assert accepted["Location"] == reverse("review", args=[world.case.pk])
    share = Share.objects.get(invited_as="new@law.example")
    assert share.user.username == "lawyer-wang" and share.status == "active"
    assert visitor.get(reverse("review", args=[world.case.pk])).status_code == 200

    # The link works once.
    again = Client()
    again.get("/" + path)
    assert again.get(reverse("invitation")).status_code == 410


def test_invitation_for_a_signed_in_user_and_refusals(world: Personas) -> None:
    owner = world.web("owner")
    owner.get(reverse("shares", args=[world.case.pk]))
    csrf_post(
        owner,
        reverse("shares", args=[world.case.pk]),
        {"grantee": "w@law.example", "role": "viewer"},
    )
    path = "/" + _invitation_link().split("://", 1)[1].split("/", 1)[1]

    lawyer = client_for(world.user("stranger"))
    lawyer.get(path)
    forged = lawyer.post(reverse("invitation"), {"accept": "1"})
    assert forged.status_code == 403
    not_now = csrf_post(lawyer, reverse("invitation"), {"decline": "1"})
    assert not_now.status_code == 302 and not_now["Location"] == reverse("shared")
    assert Share.objects.get(invited_as="w@law.example").status == "pending"
    # Back to it with the link, then accepted while signed in.
    lawyer.get(path)
    accepted = csrf_post(lawyer, reverse("invitation"), {"accept": "1"})
    assert accepted["Location"] == reverse("review", args=[world.case.pk])

    assert Client().get(reverse("invitation")).status_code == 410
    junk = Client()
    junk.get("/invitations/not-a-real-token/")
    assert junk.get(reverse("invitation")).status_code == 410


def test_signup_honours_only_a_safe_next(client) -> None:
    data = {
        "username": "newcomer",
        "password1": "Plum-river-2026!",
        "password2": "Plum-river-2026!",
        "email": "",
        "time_zone": "Asia/Shanghai",
    }
    evil = client.post(reverse("signup") + "?next=https://evil.example/", data)
    assert evil.status_code == 302 and evil["Location"] == reverse("case_create")
    other = Client()
    fine = other.post(reverse("signup"), {**data, "username": "second", "next": "/shared/"})
    assert fine["Location"] == "/shared/"


def test_professional_profile_is_how_clients_see_the_lawyer(world: Personas) -> None:
    client = world.web("viewer")
    url = reverse("professional_profile")
    client.get(url)
    bad = csrf_post(client, url, {"name": "", "organisation": "", "jurisdiction": ""})
    assert bad.status_code == 400
    saved = csrf_post(
        client, url, {"name": "陈律师", "organisation": "法律援助中心", "jurisdiction": "上海"}
    )
    assert saved.status_code == 302
    assert "陈律师 (法律援助中心)" in client.get(url).content.decode()
    html = world.web("owner").get(reverse("shares", args=[world.case.pk])).content.decode()
    assert "陈律师 (法律援助中心)" in html


def test_nav_links_to_the_desk_only_for_people_with_shares(world: Personas) -> None:
    shared = f'href="{reverse("shared")}"'
    assert shared in world.web("viewer").get(reverse("case_list")).content.decode()
    assert shared not in world.web("stranger").get(reverse("case_list")).content.decode()
    assert shared not in world.web("revoked").get(reverse("case_list")).content.decode()


def test_pages_within_the_weight_budget_with_a_long_case(world: Personas) -> None:
    """HTML plus the CSS, JS and icons each page loads stays under issue 3's 150 KB."""
    for n in range(80):
        add_entry(
            world.case,
            "call",
            {
                "number": f"170{n:08d}",
                "summary": "半夜打来威胁说要去单位找领导" * 3,
                "tags": ["threat", "night_time"],
            },
        )
    reviewer = world.user("reviewer")
    for _ in range(30):
        services.add_annotation(case=world.case, author=reviewer, text="需要核实" * 40, entry_seq=2)
    lawyer = world.web("reviewer")
    for _ in range(20):
        body_of(lawyer.get(reverse("evidence_original", args=[world.case.pk, world.sha])))
    owner = world.web("owner")
    pages = [
        (lawyer, reverse("review", args=[world.case.pk])),
        (lawyer, reverse("review", args=[world.case.pk]) + f"?seq={world.screenshot.seq}"),
        (lawyer, reverse("shared")),
        (lawyer, reverse("professional_profile")),
        (owner, reverse("shares", args=[world.case.pk])),
        (owner, reverse("access_log", args=[world.case.pk])),
    ]
    weights = {}
    for who, url in pages:
        html = who.get(url).content
        total = len(html)
        for asset in set(
            re.findall(rb'(?:href|src)="(/static/[^"]+|/manifest\.webmanifest)"', html)
        ):
            total += len(body_of(who.get(asset.decode())))
        weights[url] = total
    assert max(weights.values()) <= 150 * 1024, weights


def test_the_review_page_lists_each_receipt_once(world: Personas) -> None:
    """The head is signed again before an export or a dossier: one receipt on the page, not
    one per signing (issue 16, item 13)."""
    from locker.models import Checkpoint
    from locker.services.entries import issue_checkpoint_row

    head = Entry.objects.filter(case=world.case).order_by("-seq").first()
    assert head is not None
    for _ in range(2):
        issue_checkpoint_row(case=world.case, length=head.seq, head=head.hash)
    assert Checkpoint.objects.filter(case=world.case, length=head.seq).count() >= 3
    page = body_of(world.web("reviewer").get(reverse("review", args=[world.case.pk]))).decode()
    receipts = re.search(r'<ul class="receipts small">(.*?)</ul>', page, flags=re.S)
    assert receipts is not None
    listed = re.findall(r'href="[^"]*/entries/(\d+)/receipt\.json"', receipts.group(1))
    assert listed and len(listed) == len(set(listed)), listed
