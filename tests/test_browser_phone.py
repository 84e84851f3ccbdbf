"""The phone app for a frightened person on a small screen (issue 16), in real Chromium at
360×740 and 390×844 (and 320 px for sideways scrolling), in Chinese: no page wider than the
screen, every tap target at least 44 px, axe-core's serious and critical findings at 0 on every
main page, Save within reach on the log forms, an empty call refused, an SMS too long for a
record refused rather than cut, the dossier form's options as ordinary rows, sharing by user
name without a false mail warning, the lawyer's "end my access" control. Screenshots of each
page go to test-artifacts/phone-*.png.

axe-core (MPL-2.0) is not copied into this repository: the session fixture installs it from
npm into a cache directory the first time and reuses it; without npm or the network the axe
tests are skipped, and fail where LOCKER_REQUIRE_SERVICES=1 (CI)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from locker import services
from locker.models import Entry

from .conftest import chromium_path
from .factories import UserFactory, add_entry, make_case, share_with
from .prerequisites import needs, services_required
from .test_browser import ARTIFACTS, browser, log_in  # noqa: F401  (the fixture is used by name)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    needs(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)"),
]

PHONES = [(360, 740), (390, 844)]
AXE_VERSION = "4.10.3"
# What counts as a tap target: every button, and the links of the navigation bars, the
# footer and the lawyer's desk (links inside running text are exempt, as WCAG 2.5.8 allows).
TAP_TARGETS = (
    "button, .button, input[type=submit], summary, .top nav a, .case-nav a, .foot a, "
    ".row-actions a, .bigbutton, label.chip span, label.segment span"
)


def _axe_cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "evidence-locker-tests" / f"axe-core-{AXE_VERSION}"


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's browser bundle, installed from npm at test time into a cache directory."""
    target = _axe_cache()
    script = target / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        problem = ""
        if npm is None:
            problem = "npm is not installed (apt-get install npm)"
        else:
            target.mkdir(parents=True, exist_ok=True)
            done = subprocess.run(
                [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(target),
                 f"axe-core@{AXE_VERSION}"],
                capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            if done.returncode != 0 or not script.exists():
                problem = f"npm could not install axe-core: {done.stderr.strip()[-300:]}"
        if problem:
            if services_required():
                pytest.fail(f"CI must have it: {problem}", pytrace=False)
            pytest.skip(problem)
    return script.read_text(encoding="utf-8")


def phone_context(browser, width: int, height: int, **kw: Any):  # noqa: F811
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        is_mobile=True,
        has_touch=True,
        # Only so that axe's script can be added to pages whose CSP allows nonced scripts.
        bypass_csp=True,
        **kw,
    )
    context.set_default_timeout(15000)
    return context


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)


def overflow(page, width: int) -> list[Any]:
    """The page's scrollWidth, and the innermost elements that reach past `width`."""
    return page.evaluate(
        """width => [document.documentElement.scrollWidth,
            [...document.querySelectorAll('body *')].filter(el => {
                const r = el.getBoundingClientRect();
                return r.right > width + 0.5 && r.width > 0
                    && ![...el.children].some(c => c.getBoundingClientRect().right > width + 0.5)
                    && !el.closest('.table-scroll table');
            }).slice(0, 5).map(el => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(
                el.getBoundingClientRect().right)}`)]""",
        width,
    )


def small_targets(page) -> list[str]:
    """Visible tap targets under 44×44 CSS px, described."""
    return page.evaluate(
        """selector => [...document.querySelectorAll(selector)].filter(el => {
            const r = el.getBoundingClientRect();
            const style = getComputedStyle(el);
            if (!r.width || !r.height || style.visibility === 'hidden') return false;
            if (el.closest('.visually-hidden')) return false;
            return r.height < 44 || r.width < 44;
        }).map(el => `${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim()
            .slice(0, 20)}" ${Math.round(el.getBoundingClientRect().width)}×${Math.round(
            el.getBoundingClientRect().height)}`)""",
        TAP_TARGETS,
    )


