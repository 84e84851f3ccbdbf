"""What a phone's forwarding app posts to a capture device (docs/capture.md), read into a
record: SmsForwarder's webhook (its default form post and JSON templates), SMS to URL
Forwarder's JSON, and the iOS Shortcuts recipe's JSON or form. Pure code: the fields come in
already decoded (a JSON object, or a form's first values), and nothing here reads the clock,
a database or a setting.

SmsForwarder signs a post the way DingTalk's robots do: sign = Base64(HMAC-SHA256(key =
secret, message = "<timestamp>\\n<secret>")), URL-encoded once by the app (and once more by
the form encoding of its default post, undone by the form parser). The signature covers the
time and the secret only, never the body: it proves that whoever sent it holds the secret,
at that time. So each signature is taken once (the service remembers it), within a window."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from locker.core import kinds
from locker.core.phones import normalise_phone

# The fields this module reads, by the names the apps use (docs/capture.md). Values under
# any other name are kept only in the raw body (the evidence file).
SENDER_FIELDS = ("from", "sender", "number", "phone")
# SmsForwarder's [org_content] is the text as received; its [content] is that text put into
# the app's message template (with the sender, the SIM, the time), so the first one wins.
TEXT_FIELDS = ("org_content", "text", "content", "msg", "message", "body")


class CaptureError(ValueError):
    """The post cannot be read as a record; the message says why (English: the phone's
    forwarding app shows it in its log, where nobody chose a language)."""


@dataclass(frozen=True)
class Capture:
    """A post read as a record: the entry's kind and body, the time it says it happened (None:
    it says none), and whether that time is the message's own (a re-send carries the same one)
    rather than the time the phone forwarded it."""

    kind: str
    body: dict[str, Any]
    occurred_at: datetime | None
    own_time: bool
    fields_used: tuple[str, ...] = field(default=())

    def fingerprint(self) -> str:
        """The same message forwarded twice (these apps re-send on a timeout): the same kind,
        sender and text at the same time (to the second). A post without a time of its own
        leaves it out; the service then matches only within the replay window."""
        typed = self.body.get("number") if self.kind == "call" else self.body.get("sender")
        # One number however the phone wrote it (full-width digits, +86, spaces).
        who = normalise_phone(str(typed or "")).key or typed
        what = (
            f"{self.body.get('direction', '')}|{self.body.get('duration_s', '')}"
            if self.kind == "call"
            else self.body.get("text", "")
        )
        when = (
            self.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if self.own_time and self.occurred_at is not None
            else ""
        )
        text = "\x1f".join((self.kind, str(who or ""), str(what), when))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- SmsForwarder's signature --------------------------------------------------------------


def smsforwarder_sign(secret: str, timestamp: str) -> str:
    """The Base64 signature SmsForwarder computes for `timestamp` (milliseconds, as text)."""
    message = f"{timestamp}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def decoded_sign(sign: str) -> str:
    """The Base64 signature from the `sign` field as it arrived: URL-encoded once by the app
    (Base64 never holds a %, so decoding until none is left is safe; at most twice, for a
    value encoded again on its way)."""
    value = sign.strip()
    for _round in range(2):
        if "%" not in value:
            break
        value = unquote(value)
    return value


def sign_matches(secret: str, timestamp: str, sign: str) -> bool:
    expected = smsforwarder_sign(secret, timestamp)
    return hmac.compare_digest(decoded_sign(sign).encode(), expected.encode())


def secret_matches(secret: str, offered: str) -> bool:
    """A secret sent in a header, compared in constant time."""
    return hmac.compare_digest(offered.strip().encode("utf-8"), secret.encode("utf-8"))


def signature_nonce(timestamp: str, sign: str) -> str:
    """What the service remembers of a signature so that it is taken once."""
    return hashlib.sha256(f"{timestamp}\n{decoded_sign(sign)}".encode()).hexdigest()


def timestamp_ms(value: Any) -> int | None:
    """Milliseconds since 1970 as the apps send them (a number or its text); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d{10,16}\s*", value):
        return int(value)
    return None


# --- reading a post -------------------------------------------------------------------------

