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

import io
import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from locker import services
from locker.models import Entry

from .conftest import chromium_path
from .factories import (
    UserFactory,
    add_entry,
    make_case,
    run_worker_on_conduct,
    run_worker_on_derived,
    share_with,
)
from .media_helpers import AMR_LIBRARY, amr_recording, heic_photo, needs_amr_encoder, needs_ffmpeg
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
# footer, the lawyer's desk and the pager, links alone on their line (.nav-links), and the
# whole row of a checkbox (links inside running text are exempt, as WCAG 2.5.8 allows).
TAP_TARGETS = (
    "button, .button, input[type=submit], summary, .top nav a, .case-nav a, .foot a, "
    ".row-actions a, .bigbutton, label.chip span, label.segment span, .pager a, .nav-links a, "
    "label.option-row, .suggestions label"
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
            found[name] = measure(page, name, axe_source, width, height)
        context.close()
    return found


def measure(page, name: str, axe_source: str, width: int, height: int) -> dict[str, Any]:
    """The page as it stands: its screenshot, what reaches past the screen (at `width` and at
    320 px), its small tap targets and axe's findings."""
    shot(page, f"{width}-{name}")
    found = {
        "overflow": overflow(page, width),
        "small": small_targets(page),
        "axe": axe_findings(page, axe_source) if axe_source else [],
    }
    page.set_viewport_size({"width": 320, "height": height})
    found["overflow_320"] = overflow(page, 320)
    page.set_viewport_size({"width": width, "height": height})
    return found


def phone_problems(found: dict[str, Any], width: int) -> dict[str, Any]:
    """What the phone sweep refuses, by kind and page: empty when every page passes."""
    # A phone browser widens its layout viewport to the content (innerWidth grows with it), so
    # the page's width is held to the screen's, not to innerWidth.
    wide = {n: (f["overflow"], f["overflow_320"]) for n, f in found.items()
            if f["overflow"][0] > width or f["overflow_320"][0] > 320}  # fmt: skip
    small = {n: f["small"] for n, f in found.items() if f["small"]}
    serious = {
        n: [v for v in f["axe"] if v["impact"] in ("serious", "critical")] for n, f in found.items()
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
    return {what: found for what, found in problems.items() if found}


@pytest.mark.parametrize(("width", "height"), PHONES, ids=[f"{w}x{h}" for w, h in PHONES])
def test_every_main_page_fits_the_phone_and_passes_axe(
    browser,  # noqa: F811
    live_server,
    axe_source,
    width: int,
    height: int,
) -> None:
    found = _tour(browser, live_server, axe_source, width, height)
    problems = phone_problems(found, width)
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


HELD = "0123456789abcdef0123456789abcdef"  # a kept share's id, as the service worker makes one


def _newer_world() -> dict[str, Any]:
    """The pages added after the first sweep: capture devices, the analysis (its suggested
    tags and the loan payment form), the share page's states, the settings (the name on the
    screen, offline drafts), an entry with machine-read text and one with the playable copy
    of a recording, the timeline's word filter and its cursor pager."""
    from .test_ocr import screenshot

    owner = UserFactory(username="xiaoli")
    case = make_case(
        owner=owner,
        title="网贷催收",
        borrower_name="李小姐",
        principal_minor=1_000_000,
        received_minor=900_000,
        demanded_minor=1_500_000,
        loan_start=date(2026, 1, 5),
        loan_due=date(2026, 2, 5),
    )
    make_case(owner=owner, title="另一笔网贷")  # two cases: the share page asks which
    add_entry(case, kind="call", body={"number": "170 1234 5678", "summary": "说要上门，后果自负"})
    add_entry(case, kind="message", body={"channel": "sms", "text": "再不还钱就找上门，你等着"})
    for n in range(30):  # the timeline's Older link
        add_entry(case, kind="note", body={"text": f"第{n + 1}次催收电话"})
    read = add_entry(
        case, "message", {"channel": "sms", "text": "", "sender": "10690000"},
        uploads=[services.Upload("Screenshot_1.png", io.BytesIO(screenshot()))],
    )  # fmt: skip
    recording = None
    if AMR_LIBRARY is not None:
        recording = add_entry(
            case, "call", {"number": "170 1234 5678"},
            uploads=[services.Upload(name="通话录音.amr", stream=io.BytesIO(amr_recording(2.0)))],
        )  # fmt: skip
    from .factories import run_worker_on_text

    run_worker_on_text(case)
    run_worker_on_derived(case)
    from locker.services import analysis as analysis_services

    analysis_services.record_loan_payment(
        case=case, author=f"user:{owner.pk}", amount_minor=300_000,
        day=date(2026, 2, 1), what="repayment", status="paid", note="微信转账",
    )  # fmt: skip
    for number in ("170 1234 5678", "+86 171 0000 0001"):  # the conduct panel's claims
        add_entry(case, "call", {"number": number, "caller_claims": "自称法院执行局工作人员"})
    lawyer = UserFactory(username="lawyer-wang")  # owns no case: the share page says so
    share_with(case, lawyer, "reviewer")
    run_worker_on_conduct(case)  # the case page's conduct panel, as the worker keeps it
    return {"case": case, "owner": owner, "lawyer": lawyer, "read": read, "recording": recording}


def _newer_tour(browser, live_server, axe_source, width: int, height: int) -> dict[str, Any]:  # noqa: F811
    world = _newer_world()
    case = world["case"]
    base = f"{live_server.url}/cases/{case.pk}/"
    found: dict[str, Any] = {}

    def visit(page, name: str, url: str | None = None) -> None:
        if url is not None:
            page.goto(url)
        page.wait_for_load_state("networkidle")
        found[name] = measure(page, name, axe_source, width, height)

    context = phone_context(browser, width, height)
    page = context.new_page()
    log_in(page, live_server.url, world["owner"].username)
    visit(page, "devices-empty", base + "devices/")
    page.fill("#id_name", "小米手机短信转发")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url("**/devices/*/")
    visit(page, "device-new")  # with its secret, shown this once
    visit(page, "device", page.url)
    visit(page, "devices", base + "devices/")
    visit(page, "analysis", base + "analysis/")
    page.goto(base)
    assert page.locator("#conduct-panel tbody tr").count() == 3  # 170…, 171…, 10690000
    visit(page, "case-conduct")
    visit(page, "share-nothing", f"{live_server.url}/share/")
    visit(page, "share-choose", f"{live_server.url}/share/?held={HELD}")
    visit(page, "share-form", f"{live_server.url}/share/?held={HELD}&case={case.pk}")
    visit(page, "settings", f"{live_server.url}/accounts/preferences/")
    visit(page, "entry-read-text", base + f"entries/{world['read'].seq}/")
    if world["recording"] is not None:
        visit(page, "entry-audio", base + f"entries/{world['recording'].seq}/")
    visit(page, "timeline-words", base + "timeline/?q=" + "上门")
    visit(page, "timeline-newest", base + "timeline/")
    page.locator(".pager a[rel=next]").click()
    visit(page, "timeline-older")
    context.close()

    context = phone_context(browser, width, height)
    page = context.new_page()
    log_in(page, live_server.url, world["lawyer"].username)
    visit(page, "share-no-case", f"{live_server.url}/share/?held={HELD}")
    visit(page, "analysis-reviewer", base + "analysis/")
    page.goto(base)
    assert page.locator("#conduct-panel").is_visible()
    visit(page, "case-conduct-reviewer")
    context.close()

    context = phone_context(browser, width, height)
    page = context.new_page()
    visit(page, "share-signed-out", f"{live_server.url}/share/?held={HELD}")
    context.close()

    # What the share sheet posts when the service worker is not there yet (the first visit):
    # the worker is blocked, or it would take the post.
    context = phone_context(browser, width, height, service_workers="block")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate(
        """() => { const form = document.createElement('form');
            form.method = 'post'; form.action = '/share/'; form.enctype = 'multipart/form-data';
            const text = document.createElement('input');
            text.name = 'text'; text.value = '再不还钱就找上门'; form.append(text);
            document.body.append(form); form.submit(); }"""
    )
    page.wait_for_url("**/share/")
    visit(page, "share-no-worker")
    context.close()
    return found


def test_the_newer_pages_fit_the_phone_and_pass_axe(
    browser,  # noqa: F811
    live_server,
    axe_source,
) -> None:
    """The same sweep over the pages added after it (issue 16 "Done when"), at 360×740 and
    320 px wide, in Chinese."""
    found = _newer_tour(browser, live_server, axe_source, 360, 740)
    problems = phone_problems(found, 360)
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


def _owner_page(browser, live_server, width: int = 360, height: int = 740, **kw: Any):  # noqa: F811
    case = make_case(owner=UserFactory(username="xiaoli"), title="网贷催收")
    context = phone_context(browser, width, height, **kw)
    page = context.new_page()
    log_in(page, live_server.url, case.owner.username)
    return case, context, page


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_an_empty_call_cannot_be_saved(browser, live_server, javascript: bool) -> None:  # noqa: F811
    case, context, page = _owner_page(browser, live_server, java_script_enabled=javascript)
    url = f"{live_server.url}/cases/{case.pk}/log/call/"
    page.goto(url)
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    error = page.locator(".errors .error")
    error.first.wait_for()
    assert "至少" in error.first.inner_text()
    # Back and Save again (the way it slipped through): still refused.
    page.goto(url)
    page.get_by_role("button", name="保存").click()
    error.first.wait_for()
    assert not Entry.objects.filter(case=case, kind="call").exists()
    shot(page, f"empty-call-{'js' if javascript else 'no-js'}")
    # One fact is enough.
    page.locator("label.chip", has_text="威胁").click()
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/receipt/")
    assert Entry.objects.get(case=case, kind="call").body["tags"] == ["threat"]
    context.close()


def test_a_number_typed_in_full_width_digits_is_taken(browser, live_server) -> None:  # noqa: F811
    """Item 3: a Chinese keyboard, or a number pasted from WeChat, gives ＋８６ and １３８;
    they are read as +86 and 138, not refused."""
    case, context, page = _owner_page(browser, live_server)
    page.goto(f"{live_server.url}/cases/{case.pk}/log/call/")
    page.fill("#id_number", "＋８６\u3000１３８－００１３－８０００")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/receipt/")
    assert Entry.objects.get(case=case, kind="call").body["number"] == "+86 138-0013-8000"
    context.close()


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("１３８ ００１３ ８０００", "138 0013 8000"),
        ("（０１０）１２３４５６７８", "(010)12345678"),
    ],
)
def test_the_call_form_reads_full_width_numbers_and_still_refuses_letters(
    typed: str, kept: str
) -> None:
    from locker.web.forms.entries import CallForm

    taken = CallForm(data={"direction": "incoming", "number": typed})
    taken.is_valid()
    assert "number" not in taken.errors and taken.cleaned_data["number"] == kept
    refused = CallForm(data={"direction": "incoming", "number": "１３８abc"})
    assert not refused.is_valid() and "number" in refused.errors


