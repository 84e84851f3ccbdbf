"""The people a case's pages and API routes answer, built once for every test module.

One case, owned by "client", and seven personas around it:

- owner: the account that made the case;
- viewer, reviewer: lawyers whose share (of that role) the owner made and they accepted;
- revoked: a lawyer whose accepted reviewer share the owner has since ended;
- stranger: another signed-in account, with no share;
- anonymous: nobody signed in;
- contact: nobody signed in, but holding an open contact-statement link of the case (their
  browser has opened the link, so its session carries the link as the statement page expects).

Shares and links are made through the real services, as a person would make them. Each
persona (its account, share or link) is made the first time a test asks for it, so a test
that never meets the lawyers has no shares on its case; `everyone()` makes them all at once,
in a fixed order, for modules whose tests count on all of them being there. The case's one
piece of evidence with a file (`screenshot`, `sha`) is made the same way.
"""

from __future__ import annotations

import io
import json
from typing import Any

from django.test import Client
from django.urls import reverse

from locker import services
from locker.models import Case, ContactLink, Entry, Share

from .factories import UserFactory, make_case, run_worker_on_derived, share_with
from .ui_helpers import client_for, png_bytes

PERSONAS = ("owner", "viewer", "reviewer", "revoked", "stranger", "anonymous", "contact")
# The personas that tests written before the contact-link holder joined go through.
WITHOUT_CONTACT = PERSONAS[:-1]
LAWYER_ROLES = {"viewer": Share.VIEWER, "reviewer": Share.REVIEWER, "revoked": Share.REVIEWER}
SIGNED_OUT = ("anonymous", "contact")
SCREENSHOT_MESSAGE = {"channel": "sms", "text": "再不还钱就爆你通讯录"}
CASE_FACTS = {"title": "网贷催收", "lender": "闪电借款", "borrower_name": "李小姐"}


class ApiClient:
    """A client of the JSON API with a bearer token, or none (signed out)."""

    def __init__(self, raw_token: str | None) -> None:
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_token}"} if raw_token else {}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **self.headers, **kw)

    def post_json(self, path: str, data: Any, raw: bytes | None = None) -> Any:
        body = raw if raw is not None else json.dumps(data, ensure_ascii=False).encode()
        return self.client.post(path, body, content_type="application/json", **self.headers)

    def post_multipart(self, path: str, data: dict[str, Any]) -> Any:
        return self.client.post(path, data, **self.headers)

    def patch_json(self, path: str, data: Any) -> Any:
        return self.client.patch(
            path, json.dumps(data), content_type="application/json", **self.headers
        )

    def put_json(self, path: str, data: Any) -> Any:
        return self.client.put(
            path, json.dumps(data), content_type="application/json", **self.headers
        )

    def delete(self, path: str) -> Any:
        return self.client.delete(path, **self.headers)

    def call(self, method: str, path: str, data: Any = None) -> Any:
        if method == "GET":
            return self.get(path)
        if method == "DELETE":
            return self.delete(path)
        if method == "PUT":
            return self.put_json(path, data)
        if method == "PATCH":
            return self.patch_json(path, data)
        return self.post_json(path, data)


def api_as(user: Any) -> ApiClient:
    """An API client with a new token of `user`'s, or without one if `user` is None."""
    if user is None:
        return ApiClient(None)
    return ApiClient(services.issue_token(user=user, name="test")[1])


class Personas:
    """One case and the people around it; see the module's docstring."""

    def __init__(self, owner_username: str = "client", **case_facts: Any) -> None:
        self.owner = UserFactory(username=owner_username)
        self.case: Case = make_case(self.owner, **{**CASE_FACTS, **case_facts})
        self._accounts: dict[str, Any] = {"owner": self.owner}
        self._shares: dict[str, Share] = {}
        self._contact: tuple[ContactLink, str] | None = None
        self._screenshot: Entry | None = None
        self._web: dict[str, Client] = {}
        self._api: dict[str, ApiClient] = {}

    def everyone(self) -> Personas:
        """Make every persona now, lawyers in the order viewer, reviewer, revoked."""
        for persona in PERSONAS:
            self.user(persona)
        self.contact_link  # noqa: B018 - made for its side effect
        return self

    def user(self, persona: str) -> Any:
        """The persona's account; None for the two who are not signed in."""
        assert persona in PERSONAS, persona
        if persona in SIGNED_OUT:
            return None
        if persona not in self._accounts:
            account = UserFactory(username=persona)
            self._accounts[persona] = account
            if persona in LAWYER_ROLES:
                share = share_with(self.case, account, LAWYER_ROLES[persona])
                if persona == "revoked":
                    services.end_share(share=share, by=self.owner)
                self._shares[persona] = share
        return self._accounts[persona]

    def share(self, persona: str) -> Share:
        """The share a lawyer persona was given (ended, for "revoked")."""
        self.user(persona)
        return self._shares[persona]

    @property
    def screenshot(self) -> Entry:
        """An SMS the owner logged with a screenshot of it: the case's one piece of evidence
        with a file, appended to the chain the first time a test asks for it."""
        return self._screenshot or self.add_screenshot()

    def add_screenshot(self, **body: Any) -> Entry:
        """Append the screenshot now (once), its message's body with `body`'s fields added."""
        assert self._screenshot is None, "the case has its screenshot already"
        self._screenshot = services.append_entry(
            case=self.case,
            author=f"user:{self.owner.pk}",
            kind="message",
            body={**SCREENSHOT_MESSAGE, **body},
            uploads=[services.Upload(name="shot.png", stream=io.BytesIO(png_bytes()))],
        ).entry
        # Its pictures, as the worker makes them once the append has committed.
        run_worker_on_derived(self.case)
        return self._screenshot

    @property
    def sha(self) -> str:
        """The SHA-256 of the screenshot's picture, as its file routes take it."""
        return str(self.screenshot.evidence[0]["sha256"])

    @property
    def contact_link(self) -> ContactLink:
        return self._open_contact_link()[0]

    @property
    def contact_token(self) -> str:
        """The raw token of the contact link: what the contact's link carries."""
        return self._open_contact_link()[1]

    def _open_contact_link(self) -> tuple[ContactLink, str]:
        if self._contact is None:
            self._contact = services.create_contact_link(case=self.case, user=self.owner)
        return self._contact

    def web(self, persona: str) -> Client:
        """The persona's browser: checks CSRF like a real one; the same one on every call."""
        if persona not in self._web:
            if persona == "contact":
                browser = Client(enforce_csrf_checks=True)
                opened = browser.get(reverse("statement_open", args=[self.contact_token]))
                assert opened.status_code == 302, "the contact link did not open"
            else:
                browser = client_for(self.user(persona))
            self._web[persona] = browser
        return self._web[persona]

    def api(self, persona: str) -> ApiClient:
        """The persona's API client (a bearer token of their own); the same one on every call.
        The contact holds no account, so, like anonymous, they send no token."""
        if persona not in self._api:
            self._api[persona] = api_as(self.user(persona))
        return self._api[persona]