# SmsForwarder's call texts, in each language it writes them (its strings.xml): the labels
# before the call's type, its duration and its time, and the type names.
_CALL_TYPE_LABELS = ("通话类型：", "通話類型：", "Call Type:")
_CALL_DURATION_LABELS = ("通话时长：", "通話時長：", "Call duration:")
_CALL_DATE_LABELS = ("通话时间：", "通話時間：", "Call date:")
# SmsForwarder's call type codes (1 incoming ended, 2 outgoing ended, 3 missed, 4 incoming
# ringing, 5 incoming answered, 6 outgoing dialled) and their names.
CALL_TYPE_CODES = {
    "1": "incoming",
    "2": "outgoing",
    "3": "missed",
    "4": "incoming",
    "5": "incoming",
    "6": "outgoing",
}
_CALL_TYPE_NAMES = {
    "来电挂机": "incoming",
    "來電掛機": "incoming",
    "in ended": "incoming",
    "来电提醒": "incoming",
    "來電提醒": "incoming",
    "in received": "incoming",
    "来电接通": "incoming",
    "來電接通": "incoming",
    "in answered": "incoming",
    "去电挂机": "outgoing",
    "去電掛機": "outgoing",
    "out ended": "outgoing",
    "去电拨出": "outgoing",
    "去電撥出": "outgoing",
    "out started": "outgoing",
    "未接来电": "missed",
    "未接來電": "missed",
    "missed": "missed",
    "incoming": "incoming",
    "outgoing": "outgoing",
}
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_SUB_ID = re.compile(r"SubId[：:]\s*-?\d+")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | int):
        return str(value)
    if isinstance(value, str):
        return value
    raise CaptureError("fields must be text or numbers")


def _first(fields: dict[str, Any], names: tuple[str, ...]) -> tuple[str, str]:
    for name in names:
        if name in fields and _text(fields[name]).strip():
            return name, _text(fields[name])
    return "", ""


def local_time(text: str, zone: str) -> datetime | None:
    """A phone's "yyyy-MM-dd HH:mm:ss" (its own clock, no zone) read in `zone`."""
    text = text.strip()
    if not _LOCAL_TIME.fullmatch(text):
        return None
    try:
        moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(UTC)


def _iso_time(value: str) -> datetime | None:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def unframe_smsforwarder(content: str, sender: str, zone: str) -> tuple[str, datetime | None]:
    """The text of SmsForwarder's default message template without its frame: the template
    puts the sender on the first line, then the text, the SIM's note, "SubId：n", the receive
    time and the device's name. Anything that is not exactly that frame is kept whole."""
    lines = content.replace("\r\n", "\n").split("\n")
    if len(lines) < 4 or lines[0].strip() != sender.strip():
        return content, None
    for index in range(len(lines) - 1, 1, -1):
        if _SUB_ID.fullmatch(lines[index].strip()):
            break
    else:
        return content, None
    rest = lines[index + 1 :]
    if not rest or len(rest) > 2 or not _LOCAL_TIME.fullmatch(rest[0].strip()):
        return content, None
    text = "\n".join(lines[1 : index - 1]).strip()
    return (text, local_time(rest[0], zone)) if text else (content, None)


def _labelled(lines: list[str], labels: tuple[str, ...]) -> str | None:
    for line in lines:
        stripped = line.strip()
        for label in labels:
            if stripped.startswith(label):
                return stripped[len(label) :].strip()
    return None


def call_facts(text: str) -> dict[str, Any] | None:
    """The direction, duration and time of one of SmsForwarder's call texts ("通话类型：来电挂机",
    "通话时长：35s", …); None when the text is not one."""
    lines = text.split("\n")
    name = _labelled(lines, _CALL_TYPE_LABELS)
    if name is None:
        return None
    direction = _CALL_TYPE_NAMES.get(name.lower())
    if direction is None:
        return None
    facts: dict[str, Any] = {"direction": direction}
    duration = _labelled(lines, _CALL_DURATION_LABELS)
    if duration and (match := re.fullmatch(r"(\d{1,5})\s*s?", duration)):
        facts["duration_s"] = min(int(match.group(1)), 86400)
    when = _labelled(lines, _CALL_DATE_LABELS)
    if when:
        facts["date"] = when
    return facts


def _direction(value: str) -> str | None:
    text = value.strip()
    return CALL_TYPE_CODES.get(text) or _CALL_TYPE_NAMES.get(text.lower())


def _number_fields(raw: str, member: str) -> dict[str, str]:
    """The number as the phone sent it. A sender's name ("中国银行", "ICBC Bank") or a short
    code stays as it is; its E.164 form is added where every record's is, when the entry is
    appended (locker/core/kinds.py, `with_e164`)."""
    return {member: raw.strip()[: 200 if member == "sender" else 40]}


