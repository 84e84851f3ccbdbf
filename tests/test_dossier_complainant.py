"""The complainant's details (docs/complainant-details.md): checked (GB 11643, phone forms)
with clear errors in both languages, sealed at rest, masked on screen except in the owner's
edit form, kept out of bundles, listings, other pages and logs; carried in full by the
cn_regulator dossier (every art. 13/14 element, signature block, the authorisation as annex
A) and the cn_12321 report (receiving numbers, one row per call or SMS), in both languages."""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from locker import services
from locker.core import envelope, identity
from locker.infra import master_keys
from locker.models import CaseComplaint, ComplainantDetails, Share
from locker.selectors.complainant import complainant_of, complaint_of
from locker.services import complainant as details

from .conftest import needs
from .dossier_helpers import has, make_dossier, pdf_text, small_case
from .factories import add_entry, share_with
from .personas import Personas, api_as
from .ui_helpers import client_for, csrf_post, png_bytes

pytestmark = pytest.mark.django_db
needs_pdftotext = needs(has("pdftotext"), "poppler-utils (pdftotext) is not installed")

ID_NUMBER = "11010519491231002X"
PERSON = {
    "legal_name": "王晓芳",
    "id_type": "resident_id",
    "id_number": "110105 19491231 002x",  # typed with spaces and a small x
    "phone": "+86 139-1234-5678",
    "email": "wang.fang@example.org",
    "address": "北京市朝阳区幸福路1号",
}
COMPLAINT = {
    "receiving_numbers": ["１３６ ０００１ ２３４５", "0086 13700002222"],
    "typed_signature": True,
    "agent_name": "赵律师",
    "agent_relationship": "北京明理律师事务所",
    "agent_contact": "zhao@minglilaw.example",
}


def flat(text: str) -> str:
    """pdftotext breaks lines anywhere in CJK text: compare without any whitespace."""
    return re.sub(r"\s+", "", text)


def fill_in(case: Any, *, agent: bool = True, authorisation: bool = True) -> None:
    details.save_complainant_details(user=case.owner, **PERSON)
    complaint = dict(COMPLAINT)
    if not agent:
        complaint.update(agent_name="", agent_relationship="", agent_contact="")
    details.save_case_complaint(case=case, **complaint)
    if authorisation:
        details.store_authorisation(case=case, upload=io.BytesIO(png_bytes(300, 400, "blue")))
    services.update_case_facts(
        case=case,
        author=f"user:{case.owner.pk}",
        changes={
            "lending_app": "速借花",
            "funding_institution": "某某消费金融股份有限公司",
            "staff_involved": "李经理（工号0231）",
        },
    )


def rendered(tmp_path: Path, case: Any, template: str, language: str) -> str:
    _dossier, data = make_dossier(case, template, language)
    path = tmp_path / f"{template}-{language}.pdf"
    path.write_bytes(data)
    return pdf_text(str(path))


# Checks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("１３８ ００１３ ８０００", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("(010) 1234-5678", "01012345678"),
        ("+852 9123 4567", "+85291234567"),
    ],
)
def test_phone_numbers_as_typed_on_a_phone_become_the_channels_form(
    typed: str, expected: str
) -> None:
    assert identity.clean_phone(typed) == expected


@pytest.mark.parametrize("typed", ["12345", "2380013800", "+86 138 0013", "١٣٨٠٠١٣٨٠٠٠", ""])
def test_phone_numbers_that_are_not_are_refused(typed: str) -> None:
    with pytest.raises(identity.DetailError):
        identity.clean_phone(typed)


def test_resident_id_numbers_follow_gb_11643() -> None:
    assert identity.clean_id_number("resident_id", "11010519491231002x") == ID_NUMBER
    for wrong, words in [
        ("110105194912310021", "GB 11643"),  # a wrong check character
        ("11010519491331002X", "date of birth"),  # month 13
        ("1101051949123100", "18 characters"),
    ]:
        with pytest.raises(identity.DetailError) as refused:
            identity.clean_id_number("resident_id", wrong)
        assert words in str(refused.value.args[0])
    with translation.override("zh-hans"):
        with pytest.raises(identity.DetailError) as refused:
            identity.clean_id_number("resident_id", "110105194912310021")
        assert "校验" in str(refused.value.args[0])