def axe_findings(page, source: str) -> list[dict[str, Any]]:
    page.add_script_tag(content=source)
    return page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map(v => ({id: v.id, impact: v.impact,
                        nodes: v.nodes.slice(0, 4).map(n => n.target.join(' '))}))"""
    )


def _world(live_url: str) -> dict[str, Any]:
    """A case with a call, a message, a kept receipt, an accepted reviewer and an open
    contact link: the pages of the tour below."""
    owner = UserFactory(username="xiaoli")
    case = make_case(owner=owner, title="网贷催收", borrower_name="李小姐")
    add_entry(
        case,
        kind="call",
        body={"number": "170 1234 5678", "summary": "半夜打来", "tags": ["threat", "night_time"]},
    )
    add_entry(case, kind="message", body={"channel": "sms", "text": "再不还钱就爆你通讯录"})
    lawyer = UserFactory(username="lawyer-wang")
    share_with(case, lawyer, "reviewer")
    for n in range(30):  # a second page, so the timeline has its pager
        add_entry(case, kind="note", body={"text": f"第{n + 1}次"})
    _, token = services.create_contact_link(case=case, user=owner, label="妈妈")
    cancelled, _raw = services.create_contact_link(case=case, user=owner, label="同事")
    services.revoke_contact_link(link=cancelled)
    return {"case": case, "owner": owner, "lawyer": lawyer, "contact_token": token}


def _owner_pages(case) -> list[tuple[str, str]]:
    base = f"/cases/{case.pk}/"
    return [
        ("home", "/cases/"),
        ("case", base),
        ("timeline", base + "timeline/"),
        ("timeline-filtered", base + "timeline/?tag=threat&start=2020-01-01&end=2030-12-31"),
        ("log", base + "log/"),
        ("log-call", base + "log/call/"),
        ("log-message", base + "log/message/"),
        ("upload-receipt", base + "receipts/"),
        ("dossier-form", base + "dossiers/"),
        ("sharing", base + "sharing/"),
        ("links", base + "links/"),
    ]


def _tour(browser, live_server, axe_source, width: int, height: int) -> dict[str, Any]:  # noqa: F811
    world = _world(live_server.url)
    case = world["case"]
    found: dict[str, Any] = {}
    pages = [("owner", name, path) for name, path in _owner_pages(case)]
    pages += [
        ("lawyer", "desk", "/shared/"),
        ("lawyer", "review", f"/cases/{case.pk}/review/"),
        ("contact", "statement", f"/c/{world['contact_token']}/"),
    ]
    for who in ("owner", "lawyer", "contact"):
        context = phone_context(browser, width, height)
        page = context.new_page()
        if who != "contact":
            log_in(page, live_server.url, world[who].username)
        for _who, name, path in (p for p in pages if p[0] == who):
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            shot(page, f"{width}-{name}")
            found[name] = {
                "overflow": overflow(page, width),
                "small": small_targets(page),
                "axe": axe_findings(page, axe_source) if axe_source else [],
            }
            page.set_viewport_size({"width": 320, "height": height})
            found[name]["overflow_320"] = overflow(page, 320)
            page.set_viewport_size({"width": width, "height": height})
        context.close()
    return found


@pytest.mark.parametrize(("width", "height"), PHONES, ids=[f"{w}x{h}" for w, h in PHONES])
def test_every_main_page_fits_the_phone_and_passes_axe(
    browser,  # noqa: F811
    live_server,
    axe_source,
    width: int,
    height: int,
) -> None:
    found = _tour(browser, live_server, axe_source, width, height)
    # A phone browser widens its layout viewport to the content (innerWidth grows with it), so
    # the page's width is held to the screen's, not to innerWidth.
    wide = {n: (f["overflow"], f["overflow_320"]) for n, f in found.items()
            if f["overflow"][0] > width or f["overflow_320"][0] > 320}  # fmt: skip
    small = {n: f["small"] for n, f in found.items() if f["small"]}
    serious = {
        n: [v for v in f["axe"] if v["impact"] in ("serious", "critical")]
        for n, f in found.items()
    }
    serious = {n: v for n, v in serious.items() if v}
    landmarks = {
        n: [v for v in f["axe"] if v["id"].startswith("landmark")] for n, f in found.items()
    }
    landmarks = {n: v for n, v in landmarks.items() if v}
    problems = {
        "wider than the screen (scrollWidth, innerWidth) at this width and at 320": wide,
        "tap targets under 44×44 px": small,
        "axe serious or critical": serious,
        "axe landmark findings": landmarks,
    }
    problems = {what: found for what, found in problems.items() if found}
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
