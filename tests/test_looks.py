"""What the app is called on the screen (issue 16 item 8): the header, the page title and the
installed app's manifest show the account's chosen look; sign-up offers a neutral one; the
device keeps only the preset's id for its signed-out pages; and the lock a page asks for when
seen again after being hidden too long is a real lock of the session."""

from __future__ import annotations

import re

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from locker.core import looks
from locker.models import Profile
from locker.services import InputError
from locker.services.looks import set_look
from locker.web.looks import LOOK_COOKIE
from locker.web.middleware.safety import LOCK_KEY
from locker.web.views.errors import server_error

from .factories import PASSWORD
from .personas import Personas
from .ui_helpers import client_for, csrf_post

pytestmark = pytest.mark.django_db

REAL_NAMES = ("证据保管箱", "证据箱", "Evidence Locker")


def title_of(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


def brand_of(html: str) -> str:
    anchor = re.search(r'class="brand"[^>]*>(.*?)</(?:a|span)>', html, re.S).group(1)
    return re.sub(r"<[^>]+>", "", anchor).strip()


def chinese(client: Client) -> Client:
    client.cookies["django_language"] = "zh-hans"
    return client


@pytest.fixture
def world() -> Personas:
    return Personas()


def test_signup_offers_a_neutral_look_first_and_uses_it() -> None:
    client = chinese(client_for())
    page = client.get(reverse("signup")).content.decode()
    checked = re.search(r'<input type="radio" name="look" value="(\w+)"[^>]*checked', page)
    assert checked and checked.group(1) == looks.SIGNUP_DEFAULT == "notes"
    for name in ("记事本", "日历", "计算器", "天气", "证据保管箱"):
        assert name in page
    answer = csrf_post(
        client,
        reverse("signup"),
        {
            "username": "xiaoli",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "time_zone": "Asia/Shanghai",
            "look": "notes",
        },
    )
    assert answer.status_code == 302, answer.content[:500]
    assert Profile.objects.get(user__username="xiaoli").look == "notes"
    assert answer.cookies[LOOK_COOKIE].value == "notes"
    assert answer.cookies[LOOK_COOKIE]["httponly"]
    html = client.get(answer["Location"]).content.decode()
    assert title_of(html) == "记事本" and brand_of(html) == "记事本"
    assert not any(name in html for name in ("证据保管箱", "证据箱"))


def test_the_header_and_title_show_the_chosen_name_on_every_page(world) -> None:
    set_look(user=world.owner, look="calculator")
    client = chinese(world.web("owner"))
    for url in (
        reverse("case_list"),
        reverse("case_detail", args=[world.case.pk]),
        reverse("timeline", args=[world.case.pk]),
        reverse("shared"),
    ):
        html = client.get(url).content.decode()
        assert title_of(html) == "计算器", url
        assert brand_of(html) == "计算器", url
        assert "/static/locker/looks/calculator" in html
        assert not any(name in html for name in ("证据保管箱", "证据箱")), url
    # Settings list the real name among the choices, on purpose; the header and title do not.
    html = client.get(reverse("preferences")).content.decode()
    assert title_of(html) == brand_of(html) == "计算器"
    # A name of one's own, with the preset's icon.
    set_look(user=world.owner, look="notes", own_name="  买菜   清单 ")
    html = client.get(reverse("case_list")).content.decode()
    assert title_of(html) == brand_of(html) == "买菜 清单"
    assert "/static/locker/looks/notes.svg" in html


def test_the_real_look_keeps_the_page_titles(world) -> None:
    html = chinese(world.web("owner")).get(reverse("preferences")).content.decode()
    assert title_of(html) == "设置"
    assert brand_of(html) == "证据保管箱"


def test_the_manifest_follows_the_account_and_is_never_stored(world) -> None:
    client = chinese(world.web("owner"))
    for look, name in (("weather", "天气"), ("calendar", "日历"), (looks.REAL, "证据保管箱")):
        set_look(user=world.owner, look=look)
        answer = client.get(reverse("manifest"))
        assert "no-store" in answer["Cache-Control"]
        data = answer.json()
        assert data["name"] == name
        assert data["id"] == data["start_url"] == reverse("case_list")
        assert {icon["src"] for icon in data["icons"]} == {
            f"/static/locker/looks/{look}-192.png",
            f"/static/locker/looks/{look}-512.png",
            f"/static/locker/looks/{look}.svg",
        }
    set_look(user=world.owner, look="weather", own_name="My Weather")
    data = client.get(reverse("manifest")).json()
    assert data["name"] == data["short_name"] == "My Weather"
    # The page links it with cookies, or the browser would fetch the signed-out one.
    page = client.get(reverse("case_list")).content.decode()
    assert re.search(
        r'<link rel="manifest" href="/manifest.webmanifest" crossorigin="use-credentials">', page
    )


def test_the_manifest_of_a_stranger_shows_their_own_look(world) -> None:
    set_look(user=world.owner, look="weather")
    set_look(user=world.user("stranger"), look="calculator")
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    assert world.web("stranger").get(reverse("manifest"), **english).json()["name"] == "Calculator"
    anonymous = world.web("anonymous").get(reverse("manifest"), **english).json()
    assert anonymous["name"] == "Evidence Locker" and anonymous["short_name"] == "Locker"
    # Signed out too: a device's look may change at its next log-in.
    assert "no-store" in Client().get(reverse("manifest"))["Cache-Control"]


def test_signed_out_pages_keep_the_devices_look_and_the_cookie_only_its_preset(world) -> None:
    set_look(user=world.owner, look="calendar", own_name="家庭安排")
    client = chinese(client_for(world.owner))
    page = client.get(reverse("case_list"))
    # The first page of a log-in sets the device's cookie: the preset's id, nothing else.
    assert client.cookies[LOOK_COOKIE].value == "calendar"
    assert title_of(page.content.decode()) == "家庭安排"
    csrf_post(client, reverse("logout"), {})
    assert client.cookies[LOOK_COOKIE].value == "calendar"
    login = client.get(reverse("login")).content.decode()
    assert title_of(login) == brand_of(login) == "日历"
    assert not any(name in login for name in REAL_NAMES)
    assert "家庭安排" not in login and world.owner.username not in login
    # The front page says what the site is for: this device goes to the log-in form instead.
    front = client.get(reverse("home"))
    assert front.status_code == 302 and front["Location"] == reverse("login")
    assert client.get(reverse("manifest")).json()["name"] == "日历"
    # Without the cookie, the front page and the real name.
    assert Client().get(reverse("home")).status_code == 200


def test_the_cookie_follows_whoever_signs_in_on_the_device(world) -> None:
    set_look(user=world.owner, look="weather")
    client = client_for(world.owner)
    client.get(reverse("case_list"))
    assert client.cookies[LOOK_COOKIE].value == "weather"
    set_look(user=world.owner, look=looks.REAL)
    answer = client.get(reverse("case_list"))
    assert answer.cookies[LOOK_COOKIE].value == ""  # deleted
    assert answer.cookies[LOOK_COOKIE]["max-age"] == 0


def test_set_look_refuses_what_the_screen_cannot_show(world) -> None:
    for look, name in (
        ("bogus", ""),
        ("notes", "x" * (looks.NAME_MAX_CHARS + 1)),
        ("notes", "zero\u200bwidth"),
        ("notes", "bell\x07"),
        (looks.REAL, "Notes"),  # the cookie could not keep signed-out pages discreet
    ):
        with pytest.raises(InputError):
            set_look(user=world.owner, look=look, own_name=name)
    assert not Profile.objects.filter(user=world.owner).exclude(look=looks.REAL).exists()
    # Line breaks and runs of spaces are tidied, not refused.
    assert set_look(user=world.owner, look="notes", own_name="two\n lines").look_name == "two lines"


def test_settings_change_the_look_and_the_device_cookie(world) -> None:
    client = chinese(client_for(world.owner))
    page = client.get(reverse("preferences")).content.decode()
    assert 'action="/accounts/look/"' in page
    answer = csrf_post(client, reverse("look_change"), {"look": "weather", "look_name": ""})
    assert answer.status_code == 302 and answer["Location"] == reverse("preferences")
    assert answer.cookies[LOOK_COOKIE].value == "weather"
    assert Profile.objects.get(user=world.owner).look == "weather"
    page = client.get(reverse("preferences")).content.decode()
    assert title_of(page) == "天气"
    refused = csrf_post(client, reverse("look_change"), {"look": "weather", "look_name": "x" * 40})
    assert refused.status_code == 302
    assert Profile.objects.get(user=world.owner).look_name == ""


def test_the_error_page_rendered_without_the_database_takes_the_cookie() -> None:
    request = RequestFactory().get("/", HTTP_COOKIE=f"{LOOK_COOKIE}=notes")
    with translation.override("zh-hans"):
        html = server_error(request).content.decode()
    assert title_of(html) == "记事本" and "证据保管箱" not in html


# Lock on return --------------------------------------------------------------------------


def test_signed_in_pages_carry_the_lock_script_and_its_cover(world, settings) -> None:
    settings.LOCKER_SCREEN_LOCK_S = 120
    html = world.web("owner").get(reverse("case_list")).content.decode()
    assert re.search(r'screen-lock\.js"[^>]*data-lock-after-s="120"', html)
    assert 'id="screen-lock-cover"' in html and 'id="screen-lock-password"' in html
    signed_out = Client().get(reverse("login")).content.decode()
    assert "screen-lock.js" not in signed_out and "screen-lock-cover" not in signed_out
    settings.LOCKER_SCREEN_LOCK_S = 0
    assert "screen-lock" not in world.web("owner").get(reverse("case_list")).content.decode()


def test_the_lock_is_the_sessions_own_until_the_password(world) -> None:
    client = client_for(world.owner)
    case_url = reverse("case_detail", args=[world.case.pk])
    assert csrf_post(client, reverse("screen_lock"), {}).status_code == 204
    assert client.session[LOCK_KEY] is True
    answer = client.get(case_url)
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("unlock"))
    # A locked page loads the script only to clear its marks: the server's lock holds.
    unlock_page = client.get(answer["Location"]).content.decode()
    assert re.search(r'screen-lock\.js"[^>]*data-lock-after-s="0"', unlock_page)
    cover = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
    wrong = csrf_post(client, reverse("unlock"), {"password": "not-it"}, **cover)
    assert wrong.status_code == 400 and wrong.json()["error"]
    assert client.get(case_url).status_code == 302
    right = csrf_post(client, reverse("unlock"), {"password": PASSWORD}, **cover)
    assert right.status_code == 200 and right.json() == {"unlocked": True}
    assert client.get(case_url).status_code == 200


def test_the_cover_never_lifts_without_the_password_even_if_the_lock_was_lost(world) -> None:
    """The script's lock request may not have reached the server; its unlock still checks."""
    client = client_for(world.owner)
    cover = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
    wrong = csrf_post(client, reverse("unlock"), {"password": "guess"}, **cover)
    assert wrong.status_code == 400 and "unlocked" not in wrong.json()


def test_another_site_cannot_lock_a_borrower_out(world) -> None:
    client = client_for(world.owner)
    assert client.post(reverse("screen_lock"), {}).status_code == 403  # no token
    assert client.get(reverse("screen_lock")).status_code == 405
    assert client.get(reverse("case_detail", args=[world.case.pk])).status_code == 200


def test_unlock_guesses_are_limited(world) -> None:
    client = client_for(world.owner)
    cover = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
    statuses = [
        csrf_post(client, reverse("unlock"), {"password": "guess"}, **cover).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [400] * 10 and statuses[10] == 429
