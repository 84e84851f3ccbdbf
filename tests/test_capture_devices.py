"""Capture devices (docs/capture.md): the owner's API, and what each phone app posts, in the
formats their sources and documents give: SmsForwarder's webhook (default form post, JSON
templates, call events) with its DingTalk-style signature computed here from its documented
algorithm, SMS to URL Forwarder's JSON with the secret in a header, and the iOS Shortcuts
recipe. Refusals store nothing; re-sent messages are recorded once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from locker import services
from locker.core import capture
from locker.infra.storage import iter_stored, storage_name_for
from locker.models import CaptureDevice, DevicePost, Entry
from locker.services import complainant as complainant_services

from .factories import PASSWORD, make_case
from .personas import Personas, api_as
from .ui_helpers import client_for, csrf_post

pytestmark = pytest.mark.django_db

RECEIVED = "2026-03-02 21:47:05"  # the phone's own clock, the owner's zone (Asia/Shanghai)
RECEIVED_UTC = datetime(2026, 3, 2, 13, 47, 5, tzinfo=UTC)
SMS = "【闪电借款】您已逾期3天，今晚12点前不还款将联系您的通讯录。"


def sign_of(secret: str, timestamp: str) -> str:
    """SmsForwarder's sign, as its documents give it (DingTalk's robot signing): Base64 of
    HMAC-SHA256 keyed with the secret over "<timestamp>\\n<secret>", then URL-encoded the way
    Java's URLEncoder does (every '+', '/' and '=' escaped)."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote(base64.b64encode(digest).decode(), safe="")


def now_ms() -> str:
    return str(int(timezone.now().timestamp() * 1000))


@pytest.fixture
def device(world: Personas) -> dict[str, Any]:
    made = world.api("owner").post_json(
        f"/api/cases/{world.case.id}/devices", {"name": "我的安卓手机"}
    )
    assert made.status_code == 201, made.content
    return made.json()


def path_of(device: dict[str, Any]) -> str:
    return "/api/capture/" + device["id"]


def post_form(device: dict[str, Any], fields: dict[str, str], **headers: str) -> Any:
    # SmsForwarder's default post: an application/x-www-form-urlencoded body, its values
    # (the already URL-encoded sign among them) encoded again by the form.
    return Client().post(
        path_of(device),
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        **headers,
    )


def post_json(device: dict[str, Any], body: Any, **headers: str) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return Client().post(path_of(device), raw, content_type="application/json", **headers)


def entries_of(world: Personas) -> list[Entry]:
    return list(Entry.objects.filter(case=world.case).order_by("seq"))


def default_content(sender: str, text: str) -> str:
    """SmsForwarder's default message template, filled in as the app does."""
    return f"{sender}\n{text}\nSIM1_中国移动\nSubId：1\n{RECEIVED}\n红米"


# The owner's API ---------------------------------------------------------------------------


def test_a_device_has_a_long_secret_shown_once_and_kept_only_sealed(
    world: Personas, device: dict[str, Any]
) -> None:
    secret = device["secret"]
    assert len(base64.urlsafe_b64decode(secret + "=")) >= 16  # ≥ 128 bits (it is 256)
    assert device["paused"] is False
    assert device["url"] == f"http://testserver/api/capture/{device['id']}"
    assert secret not in device["url"]
    row = CaptureDevice.objects.get(public_id=device["id"])
    assert secret.encode() not in bytes(row.sealed)
    assert secret not in json.dumps(
        {k: str(v) for k, v in CaptureDevice.objects.filter(pk=row.pk).values().get().items()}
    )
    listed = world.api("owner").get(f"/api/cases/{world.case.id}/devices").json()
    assert [d["id"] for d in listed] == [device["id"]]
    assert "secret" not in listed[0]


def test_the_url_uses_the_public_address_when_one_is_set(world: Personas, settings) -> None:
    settings.LOCKER_PUBLIC_URL = "https://locker.example.org"
    made = world.api("owner").post_json(f"/api/cases/{world.case.id}/devices", {"name": "x"})
    assert made.json()["url"] == f"https://locker.example.org/api/capture/{made.json()['id']}"


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "revoked", "stranger"])
def test_nobody_but_the_owner_sees_or_changes_a_device(
    world: Personas, device: dict[str, Any], persona: str
) -> None:
    other = world.api(persona)
    base = f"/api/cases/{world.case.id}/devices"
    assert other.get(base).status_code == 404
    assert other.post_json(base, {"name": "mine"}).status_code == 404
    assert other.patch_json(f"{base}/{device['id']}", {"paused": True}).status_code == 404
    assert other.delete(f"{base}/{device['id']}").status_code == 404
    assert CaptureDevice.objects.get(public_id=device["id"]).state() == "active"


