"""The page "Who has seen this case" folds a burst of log rows (a timeline fetching a picture
of every file) into one line, while the log and its API keep every row."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from locker import services
from locker.models import AccessLog, Case, Share
from locker.selectors import access_log as access_log_view

from .factories import UserFactory, make_case, share_with
from .personas import api_as
from .ui_helpers import client_for, csrf_post, png_bytes

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 21, 0, 0, tzinfo=timezone.get_fixed_timezone(480))


def row(
    case: Case,
    user: Any,
    at: datetime,
    *,
    action: str = "view_file",
    detail: str = "",
    via: str = "web",
    ip: str | None = "203.0.113.5",
) -> AccessLog:
    return AccessLog.objects.create(
        case=case,
        user=user,
        actor=user.username,
        action=action,
        detail=detail,
        via=via,
        ip=ip,
        at=at,
    )


@pytest.fixture
def setting() -> tuple[Case, Any, Any]:
    owner = UserFactory(username="xiaoli")
    case = make_case(owner, borrower_name="李小姐")
    lawyers = [UserFactory(username=name) for name in ("wang", "zhao")]
    for lawyer in lawyers:
        share_with(case, lawyer, Share.VIEWER)
    return case, owner, lawyers


def shape(groups: list[list[AccessLog]]) -> list[list[int]]:
    return [[r.pk for r in group] for group in groups]


def newest_first(case: Case) -> list[AccessLog]:
    return list(AccessLog.objects.filter(case=case).order_by("-at", "-id"))


# The grouping ---------------------------------------------------------------------------------


def test_a_burst_of_the_same_access_is_one_group(setting) -> None:
    case, _, (wang, _) = setting
    rows = [row(case, wang, T0 + timedelta(seconds=20 * i), detail=f"{i:064x}") for i in range(14)]
    (group,) = access_log_view.bursts(newest_first(case))
    assert [r.pk for r in group] == [r.pk for r in reversed(rows)]


@pytest.mark.parametrize(
    "change",
    [
        {"user": "zhao"},
        {"action": "download"},
        {"via": "api"},
        {"ip": "198.51.100.7"},
        {"ip": None},
    ],
)
def test_a_different_person_action_way_or_address_splits_the_run(setting, change) -> None:
    case, _, (wang, zhao) = setting
    before = [row(case, wang, T0 + timedelta(seconds=i)) for i in range(3)]
    kwargs = {k: v for k, v in change.items() if k != "user"}
    other = row(case, zhao if "user" in change else wang, T0 + timedelta(seconds=3), **kwargs)
    after = [row(case, wang, T0 + timedelta(seconds=4 + i)) for i in range(2)]
    groups = access_log_view.bursts(newest_first(case))
    assert shape(groups) == [
        [r.pk for r in reversed(after)],
        [other.pk],
        [r.pk for r in reversed(before)],
    ]


def test_a_gap_of_more_than_ten_minutes_splits_and_ten_minutes_does_not(setting) -> None:
    case, _, (wang, _) = setting
    first = row(case, wang, T0)
    second = row(case, wang, T0 + timedelta(minutes=10))  # exactly 10 minutes: same visit
    third = row(case, wang, T0 + timedelta(minutes=20, seconds=1))  # 10 min 1 s later: new
    groups = access_log_view.bursts(newest_first(case))
    assert shape(groups) == [[third.pk], [second.pk, first.pk]]


def test_summaries_count_distinct_files_and_pages_and_times_for_the_rest(setting) -> None:
    case, _, (wang, _) = setting
    pictures = [
        row(case, wang, T0 + timedelta(seconds=i), detail=f"{i % 3:064x}") for i in range(5)
    ]
    assert access_log_view.summary("view_file", "x", pictures) == "looked at pictures of 3 files"
    assert access_log_view.summary("download", "x", pictures[:1]) == "downloaded 1 original file"
    assert access_log_view.summary("view", "x", pictures[:2]) == "looked at 2 pages"
    assert access_log_view.summary("export", "exported", pictures) == "exported, 5 times"


# The page -------------------------------------------------------------------------------------


def page(client: Client, case: Case, **params: Any) -> str:
    url = reverse("access_log", args=[case.pk])
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def cards(html: str) -> list[str]:
    return re.findall(r'<li class="card[^"]*">(.*?)</li>\s*(?=<li class="card|</ol>)', html, re.S)


def test_owner_sees_a_timelines_pictures_as_one_line_with_every_item(setting) -> None:
    case, owner, (wang, zhao) = setting
    entry = services.append_entry(
        case=case,
        author=f"user:{owner.pk}",
        kind="message",
        body={"channel": "sms", "sender": "95188", "text": "再不还钱就上门"},
        uploads=[
            services.Upload(name=f"shot{i}.png", stream=io.BytesIO(png_bytes(color=color)))
            for i, color in enumerate(("red", "green", "blue"))
        ],
    ).entry
    lawyer = client_for(wang)
    # What a timeline does: one picture request per file; each is its own log row.
    for evidence in entry.evidence:
        url = reverse("evidence_derived", args=[case.pk, evidence["sha256"], "view"])
        assert lawyer.get(url).status_code == 200
    client_for(zhao).get(reverse("timeline", args=[case.pk]))
    assert AccessLog.objects.filter(case=case, action="view_file").count() == 3

    html = page(client_for(owner), case)
    lines = cards(html)
    assert len(lines) == 2
    assert "zhao" in lines[0] and "the timeline" in lines[0] and "<details>" not in lines[0]
    burst = lines[1]
    assert "wang" in burst and "looked at pictures of 3 files" in burst
    assert "The 3 lines in the log" in burst
    details = burst.split("<details>", 1)[1]
    for i in range(3):
        assert f"shot{i}.png" in details
    assert details.count("<time ") == 3


def test_the_burst_line_shows_the_span_and_every_time(setting) -> None:
    case, owner, (wang, _) = setting
    for i in range(14):
        row(case, wang, T0 + timedelta(seconds=30 * i), detail=f"{i:064x}")
    row(case, wang, T0 - timedelta(hours=1), action="export", detail="bundle")

    html = page(client_for(owner), case)
    burst, single = cards(html)
    assert "looked at pictures of 14 files" in burst
    first, last = (
        T0.astimezone(timezone.get_current_timezone()),
        (T0 + timedelta(seconds=30 * 13)).astimezone(timezone.get_current_timezone()),
    )
    assert f"{first:%Y-%m-%d %H:%M:%S}</time> – " in burst
    assert f">{last:%H:%M:%S}</time> · " in burst
    items = burst.split("<details>", 1)[1]
    assert items.count("<li>") == 14
    assert "exported" in single and "the evidence bundle (ZIP)" in single
    assert "<details>" not in single


def test_the_page_speaks_chinese(setting) -> None:
    case, owner, (wang, _) = setting
    for i in range(4):
        row(case, wang, T0 + timedelta(seconds=i), detail=f"{i:064x}")
    html = (
        client_for(owner)
        .get(reverse("access_log", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
        .content.decode()
    )
    assert "查看了 4 个文件的预览图" in html
    assert "日志中的 4 条记录" in html


def test_raw_rows_are_paginated_then_folded_within_each_page(setting, monkeypatch) -> None:
    case, owner, (wang, zhao) = setting
    monkeypatch.setattr(access_log_view, "PAGE_SIZE", 4)
    # wang looks at six pictures, then zhao at four: newest first, zhao's four fill page 1 and
    # wang's six run over pages 2 and 3.
    for i in range(10):
        row(case, wang if i < 6 else zhao, T0 + timedelta(seconds=i), detail=f"{i:064x}")
    client = client_for(owner)
    on_page: dict[int, list[int]] = {}
    for number in (1, 2, 3):
        html = page(client, case, page=number)
        assert f"{number} / 3" in html
        (line,) = cards(html)
        on_page[number] = [int(h, 16) for h in re.findall(r"\b[0-9a-f]{64}\b", line)]
        assert f"pictures of {len(on_page[number])} files" in line
    assert on_page == {1: [9, 8, 7, 6], 2: [5, 4, 3, 2], 3: [1, 0]}
    # Out of range or garbage page numbers land on a real page, never an error.
    for number in ("99", "x", "-1"):
        assert (
            client.get(reverse("access_log", args=[case.pk]), {"page": number}).status_code == 200
        )


@pytest.mark.parametrize("persona", ["wang", "stranger", "anonymous"])
def test_only_the_owner_reads_the_page(setting, persona) -> None:
    case, _, (wang, _) = setting
    row(case, wang, T0)
    row(case, wang, T0 + timedelta(seconds=5))
    client = {
        "wang": lambda: client_for(wang),
        "stranger": lambda: client_for(UserFactory()),
        "anonymous": lambda: Client(),
    }[persona]()
    response = client.get(reverse("access_log", args=[case.pk]))
    assert response.status_code == (302 if persona == "anonymous" else 404)


def test_the_api_still_hands_out_every_row(setting) -> None:
    case, owner, (wang, _) = setting
    for i in range(6):
        row(case, wang, T0 + timedelta(seconds=i), detail=f"{i:064x}")
    page = api_as(owner).get(f"/api/cases/{case.pk}/access-log").json()
    assert page["count"] == 6 and len(page["items"]) == 6


def test_dossier_accesses_are_named_as_dossiers(setting) -> None:
    from locker.dossier.build import build_dossier
    from locker.models import Dossier
    from locker.services import dossiers as dossier_services

    case, owner, (wang, _) = setting
    # A viewer may not have a dossier made (tests/security/test_roles_and_leaks.py).
    Share.objects.filter(case=case, user=wang).update(role=Share.REVIEWER)
    lawyer = client_for(wang)
    assert lawyer.get(f"/cases/{case.pk}/dossiers/").status_code == 200
    made = csrf_post(lawyer, f"/cases/{case.pk}/dossiers/", {"template": "court", "language": "en"})
    assert made.status_code == 302
    dossier = Dossier.objects.get(case=case)
    claim = dossier_services.claim_dossier(dossier_id=dossier.pk)
    assert claim is not None
    build_dossier(claim)
    assert lawyer.get(made["Location"]).status_code == 200
    assert lawyer.get(f"{made['Location']}pdf").status_code == 200

    logged = list(AccessLog.objects.filter(case=case).order_by("at", "pk"))
    assert [(r.action, r.detail) for r in logged] == [
        ("view", f"GET /cases/{case.pk}/dossiers/"),
        ("export", "dossier"),
        ("view", f"dossier:{dossier.pk}"),
        ("export", f"dossier:{dossier.pk}"),
    ]
    html = page(client_for(owner), case)
    assert "the dossiers page" in html and "a new signed PDF dossier" in html
    assert "the dossier “Court exhibit bundle” requested" in html
    assert "original file" not in html
