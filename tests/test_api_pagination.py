"""limit and offset on the API's paged lists: any integer gives a clean answer, never a 500
(ninja passed them straight to SQL, and 10**30 overflowed SQLite's and PostgreSQL's integers)."""

from __future__ import annotations

import pytest

from locker import services
from locker.api import pagination as api_pagination
from locker.models import AccessLog, Case

from .personas import ApiClient, Personas

pytestmark = pytest.mark.django_db

HUGE = (10**30, 2**63 - 1, 2**63, 2**64, "9" * 4000)


@pytest.fixture
def world(world: Personas) -> tuple[Case, ApiClient]:
    """The shared case with four notes and three logged looks by the viewer: (case, the
    owner's API client)."""
    case = world.case
    for n in range(4):
        services.append_entry(case=case, author="user:1", kind="note", body={"text": f"n{n}"})
    for n in range(3):
        services.record_access(
            case=case, user=world.user("viewer"), action="view", detail=f"page {n}"
        )
    return case, world.api("owner")


def paths(case) -> dict[str, int]:
    """Each paged list and how many items it holds."""
    return {
        f"/api/cases/{case.id}/entries": 5,
        f"/api/cases/{case.id}/access-log": AccessLog.objects.filter(case=case).count(),
    }


@pytest.mark.parametrize("offset", HUGE)
def test_an_offset_past_the_end_is_an_empty_page_with_the_true_count(world, offset) -> None:
    case, owner = world
    for path, count in paths(case).items():
        response = owner.get(path, data={"offset": offset})
        assert response.status_code == 200, (path, response.content[:200])
        assert response.json() == {"items": [], "count": count}


@pytest.mark.parametrize("limit", HUGE)
def test_a_huge_limit_is_capped(world, limit, monkeypatch) -> None:
    case, owner = world
    monkeypatch.setattr(api_pagination, "MAX_LIMIT", 2)
    for path, count in paths(case).items():
        page = owner.get(path, data={"limit": limit, "offset": 1}).json()
        assert page["count"] == count and len(page["items"]) == 2, path
        last = owner.get(path, data={"limit": limit, "offset": count - 1}).json()
        assert len(last["items"]) == 1, path


def test_the_last_page_and_just_past_it(world) -> None:
    case, owner = world
    url = f"/api/cases/{case.id}/entries"
    assert [
        line["entry"]["seq"] for line in owner.get(url, data={"offset": 4}).json()["items"]
    ] == [5]
    assert owner.get(url, data={"offset": 5}).json() == {"items": [], "count": 5}


@pytest.mark.parametrize(
    "query",
    [
        {"offset": -1},
        {"offset": -(10**30)},
        {"limit": -1},
        {"limit": 0},
        {"limit": -(10**30)},
        {"offset": "abc"},
        {"offset": "1e30"},
        {"limit": "1.5"},
        {"offset": ""},
    ],
)
def test_negative_or_non_integer_numbers_are_422(world, query) -> None:
    case, owner = world
    for path in paths(case):
        response = owner.get(path, data=query)
        assert response.status_code == 422, (path, query, response.status_code)
        assert "detail" in response.json()


def test_a_number_too_long_to_read_is_422(world) -> None:
    case, owner = world
    for path in paths(case):
        for name in ("offset", "limit"):
            response = owner.get(path, data={name: "9" * 5000})
            assert response.status_code == 422, (path, name, response.status_code)
