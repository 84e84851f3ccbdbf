"""Helpers for the browser-page tests: CSRF-checked posts, small images (the personas are in
personas.py)."""

from __future__ import annotations

import io
import re
from typing import Any

from django.test import Client
from PIL import Image

from .factories import PASSWORD


def client_for(user: Any = None) -> Client:
    """A client that enforces CSRF like a browser; logged in as `user` if given."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        assert client.login(username=user.username, password=PASSWORD)
    return client


def csrf_post(client: Client, url: str, data: dict[str, Any], **extra: Any) -> Any:
    """Post the way a page does: the CSRF token read from a page's form, not made up."""
    token = client.cookies.get("csrftoken")
    if token is None:
        # Every page carries one (the language switcher is a form).
        page = client.get("/", follow=True)
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
        assert match, "no CSRF token on the home page"
        form_token = match.group(1).decode()
    else:
        form_token = token.value
    return client.post(url, {**data, "csrfmiddlewaretoken": form_token}, **extra)


def png_bytes(width: int = 60, height: int = 120, color: str = "red", exif: bool = False) -> bytes:
    image = Image.new("RGB", (width, height), color)
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretPhoneMaker"  # Make
        data[0x0112] = 6  # Orientation: rotate 90° when shown
        image.save(out, "JPEG", exif=data.tobytes())
    else:
        image.save(out, "PNG")
    return out.getvalue()


def body_of(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)