def test_other_documents_are_checked_by_their_own_form() -> None:
    assert identity.clean_id_number("hk_macau_permit", "h12345678") == "H12345678"
    assert identity.clean_id_number("passport", "E 1234 5678") == "E12345678"
    assert identity.clean_id_number("foreign_permanent_resident", "USA123456789012")
    with pytest.raises(identity.DetailError):
        identity.clean_id_number("hk_macau_permit", "12345678")
    with pytest.raises(identity.DetailError):
        identity.clean_id_number("taiwan_permit", "1234")


def test_a_refused_detail_names_its_field_in_the_users_language_and_stores_nothing() -> None:
    case = small_case()
    with pytest.raises(details.DetailRefused) as refused:
        details.save_complainant_details(
            user=case.owner, **{**PERSON, "id_number": "110105194912310021"}
        )
    assert refused.value.field == "id_number"
    assert not ComplainantDetails.objects.exists()
    with pytest.raises(details.DetailRefused) as refused:
        details.save_case_complaint(case=case, receiving_numbers=["12345"])
    assert refused.value.field == "receiving_numbers"
    with translation.override("zh-hans"):
        assert "电话号码" in str(refused.value)
    with pytest.raises(details.DetailRefused) as refused:
        details.save_case_complaint(case=case, receiving_numbers=[], agent_contact="x")
    assert refused.value.field == "agent_name"
    assert not CaseComplaint.objects.exists()


def test_an_authorisation_that_is_not_a_picture_is_refused_whole() -> None:
    case = small_case()
    with pytest.raises(details.DetailRefused) as refused:
        details.store_authorisation(case=case, upload=io.BytesIO(b"%PDF-1.4 not really"))
    assert refused.value.field == "authorisation"
    assert not CaseComplaint.objects.exists()


# Sealed at rest -------------------------------------------------------------------------------


def test_details_are_sealed_at_rest_and_open_only_for_their_own_row() -> None:
    case = small_case()
    fill_in(case)
    row = ComplainantDetails.objects.get(user=case.owner)
    sealed = bytes(row.sealed)
    assert envelope.is_sealed(sealed)
    assert ID_NUMBER.encode() not in sealed and "王".encode() not in sealed
    assert complainant_of(case.owner).id_number == ID_NUMBER
    assert complaint_of(case).receiving_numbers == ("13600012345", "13700002222")
    # A sealed value copied onto another person's row does not open there.
    other = small_case()
    details.save_complainant_details(user=other.owner, legal_name="别人")
    ComplainantDetails.objects.filter(user=other.owner).update(sealed=sealed)
    with pytest.raises(Exception, match="not the one of"):
        complainant_of(other.owner)


def test_rotation_rewraps_sealed_details_and_the_old_key_can_go(settings) -> None:
    old = base64.b64encode(os.urandom(32)).decode()
    settings.LOCKER_MASTER_KEY = old
    master_keys.forget()
    try:
        case = small_case()
        fill_in(case, authorisation=False)
        new = base64.b64encode(os.urandom(32)).decode()
        settings.LOCKER_MASTER_KEY = f"{new},{old}"
        master_keys.forget()
        out = io.StringIO()
        call_command("rotate_master_key", stdout=out)
        assert "2 sealed complainant detail(s) re-wrapped" in out.getvalue()
        settings.LOCKER_MASTER_KEY = new
        master_keys.forget()
        assert complainant_of(case.owner).id_number == ID_NUMBER
        assert complaint_of(case).agent_name == "赵律师"
    finally:
        master_keys.forget()


# The dossiers ---------------------------------------------------------------------------------


@needs_pdftotext
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_regulator_complaint_carries_every_art_13_and_14_element(
    tmp_path: Path, language: str
) -> None:
    case = small_case()
    fill_in(case)
    text = flat(rendered(tmp_path, case, "cn_regulator", language))
    authorisation = complaint_of(case).authorisation
    assert authorisation is not None
    with translation.override(language):
        labels = [
            str(identity.ID_TYPES["resident_id"]),
            "Request" if language == "en" else "投诉请求",
            "Facts and grounds" if language == "en" else "事实和理由",
            "Annex A" if language == "en" else "附件A",
        ]
    for expected in [
        "王晓芳",  # the legal name
        ID_NUMBER,
        "13912345678",
        "wang.fang@example.org",
        "北京市朝阳区幸福路1号",
        "闪电借款",  # the lender
        "速借花",  # the lending app
        "某某消费金融股份有限公司",  # the funding institution
        "李经理（工号0231）",  # staff named by the complainant
        "自称律师",  # staff as the caller claimed
        "赵律师",
        "北京明理律师事务所",
        "zhao@minglilaw.example",
        authorisation.sha256,
        "/s/王晓芳",  # the typed signature …
        *labels,
    ]:
        assert flat(expected) in text, expected
    assert re.search(r"/s/王晓芳.{0,40}\d{4}-\d{2}-\d{2}", text)  # … with its date
    assert "MISSING" not in text and "缺少" not in text
    assert "张*" not in text


