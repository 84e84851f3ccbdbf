"""Every URL route of the project and what it answers each persona (tests/personas.py).

`ROUTES` is the persona/permission table: test_routes_covered.py checks that every route the
project's URLconf has (walked by `walk_routes`) is in it, and requests each route as each
persona, asserting the table's status. A web route is named by its URL name; an API route
by its method and path, since one API path takes several methods."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, reverse
from ninja.operation import PathView

from locker import services
from locker.models import Dossier
from locker.services import data_exports as export_services
from locker.services import dossiers as dossier_services
from locker.services import sessions as session_services

from .personas import PERSONAS, Personas

# Routes no persona test goes through, on purpose:
EXCLUDED_PREFIXES = (
    "admin/",  # Django's admin: staff only, Django's own permission checks, tested by Django
)
EXCLUDED_KEYS = {
    "api:openapi-json",  # ninja's generated schema and docs, the same for everyone;
    "api:openapi-view",  # test_sharing_api reads the schema
    "api:api-root",  # ninja's bare /api/ root, which ninja answers itself
}


@dataclass(frozen=True)
class WalkedRoute:
    key: str
    path: str


def _api_methods(pattern: URLPattern) -> list[str]:
    """The HTTP method of the ninja operation behind this pattern. ninja makes one pattern per
    operation, all of one path sharing a view over the path's operations (a PathView)."""
    cells = [cell.cell_contents for cell in getattr(pattern.callback, "__closure__", None) or ()]
    views = [cell for cell in cells if isinstance(cell, PathView)]
    if not views:
        return []
    for operation in views[0].operations:
        if (getattr(operation, "url_name", None) or operation.view_func.__name__) == pattern.name:
            return list(operation.methods)
    raise AssertionError(f"no ninja operation named {pattern.name} at {pattern.pattern}")


def walk_routes(
    patterns: Sequence[Any], prefix: str = "", namespace: str = ""
) -> Iterator[WalkedRoute]:
    """Each route under `patterns`, resolvers followed recursively, exclusions left out."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = (
                f"{namespace}:{entry.namespace}"
                if namespace and entry.namespace
                else (entry.namespace or namespace)
            )
            yield from walk_routes(entry.url_patterns, prefix + str(entry.pattern), inner)
            continue
        path = prefix + str(entry.pattern)
        if path.startswith(EXCLUDED_PREFIXES):
            continue
        name = f"{namespace}:{entry.name}" if namespace else str(entry.name)
        if name in EXCLUDED_KEYS:
            continue
        methods = _api_methods(entry) if namespace == "api" else []
        if methods:
            for method in methods:
                yield WalkedRoute(f"{method} /{path}", path)
        else:
            yield WalkedRoute(name, path)


# What each persona gets -----------------------------------------------------------------


def answers(
    owner: int,
    viewer: int,
    reviewer: int,
    revoked: int,
    stranger: int,
    anonymous: int,
    contact: int | None = None,
) -> dict[str, int]:
    statuses = [owner, viewer, reviewer, revoked, stranger, anonymous, contact or anonymous]
    return dict(zip(PERSONAS, statuses, strict=True))


def readers(ok: int = 200, out: int = 302) -> dict[str, int]:
    """The owner and both lawyers with a live share; nobody else (404: no such case)."""
    return answers(ok, ok, ok, 404, 404, out)


def owner_only(ok: int = 200, out: int = 302) -> dict[str, int]:
    return answers(ok, 404, 404, 404, 404, out)


def reviewer_only(ok: int = 200, out: int = 302) -> dict[str, int]:
    return answers(404, 404, ok, 404, 404, out)


def accounts(ok: int = 200, out: int = 302) -> dict[str, int]:
    """Anyone signed in; the two signed-out personas are sent to log in (or 401 on the API)."""
    return answers(ok, ok, ok, ok, ok, out)


def everyone(ok: int = 200) -> dict[str, int]:
    return answers(ok, ok, ok, ok, ok, ok)


@dataclass(frozen=True)
class Route:
    key: str
    url: Callable[[Personas], str]
    answers: dict[str, int]
    method: str = "GET"
    data: Any = None
    api: bool = False


def web(
    name: str,
    args: Callable[[Personas], list[Any]],
    expected: dict[str, int],
    method: str = "GET",
    data: Any = None,
) -> Route:
    return Route(name, lambda w: reverse(name, args=args(w)), expected, method, data or {})


def dossier_of(world: Personas) -> Dossier:
    """A dossier the owner asked for (queued: nobody renders it here)."""
    return dossier_services.request_dossier(
        case=world.case, user=world.owner, template="cn_regulator", language="zh-hans"
    )


def owner_device(world: Personas) -> str:
    """A capture device of the owner's case (a new one each time), by its public id."""
    return services.create_device(case=world.case, user=world.owner, name="phone")[0].public_id


