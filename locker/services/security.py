"""The security log of each account (locker/models/security.py): the one function that writes
it, `record_security_event`, and the receivers that call it on Django's own signals (log-ins,
failed log-ins, password saves, the admin's change log). The event kinds are
SecurityEvent.Kind; nothing else may be recorded.

What is kept is what the owner needs to recognise an event and nothing more: the time, the
kind, the address and browser of the request, and a short detail the app writes itself.
Never a password (Django masks it in the credentials it signals, and they are not read but
for the username), never a token's value, never anything of a case."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.db.models.signals import post_save, pre_save
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from locker.infra.http import client_ip
from locker.models import ApiToken, SecurityEvent

Kind = SecurityEvent.Kind
MAX_USER_AGENT_CHARS = SecurityEvent._meta.get_field("user_agent").max_length or 300
MAX_DETAIL_CHARS = SecurityEvent._meta.get_field("detail").max_length or 300
# How long "this token was seen from this address" is remembered before the log is asked
# again; the log, not the cache, is the truth.
TOKEN_SEEN_CACHE_S = 24 * 3600
# The same, remembered in each process too for the busiest pairs, so that a token's every call
# from an address already known asks neither the log nor the shared cache (a round trip on
# each API call otherwise). Only "known" is remembered: a new address is always looked up.
TOKEN_SEEN_IN_PROCESS_MAX = 4096
_token_seen_here: OrderedDict[str, float] = OrderedDict()
_token_seen_lock = threading.Lock()
# Given to authenticate() by the "confirm it's you" step (services/reauth.py); the failed
# log-in signal carries it in its credentials, and the event's detail then says so.
REAUTH_PURPOSE = "reauth"


def record_security_event(
    *,
    user: Any,
    kind: str,
    request: HttpRequest | None = None,
    detail: str = "",
    token_ref: int | None = None,
) -> SecurityEvent:
    """Append one event to `user`'s security log. `kind` is one of SecurityEvent.Kind (a
    ValueError otherwise, so that a typo cannot write an event no page can name); `request`,
    when there is one, gives the address and the browser; `detail` is the app's own short
    words (truncated), never a secret."""
    if kind not in Kind.values:
        raise ValueError(f"unknown security event kind {kind!r}")
    ip = client_ip(request) if request is not None else None
    agent = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
    return SecurityEvent.objects.create(
        user=user,
        kind=kind,
        at=timezone.now(),
        ip=ip,
        user_agent=str(agent)[:MAX_USER_AGENT_CHARS],
        token_ref=token_ref,
        detail=(detail or "")[:MAX_DETAIL_CHARS],
    )


def token_detail(token: ApiToken) -> str:
    """How a token is named in the log: its public prefix (as the token list shows it) and
    the name its owner gave it."""
    return f"{token.prefix}… {token.name}".strip()


def note_token_use(*, token: ApiToken, request: HttpRequest) -> SecurityEvent | None:
    """Record that `token` is used from an address it was neither made from nor used from
    before (an event), or nothing when the address is known. Nothing to look up while this
    process remembers the address as known; then the shared cache, then the log."""
    ip = client_ip(request)
    if ip is None:
        return None
    # The prefix is in the key so that a token id reused (a test database rolled back) is
    # not taken for the token that had it before.
    key = f"security:token-seen:{token.pk}:{token.prefix}:{ip}"
    if _seen_in_process(key):
        return None
    if cache.get(key):
        _remember_seen(key)
        return None
    known = SecurityEvent.objects.filter(
        user_id=token.user_id,
        token_ref=token.pk,
        ip=ip,
        kind__in=(Kind.TOKEN_CREATED, Kind.TOKEN_NEW_ADDRESS),
    ).exists()
    event = None
    if not known:
        event = record_security_event(
            user=token.user,
            kind=Kind.TOKEN_NEW_ADDRESS,
            request=request,
            detail=token_detail(token),
            token_ref=token.pk,
        )
    cache.set(key, 1, TOKEN_SEEN_CACHE_S)
    _remember_seen(key)
    return event


def _seen_in_process(key: str) -> bool:
    with _token_seen_lock:
        until = _token_seen_here.get(key)
        if until is None:
            return False
        if until <= time.monotonic():
            del _token_seen_here[key]
            return False
        _token_seen_here.move_to_end(key)
        return True


def _remember_seen(key: str) -> None:
    with _token_seen_lock:
        _token_seen_here[key] = time.monotonic() + TOKEN_SEEN_CACHE_S
        _token_seen_here.move_to_end(key)
        while len(_token_seen_here) > TOKEN_SEEN_IN_PROCESS_MAX:
            _token_seen_here.popitem(last=False)


# Receivers of Django's signals --------------------------------------------------------------


def _is_admin_path(request: HttpRequest | None) -> bool:
    if request is None:
        return False
    try:
        prefix = reverse("admin:index")
    except NoReverseMatch:
        return False
    # Staff sign in on the one log-in page (/admin/login/ sends them there) with `next`
    # pointing into the admin: that is an admin log-in too.
    target = request.POST.get("next") or request.GET.get("next") or ""
    return str(getattr(request, "path", "")).startswith(prefix) or target.startswith(prefix)


def on_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    kind = Kind.ADMIN_LOGIN if _is_admin_path(request) else Kind.LOGIN
    record_security_event(user=user, kind=kind, request=request)


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """A failed log-in is recorded on the account whose username was typed, if there is one;
    a name that matches no account leaves no trace (there is no one to show it to)."""
    user_model = get_user_model()
    username = credentials.get(user_model.USERNAME_FIELD) or credentials.get("username")
    if not isinstance(username, str) or not username:
        return
    user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
    if user is None:
        return
    detail = "admin" if _is_admin_path(request) else ""
    if credentials.get("purpose") == REAUTH_PURPOSE:
        detail = "confirm it's you"
    record_security_event(user=user, kind=Kind.LOGIN_FAILED, request=request, detail=detail)


def on_user_saving(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Before a save that sets a password, note whether the account had a usable one: an
    account's first password (sign-up, createsuperuser, an account made and then given a
    password) is no change."""
    if getattr(instance, "_password", None) is None or instance.pk is None:
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._locker_had_password = bool(stored) and not str(stored).startswith(
        UNUSABLE_PASSWORD_PREFIX
    )