def test_another_case_owner_cannot_reach_the_device_through_their_own_case(
    world: Personas, device: dict[str, Any]
) -> None:
    theirs = make_case()
    api = api_as(theirs.owner)
    answer = api.patch_json(f"/api/cases/{theirs.id}/devices/{device['id']}", {"paused": True})
    assert answer.status_code == 404


# SmsForwarder ------------------------------------------------------------------------------


def test_smsforwarder_default_form_post_with_its_signature(
    world: Personas, device: dict[str, Any]
) -> None:
    stamp = now_ms()
    sign = sign_of(device["secret"], stamp)
    assert "%" in sign or sign.isalnum()
    fields = {
        "from": "+86 138 0013 8000",
        "content": default_content("+86 138 0013 8000", SMS),
        "timestamp": stamp,
        "sign": sign,
    }
    answer = post_form(device, fields)
    assert answer.status_code == 201, answer.content
    entry = entries_of(world)[-1]
    assert answer.json() == {"seq": entry.seq, "duplicate": False}
    assert entry.kind == "message"
    assert entry.author == f"device:{device['id']}"
    assert entry.body["channel"] == "sms"
    assert entry.body["text"] == SMS  # the template's frame taken off
    # Kept as the phone sent it, with its E.164 form beside it (docs/chain-format.md).
    assert entry.body["sender"] == "+86 138 0013 8000"
    assert entry.body["sender_e164"] == "+8613800138000"
    assert entry.occurred_at == RECEIVED_UTC
    # The body as it arrived is the evidence file.
    [item] = entry.evidence
    assert item["name"] == "device-post.txt" and item["media_type"] == "text/plain"
    raw = urlencode(fields).encode()
    assert item["sha256"] == hashlib.sha256(raw).hexdigest()
    stored = storage_name_for(str(world.case.id), item["sha256"])
    assert b"".join(iter_stored(stored)) == raw


def test_smsforwarder_json_template_with_the_documented_placeholders(
    world: Personas, device: dict[str, Any]
) -> None:
    stamp = now_ms()
    # The template {"from":"[from]","content":"[org_content]","timestamp":"[timestamp]",
    # "sign":"[sign]","receive_time":"[receive_time]"} as the app fills it: [sign] once
    # URL-encoded, no form encoding on top.
    body = {
        "from": "１０６９０００８８",
        "content": SMS,
        "timestamp": stamp,
        "sign": sign_of(device["secret"], stamp),
        "receive_time": RECEIVED,
    }
    answer = post_json(device, body)
    assert answer.status_code == 201, answer.content
    entry = entries_of(world)[-1]
    # An SMS sender code has no E.164 form: kept as sent, and printed as the channels
    # write it (106900088) where a dossier lists it.
    assert entry.body["sender"] == "１０６９０００８８"
    assert "sender_e164" not in entry.body
    assert entry.body["text"] == SMS
    assert entry.occurred_at == RECEIVED_UTC
    assert entry.evidence[0]["name"] == "device-post.json"
    assert entry.evidence[0]["media_type"] == "application/json"


def test_smsforwarder_json_timestamp_as_a_number_and_sign_decoded_is_accepted(
    world: Personas, device: dict[str, Any]
) -> None:
    stamp = now_ms()
    body = {
        "from": "10086",
        "content": "话费余额不足",
        "timestamp": int(stamp),
        "sign": base64.b64encode(
            hmac.new(
                device["secret"].encode(), f"{stamp}\n{device['secret']}".encode(), hashlib.sha256
            ).digest()
        ).decode(),
    }
    assert post_json(device, body).status_code == 201