@needs_pdftotext
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_missing_details_are_named_as_missing_with_lines_to_sign_by_hand(
    tmp_path: Path, language: str
) -> None:
    case = small_case(borrower_name="张*")
    details.save_case_complaint(
        case=case,
        receiving_numbers=[],
        agent_name="赵律师",
        agent_relationship="律所",
        agent_contact="13511112222",
    )
    text = flat(rendered(tmp_path, case, "cn_regulator", language))
    with translation.override(language):
        for element in identity.TEMPLATE_ELEMENTS["cn_regulator"]:
            if element != "institution":  # the lender is a case fact given
                assert flat(details_missing(element)) in text, element
        assert flat(str(_hand_date())) in text
    assert "/s/" not in text


def details_missing(element: str) -> str:
    from locker.dossier.complainant import missing

    return missing(element)


def _hand_date() -> str:
    from django.utils.translation import gettext

    return gettext("____ year ____ month ____ day")


@needs_pdftotext
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_12321_report_has_the_reporter_receiving_numbers_and_each_message(
    tmp_path: Path, language: str
) -> None:
    case = small_case()
    fill_in(case, agent=False, authorisation=False)
    add_entry(
        case,
        "call",
        {"number": "+86 138 0013 8000", "summary": "说要上门", "direction": "missed"},
        occurred_at="2026-01-09T22:05:00+08:00",
    )
    raw = rendered(tmp_path, case, "cn_12321", language)
    text = flat(raw)
    for expected in [
        "王晓芳",
        "13912345678",  # the reporter's contact phone
        "13600012345",  # their own receiving numbers
        "13700002222",
        "2026-01-0523:10",  # each call and message: time, sending number, full text
        "17012345678",
        "威胁要爆通讯录",
        "2026-01-0609:00",
        "106900001",
        "再不还钱就起诉你",
        "2026-01-0922:05",
        "13800138000",
        "说要上门",
    ]:
        assert expected in text, expected
    # The report prints numbers as the channel takes them (the timeline after it shows each
    # record as it was entered).
    report = raw.split("Timeline" if language == "en" else "时间线")[0]
    assert "13800138000" in report
    assert "138 0013 8000" not in report and "+86" not in report
    assert flat("Each call and text message" if language == "en" else "每一次来电和短信") in text
    assert "MISSING" not in text and "缺少" not in text


# Kept out of everything else ------------------------------------------------------------------


def test_the_id_number_is_nowhere_but_the_owners_edit_form_and_the_two_dossiers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world = Personas()
    case = world.case
    reviewer = world.user("reviewer")
    owner = world.web("owner")
    # Entered through the page, as the owner does.
    owner.get(reverse("complainant_details") + "?edit=1")
    posted = csrf_post(owner, reverse("complainant_details"), PERSON)
    assert posted.status_code == 302, posted.content.decode()[:500]
    assert complainant_of(world.owner).id_number == ID_NUMBER
    masked = "1101**********002X"

    edit = owner.get(reverse("complainant_details") + "?edit=1").content.decode()
    assert ID_NUMBER in edit
    shown = owner.get(reverse("complainant_details")).content.decode()
    assert ID_NUMBER not in shown and masked in shown

    pages = {
        "case": owner.get(reverse("case_detail", args=[case.pk])),
        "timeline": owner.get(reverse("timeline", args=[case.pk])),
        "complaint": owner.get(reverse("case_complaint", args=[case.pk])),
        "dossiers": owner.get(reverse("dossier_export", args=[case.pk])),
        "reviewer dossiers": world.web("reviewer").get(reverse("dossier_export", args=[case.pk])),
        "reviewer review": world.web("reviewer").get(reverse("review", args=[case.pk])),
        "contact link": world.web("contact").get(reverse("statement")),
        "settings": owner.get(reverse("preferences")),
    }
    for name, page in pages.items():
        assert page.status_code == 200, name
        assert ID_NUMBER not in page.content.decode(), name
    bundle = owner.get(reverse("export_zip", args=[case.pk]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(bundle.streaming_content)))
    for member in archive.namelist():
        assert ID_NUMBER.encode() not in archive.read(member), member
    api = api_as(world.owner)
    for path in [
        f"/api/cases/{case.pk}/entries",
        f"/api/cases/{case.pk}",
        "/api/cases",
        "/api/complainant",
        f"/api/cases/{case.pk}/complaint",
    ]:
        answer = api.get(path)
        assert answer.status_code == 200, path
        assert ID_NUMBER not in answer.content.decode(), path
    assert api.get("/api/complainant?reveal=true").json()["id_number"] == ID_NUMBER
    # A reviewer renders the complaint: the dossier carries the number; other templates not.
    share = world.share("reviewer")
    assert share.role == Share.REVIEWER and reviewer is not None
    _dossier, court = make_dossier(case, "court", "en")
    path = tmp_path / "court.pdf"
    path.write_bytes(court)
    if has("pdftotext"):
        assert ID_NUMBER not in pdf_text(str(path))
    assert ID_NUMBER not in caplog.text and "13912345678" not in caplog.text