def on_user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """A password change on any path (the change and reset pages, the admin, manage.py
    changepassword) is a save after set_password(), which leaves the new password in
    `_password` until the save is over (AbstractBaseUser.save clears it after post_save).
    Django's own rehash of a password at log-in clears it before saving, so an upgrade of
    the hasher is not mistaken for a change."""
    if created or getattr(instance, "_password", None) is None:
        return
    if not getattr(instance, "_locker_had_password", False):
        return
    instance._locker_had_password = False
    record_security_event(user=instance, kind=Kind.PASSWORD_CHANGED)


_ADMIN_ACTIONS = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}


def on_admin_log_entry(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    """Each change made on the admin pages is an event of the staff account that made it,
    and, when it changed an account, of that account too. The detail names the model and the
    row's id, never the row's text (a case's title is the borrower's business)."""
    if not created or instance.user_id is None:
        return
    action = _ADMIN_ACTIONS.get(instance.action_flag, "changed")
    content_type = instance.content_type
    model = f"{content_type.app_label}.{content_type.model}" if content_type else "?"
    record_security_event(
        user=instance.user,
        kind=Kind.ADMIN_ACTION,
        detail=f"{action} {model} {instance.object_id or ''}".strip(),
    )
    user_model = get_user_model()
    if (
        content_type is not None
        and content_type.model_class() is user_model
        and instance.action_flag == CHANGE
        and str(instance.object_id) != str(instance.user_id)
    ):
        target = user_model.objects.filter(pk=str(instance.object_id)).first()
        if target is not None:
            record_security_event(user=target, kind=Kind.CHANGED_BY_ADMIN, detail=action)


def connect_signals() -> None:
    """Called once from the app's ready(); dispatch_uid keeps a second call harmless."""
    user_logged_in.connect(on_logged_in, dispatch_uid="locker.security.logged_in")
    user_login_failed.connect(on_login_failed, dispatch_uid="locker.security.login_failed")
    user_model = get_user_model()
    pre_save.connect(on_user_saving, sender=user_model, dispatch_uid="locker.security.user_saving")
    post_save.connect(on_user_saved, sender=user_model, dispatch_uid="locker.security.user_saved")
    post_save.connect(on_admin_log_entry, sender=LogEntry, dispatch_uid="locker.security.admin")