def test_the_api_refuses_an_empty_call_with_422() -> None:
    from .personas import ApiClient

    case = make_case(title="网贷催收")
    api = ApiClient(services.issue_token(user=case.owner, name="test")[1])
    answer = api.post_json(f"/api/cases/{case.pk}/entries", {"kind": "call", "body": {}})
    assert answer.status_code == 422, answer.content
    assert "fact" in answer.json()["detail"] or "事实" in answer.json()["detail"]
    answer = api.post_json(
        f"/api/cases/{case.pk}/entries", {"kind": "call", "body": {"direction": "missed"}}
    )
    assert answer.status_code == 422
    assert not Entry.objects.filter(case=case, kind="call").exists()
    answer = api.post_json(
        f"/api/cases/{case.pk}/entries", {"kind": "call", "body": {"number": "95188"}}
    )
    assert answer.status_code == 201


def test_an_sms_over_the_limit_is_refused_not_cut(browser, live_server) -> None:  # noqa: F811
    from locker.core.kinds import LONG_TEXT_MAX

    case, context, page = _owner_page(browser, live_server)
    page.goto(f"{live_server.url}/cases/{case.pk}/log/message/")
    assert page.locator("#id_text").get_attribute("maxlength") is None
    long_text = "催" * (LONG_TEXT_MAX + 1)
    page.fill("#id_text", long_text)
    assert len(page.locator("#id_text").input_value()) == LONG_TEXT_MAX + 1  # not cut
    page.get_by_role("button", name="保存").click()
    error = page.locator("#f-text .error, .errors .error")
    error.first.wait_for()
    assert str(LONG_TEXT_MAX) in error.first.inner_text()
    assert not Entry.objects.filter(case=case, kind="message").exists()
    shot(page, "sms-too-long")
    context.close()