def owner_export(world: Personas) -> Any:
    """A download of all the owner's data (queued: nobody builds it here)."""
    return export_services.request_data_export(user=world.owner).pk


# How an API path's parameters are filled in, from the world.
API_PARAMETERS: dict[str, Callable[[Personas], Any]] = {
    "case_id": lambda w: w.case.id,
    "share_id": lambda w: w.share("viewer").pk,
    "token_id": lambda w: services.issue_token(user=w.owner, name="spare")[0].pk,
    "dossier_id": lambda w: dossier_of(w).pk,
    "export_id": owner_export,
    "seq": lambda w: w.screenshot.seq,
    "device_id": lambda w: owner_device(w),
}


def _api_url(template: str, world: Personas) -> str:
    url = template
    for name, value in API_PARAMETERS.items():
        if f"<{name}>" in url:
            url = url.replace(f"<{name}>", str(value(world)))
    return url


def api(key: str, expected: dict[str, int], data: Any = None) -> Route:
    method, template = key.split(" ", 1)
    return Route(key, lambda w: _api_url(template, w), expected, method, data, api=True)


def case(w: Personas) -> list[Any]:
    return [w.case.pk]


def entry(w: Personas) -> list[Any]:
    return [w.case.pk, w.screenshot.seq]


def owner_other_session(w: Personas) -> list[Any]:
    """Another browser session of the owner's, which only the owner may end."""
    row = session_services.record_session(
        user=w.owner, session_key="o" * 32, user_agent="another phone", address="192.0.2.1"
    )
    return [row.pk]


def owner_token(w: Personas) -> list[Any]:
    return [services.issue_token(user=w.owner)[0].pk]


def viewer_share(w: Personas) -> list[Any]:
    return [w.share("viewer").pk]


def nothing(w: Personas) -> list[Any]:
    return []


A = 401  # the API's answer to the two signed-out personas

