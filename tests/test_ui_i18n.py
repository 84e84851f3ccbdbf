"""zh-hans and English: picked from Accept-Language, switched and remembered, times in the
user's zone; the catalogue compiled by Babel is the one Django reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from locker.infra import i18n_compile

from .factories import UserFactory, add_entry, make_case
from .ui_helpers import client_for, csrf_post

pytestmark = pytest.mark.django_db

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_every_message_has_a_chinese_translation() -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    untranslated = [
        m.id for m in catalog if m.id and not (all(m.string) if m.pluralizable else m.string)
    ]
    assert untranslated == []
    assert not [m.id for m in catalog if m.id and m.fuzzy]


def test_babel_compiles_what_django_reads(tmp_path) -> None:
    target = tmp_path / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    (target / "django.po").write_bytes(PO.read_bytes())
    assert i18n_compile.compile_all(tmp_path) == 1
    assert (target / "django.mo").stat().st_size > 1000
    # The catalogue in the repository compiled by `make` is what Django loads for zh-hans.
    with translation.override("zh-hans"):
        assert translation.gettext("Quick exit") == "快速离开"
        assert translation.gettext("A contact was harassed") == "亲友被骚扰"


def test_language_comes_from_accept_language() -> None:
    client = client_for()
    zh = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    en = client_for().get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "快速离开" in zh and 'lang="zh-hans"' in zh
    assert "Quick exit" in en and 'lang="en"' in en


def test_switcher_remembers_the_choice_in_cookie_and_profile() -> None:
    user = UserFactory()
    client = client_for(user)
    client.get(reverse("case_list"), HTTP_ACCEPT_LANGUAGE="zh-CN")
    response = csrf_post(
        client, reverse("set_language"), {"language": "en", "next": reverse("case_list")}
    )
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    user.locker_profile.refresh_from_db()
    assert user.locker_profile.language == "en"
    # Another browser, Chinese by its headers, still gets the user's choice after log-in.
    other = client_for(user)
    page = other.get(reverse("case_list"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "My cases" in page


def test_times_are_shown_in_the_users_zone_and_can_be_changed() -> None:
    user = UserFactory()
    case = make_case(owner=user)
    entry = add_entry(case, occurred_at="2026-01-05T15:10:00Z")
    client = client_for(user)
    url = reverse("entry_detail", args=[case.pk, entry.seq])
    assert "2026-01-05 23:10" in client.get(url).content.decode()  # Asia/Shanghai default
    client.get(reverse("preferences"))
    csrf_post(client, reverse("preferences"), {"time_zone": "America/New_York", "language": ""})
    assert "2026-01-05 10:10" in client.get(url).content.decode()
    bad = csrf_post(client, reverse("preferences"), {"time_zone": "Mars/Olympus", "language": ""})
    assert bad.status_code == 200 and "Mars/Olympus" not in str(user.locker_profile.time_zone)


def test_signup_defaults_to_shanghai_for_chinese_visitors() -> None:
    client = client_for()
    page = client.get(reverse("signup"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<option value="Asia/Shanghai" selected>' in page
