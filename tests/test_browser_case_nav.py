"""The case owner's tab row on a 390 px phone: all eight tabs fit without sideways scrolling,
of the page or of the row itself, and each is a tap target at least 40 px high."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .conftest import chromium_path, needs
from .factories import UserFactory, make_case
from .test_browser import browser, phone, shot  # noqa: F401  (the fixture is used by name)
from .test_browser_review import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MEASURE = """() => {
  const nav = document.querySelector('nav.case-nav');
  return {
    page: document.scrollingElement.scrollWidth,
    nav: [nav.scrollWidth, nav.clientWidth],
    tabs: [...nav.querySelectorAll('a')].map(a => {
      const box = a.getBoundingClientRect();
      return {text: a.textContent.trim(), left: box.left, right: box.right, height: box.height};
    }),
  };
}"""


@needs(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_owner_tabs_fit_a_390px_phone(browser, live_server, language) -> None:  # noqa: F811
    owner = UserFactory(username="xiaoli")
    case = make_case(owner, title="网贷催收")
    context = phone(browser)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    log_in(page, live_server.url, owner.username)
    for name in ("case_detail", "access_log"):
        page.goto(live_server.url + reverse(name, args=[case.pk]))
        found = page.evaluate(MEASURE)
        assert len(found["tabs"]) == 8, found  # with Analysis (issue 15)
        assert found["page"] <= 390, found
        # The row used to scroll inside itself (overflow-x), leaving the page at 390 px: its own
        # scroll width and each tab's box are what show tabs past the edge.
        scroll_width, client_width = found["nav"]
        assert scroll_width <= client_width, found
        for tab in found["tabs"]:
            assert tab["left"] >= 0 and tab["right"] <= 390, tab
            assert tab["height"] >= 40, tab
    shot(page, f"case-nav-390-{language}")
    context.close()