@pytest.mark.parametrize(("width", "height"), PHONES, ids=[f"{w}x{h}" for w, h in PHONES])
@pytest.mark.parametrize("form", ["call", "message"])
def test_save_stays_in_reach_on_the_log_forms(
    browser,  # noqa: F811
    live_server,
    form: str,
    width: int,
    height: int,
) -> None:
    case, context, page = _owner_page(browser, live_server, width, height)
    page.goto(f"{live_server.url}/cases/{case.pk}/log/{form}/")
    save = page.get_by_role("button", name="保存")
    for position in ("top", "middle"):
        if position == "middle":
            page.evaluate("window.scrollTo(0, document.body.scrollHeight / 3)")
        box = save.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= height, (position, box)
        assert box["height"] >= 44
    context.close()


def test_the_dossier_form_shows_options_as_rows(browser, live_server) -> None:  # noqa: F811
    case, context, page = _owner_page(browser, live_server)
    page.goto(f"{live_server.url}/cases/{case.pk}/dossiers/")
    page.locator(".dossier-form details summary").click()
    for control in page.locator(
        ".dossier-form input[type=radio], .dossier-form input[type=checkbox]"
    ).all():
        box = control.bounding_box()
        label = control.locator("xpath=ancestor::label[1]").bounding_box()
        assert box and label
        assert box["width"] <= 28 and box["height"] <= 28, box
        # The label's words sit beside the control, on its row, not below it.
        assert label["height"] < 80 and label["width"] > box["width"] * 3, (box, label)
    shot(page, "dossier-form-rows")
    context.close()


