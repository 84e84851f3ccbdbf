"""The timeline by keyset (issue 14): newer/older links carry a cursor (a row's time and seq),
filters stay on, no page is counted, rows of the same time are neither lost nor repeated
across pages, and a link edited by hand is refused with 400, never a 500."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from locker.web.views.timeline import PAGE_SIZE

from .factories import add_entry
from .personas import Personas

pytestmark = pytest.mark.django_db

SAME_TIME = "2026-02-01T21:30:00+08:00"


def seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'class="seq">#(\d+)<', html)]


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.fixture
def long_case(world: Personas) -> Personas:
    """The shared case (entry 1, its opening case_update) and 70 more: calls 2..41 all at one
    claimed time (ties across the page boundary), then notes 42..71 a day apart."""
    for n in range(40):
        add_entry(world.case, "call", {"number": f"138{n:08d}"}, occurred_at=SAME_TIME)
    for day in range(30):
        add_entry(
            world.case,
            "note",
            {"text": f"记 {day}"},
            occurred_at=f"2026-01-{day + 1:02d}T10:00:00Z",
        )
    return world


def walk(client, url: str) -> list[list[int]]:
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        pages.append(seqs(html))
        older = link(html, "next")
        url = reverse("timeline", args=[client.case_pk]) + older if older else None
    return pages


@pytest.mark.parametrize("persona", ["owner", "viewer", "reviewer"])
def test_older_links_walk_every_row_once_in_order(long_case: Personas, persona: str) -> None:
    client = long_case.web(persona)
    client.case_pk = long_case.case.pk
    pages = walk(client, reverse("timeline", args=[long_case.case.pk]))
    rows = [seq for page in pages for seq in page]
    # The opening entry has no claimed time: it sits at its recorded time (now), newest.
    expected = [1, *range(41, 1, -1), *range(71, 41, -1)]
    assert rows == expected
    assert [len(page) for page in pages] == [PAGE_SIZE, PAGE_SIZE, 11]


def test_newer_link_gives_back_the_page_before(long_case: Personas) -> None:
    client = long_case.web("owner")
    url = reverse("timeline", args=[long_case.case.pk])
    first = client.get(url).content.decode()
    assert link(first, "prev") is None
    second = client.get(url + link(first, "next")).content.decode()
    third = client.get(url + link(second, "next")).content.decode()
    assert link(third, "next") is None
    back = client.get(url + link(third, "prev")).content.decode()
    assert seqs(back) == seqs(second)
    again = client.get(url + link(back, "prev")).content.decode()
    assert seqs(again) == seqs(first) and link(again, "prev") is None


def test_filters_stay_on_across_pages(long_case: Personas) -> None:
    client = long_case.web("owner")
    url = reverse("timeline", args=[long_case.case.pk])
    first = client.get(url + "?kind=call").content.decode()
    older = link(first, "next")
    assert older is not None and "kind=call" in older
    second = client.get(url + older).content.decode()
    assert seqs(first) + seqs(second) == list(range(41, 1, -1))
    assert link(second, "next") is None
    dated = client.get(url + "?start=2026-01-01&end=2026-01-31").content.decode()
    assert seqs(dated) == list(range(71, 41, -1)) and link(dated, "next") is None


def test_no_page_counts_the_rows(long_case: Personas) -> None:
    client = long_case.web("owner")
    url = reverse("timeline", args=[long_case.case.pk])
    first = client.get(url).content.decode()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url + link(first, "next"))
    assert response.status_code == 200
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


@pytest.mark.parametrize(
    "query",
    [
        "?older=nonsense",
        "?newer=2026-02-01T13:30:00.000000Z~",
        "?older=2026-02-31T13:30:00.000000Z~5",
        "?older=2026-02-01T13:30:00Z~5",
        "?older=2026-02-01T13:30:00.000000Z~-5",
        "?newer=2026-02-01T13:30:00.000000Z~99999999999999999999",
        "?older=%00~1",
    ],
)
def test_a_cursor_edited_by_hand_is_refused_not_a_server_error(
    long_case: Personas, query: str
) -> None:
    response = long_case.web("owner").get(reverse("timeline", args=[long_case.case.pk]) + query)
    assert response.status_code == 400


def test_an_old_page_number_link_gives_the_first_page(long_case: Personas) -> None:
    url = reverse("timeline", args=[long_case.case.pk])
    html = long_case.web("owner").get(url + "?page=2").content.decode()
    assert seqs(html)[:2] == [1, 41]


@pytest.mark.parametrize("persona", ["stranger", "revoked"])
def test_a_cursor_does_not_open_the_timeline_to_others(long_case: Personas, persona: str) -> None:
    url = reverse("timeline", args=[long_case.case.pk])
    first = long_case.web("owner").get(url).content.decode()
    assert long_case.web(persona).get(url + link(first, "next")).status_code == 404
