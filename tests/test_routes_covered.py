"""Every route of the project is in the persona/permission table (tests/routes.py), so a new
route cannot go untested; and each route answers each persona as the table says."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import get_resolver, path

from .personas import PERSONAS, Personas
from .routes import ROUTES, Route, walk_routes
from .ui_helpers import body_of, csrf_post

TABLE = {route.key: route for route in ROUTES}


def uncovered(patterns: list) -> list[str]:
    return sorted({r.key for r in walk_routes(patterns)} - TABLE.keys())


def test_every_route_is_in_the_persona_table() -> None:
    assert uncovered(get_resolver().url_patterns) == []


def test_the_table_names_no_route_that_is_gone() -> None:
    walked = {r.key for r in walk_routes(get_resolver().url_patterns)}
    assert sorted(TABLE.keys() - walked) == []


def test_a_new_route_without_an_entry_is_caught() -> None:
    """The walker sees a route added anywhere, and the check above would fail on it."""
    new = path("cases/<uuid:case_id>/brand-new/", lambda request: None, name="brand_new")
    assert uncovered([*get_resolver().url_patterns, new]) == ["brand_new"]


def request_as(world: Personas, route: Route, persona: str):
    url = route.url(world)
    if route.api:
        return world.api(persona).call(route.method, url, route.data)
    client = world.web(persona)
    if route.method == "POST":
        return csrf_post(client, url, route.data)
    return client.get(url)


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=[route.key for route in ROUTES])
def test_each_route_answers_each_persona_as_the_table_says(route: Route) -> None:
    """A GET changes nothing another persona would see, so one world serves all seven; for a
    route that changes something each persona meets a world of its own, rolled back after it.
    (One test per route, not per persona: the whole table stays fast.)"""
    shared = Personas() if route.method == "GET" else None
    statuses = {}
    for persona in PERSONAS:
        with transaction.atomic():
            response = request_as(shared or Personas(), route, persona)
            body_of(response)
            statuses[persona] = response.status_code
            transaction.set_rollback(shared is None)
    assert statuses == route.answers
