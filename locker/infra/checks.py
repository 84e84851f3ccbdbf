"""System checks of our own, run by `manage.py check --deploy` (CI runs it with production
settings: tests/security/test_headers.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

CONSOLE_EMAIL = "django.core.mail.backends.console.EmailBackend"

W001 = checks.Warning(
    "EMAIL_BACKEND is the console backend: every password-reset, invitation and e-mail "
    "confirmation link is written, token and all, to the server's output and so its logs.",
    hint="Set EMAIL_BACKEND (and EMAIL_HOST …) to a real mail server, or to "
    "django.core.mail.backends.dummy.EmailBackend where no mail is sent.",
    id="locker.W001",
)


@checks.register(checks.Tags.security, deploy=True)
def check_email_backend(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    return [W001] if settings.EMAIL_BACKEND == CONSOLE_EMAIL else []