ROUTES: list[Route] = [
    # public pages
    # a signed-in person is sent on from the front door, the sign-up and the log-in pages
    web("home", nothing, answers(302, 302, 302, 302, 302, 200)),
    web("manifest", nothing, everyone()),
    # offline drafts: the worker script for everyone; the empty log forms it keeps (nothing of
    # any case in them) and a fresh token for sending drafts, for anyone signed in
    web("service_worker", nothing, everyone()),
    web("offline_shell_log", nothing, accounts()),
    web("offline_shell_form", lambda w: ["note"], accounts()),
    web("offline_token", nothing, accounts()),
    # Share into the locker: the page a share lands on (signed out: asks to log in, 200). A
    # POST (the share sheet's, without the worker) is answered 200 by everyone and changes
    # nothing: tests/test_share_target.py.
    web("share", nothing, everyone()),
    # Everyone leaves; a POST from our page also locks a signed-in session, a GET never does.
    web("quick_exit", nothing, everyone(302), "POST"),
    web("set_language", nothing, everyone(302), "POST", {"language": "en"}),
    web("signup", nothing, answers(302, 302, 302, 302, 302, 200)),
    web("login", nothing, answers(302, 302, 302, 302, 302, 200)),
    web("password_reset", nothing, everyone()),
    web("password_reset_done", nothing, everyone()),
    web("password_reset_confirm", lambda w: ["MQ", "bad-token"], everyone()),
    web("password_reset_complete", nothing, everyone()),
    web("verify", nothing, everyone()),
    web("keys", nothing, everyone()),
    web("healthz", nothing, everyone()),
    web("readyz", nothing, everyone()),
    web("unlock", nothing, everyone(302)),
    # the lock a page asks for when seen again after being hidden too long: one's own session
    web("screen_lock", nothing, accounts(204), "POST"),
    # a token in an address is swapped for the session, then the clean page says if it works
    web("invitation", nothing, everyone(410)),
    web("invitation_open", lambda w: ["x" * 43], everyone(302)),
    web("email_confirm_open", lambda w: ["x" * 43], everyone(302)),
    # the contact's statement pages: only the link holder's session opens them
    web("statement", nothing, answers(410, 410, 410, 410, 410, 410, contact=200)),
    web("statement_done", nothing, everyone()),
    web("statement_open", lambda w: [w.contact_token], everyone(302)),
    # account pages
    web("preferences", nothing, accounts()),
    web("look_change", nothing, accounts(302), "POST", {"look": "weather"}),
    web("security_events", nothing, accounts()),  # always the requester's own log
    web("complainant_details", nothing, accounts()),  # always the requester's own details
    # your sessions and tokens: each person ends only their own
    web("sessions", nothing, accounts()),
    web("session_end", owner_other_session, answers(302, 404, 404, 404, 404, 302), "POST"),
    web("token_revoke", owner_token, answers(302, 404, 404, 404, 404, 302), "POST"),
    web("log_out_everywhere", nothing, accounts(302), "POST"),
    # Behind "confirm it's you": the personas have just signed in, which counts as confirming
    # (tests/security/test_reauth.py sends them to the step once that has expired).
    web("two_factor", nothing, accounts()),
    # your data: the download of all of it is only ever your own (not built yet here: the
    # owner is sent from the file to its progress page), and deleting your account
    web("data_export", nothing, accounts()),
    web("data_export_detail", lambda w: [owner_export(w)], answers(200, 404, 404, 404, 404, 302)),
    web("data_export_status", lambda w: [owner_export(w)], answers(200, 404, 404, 404, 404, 302)),
    web("data_export_download", lambda w: [owner_export(w)],
        answers(302, 404, 404, 404, 404, 302)),
    web("account_delete", nothing, accounts()),  # the page that says what happens; POST deletes
    web("account_deleted", nothing, everyone()),
    # a new passkey's options (a challenge kept in the session) for whoever is signed in
    web("passkey_register_options", nothing, accounts(), "POST"),
    web("reauth", nothing, accounts()),
    # the signed-in person's own passkeys for "confirm it's you" (a challenge in the session)
    web("passkey_reauth_options", nothing, accounts(), "POST"),
    # the code step after the password: nobody is owed one here, so all are sent on
    web("login_second_factor", nothing, everyone(302)),
    # and nobody here gave a password in this session, so no passkey options for anyone
    web("passkey_login_options", nothing, everyone(403), "POST"),
    web("email_change", nothing, accounts(302), "POST", {"email": "new@example.org"}),
    web("email_confirm", nothing, accounts(400)),  # no pending change in the session
    web("logout", nothing, everyone(302), "POST"),
    web("password_change", nothing, accounts()),
    web("password_change_done", nothing, accounts()),
    web("case_list", nothing, accounts()),
    web("case_create", nothing, accounts()),
    web("shared", nothing, accounts()),
    web("professional_profile", nothing, accounts()),
    # the grantee's side of a share: only the person it is addressed to
    web("share_accept", viewer_share, answers(404, 302, 404, 404, 404, 302), "POST"),
    web("share_leave", viewer_share, answers(404, 302, 404, 404, 404, 302), "POST"),
    # a case's pages: readable by its lawyers, written by its owner alone
    web("case_detail", case, readers()),
    web("case_edit", case, owner_only()),
    web("case_check", case, readers(302), "POST"),  # checking the chain is a read
    web("case_delete", case, owner_only()),  # the page that says what happens; POST deletes
    web("quick_log", case, owner_only()),
    web("log_entry", lambda w: [w.case.pk, "note"], owner_only()),
    web("timeline", case, readers()),
    # the conduct analysis and loan-cost audit: read as the case page; confirming a
    # suggested tag and recording a payment append entries, the owner's alone
    web("case_analysis", case, readers()),
    web("analysis_confirm", case, owner_only(302), "POST",
        {"seq": "1", "tags": ["threat"]}),
    web("analysis_payment", case, owner_only(302), "POST",
        {"amount_minor": "100", "day": "2026-01-02", "what": "fee", "status": "paid"}),
    web("entry_detail", entry, readers()),
    web("receipt", entry, readers()),
    web("receipt_json", entry, readers()),
    web("kept_receipts", case, readers()),
    web("correct_entry", entry, owner_only()),
    # adding the text read from a message's picture (a POST; a GET goes back to the entry)
    web("entry_use_text", entry, owner_only(302)),
    # erasing a record's content: the confirmation page, then a POST that erases (once)
    web("erase_entry", entry, owner_only()),
    web("evidence_original", lambda w: [w.case.pk, w.sha], readers()),
    web("evidence_derived", lambda w: [w.case.pk, w.sha, "thumb"], readers()),
    # the world's file is a picture: there is no playable copy of it for anyone
    web("evidence_playable", lambda w: [w.case.pk, w.sha], readers(404)),
    web("links", case, owner_only()),
    web("link_detail", lambda w: [w.case.pk, w.contact_link.pk], owner_only()),
    web("link_revoke", lambda w: [w.case.pk, w.contact_link.pk], owner_only(302), "POST"),
    # capture devices: the owner's alone
    web("devices", case, owner_only()),
    web("device_detail", lambda w: [w.case.pk, owner_device(w)], owner_only()),
    web("device_pause", lambda w: [w.case.pk, owner_device(w)], owner_only(302), "POST",
        {"paused": "1"}),
    web("device_revoke", lambda w: [w.case.pk, owner_device(w)], owner_only(302), "POST"),
    web("review", case, readers()),
    web("annotation_add", case, reviewer_only(302), "POST", {"text": "要点"}),
    web("annotation_export", lambda w: [w.case.pk, "csv"], reviewer_only()),
    web("export_zip", case, readers()),
    web("shares", case, owner_only()),
    web("share_end", lambda w: [w.case.pk, w.share("viewer").pk], owner_only(302), "POST"),
    web("access_log", case, owner_only()),
    web("dossier_export", case, readers()),
    # the complainant's details of a case: its owner's alone, lawyers included out
    web("case_complaint", case, owner_only()),
    web("authorisation_upload", case, owner_only(400), "POST"),  # no file sent
    web("authorisation_remove", case, owner_only(302), "POST"),
    web("authorisation_file", case, owner_only(404)),  # none uploaded (test_dossier_complainant)
    web("dossier_detail", lambda w: [w.case.pk, dossier_of(w).pk], readers()),
    web("dossier_status", lambda w: [w.case.pk, dossier_of(w).pk], readers()),
    # not rendered yet: the readers are sent to the dossier's page
    web("dossier_pdf", lambda w: [w.case.pk, dossier_of(w).pk], readers(302)),
    web("dossier_pack", lambda w: [w.case.pk, dossier_of(w).pk], readers(302)),
    # the API: a bearer token or 401
    api("POST /api/tokens", everyone(422), {}),
    api("GET /api/tokens", accounts(200, A)),
    api("GET /api/account/security-events", accounts(200, A)),
    api("POST /api/account/data-exports", accounts(202, A), {}),
    api("GET /api/account/data-exports/<export_id>", answers(200, 404, 404, 404, 404, A)),
    api("GET /api/account/data-exports/<export_id>/zip", answers(409, 404, 404, 404, 404, A)),
    api("DELETE /api/tokens/<token_id>", answers(204, 404, 404, 404, 404, A)),
    api("POST /api/cases", accounts(422, A), {}),
    api("GET /api/cases", accounts(200, A)),
    api("GET /api/cases/<case_id>", readers(200, A)),
    api("PATCH /api/cases/<case_id>", owner_only(200, A), {"lender": "改掉"}),
    api("POST /api/cases/<case_id>/entries", owner_only(201, A),
        {"kind": "note", "body": {"text": "又打来了"}}),
    api("GET /api/cases/<case_id>/entries", readers(200, A)),
    api("POST /api/cases/<case_id>/entries/<seq>/erase", owner_only(200, A), {}),
    api("GET /api/cases/<case_id>/verify", readers(200, A)),
    api("GET /api/cases/<case_id>/export", readers(200, A)),
    api("POST /api/cases/<case_id>/shares", owner_only(201, A),
        {"user": "someone@example.org", "role": "viewer"}),
    api("GET /api/cases/<case_id>/shares", owner_only(200, A)),
    api("DELETE /api/cases/<case_id>/shares/<share_id>", owner_only(204, A)),
    api("GET /api/cases/<case_id>/access-log", owner_only(200, A)),
    api("POST /api/cases/<case_id>/devices", owner_only(201, A), {"name": "手机"}),
    api("GET /api/cases/<case_id>/devices", owner_only(200, A)),
    api("PATCH /api/cases/<case_id>/devices/<device_id>", owner_only(200, A), {"paused": True}),
    api("DELETE /api/cases/<case_id>/devices/<device_id>", owner_only(204, A)),
    # what a phone posts: no token, the device's secret; without it everyone gets 401
    api("POST /api/capture/<device_id>", everyone(401), {"from": "95555", "text": "x"}),
    api("GET /api/shared-cases", accounts(200, A)),
    api("GET /api/shares", accounts(200, A)),
    api("POST /api/shares/<share_id>/accept", answers(404, 200, 404, 404, 404, A), {}),
    api("DELETE /api/shares/<share_id>", answers(404, 204, 404, 404, 404, A)),
    api("POST /api/invitations/accept", accounts(422, A), {"token": "x" * 43}),
    api("GET /api/profile", accounts(404, A)),
    api("PUT /api/profile", accounts(200, A), {"name": "王律师"}),
    api("GET /api/complainant", accounts(200, A)),
    api("PUT /api/complainant", accounts(200, A), {"legal_name": "李四"}),
    api("GET /api/cases/<case_id>/complaint", owner_only(200, A)),
    api("PUT /api/cases/<case_id>/complaint", owner_only(200, A),
        {"receiving_numbers": ["13800138000"]}),
    api("POST /api/cases/<case_id>/complaint/authorisation", owner_only(422, A), {}),
    api("DELETE /api/cases/<case_id>/complaint/authorisation", owner_only(204, A)),
    api("GET /api/cases/<case_id>/annotations", reviewer_only(200, A)),
    api("POST /api/cases/<case_id>/annotations", reviewer_only(201, A), {"text": "要点"}),
    api("GET /api/cases/<case_id>/annotations/export", reviewer_only(200, A)),
    api("GET /api/cases/<case_id>/receipts", readers(200, A)),
    api("POST /api/cases/<case_id>/receipts", owner_only(422, A), {}),
    # a viewer downloads dossiers but may not have one rendered (403: says why)
    api("POST /api/cases/<case_id>/dossiers", answers(202, 403, 202, 404, 404, A),
        {"template": "cn_regulator", "language": "zh-hans"}),
    api("GET /api/cases/<case_id>/dossiers", readers(200, A)),
    api("GET /api/dossiers/<dossier_id>", readers(200, A)),
    api("GET /api/dossiers/<dossier_id>/pdf", readers(409, A)),
    api("GET /api/dossiers/<dossier_id>/pack", readers(409, A)),
    api("POST /api/verify", everyone(422), {}),
    api("GET /api/keys", everyone()),
]  # fmt: skip