def read_capture(fields: dict[str, Any], *, zone: str) -> Capture:
    """The record a post makes. `zone` is the owner's time zone, for the times a phone writes
    without one. Raises CaptureError."""
    fields = {str(k).strip().lower(): v for k, v in fields.items()}
    sender_name, sender = _first(fields, SENDER_FIELDS)
    text_name, text = _first(fields, TEXT_FIELDS)
    used = [name for name in (sender_name, text_name) if name]
    occurred: datetime | None = None
    own_time = False
    # The message's own time, where the post carries one.
    if receive := _text(fields.get("receive_time")).strip():
        occurred, own_time = local_time(receive, zone) or _iso_time(receive), True
        used.append("receive_time")
    elif (sent := timestamp_ms(fields.get("sentstamp"))) is not None:
        occurred, own_time = _from_ms(sent), True
        used.append("sentStamp")
    elif moment := _text(fields.get("time") or fields.get("occurred_at")).strip():
        parsed = timestamp_ms(moment)
        occurred = _from_ms(parsed) if parsed is not None else _iso_time(moment)
        if occurred is None:
            raise CaptureError("time must be ISO 8601 with a zone, or milliseconds")
        own_time = True
        used.append("time")
    explicit_time = own_time  # a time field, rather than one read out of the text
    if text_name == "content" and sender:
        unframed, framed_time = unframe_smsforwarder(text, sender, zone)
        if unframed != text:
            text = unframed
            if framed_time is not None and not own_time:
                occurred, own_time = framed_time, True
    if occurred is None and (signed := timestamp_ms(fields.get("timestamp"))) is not None:
        occurred = _from_ms(signed)  # when SmsForwarder forwarded it: close, but not its own
    if not sender and not text:
        raise CaptureError(
            'nothing to record: send the sender in "from" and the text in "text" or "content"'
        )
    kind_asked = _text(fields.get("kind") or fields.get("type")).strip().lower()
    call_type = _text(fields.get("call_type")).strip()
    facts = call_facts(text) if text else None
    direction = _direction(call_type) if call_type else None
    if kind_asked == "call" or direction is not None or facts is not None:
        return _call(
            fields, sender, facts, direction, (occurred, own_time, explicit_time), zone, used
        )
    channel = _text(fields.get("channel")).strip().lower() or "sms"
    if channel not in ("sms", "wechat", "qq", "app", "email", "other"):
        channel = "other"
    if kind_asked == "app":
        channel = "app"
    # Received: these apps forward what the phone received, never what it sent
    # (SmsForwarder's `type` is sms, call or app; SMS to URL Forwarder reads incoming SMS;
    # the iOS recipe runs when a message arrives), so no post can say otherwise.
    body: dict[str, Any] = {
        "channel": channel,
        "direction": "incoming",
        **_number_fields(sender, "sender"),
    }
    body["text"] = text[: kinds.LONG_TEXT_MAX]
    if len(text) > kinds.LONG_TEXT_MAX:
        raise CaptureError(f"the text is longer than {kinds.LONG_TEXT_MAX} characters")
    return Capture("message", body, occurred, own_time, tuple(used))


def _call(
    fields: dict[str, Any],
    number: str,
    facts: dict[str, Any] | None,
    direction: str | None,
    times: tuple[datetime | None, bool, bool],
    zone: str,
    used: list[str],
) -> Capture:
    facts = facts or {}
    occurred, own_time, explicit_time = times
    body: dict[str, Any] = {
        "direction": direction or facts.get("direction") or "incoming",
        **_number_fields(number, "number"),
    }
    duration: Any = fields.get("duration_s", fields.get("duration"))
    if duration is not None and _text(duration).strip():
        try:
            body["duration_s"] = max(0, min(int(_text(duration).strip()), 86400))
        except ValueError:
            raise CaptureError("duration must be whole seconds") from None
    elif "duration_s" in facts:
        body["duration_s"] = facts["duration_s"]
    # The call's own start ("通话时间：…") over the template's receive time, which for a
    # call is when the app forwarded it.
    if "date" in facts and not explicit_time:
        when = local_time(facts["date"], zone)
        if when is not None:
            occurred, own_time = when, True
    if not body["number"] and "duration_s" not in body:
        raise CaptureError('nothing to record: send the caller\'s number in "from"')
    return Capture("call", body, occurred, own_time, tuple(used))
