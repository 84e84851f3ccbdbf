"""Roles and small leaks (issue 12, item 7): a viewer cannot have dossiers rendered but
downloads those already made; sharing by username answers alike whether or not the name has
an account, in status, body, the owner's list, conflicts, mail and the work done."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from locker import services
from locker.infra.storage import evidence_storage
from locker.models import AccessLog, Dossier, Share
from locker.services import dossiers as dossier_services
from locker.services.dossiers import VIEWER_CANNOT_RENDER

from ..factories import UserFactory
from ..personas import Personas, api_as
from ..ui_helpers import csrf_post

pytestmark = pytest.mark.django_db

DOSSIER = {"template": "cn_regulator", "language": "zh-hans"}
FAKE_PDF = b"%PDF-1.7\n% a stand-in for a signed dossier\n%%EOF\n"


def ready_dossier(world: Personas) -> Dossier:
    """A dossier the owner asked for, marked ready with a file in the store (no rendering:
    what is tested is who may fetch it)."""
    dossier = dossier_services.request_dossier(case=world.case, user=world.owner, **DOSSIER)
    name = evidence_storage().save(f"dossiers/{dossier.pk}.pdf", ContentFile(FAKE_PDF))
    Dossier.objects.filter(pk=dossier.pk).update(state=Dossier.State.READY, file_name=name)
    dossier.refresh_from_db()
    return dossier


# A viewer cannot render dossiers ----------------------------------------------------------


def test_a_viewer_asking_the_api_for_a_dossier_gets_403_and_nothing_is_queued(world) -> None:
    before = Dossier.objects.count()
    response = world.api("viewer").post_json(f"/api/cases/{world.case.id}/dossiers", DOSSIER)
    assert response.status_code == 403
    with translation.override("en"):
        assert response.json() == {"detail": str(VIEWER_CANNOT_RENDER)}
    assert Dossier.objects.count() == before


def test_the_viewers_refusal_speaks_chinese_when_asked(world) -> None:
    api = world.api("viewer")
    response = api.client.post(
        f"/api/cases/{world.case.id}/dossiers",
        json.dumps(DOSSIER),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-CN",
        **api.headers,
    )
    assert response.status_code == 403
    assert "查看者" in response.json()["detail"]


def test_a_refused_render_is_not_logged_as_an_export(world) -> None:
    world.api("viewer").post_json(f"/api/cases/{world.case.id}/dossiers", DOSSIER)
    assert not AccessLog.objects.filter(user=world.user("viewer"), action="export").exists()


def test_a_reviewer_still_has_dossiers_rendered(world) -> None:
    response = world.api("reviewer").post_json(f"/api/cases/{world.case.id}/dossiers", DOSSIER)
    assert response.status_code == 202
    assert Dossier.objects.filter(requested_by=world.user("reviewer")).count() == 1


def test_the_service_refuses_a_viewer_whatever_the_adapter(world) -> None:
    with pytest.raises(PermissionError):
        dossier_services.request_dossier(case=world.case, user=world.user("viewer"), **DOSSIER)
    with pytest.raises(PermissionError):
        dossier_services.request_dossier(case=world.case, user=world.user("revoked"), **DOSSIER)
    assert not Dossier.objects.exists()


def test_a_viewer_posting_the_export_form_gets_403_with_the_reason(world) -> None:
    browser = world.web("viewer")
    url = reverse("dossier_export", args=[world.case.pk])
    response = csrf_post(browser, url, DOSSIER)
    assert response.status_code == 403
    assert "查看者可以下载本案已有的材料包" in response.content.decode()
    assert not Dossier.objects.exists()


def test_the_viewers_export_page_lists_dossiers_without_the_form(world) -> None:
    dossier = ready_dossier(world)
    html = world.web("viewer").get(reverse("dossier_export", args=[world.case.pk])).content
    page = html.decode()
    assert 'class="dossier-form"' not in page
    assert reverse("dossier_pdf", args=[world.case.pk, dossier.pk]) in page
    owner_page = world.web("owner").get(reverse("dossier_export", args=[world.case.pk]))
    assert 'class="dossier-form"' in owner_page.content.decode()


def test_a_viewer_downloads_a_dossier_already_made(world) -> None:
    dossier = ready_dossier(world)
    api = world.api("viewer").get(f"/api/dossiers/{dossier.pk}/pdf")
    assert api.status_code == 200
    assert b"".join(api.streaming_content) == FAKE_PDF
    page = world.web("viewer").get(reverse("dossier_pdf", args=[world.case.pk, dossier.pk]))
    assert page.status_code == 200
    assert b"".join(page.streaming_content) == FAKE_PDF


@pytest.mark.parametrize("persona", ["revoked", "stranger"])
def test_people_without_a_share_still_get_404_not_403(world, persona: str) -> None:
    response = world.api(persona).post_json(f"/api/cases/{world.case.id}/dossiers", DOSSIER)
    assert response.status_code == 404


# Sharing by username does not say whether the account exists ------------------------------

VOLATILE = {"id", "created_at", "grantee"}


def share_by_api(world: Personas, name: str) -> Any:
    return world.api("owner").post_json(
        f"/api/cases/{world.case.id}/shares", {"user": name, "role": "viewer"}
    )


def without_volatile(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in VOLATILE}


def test_sharing_with_an_existing_and_an_unknown_username_answers_alike(world) -> None:
    UserFactory(username="lawyer_li")
    known = share_by_api(world, "lawyer_li")
    unknown = share_by_api(world, "lawyer_lee")
    assert known.status_code == unknown.status_code == 201
    assert known["Content-Type"] == unknown["Content-Type"]
    assert known.json().keys() == unknown.json().keys()
    assert without_volatile(known.json()) == without_volatile(unknown.json())
    assert known.json()["grantee"] == "lawyer_li" and unknown.json()["grantee"] == "lawyer_lee"
    assert known.json()["status"] == unknown.json()["status"] == "pending"
    assert known.json()["email_sent"] is unknown.json()["email_sent"] is False
    assert mail.outbox == []


def test_an_inactive_account_is_an_unknown_name(world) -> None:
    UserFactory(username="gone", is_active=False)
    UserFactory(username="here")
    gone, here = share_by_api(world, "gone"), share_by_api(world, "here")
    assert gone.status_code == here.status_code == 201
    assert without_volatile(gone.json()) == without_volatile(here.json())
    assert not Share.objects.filter(user__username="gone").exists()


def test_the_owners_share_list_shows_both_names_as_pending(world) -> None:
    UserFactory(username="lawyer_li")
    share_by_api(world, "lawyer_li")
    share_by_api(world, "lawyer_lee")
    listed = world.api("owner").get(f"/api/cases/{world.case.id}/shares").json()
    rows = {row["grantee"]: row for row in listed}
    assert without_volatile(rows["lawyer_li"]) == without_volatile(rows["lawyer_lee"])
    assert rows["lawyer_lee"]["status"] == "pending"
    page = world.web("owner").get(reverse("shares", args=[world.case.pk])).content.decode()
    assert page.count("share-pending") == 2


def test_a_second_share_of_either_name_is_the_same_conflict(world) -> None:
    UserFactory(username="lawyer_li")
    share_by_api(world, "lawyer_li")
    share_by_api(world, "lawyer_lee")
    known, unknown = share_by_api(world, "lawyer_li"), share_by_api(world, "lawyer_lee")
    assert known.status_code == unknown.status_code == 409
    assert known.json() == unknown.json()


def test_both_names_cost_the_same_queries(world) -> None:
    """The same work for both, so that the time taken does not tell them apart either."""
    UserFactory(username="lawyer_li")
    counts = []
    for name in ("lawyer_li", "lawyer_lee"):
        with CaptureQueriesContext(connection) as queries:
            services.share_case(
                case=world.case, by=world.owner, grantee=name, role="viewer", site_url=""
            )
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_web_form_says_the_same_for_both(world) -> None:
    UserFactory(username="lawyer_li")
    browser = world.web("owner")
    url = reverse("shares", args=[world.case.pk])
    said = []
    for name in ("lawyer_li", "lawyer_lee"):
        response = csrf_post(browser, url, {"grantee": name, "role": "viewer"})
        assert response.status_code == 302
        said.append(browser.get(url).content.decode().split('class="messages"')[-1][:400])
    assert "邀请已记录" in said[0]
    assert said[0] == said[1]


def test_a_name_shared_before_its_account_exists_never_reaches_that_account(world) -> None:
    share = share_by_api(world, "future_name").json()
    squatter = User.objects.create_user("future_name", password="x" * 20)
    assert Share.objects.filter(user=squatter).count() == 0
    assert api_as(squatter).get("/api/shares").json() == []
    assert api_as(squatter).get(f"/api/cases/{world.case.id}").status_code == 404
    # The owner can end the invitation that never resolves.
    ended = world.api("owner").delete(f"/api/cases/{world.case.id}/shares/{share['id']}")
    assert ended.status_code == 204


def test_an_email_share_is_unchanged_an_invitation(world) -> None:
    response = share_by_api(world, "lawyer@example.org")
    assert response.status_code == 201 and response.json()["email_sent"] is True
    assert len(mail.outbox) == 1