def test_smsforwarder_call_events_become_calls(world: Personas, device: dict[str, Any]) -> None:
    stamp = now_ms()
    call_text = (
        "通讯录名：未知号码\n通话时间：2026-03-02 21:40:00\n通话时长：35s\n通话类型：来电挂机"
    )
    answer = post_form(
        device,
        {
            "from": "13900139000",
            "content": default_content("13900139000", call_text),
            "timestamp": stamp,
            "sign": sign_of(device["secret"], stamp),
        },
    )
    assert answer.status_code == 201, answer.content
    call = entries_of(world)[-1]
    assert call.kind == "call"
    assert call.body["direction"] == "incoming"
    assert call.body["number"] == "13900139000"
    assert call.body["duration_s"] == 35
    assert call.occurred_at == datetime(2026, 3, 2, 13, 40, tzinfo=UTC)
    # A missed call, by its English text, and one by SmsForwarder's type code.
    stamp = now_ms()
    missed = post_form(
        device,
        {
            "from": "13900139001",
            "content": "Contact:Unknown\nCall Type: Missed",
            "timestamp": stamp,
            "sign": sign_of(device["secret"], stamp),
        },
    )
    assert missed.status_code == 201
    assert entries_of(world)[-1].body["direction"] == "missed"
    stamp = now_ms()
    coded = post_json(
        device,
        {
            "from": "13900139002",
            "call_type": "2",
            "duration": "61",
            "timestamp": stamp,
            "sign": sign_of(device["secret"], stamp),
        },
    )
    assert coded.status_code == 201, coded.content
    last = entries_of(world)[-1]
    assert (last.kind, last.body["direction"], last.body["duration_s"]) == ("call", "outgoing", 61)


def test_a_bad_signature_is_refused_and_nothing_is_stored(
    world: Personas, device: dict[str, Any]
) -> None:
    before = len(entries_of(world))
    stamp = now_ms()
    wrong = sign_of("not the secret", stamp)
    answer = post_form(device, {"from": "1", "content": "x", "timestamp": stamp, "sign": wrong})
    assert answer.status_code == 401
    # Neither without a signature nor with one made for another time.
    unsigned = post_form(device, {"from": "1", "content": "x", "timestamp": stamp})
    assert unsigned.status_code == 401
    other_time = sign_of(device["secret"], str(int(stamp) + 1))
    moved = post_form(device, {"from": "1", "content": "x", "timestamp": stamp, "sign": other_time})
    assert moved.status_code == 401
    assert len(entries_of(world)) == before
    assert DevicePost.objects.count() == 0


@pytest.mark.parametrize("minutes", [-6, 6])
def test_a_stale_or_future_timestamp_is_refused(
    world: Personas, device: dict[str, Any], minutes: int
) -> None:
    stamp = str(int((timezone.now() + timedelta(minutes=minutes)).timestamp() * 1000))
    answer = post_form(
        device,
        {"from": "1", "content": "x", "timestamp": stamp, "sign": sign_of(device["secret"], stamp)},
    )
    assert answer.status_code == 401
    assert "too far" in answer.json()["detail"]
    assert DevicePost.objects.count() == 0


def test_the_window_is_a_setting(world: Personas, device: dict[str, Any], settings) -> None:
    settings.LOCKER_DEVICE_SIGNATURE_WINDOW_S = 900
    stamp = str(int((timezone.now() - timedelta(minutes=10)).timestamp() * 1000))
    answer = post_form(
        device,
        {"from": "1", "content": "x", "timestamp": stamp, "sign": sign_of(device["secret"], stamp)},
    )
    assert answer.status_code == 201


def test_a_signature_is_taken_once(world: Personas, device: dict[str, Any]) -> None:
    stamp = now_ms()
    sign = sign_of(device["secret"], stamp)
    first = post_form(
        device, {"from": "95555", "content": "第一条", "timestamp": stamp, "sign": sign}
    )
    assert first.status_code == 201
    count = len(entries_of(world))
    # Someone who saw it sends other text under the same signature: refused.
    forged = post_form(
        device, {"from": "95555", "content": "伪造的内容", "timestamp": stamp, "sign": sign}
    )
    assert forged.status_code == 401
    assert "used already" in forged.json()["detail"]
    # The app's own retry of the very same request: the record it already made.
    again = post_form(
        device, {"from": "95555", "content": "第一条", "timestamp": stamp, "sign": sign}
    )
    assert again.status_code == 200
    assert again.json() == {"seq": first.json()["seq"], "duplicate": True}
    assert len(entries_of(world)) == count