def test_sharing_with_a_user_name_does_not_warn_of_a_failed_mail(browser, live_server) -> None:  # noqa: F811
    from django.core import mail

    UserFactory(username="lawyer-wang")
    case, context, page = _owner_page(browser, live_server)
    page.goto(f"{live_server.url}/cases/{case.pk}/sharing/")
    page.fill("#id_grantee", "lawyer-wang")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    messages = page.locator(".messages").inner_text()
    assert "邮件" not in messages and "结束" not in messages, messages
    assert page.locator(".msg.warning").count() == 0
    assert not mail.outbox
    shot(page, "shared-by-username")
    context.close()


def test_the_owner_sees_no_review_tab_on_the_dossier_progress_page(
    browser,  # noqa: F811
    live_server,
) -> None:
    from locker.services import dossiers as dossier_services

    case, context, page = _owner_page(browser, live_server)
    dossier = dossier_services.request_dossier(
        case=case,
        user=case.owner,
        template="court",
        language="zh-hans",
        date_from=None,
        date_to=None,
        kinds=[],
        verify_url=f"{live_server.url}/verify",
    )
    for path in (f"dossiers/{dossier.pk}/", "dossiers/"):
        page.goto(f"{live_server.url}/cases/{case.pk}/{path}")
        tabs = page.locator(".case-nav a").all_inner_texts()
        assert "审阅" not in tabs and "记录" in tabs, tabs
    shot(page, "dossier-progress")
    context.close()


def test_the_lawyer_ends_their_access_on_purpose(browser, live_server) -> None:  # noqa: F811
    from locker.models import Share

    case = make_case(title="网贷催收")
    lawyer = UserFactory(username="lawyer-wang")
    share = share_with(case, lawyer, "reviewer")
    context = phone_context(browser, 390, 844)
    page = context.new_page()
    log_in(page, live_server.url, lawyer.username)
    page.goto(f"{live_server.url}/shared/")
    assert page.get_by_role("button", name="退出", exact=True).count() == 0
    opener = page.locator("summary", has_text="结束我的访问")
    box = opener.bounding_box()
    assert box and box["height"] >= 44 and box["width"] >= 44
    opener.click()  # opens the second step; nothing ends yet
    share.refresh_from_db()
    assert share.ended_at is None
    confirm = page.get_by_role("button", name="确定结束我的访问")
    box = confirm.bounding_box()
    assert box and box["height"] >= 44
    shot(page, "end-access")
    confirm.click()
    page.wait_for_url("**/shared/")
    assert Share.objects.get(pk=share.pk).ended_at is not None
    context.close()


