"""Email addresses are proven before they count: sign-up and settings mail a confirmation link,
sign-up never says whether an address already has an account, and sharing by email always
goes to the address as an invitation, never to an account that merely typed it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from locker import services
from locker.models import Share

from .factories import PASSWORD, UserFactory, make_case
from .ui_helpers import client_for, csrf_post

pytestmark = pytest.mark.django_db

CONFIRM_LINK = re.compile(r"https?://\S+(/accounts/email/confirm/[^/\s]+/)")


def _sign_up(username: str, email: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    response = csrf_post(
        client,
        reverse("signup"),
        {
            "username": username,
            "password1": PASSWORD,
            "password2": PASSWORD,
            "email": email,
            "time_zone": "Asia/Shanghai",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


def _confirm_path(message: mail.EmailMessage) -> str:
    match = CONFIRM_LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def _confirm(client: Client, path: str) -> Any:
    opened = client.get(path)
    assert opened.status_code == 302 and opened["Location"] == reverse("email_confirm")
    assert opened["Referrer-Policy"] == "no-referrer"
    return csrf_post(client, reverse("email_confirm"), {})


def test_sign_up_with_an_address_in_use_looks_the_same_and_takes_nothing() -> None:
    UserFactory(username="first", email="mother@example.org")
    for name, address in (("second", "mother@example.org"), ("third", "unused@example.org")):
        client = _sign_up(name, address)
        page = client.get(reverse("case_create")).content.decode()
        assert f"我们已向 {address} 发送链接" in page
        assert "已在使用" not in page
    # Nobody owns an address by typing it.
    assert User.objects.get(username="second").email == ""
    assert User.objects.get(username="third").email == ""
    assert [m.to for m in mail.outbox] == [["mother@example.org"], ["unused@example.org"]]
    assert "“second”" in mail.outbox[0].body and "“first”" not in mail.outbox[0].body


def test_the_mailed_link_confirms_the_address_only_for_its_account_and_only_on_post() -> None:
    client = _sign_up("xiaoli", "Li@Example.org")
    path = _confirm_path(mail.outbox[-1])

    # A mail scanner (or anyone else) opening the link changes nothing.
    scanner = Client()
    scanner.get(path)
    assert scanner.get(reverse("email_confirm")).status_code == 302  # to log-in
    other = client_for(UserFactory(username="other"))
    other.get(path)
    refused = csrf_post(other, reverse("email_confirm"), {})
    assert refused.status_code == 400 and "链接无效或已过期" in refused.content.decode()
    assert User.objects.get(username="other").email != "Li@Example.org"

    client.get(path)
    shown = client.get(reverse("email_confirm"))
    assert shown.status_code == 200 and User.objects.get(username="xiaoli").email == ""
    done = csrf_post(client, reverse("email_confirm"), {})
    assert done.status_code == 302 and done["Location"] == reverse("preferences")
    assert User.objects.get(username="xiaoli").email == "Li@Example.org"
    assert "Li@Example.org" in client.get(reverse("preferences")).content.decode()


def test_a_confirmed_address_of_another_account_is_refused_at_confirmation() -> None:
    UserFactory(username="first", email="mother@example.org")
    client = _sign_up("second", "MOTHER@example.org")
    response = _confirm(client, _confirm_path(mail.outbox[-1]))
    assert response.status_code == 400
    assert "另一个账号已在使用此邮箱" in response.content.decode()
    assert User.objects.get(username="second").email == ""


def test_stale_tampered_and_expired_links_are_refused(settings) -> None:
    user = UserFactory(email="")
    assert services.request_email_confirmation(
        user=user, email="a@example.org", site_url="https://locker.example/"
    )
    first = _confirm_path(mail.outbox[-1])
    services.request_email_confirmation(
        user=user, email="b@example.org", site_url="https://locker.example/"
    )
    second = _confirm_path(mail.outbox[-1])
    token = second.rstrip("/").rsplit("/", 1)[1]

    with pytest.raises(services.InputError):
        services.confirm_email(user=user, token=token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert services.confirm_email(user=user, token=token) == "b@example.org"
    # The older link was asked for before the change: it cannot put the old address back.
    with pytest.raises(services.InputError):
        services.confirm_email(user=user, token=first.rstrip("/").rsplit("/", 1)[1])
    assert User.objects.get(pk=user.pk).email == "b@example.org"

    services.request_email_confirmation(
        user=user, email="c@example.org", site_url="https://locker.example/"
    )
    late = _confirm_path(mail.outbox[-1]).rstrip("/").rsplit("/", 1)[1]
    settings.LOCKER_EMAIL_CONFIRM_DAYS = 0
    with pytest.raises(services.InputError, match="expired"):
        services.confirm_email(user=user, token=late)
    settings.LOCKER_EMAIL_CONFIRM_DAYS = 3
    assert services.confirm_email(user=user, token=late) == "c@example.org"


def test_settings_change_and_remove_the_address() -> None:
    user = UserFactory(username="xiaoli", email="old@example.org")
    client = client_for(user)
    bad = csrf_post(client, reverse("email_change"), {"email": "not an address"})
    assert bad.status_code == 302 and User.objects.get(pk=user.pk).email == "old@example.org"
    assert not mail.outbox

    csrf_post(client, reverse("email_change"), {"email": "new@example.org"})
    assert User.objects.get(pk=user.pk).email == "old@example.org"  # until confirmed
    (message,) = mail.outbox
    assert message.to == ["new@example.org"]
    assert "证据保管箱" in message.subject and "Evidence Locker" in message.subject
    _confirm(client, _confirm_path(message))
    assert User.objects.get(pk=user.pk).email == "new@example.org"

    csrf_post(client, reverse("email_change"), {"email": ""})
    assert User.objects.get(pk=user.pk).email == ""
    page = client.get(reverse("preferences")).content.decode()
    assert "忘记密码后将无法重设" in page

    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post(reverse("email_change"), {"email": "x@example.org"}).status_code == 403
    assert Client().post(reverse("email_change"), {"email": "x@example.org"}).status_code == 302


def test_an_account_that_typed_an_address_does_not_receive_shares_to_it() -> None:
    owner = UserFactory()
    case = make_case(owner)
    squatter = UserFactory(username="squatter", email="lawyer@firm.cn")
    result = services.share_case(
        case=case, by=owner, grantee="lawyer@firm.cn", role="reviewer", site_url="https://e/"
    )
    share = Share.objects.get(pk=result.share.pk)
    assert share.user is None and share.email == "lawyer@firm.cn"
    (message,) = mail.outbox
    assert message.to == ["lawyer@firm.cn"] and "/invitations/" in message.body
    # Nothing waits for the squatter on their desk, and the case stays closed to them.
    desk = client_for(squatter)
    assert "lawyer@firm.cn" not in desk.get(reverse("shared")).content.decode()
    assert desk.get(reverse("review", args=[case.pk])).status_code == 404


def test_a_username_share_still_binds_to_that_account_and_mails_nobody() -> None:
    """No mail, even to a confirmed address: it would tell the owner the account exists
    (tests/security/test_roles_and_leaks.py). The share waits on the lawyer's page."""
    owner = UserFactory()
    case = make_case(owner)
    lawyer = UserFactory(username="lawyer-wang", email="wang@law.example")
    result = services.share_case(
        case=case, by=owner, grantee="lawyer-wang", role="viewer", site_url="https://e/"
    )
    assert result.share.user == lawyer and not result.email_sent
    assert mail.outbox == []


def test_the_sign_up_page_says_the_address_is_confirmed_by_mail() -> None:
    page = Client().get(reverse("signup")).content.decode()
    assert "我们会发送一封邮件请您确认" in page


def test_an_expired_confirmation_cannot_be_replayed_through_the_session(settings) -> None:
    client = _sign_up("xiaoli", "li@example.org")
    path = _confirm_path(mail.outbox[-1])
    settings.LOCKER_EMAIL_CONFIRM_DAYS = 0
    response = _confirm(client, path)
    assert response.status_code == 400
    assert User.objects.get(username="xiaoli").email == ""