def test_a_re_sent_message_with_a_new_signature_is_recorded_once(
    world: Personas, device: dict[str, Any]
) -> None:
    first_stamp = int(now_ms())
    answers = []
    # The app forwards it again a few seconds later: a new time, so a new signature.
    for stamp in (str(first_stamp), str(first_stamp + 4000)):
        fields = {
            "from": "95555",
            "content": default_content("95555", SMS),
            "timestamp": stamp,
            "sign": sign_of(device["secret"], stamp),
        }
        answers.append(post_form(device, fields))
    assert [a.status_code for a in answers] == [201, 200]
    assert answers[1].json() == {"seq": answers[0].json()["seq"], "duplicate": True}
    assert len([e for e in entries_of(world) if e.author.startswith("device:")]) == 1
    # Both signatures are spent.
    assert DevicePost.objects.filter(nonce__gt="").count() == 2


# SMS to URL Forwarder ----------------------------------------------------------------------


def sms_to_url_body(text: str = SMS, sent: int = 1772459225000) -> bytes:
    # Its default template: {"from":"%from%","text":"%text%","sentStamp":%sentStamp%,
    # "receivedStamp":%receivedStamp%,"sim":"%sim%"}, numbers unquoted.
    return (
        '{\n  "from":"106900001111",\n  "text":"'
        + text
        + '",\n  "sentStamp":'
        + str(sent)
        + ',\n  "receivedStamp":'
        + str(sent + 2000)
        + ',\n  "sim":"sim1"\n}'
    ).encode()


def test_sms_to_url_forwarder_with_the_secret_in_a_header(
    world: Personas, device: dict[str, Any]
) -> None:
    answer = post_json(device, sms_to_url_body(), HTTP_X_LOCKER_SECRET=device["secret"])
    assert answer.status_code == 201, answer.content
    entry = entries_of(world)[-1]
    # Received: the app forwards incoming SMS only, so the record says so.
    assert entry.body == {
        "channel": "sms",
        "direction": "incoming",
        "sender": "106900001111",
        "text": SMS,
        "tags": [],
    }
    assert entry.occurred_at == datetime.fromtimestamp(1772459225, tz=UTC)


def test_a_wrong_header_secret_is_refused(world: Personas, device: dict[str, Any]) -> None:
    wrong = device["secret"][:-1] + ("A" if device["secret"][-1] != "A" else "B")
    answer = post_json(device, sms_to_url_body(), HTTP_X_LOCKER_SECRET=wrong)
    assert answer.status_code == 401
    assert DevicePost.objects.count() == 0