def test_the_chinese_catalogue_speaks_in_one_register() -> None:
    """您 throughout: the app never switches to the familiar 你 (collectors' words quoted in
    records are the user's own and are not in the catalogue)."""
    import gettext

    compiled = Path(__file__).resolve().parent.parent / "locale/zh_Hans/LC_MESSAGES/django.mo"
    with compiled.open("rb") as mo:
        catalogue = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
    familiar = [key for key, text in catalogue.items() if "你" in str(text)]
    assert not familiar, familiar


def test_small_wording_on_the_case_and_sign_up_pages(browser, live_server) -> None:  # noqa: F811
    case, context, page = _owner_page(browser, live_server)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    # The receipt upload, the only field of its form, carries no "required" star.
    assert page.locator("#f-receipt .req").count() == 0
    page.goto(f"{live_server.url}/cases/{case.pk}/log/call/")
    assert page.locator("h1").inner_text() == "记录一通电话"
    context.close()
    context = phone_context(browser, 360, 740)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/signup/")
    help_text = page.locator("#id_username").locator("xpath=..").inner_text()
    assert "不能含 @" in help_text and "@/./+/-/_" not in help_text, help_text
    page.fill("#id_username", "li@home")
    page.fill("#id_password1", "Lantern-harbour-47")
    page.fill("#id_password2", "Lantern-harbour-47")
    page.get_by_role("button", name="注册").click()
    page.wait_for_load_state()
    assert "@" in page.locator(".error").first.inner_text()
    context.close()


@needs_ffmpeg
@needs_amr_encoder
def test_an_amr_recording_plays_and_a_heic_photo_shows_on_a_phone(browser, live_server) -> None:  # noqa: F811
    """issue 16 item 6: the player's source is the worker's AAC copy, which Chromium plays
    (its duration is known once its metadata loaded), and the HEIC photo's picture decodes."""
    case, context, page = _owner_page(browser, live_server)
    call = add_entry(
        case, "call", {"number": "170 1234 5678"},
        uploads=[services.Upload(name="通话录音.amr", stream=io.BytesIO(amr_recording(3.0)))],
    )  # fmt: skip
    photo = add_entry(
        case, "note", {"text": "门口的照片"},
        uploads=[services.Upload(name="IMG_0001.HEIC", stream=io.BytesIO(heic_photo(400, 300)))],
    )  # fmt: skip
    # Before the worker ran: the page says a copy is being made.
    page.goto(f"{live_server.url}/cases/{case.pk}/entries/{call.seq}/")
    assert page.locator("[data-derived=preparing]").count() == 1
    assert page.locator("audio").count() == 0
    assert sorted(run_worker_on_derived(case)) == ["ready", "ready"]

    page.reload()
    audio = page.locator("audio")
    sha = call.evidence[0]["sha256"]
    assert audio.get_attribute("src") == f"/cases/{case.pk}/files/{sha}/playable.m4a"
    duration = page.evaluate(
        """audio => new Promise((resolve, reject) => {
            if (audio.readyState >= 1) return resolve(audio.duration);
            audio.addEventListener('loadedmetadata', () => resolve(audio.duration));
            audio.addEventListener('error', () => reject(new Error('media error ' +
                (audio.error && audio.error.code))));
            audio.load();
        })""",
        audio.element_handle(),
    )
    assert 2.5 < duration < 3.5
    shot(page, "amr-call")

    page.goto(f"{live_server.url}/cases/{case.pk}/entries/{photo.seq}/")
    picture = page.locator("figure img.viewer")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=picture.element_handle()
    )
    assert page.evaluate("img => img.naturalWidth", picture.element_handle()) == 400
    shot(page, "heic-photo")
    context.close()
