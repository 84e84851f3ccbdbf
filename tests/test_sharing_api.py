"""Sharing through the API, with every persona on every route: owner, viewer, reviewer, a
lawyer whose share was revoked, a stranger, and no token at all."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from locker import services
from locker.models import AccessLog, Annotation, Invitation, Share

from .factories import UserFactory, add_entry, make_case, share_with
from .personas import WITHOUT_CONTACT, ApiClient, Personas, api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world: Personas) -> Personas:
    """The shared case with a call after its opening entry, every persona, and one more
    account ("newlawyer") for the owner to share the case with."""
    add_entry(world.case, "call", {"number": "95188", "summary": "威胁要上门", "tags": ["threat"]})
    world.everyone()
    UserFactory(username="newlawyer")
    return world


def expect(owner: int, viewer: int, reviewer: int, others: int = 404) -> dict[str, int]:
    return {
        "owner": owner,
        "viewer": viewer,
        "reviewer": reviewer,
        "revoked": others,
        "stranger": others,
        "anonymous": 401,
    }


# (method, path, body, expected status per persona)
ROUTES: list[tuple[str, str, Any, dict[str, int]]] = [
    # the sharing routes
    ("POST", "/api/cases/{case}/shares", {"user": "newlawyer", "role": "viewer"},
     expect(201, 404, 404)),
    ("GET", "/api/cases/{case}/shares", None, expect(200, 404, 404)),
    ("DELETE", "/api/cases/{case}/shares/{viewer_share}", None, expect(204, 404, 404)),
    ("GET", "/api/cases/{case}/access-log", None, expect(200, 404, 404)),
    ("GET", "/api/cases/{case}/annotations", None, expect(404, 404, 200)),
    ("POST", "/api/cases/{case}/annotations", {"text": "夜间催收，违反规定", "entry_seq": 2},
     expect(404, 404, 201)),
    ("GET", "/api/cases/{case}/annotations/export?format=csv", None, expect(404, 404, 200)),
    ("GET", "/api/cases/{case}/annotations/export", None, expect(404, 404, 200)),
    ("GET", "/api/shared-cases", None, expect(200, 200, 200, others=200)),
    ("GET", "/api/shares", None, expect(200, 200, 200, others=200)),
    # the grantee's side of a share: only the person it is addressed to
    ("POST", "/api/shares/{viewer_share}/accept", {}, expect(404, 200, 404)),
    ("DELETE", "/api/shares/{viewer_share}", None, expect(404, 204, 404)),
    ("POST", "/api/invitations/accept", {"token": "x" * 43}, expect(422, 422, 422, others=422)),
    ("PUT", "/api/profile", {"name": "王律师"}, expect(200, 200, 200, others=200)),
    ("GET", "/api/profile", None, expect(404, 404, 404, others=404)),
    # the owner's case routes: read-only for the lawyers, nothing for anyone else
    ("GET", "/api/cases/{case}", None, expect(200, 200, 200)),
    ("GET", "/api/cases/{case}/entries", None, expect(200, 200, 200)),
    ("GET", "/api/cases/{case}/verify", None, expect(200, 200, 200)),
    ("GET", "/api/cases/{case}/export", None, expect(200, 200, 200)),
    ("POST", "/api/cases/{case}/entries", {"kind": "note", "body": {"text": "律师加的"}},
     expect(201, 404, 404)),
    ("PATCH", "/api/cases/{case}", {"lender": "改掉"}, expect(200, 404, 404)),
]  # fmt: skip


@pytest.mark.parametrize("persona", WITHOUT_CONTACT)
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), ROUTES, ids=[f"{r[0]} {r[1]}" for r in ROUTES]
)
def test_every_route_answers_every_persona(world, persona, method, path, body, expected) -> None:
    url = path.format(case=world.case.id, viewer_share=world.share("viewer").pk)
    response = api_as(world.user(persona)).call(method, url, body)
    assert response.status_code == expected[persona], response.content[:300]


def test_no_access_is_the_same_404_as_no_case(world) -> None:
    stranger = api_as(world.user("stranger"))
    missing = stranger.get("/api/cases/00000000-0000-4000-8000-000000000000")
    hidden = stranger.get(f"/api/cases/{world.case.id}")
    assert missing.status_code == hidden.status_code == 404
    assert missing.json() == hidden.json()


def test_lawyers_cannot_add_correct_reshare_or_change_facts(world) -> None:
    for lawyer in (world.user("viewer"), world.user("reviewer")):
        api = api_as(lawyer)
        correction = {"kind": "correction", "body": {"corrects_seq": 2, "reason": "x"}}
        assert api.post_json(f"/api/cases/{world.case.id}/entries", correction).status_code == 404
        share = {"user": "stranger", "role": "viewer"}
        assert api.post_json(f"/api/cases/{world.case.id}/shares", share).status_code == 404
    assert world.case.entries.count() == 2
    assert not Share.objects.filter(user=world.user("stranger")).exists()


# Access log --------------------------------------------------------------------------------


def test_each_access_by_a_lawyer_is_logged_and_the_owners_are_not(world) -> None:
    before = AccessLog.objects.count()
    api_as(world.owner).get(f"/api/cases/{world.case.id}/entries")
    api_as(world.user("stranger")).get(f"/api/cases/{world.case.id}")
    assert AccessLog.objects.count() == before

    viewer = api_as(world.user("viewer"))
    assert viewer.get(f"/api/cases/{world.case.id}").status_code == 200
    assert viewer.get(f"/api/cases/{world.case.id}/export").status_code == 200
    rows = list(AccessLog.objects.filter(user=world.user("viewer")).order_by("id"))
    assert [(r.action, r.detail, r.via, r.ip) for r in rows] == [
        ("view", f"GET /api/cases/{world.case.id}", "api", "127.0.0.1"),
        ("export", "bundle", "api", "127.0.0.1"),
    ]

    reviewer = api_as(world.user("reviewer"))
    reviewer.post_json(f"/api/cases/{world.case.id}/annotations", {"text": "要点"})
    reviewer.get(f"/api/cases/{world.case.id}/annotations/export?format=json")
    actions = list(
        AccessLog.objects.filter(user=world.user("reviewer"))
        .order_by("id")
        .values_list("action", "detail")
    )
    assert actions == [("annotate", "annotation"), ("export", "annotations.json")]


def test_owner_reads_the_access_log_through_the_api(world) -> None:
    api_as(world.user("viewer")).get(
        f"/api/cases/{world.case.id}/verify", REMOTE_ADDR="203.0.113.9"
    )
    response = api_as(world.owner).get(f"/api/cases/{world.case.id}/access-log")
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 1
    (row,) = page["items"]
    assert row["who"] == "viewer"
    assert row["action"] == "verify"
    assert row["ip"] == "203.0.113.9"
    assert row["via"] == "api"


def test_listing_shared_cases_is_logged_per_case(world) -> None:
    response = api_as(world.user("reviewer")).get("/api/shared-cases")
    (row,) = response.json()
    assert row["case"] == str(world.case.id)
    assert row["role"] == "reviewer"
    assert row["counts_by_kind"] == {"call": 1, "case_update": 1}
    assert row["chain_ok"] is True and row["chain_length"] == 2
    assert row["unread"] == 2
    assert AccessLog.objects.filter(user=world.user("reviewer"), action="list").count() == 1


# Revocation --------------------------------------------------------------------------------


def test_revocation_while_a_token_is_in_use_takes_effect_on_the_next_request(world) -> None:
    lawyer = api_as(world.user("viewer"))
    case_url = f"/api/cases/{world.case.id}"
    assert lawyer.get(case_url).status_code == 200
    assert lawyer.get(case_url + "/entries").status_code == 200

    revoke = api_as(world.owner).delete(f"{case_url}/shares/{world.share('viewer').pk}")
    assert revoke.status_code == 204

    for path in ("", "/entries", "/verify", "/export"):
        assert lawyer.get(case_url + path).status_code == 404
    assert lawyer.get("/api/shared-cases").json() == []
    shares = api_as(world.owner).get(f"{case_url}/shares").json()
    ended = next(s for s in shares if s["id"] == world.share("viewer").pk)
    assert ended["status"] == "ended" and ended["ended_by"] == "owner"


def test_the_lawyer_can_leave_a_share(world) -> None:
    lawyer = api_as(world.user("reviewer"))
    assert lawyer.delete(f"/api/shares/{world.share('reviewer').pk}").status_code == 204
    assert lawyer.get(f"/api/cases/{world.case.id}").status_code == 404
    share = Share.objects.get(pk=world.share("reviewer").pk)
    assert share.ended_by == world.user("reviewer")
    # Someone else's share cannot be ended through this route.
    other = api_as(world.user("stranger")).delete(f"/api/shares/{world.share('viewer').pk}")
    assert other.status_code == 404
    assert Share.objects.get(pk=world.share("viewer").pk).ended_at is None


def test_a_share_of_another_case_cannot_be_ended_through_this_case(world) -> None:
    other_case = make_case(world.owner)
    response = api_as(world.owner).delete(
        f"/api/cases/{other_case.id}/shares/{world.share('viewer').pk}"
    )
    assert response.status_code == 404
    assert Share.objects.get(pk=world.share("viewer").pk).ended_at is None


# Sharing and accepting ---------------------------------------------------------------------


def test_share_by_username_needs_acceptance(world) -> None:
    lawyer = UserFactory(username="lawyer_wang")
    owner = api_as(world.owner)
    response = owner.post_json(
        f"/api/cases/{world.case.id}/shares", {"user": "lawyer_wang", "role": "reviewer"}
    )
    assert response.status_code == 201
    created = response.json()
    assert created["status"] == "pending" and created["grantee"] == "lawyer_wang"
    # No mail for a username share: a mail (or its failure) would tell the owner that the
    # account exists (tests/security/test_roles_and_leaks.py); it waits on their page.
    assert created["email_sent"] is False
    assert mail.outbox == []

    api = api_as(lawyer)
    assert api.get(f"/api/cases/{world.case.id}").status_code == 404
    (received,) = api.get("/api/shares").json()
    assert received["status"] == "pending" and received["case"] is None
    assert received["invited_by"] == "client"
    accepted = api.post_json(f"/api/shares/{created['id']}/accept", {})
    assert accepted.status_code == 200 and accepted.json()["case"] == str(world.case.id)
    assert api.get(f"/api/cases/{world.case.id}").status_code == 200
    # Another user cannot accept a share addressed to someone else.
    intruder = api_as(world.user("stranger"))
    assert intruder.post_json(f"/api/shares/{created['id']}/accept", {}).status_code == 404


def test_share_by_email_without_account_leads_through_sign_up_to_the_case(world) -> None:
    owner = api_as(world.owner)
    response = owner.post_json(
        f"/api/cases/{world.case.id}/shares", {"user": "Li.Lawyer@Example.com", "role": "viewer"}
    )
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    message = mail.outbox[-1]
    assert message.to == ["li.lawyer@example.com"]
    assert world.case.title not in message.body and "闪电借款" not in message.body
    token = re.search(r"/invitations/([A-Za-z0-9_-]+)/", message.body).group(1)
    assert len(token) >= 43  # 32 random bytes
    stored = Invitation.objects.get()
    assert token not in stored.token_hash

    newcomer = UserFactory(username="li", email="")  # signed up, any address
    api = api_as(newcomer)
    assert api.get(f"/api/cases/{world.case.id}").status_code == 404
    accepted = api.post_json("/api/invitations/accept", {"token": token})
    assert accepted.status_code == 200, accepted.content
    assert api.get(f"/api/cases/{world.case.id}").status_code == 200
    # The token works once.
    again = api_as(UserFactory()).post_json("/api/invitations/accept", {"token": token})
    assert again.status_code == 422


def test_expired_or_revoked_invitations_do_not_work(world) -> None:
    result = services.share_case(
        case=world.case, by=world.owner, grantee="a@example.net", role="viewer",
        site_url="https://el.test",
    )  # fmt: skip
    token = re.search(r"/invitations/([A-Za-z0-9_-]+)/", mail.outbox[-1].body).group(1)
    Invitation.objects.filter(share=result.share).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    api = api_as(UserFactory())
    assert api.post_json("/api/invitations/accept", {"token": token}).status_code == 422

    result = services.share_case(
        case=world.case, by=world.owner, grantee="b@example.net", role="viewer",
        site_url="https://el.test",
    )  # fmt: skip
    token = re.search(r"/invitations/([A-Za-z0-9_-]+)/", mail.outbox[-1].body).group(1)
    services.end_share(share=result.share, by=world.owner)
    assert api.post_json("/api/invitations/accept", {"token": token}).status_code == 422
    assert api.get(f"/api/cases/{world.case.id}").status_code == 404


def test_answers_do_not_reveal_whether_an_email_has_an_account(world) -> None:
    UserFactory(username="known", email="known@example.org")
    owner = api_as(world.owner)
    known = owner.post_json(
        f"/api/cases/{world.case.id}/shares", {"user": "known@example.org", "role": "viewer"}
    ).json()
    unknown = owner.post_json(
        f"/api/cases/{world.case.id}/shares", {"user": "nobody@example.org", "role": "viewer"}
    ).json()
    strip = {"id", "created_at"}
    assert {k: v for k, v in known.items() if k not in strip} | {"grantee": ""} == {
        k: v for k, v in unknown.items() if k not in strip
    } | {"grantee": ""}
    assert known["grantee"] == "known@example.org"


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"user": "client", "role": "viewer"}, 422, "your own case"),
        ({"user": "viewer", "role": "viewer"}, 409, "already shared"),
        ({"user": "stranger", "role": "admin"}, 422, ""),
        ({"user": "", "role": "viewer"}, 422, "username or email"),
        ({"user": "not an@email", "role": "viewer"}, 422, "not a valid email"),
    ],
)
def test_bad_shares_are_refused(world, payload, status, message) -> None:
    before = Share.objects.count()
    response = api_as(world.owner).post_json(f"/api/cases/{world.case.id}/shares", payload)
    assert response.status_code == status
    assert message in response.content.decode()
    assert Share.objects.count() == before


# Annotations and profile -------------------------------------------------------------------


def test_annotations_are_shared_among_reviewers_and_never_in_the_chain(world) -> None:
    second = UserFactory(username="partner")
    share_with(world.case, second, "reviewer")
    head_before = world.case.entries.count()
    first = api_as(world.user("reviewer"))
    created = first.post_json(
        f"/api/cases/{world.case.id}/annotations", {"text": "=HYPERLINK(1) 夜间", "entry_seq": 2}
    )
    assert created.status_code == 201
    listed = api_as(second).get(f"/api/cases/{world.case.id}/annotations").json()
    assert [a["text"] for a in listed] == ["=HYPERLINK(1) 夜间"]
    assert world.case.entries.count() == head_before

    csv_response = first.get(f"/api/cases/{world.case.id}/annotations/export?format=csv")
    text = csv_response.content.decode("utf-8-sig")
    assert "'=HYPERLINK(1) 夜间" in text  # a formula would run in a spreadsheet
    assert csv_response["Content-Type"].startswith("text/csv")
    exported = json.loads(first.get(f"/api/cases/{world.case.id}/annotations/export").content)
    assert exported["annotations"][0]["entry_seq"] == 2


@pytest.mark.parametrize(
    "payload", [{"text": "  "}, {"text": "x", "entry_seq": 99}, {"text": "x" * 10001}]
)
def test_bad_annotations_are_refused(world, payload) -> None:
    response = api_as(world.user("reviewer")).post_json(
        f"/api/cases/{world.case.id}/annotations", payload
    )
    assert response.status_code == 422
    assert not Annotation.objects.exists()


def test_profile_names_the_lawyer_to_the_client(world) -> None:
    api = api_as(world.user("reviewer"))
    assert api.get("/api/profile").status_code == 404
    profile = {"name": "王律师", "organisation": "法律援助中心", "jurisdiction": "上海"}
    assert api.put_json("/api/profile", profile).json() == profile
    assert api.put_json("/api/profile", {"name": ""}).status_code == 422
    shares = api_as(world.owner).get(f"/api/cases/{world.case.id}/shares").json()
    assert "王律师 (法律援助中心)" in [s["grantee"] for s in shares]
    assert ApiClient(None).get("/api/profile").status_code == 401


def test_openapi_lists_the_sharing_routes() -> None:
    paths = ApiClient(None).get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/cases/{case_id}/shares",
        "/api/cases/{case_id}/shares/{share_id}",
        "/api/cases/{case_id}/access-log",
        "/api/shared-cases",
        "/api/cases/{case_id}/annotations",
    ):
        assert path in paths


def test_a_whole_review_from_invitation_to_revocation_shows_in_the_clients_log() -> None:
    client = UserFactory(username="zhang")
    case = make_case(client)
    add_entry(case, "message", {"channel": "sms", "text": "明天到你单位去", "tags": ["threat"]})
    owner = api_as(client)
    shared = owner.post_json(
        f"/api/cases/{case.id}/shares", {"user": "lawyer@legal-aid.example", "role": "reviewer"}
    )
    assert shared.status_code == 201
    token = re.search(r"/invitations/([A-Za-z0-9_-]+)/", mail.outbox[-1].body).group(1)

    lawyer = api_as(UserFactory(username="lawyer_li", email="lawyer@legal-aid.example"))
    assert (
        lawyer.put_json("/api/profile", {"name": "李律师", "organisation": "援助中心"}).status_code
        == 200
    )
    assert lawyer.post_json("/api/invitations/accept", {"token": token}).status_code == 200
    (row,) = lawyer.get("/api/shared-cases").json()
    assert lawyer.get(f"/api/cases/{row['case']}/entries").status_code == 200
    assert lawyer.get(f"/api/cases/{case.id}/verify").json()["ok"] is True
    note = {"text": "构成《互联网金融逾期债务催收自律公约》禁止的行为", "entry_seq": 2}
    assert lawyer.post_json(f"/api/cases/{case.id}/annotations", note).status_code == 201
    assert lawyer.get(f"/api/cases/{case.id}/export").status_code == 200

    assert owner.delete(f"/api/cases/{case.id}/shares/{shared.json()['id']}").status_code == 204
    assert lawyer.get(f"/api/cases/{case.id}").status_code == 404
    assert lawyer.get(f"/api/cases/{case.id}/annotations").status_code == 404

    log = owner.get(f"/api/cases/{case.id}/access-log").json()
    assert [(r["who"], r["action"]) for r in reversed(log["items"])] == [
        ("李律师 (援助中心)", "list"),
        ("李律师 (援助中心)", "view"),
        ("李律师 (援助中心)", "verify"),
        ("李律师 (援助中心)", "annotate"),
        ("李律师 (援助中心)", "export"),
    ]
    # The client never sees the annotation's text, only that one was made.
    assert "互联网金融" not in json.dumps(log, ensure_ascii=False)