def test_the_same_sms_sent_twice_is_recorded_once(world: Personas, device: dict[str, Any]) -> None:
    first = post_json(device, sms_to_url_body(), HTTP_X_LOCKER_SECRET=device["secret"])
    count = len(entries_of(world))
    again = post_json(device, sms_to_url_body(), HTTP_X_LOCKER_SECRET=device["secret"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {"seq": first.json()["seq"], "duplicate": True}
    assert len(entries_of(world)) == count
    # The same text at another time is another message.
    later = post_json(
        device, sms_to_url_body(sent=1772459325000), HTTP_X_LOCKER_SECRET=device["secret"]
    )
    assert later.status_code == 201


# iOS Shortcuts -------------------------------------------------------------------------------


def test_ios_shortcuts_json_with_a_bearer_secret(world: Personas, device: dict[str, Any]) -> None:
    body = {"from": "+86 138 0013 8000", "text": "明天上门", "time": "2026-03-02T21:47:05+08:00"}
    answer = post_json(device, body, HTTP_AUTHORIZATION=f"Bearer {device['secret']}")
    assert answer.status_code == 201, answer.content
    entry = entries_of(world)[-1]
    assert entry.body["text"] == "明天上门"
    assert entry.occurred_at == RECEIVED_UTC


def test_ios_shortcuts_form_post_of_a_call(world: Personas, device: dict[str, Any]) -> None:
    answer = post_form(
        device,
        {"kind": "call", "from": "13900139000", "direction": "incoming", "duration_s": "120"},
        HTTP_X_LOCKER_SECRET=device["secret"],
    )
    assert answer.status_code == 201, answer.content
    call = entries_of(world)[-1]
    assert (call.kind, call.body["number"], call.body["duration_s"]) == ("call", "13900139000", 120)


def test_a_post_that_reads_as_nothing_is_refused(world: Personas, device: dict[str, Any]) -> None:
    headers = {"HTTP_X_LOCKER_SECRET": device["secret"]}
    assert post_json(device, {"sim": "sim1"}, **headers).status_code == 422
    assert post_json(device, b"[1, 2]", **headers).status_code == 415
    plain = Client().post(path_of(device), b"hello", content_type="text/plain", **headers)
    assert plain.status_code == 415
    assert DevicePost.objects.count() == 0


# Pause, revoke, rate ----------------------------------------------------------------------


def test_a_paused_device_stores_nothing_until_resumed(
    world: Personas, device: dict[str, Any]
) -> None:
    base = f"/api/cases/{world.case.id}/devices/{device['id']}"
    paused = world.api("owner").patch_json(base, {"paused": True})
    assert paused.status_code == 200 and paused.json()["paused"] is True
    answer = post_json(device, sms_to_url_body(), HTTP_X_LOCKER_SECRET=device["secret"])
    assert answer.status_code == 403
    assert DevicePost.objects.count() == 0
    # A paused device still refuses a wrong secret as such.
    assert post_json(device, sms_to_url_body(), HTTP_X_LOCKER_SECRET="x").status_code == 401
    world.api("owner").patch_json(base, {"paused": False})
    assert (
        post_json(device, sms_to_url_body(), HTTP_X_LOCKER_SECRET=device["secret"]).status_code
        == 201
    )


def test_a_revoked_device_is_gone(world: Personas, device: dict[str, Any]) -> None:
    base = f"/api/cases/{world.case.id}/devices/{device['id']}"
    assert world.api("owner").delete(base).status_code == 204
    answer = post_json(device, sms_to_url_body(), HTTP_X_LOCKER_SECRET=device["secret"])
    assert answer.status_code == 404
    assert DevicePost.objects.count() == 0
    assert bytes(CaptureDevice.objects.get(public_id=device["id"]).sealed) == b""
    assert world.api("owner").patch_json(base, {"paused": False}).status_code == 404
    assert world.api("owner").delete(base).status_code == 404
    listed = world.api("owner").get(f"/api/cases/{world.case.id}/devices").json()
    assert listed[0]["revoked"] is True
    assert (
        Client()
        .post("/api/capture/nosuchdevice", b"{}", content_type="application/json")
        .status_code
        == 404
    )


def test_posts_are_rate_limited_per_device(
    world: Personas, device: dict[str, Any], settings
) -> None:
    settings.LOCKER_DEVICE_RATE = "2/m"
    for sent in (1772459225000, 1772459226000):
        body = sms_to_url_body(sent=sent)
        assert post_json(device, body, HTTP_X_LOCKER_SECRET=device["secret"]).status_code == 201
    third = post_json(
        device, sms_to_url_body(sent=1772459227000), HTTP_X_LOCKER_SECRET=device["secret"]
    )
    assert third.status_code == 429
    assert third["Retry-After"] == "60"
    assert DevicePost.objects.count() == 2
    # Another device of the case has a count of its own.
    other = (
        world.api("owner").post_json(f"/api/cases/{world.case.id}/devices", {"name": "b"}).json()
    )
    assert (
        post_json(other, sms_to_url_body(), HTTP_X_LOCKER_SECRET=other["secret"]).status_code == 200
    )


# The secret stays out of logs and addresses -----------------------------------------------


def test_the_secret_is_never_logged_nor_in_an_address(
    world: Personas, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    made = world.api("owner").post_json(f"/api/cases/{world.case.id}/devices", {"name": "x"})
    secret, url = made.json()["secret"], made.json()["url"]
    device = made.json()
    stamp = now_ms()
    post_form(
        device, {"from": "1", "content": "a", "timestamp": stamp, "sign": sign_of(secret, stamp)}
    )
    post_form(
        device, {"from": "1", "content": "b", "timestamp": stamp, "sign": sign_of(secret, stamp)}
    )
    post_json(device, sms_to_url_body(), HTTP_X_LOCKER_SECRET=secret)
    post_json(device, sms_to_url_body(), HTTP_X_LOCKER_SECRET=secret + "x")
    world.api("owner").get(f"/api/cases/{world.case.id}/devices")
    page = world.web("owner").get(f"/cases/{world.case.id}/devices/").content.decode()
    assert caplog.records, "nothing was logged: the check would pass for the wrong reason"
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + str(getattr(record, "request", ""))
        assert secret not in text
    assert secret not in url and secret not in page


def test_the_header_is_redacted_where_headers_are_logged() -> None:
    from locker.infra import redact

    assert "x-locker-secret" in redact.SECRET_HEADERS


# What the core reads --------------------------------------------------------------------------


def test_the_sign_is_a_base64_hmac_taken_url_encoded_once_or_twice() -> None:
    # The signature is Base64 of a 32-byte HMAC-SHA256 (44 characters).
    sign = capture.smsforwarder_sign("SEC123", "1700000000000")
    assert len(base64.b64decode(sign)) == 32
    assert capture.sign_matches("SEC123", "1700000000000", quote(sign, safe=""))
    assert capture.sign_matches("SEC123", "1700000000000", quote(quote(sign, safe=""), safe=""))
    assert not capture.sign_matches("SEC124", "1700000000000", sign)


def test_a_frame_that_is_not_the_default_template_is_kept_whole() -> None:
    text = "95555\n您的账户\n有变动"
    read = capture.read_capture({"from": "95555", "content": text}, zone="Asia/Shanghai")
    assert read.body["text"] == text and read.occurred_at is None


def test_key_rotation_covers_device_secrets(world: Personas, device: dict[str, Any]) -> None:
    assert CaptureDevice in complainant_services.SEALED_ROW_MODELS
    rewrapped, failed = complainant_services.rewrap_sealed_details()
    assert failed == []
    # Only device secrets are sealed here: the old key may not be retired while one is under it.
    assert not complainant_services.every_detail_under(b"\x00" * 8)


def test_a_device_post_type_is_only_for_devices(world: Personas) -> None:
    import io

    with pytest.raises(services.InputError):
        services.append_entry(
            case=world.case,
            author=f"user:{world.owner.pk}",
            kind="note",
            body={"text": "x"},
            uploads=[services.Upload(name="a.txt", stream=io.BytesIO(b'{"a": 1}'))],
        )


# The owner's pages -------------------------------------------------------------------------


def test_the_page_makes_a_device_with_its_qr_code_and_shows_the_secret_once(
    world: Personas,
) -> None:
    owner = client_for(world.owner)
    listing = reverse("devices", args=[world.case.pk])
    assert owner.get(listing).status_code == 200
    made = csrf_post(owner, listing, {"name": "我的安卓手机"})
    assert made.status_code == 302
    device = CaptureDevice.objects.get(case=world.case)
    assert device.public_id in made["Location"]
    page = owner.get(made["Location"])
    html = page.content.decode()
    secret = html.split('id="device-secret"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert len(secret) >= 43
    assert "no-store" in page["Cache-Control"]
    assert "<svg" in html  # the QR code, of the address
    assert f"http://testserver/api/capture/{device.public_id}" in html
    # The secret works, and it is never shown again.
    answer = post_json({"id": device.public_id}, sms_to_url_body(), HTTP_X_LOCKER_SECRET=secret)
    assert answer.status_code == 201
    assert secret not in owner.get(made["Location"]).content.decode()
    assert secret not in made["Location"]


def test_the_page_pauses_resumes_and_revokes(world: Personas) -> None:
    owner = client_for(world.owner)
    device, secret = services.create_device(case=world.case, user=world.owner, name="x")
    args = [world.case.pk, device.public_id]
    csrf_post(owner, reverse("device_pause", args=args), {"paused": "1"})
    device.refresh_from_db()
    assert device.state() == "paused"
    csrf_post(owner, reverse("device_pause", args=args), {"paused": "0"})
    device.refresh_from_db()
    assert device.state() == "active"
    csrf_post(owner, reverse("device_revoke", args=args), {})
    device.refresh_from_db()
    assert device.state() == "revoked"
    assert "revoked" in owner.get(reverse("devices", args=[world.case.pk])).content.decode()


def test_the_pages_speak_chinese(world: Personas) -> None:
    owner = client_for(world.owner)
    page = owner.get(reverse("devices", args=[world.case.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "自动" in page.content.decode()


def test_a_records_author_reads_as_the_device(world: Personas, device: dict[str, Any]) -> None:
    post_json(device, sms_to_url_body(), HTTP_X_LOCKER_SECRET=device["secret"])
    entry = entries_of(world)[-1]
    page = world.web("owner").get(reverse("entry_detail", args=[world.case.pk, entry.seq]))
    assert device["id"] in page.content.decode()


def test_deleting_the_case_takes_its_devices(world: Personas, device: dict[str, Any]) -> None:
    from locker.services.deletion import delete_case

    post_json(device, sms_to_url_body(), HTTP_X_LOCKER_SECRET=device["secret"])
    delete_case(case=world.case, user=world.owner, password=PASSWORD)
    assert not CaptureDevice.objects.exists() and not DevicePost.objects.exists()