def test_the_dossier_form_warns_of_what_is_missing_before_rendering() -> None:
    world = Personas()
    page = world.web("owner").get(reverse("dossier_export", args=[world.case.pk]))
    text = page.content.decode()
    assert "missing-cn_regulator" in text and "missing-cn_12321" in text
    assert str(identity.ELEMENT_LABELS["id_document"]) in text or "证件" in text
    fill_in(world.case, agent=False)
    after = world.web("owner").get(reverse("dossier_export", args=[world.case.pk])).content
    assert b"missing-cn_regulator" not in after and b"missing-cn_12321" not in after


# Pages and API --------------------------------------------------------------------------------


def test_the_owner_sees_the_authorisation_and_nobody_else_does() -> None:
    world = Personas()
    fill_in(world.case)
    url = reverse("authorisation_file", args=[world.case.pk])
    answer = world.web("owner").get(url)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "image/png"
    assert b"".join(answer.streaming_content) == png_bytes(300, 400, "blue")
    for persona in ("viewer", "reviewer", "stranger"):
        assert world.web(persona).get(url).status_code == 404, persona
    removed = csrf_post(
        world.web("owner"), reverse("authorisation_remove", args=[world.case.pk]), {}
    )
    assert removed.status_code == 302
    assert world.web("owner").get(url).status_code == 404


def test_a_bad_id_number_on_the_page_is_an_error_under_its_field() -> None:
    world = Personas()
    client = client_for(world.owner)
    client.get(reverse("complainant_details") + "?edit=1")
    answer = csrf_post(
        client,
        reverse("complainant_details"),
        {**PERSON, "id_number": "110105194912310021"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert answer.status_code == 400
    body = answer.content.decode()
    assert 'id="f-id_number"' in body and "has-error" in body
    assert "校验" in body
    assert not ComplainantDetails.objects.exists()


def test_the_api_refuses_bad_details_with_the_field_and_masks_by_default() -> None:
    world = Personas()
    api = api_as(world.owner)
    refused = api.put_json("/api/complainant", {**PERSON, "id_number": "110105194912310021"})
    assert refused.status_code == 422
    assert refused.json()["field"] == "id_number"
    assert "GB 11643" in refused.json()["detail"]
    saved = api.put_json("/api/complainant", PERSON)
    assert saved.status_code == 200
    assert saved.json()["id_number"] == "1101**********002X" and saved.json()["masked"]
    bad = api.put_json(f"/api/cases/{world.case.pk}/complaint", {"receiving_numbers": ["123"]})
    assert bad.status_code == 422 and bad.json()["field"] == "receiving_numbers"
    good = api.put_json(f"/api/cases/{world.case.pk}/complaint", COMPLAINT)
    assert good.status_code == 200
    assert good.json()["missing"]["cn_regulator"] == ["funding_institution", "authorisation"]
    upload = api.post_multipart(
        f"/api/cases/{world.case.pk}/complaint/authorisation",
        {"file": io.BytesIO(png_bytes(50, 80))},
    )
    assert upload.status_code == 201, upload.content
    assert complaint_of(world.case).authorisation is not None
    # A lawyer the case is shared with gets the 404 of a case they may not write.
    share_with(world.case, other := world.user("stranger"), Share.REVIEWER)
    assert api_as(other).get(f"/api/cases/{world.case.pk}/complaint").status_code == 404
