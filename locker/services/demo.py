"""Demo data for a newcomer: an account with a realistic month of debt-collection harassment
in Chinese (night calls from rotating numbers, threatening SMS with screenshots, contacts
"blasted", a 5,000-yuan loan of which 3,500 was received). Everything goes through the
services, so the demo chain is as real as any other. Used by `manage.py seed_demo` only."""

from __future__ import annotations

import io
import math
import random
import secrets
import shutil
import struct
import subprocess
import wave
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from locker import services
from locker.infra import fonts
from locker.models import Case

ZONE = ZoneInfo("Asia/Shanghai")
KNOWN_CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


class NoCJKFont(RuntimeError):
    pass


def cjk_font_path() -> str | None:
    """A font file with Chinese glyphs: the dossier's (locker/infra/fonts.py), else
    fontconfig's, else one of a few Debian paths."""
    path = fonts.cjk_font_path()
    if path:
        return str(path)
    if shutil.which("fc-list"):
        listing = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10
        ).stdout
        paths = sorted(line.split(":")[0].strip() for line in listing.splitlines() if line)
        if paths:
            return paths[0]
    return next((p for p in KNOWN_CJK_FONTS if Path(p).exists()), None)


# --- pictures ------------------------------------------------------------------------------


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for char in paragraph:
            if font.getlength(line + char) > width:
                lines.append(line)
                line = char
            else:
                line += char
        lines.append(line)
    return lines


def sms_screenshot(*, font_path: str, sender: str, messages: list[tuple[str, str]]) -> bytes:
    """A phone's SMS thread as a PNG: status bar, the sender, and grey bubbles with times."""
    width, height = 720, 1480
    image = Image.new("RGB", (width, height), "#f2f2f7")
    draw = ImageDraw.Draw(image)
    small = ImageFont.truetype(font_path, 22)
    body = ImageFont.truetype(font_path, 30)
    title = ImageFont.truetype(font_path, 32)
    draw.rectangle([0, 0, width, 52], fill="#f2f2f7")
    draw.text((28, 12), messages[0][0][-5:], font=small, fill="#111")
    draw.text((width - 100, 12), "4G 23%", font=small, fill="#111")
    draw.rectangle([0, 52, width, 150], fill="#fbfbfd")
    draw.text((28, 64), "<", font=title, fill="#0a84ff")
    draw.text((width // 2, 80), sender, font=title, fill="#111", anchor="mm")
    draw.text((width // 2, 122), "短信/彩信", font=small, fill="#8e8e93", anchor="mm")
    y = 180
    for stamp, text in messages:
        draw.text((width // 2, y), stamp, font=small, fill="#8e8e93", anchor="mm")
        y += 30
        lines = _wrap(text, body, 500)
        box_h = 24 + len(lines) * 42
        draw.rounded_rectangle([28, y, 28 + 540, y + box_h], radius=26, fill="#e5e5ea")
        for index, line in enumerate(lines):
            draw.text((52, y + 14 + index * 42), line, font=body, fill="#111")
        y += box_h + 36
    draw.rounded_rectangle([28, height - 96, width - 28, height - 36], radius=30, outline="#c7c7cc")
    draw.text((56, height - 80), "短信", font=small, fill="#8e8e93")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def tone_wav(seconds: float = 2.0) -> bytes:
    """A short synthetic tone standing in for a call recording (labelled as such)."""
    rate = 8000
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * i / rate)))
            for i in range(int(rate * seconds))
        )
        handle.writeframes(frames)
    return out.getvalue()


# --- the story -----------------------------------------------------------------------------

NUMBERS = [
    "170 1234 5678",
    "171 8765 4321",
    "165 0021 3344",
    "162 5566 7788",
    "0755-2345 6789",
    "+86 167 2233 4455",
    "192 0000 1234",
]
CALLER_CLAIMS = [
    "速借花贷后部",
    "法务部张律师",
    "鼎信催收",
    "xx区法院执行庭",
    "催收员（自称“小李”）",
]
CALL_SUMMARIES = [
    "让我今天必须还清8600元，否则“后果自负”。",
    "一直骂我是老赖，说要把我的照片发到通讯录。",
    "说已经立案，明天就上门带我去派出所。",
    "问我妈妈的电话，说要“跟家里人好好聊聊”。",
    "接通后不说话，过几秒挂断，连续打了好几次。",
    "说要到我单位找领导，让我“在公司待不下去”。",
    "",
]
THREAT_SMS = [
    "【速借花】您的借款已严重逾期，今日17:00前不还款，我司将联系您通讯录中所有联系人，告知您恶意拖欠。",
    "你已被列入失信名单，法务部已准备起诉材料，明天上午将由xx区法院送达传票，后果自负！",
    "老赖，再不还钱就把你的照片和身份证发到你所有同学群里，让大家都认识认识你。",
    "我们已掌握你的单位地址，明天会派人去你公司找你领导谈谈。",
]
CONTACTS = [
    ("妈妈", "母亲", "call", "晚上十点多有人打电话给我，说你欠钱不还，要我替你还，还骂得很难听。"),
    ("王强", "同事", "sms", "收到短信说你是老赖，让我转告你还钱，否则会去公司闹。"),
    ("李静", "大学同学", "wechat", "一个陌生微信号加我，发了你的身份证照片，说你借钱不还。"),
    ("陈经理", "公司领导", "call", "对方自称律师，打到公司前台找我，说要起诉你，让公司配合。"),
    ("小刘", "朋友", "sms", "半夜收到短信，说你把我填成了紧急联系人，让我马上催你还款。"),
]


@dataclass
class DemoResult:
    username: str
    password: str
    case: Case
    entries: int
    screenshots: int = 0
    notes: list[str] = field(default_factory=list)


def _at(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


def _calls_for(day_index: int, rng: random.Random) -> list[tuple[int, int]]:
    """Calls escalate over the month: a few a day at first, then many, many at night."""
    count = min(1 + day_index // 3, 9) + rng.randint(0, 2)
    hours = [8, 9, 10, 12, 14, 16, 18, 20, 21, 22, 23, 6, 7, 0]
    night_bias = min(day_index / 20, 0.7)
    slots = []
    for _ in range(count):
        if rng.random() < night_bias:
            hour = rng.choice([21, 22, 23, 0, 6, 7])
        else:
            hour = rng.choice(hours[:8])
        slots.append((hour, rng.randint(0, 59)))
    return sorted(slots, key=lambda s: ((s[0] - 6) % 24, s[1]))


def seed(username: str = "demo", *, days: int = 30, seed_value: int = 2026) -> DemoResult:
    font_path = cjk_font_path()
    if font_path is None:
        raise NoCJKFont(
            "no font with Chinese characters was found for the SMS screenshots; install one "
            "(Debian: apt-get install fonts-wqy-zenhei) and run seed_demo again"
        )
    rng = random.Random(seed_value)  # noqa: S311 - repeatable demo data, not secrets
    user_model = get_user_model()
    password = secrets.token_urlsafe(9)
    today = timezone.localtime(timezone.now(), ZONE).date()
    first_day = today - timedelta(days=days)
    with transaction.atomic():
        user = user_model.objects.create_user(username=username, password=password)
        services.set_preferences(user=user, time_zone="Asia/Shanghai", language="zh-hans")
        author = f"user:{user.pk}"
        case = services.create_case(
            owner=user,
            author=author,
            title="速借花 催收骚扰",
            lender="速借金融信息服务有限公司",
            lending_app="速借花",
            borrower_name="张*",
            currency="CNY",
            principal_minor=500000,
            received_minor=350000,
            demanded_minor=860000,
            loan_start=(first_day - timedelta(days=8)).isoformat(),
            loan_due=(first_day - timedelta(days=1)).isoformat(),
            collector_agency="鼎信商务咨询有限公司（外包催收）",
        )

    def add(kind: str, body: dict[str, Any], when: datetime, uploads: Any = ()) -> int:
        return services.append_entry(
            case=case, author=author, kind=kind, body=body, occurred_at=when, uploads=uploads
        ).entry.seq

    result = DemoResult(username=username, password=password, case=case, entries=0)
    add(
        "note",
        {
            "text": "借款5000元，到账只有3500元，1500元被当作“服务费”“审核费”直接扣掉了（砍头息）。"
            "期限7天，到期要还5000元。逾期后对方要求还8600元。"
        },
        _at(first_day - timedelta(days=8), 20, 30),
    )
    night_call_seq = None
    for index in range(days):
        day = first_day + timedelta(days=index)
        for hour, minute in _calls_for(index, rng):
            night = hour < 8 or hour >= 21
            tags = ["excessive_frequency"] if index > 10 else []
            if night:
                tags.append("night_time")
            summary = rng.choice(CALL_SUMMARIES)
            if "骂" in summary:
                tags.append("insult")
            if "后果" in summary or "派出所" in summary or "单位" in summary:
                tags.append("threat")
            if "法院" in summary or "立案" in summary:
                tags.append("fake_legal_document")
            if "单位" in summary:
                tags.append("workplace_contact")
            seq = add(
                "call",
                {
                    "direction": rng.choice(["incoming", "incoming", "missed"]),
                    "number": rng.choice(NUMBERS[: 3 + index // 6]),
                    "duration_s": rng.randint(15, 420),
                    "caller_claims": rng.choice(CALLER_CLAIMS),
                    "summary": summary,
                    "tags": sorted(set(tags)),
                },
                _at(day, hour, minute),
            )
            if night and night_call_seq is None:
                night_call_seq = seq
        if index % 4 == 2:
            text = THREAT_SMS[(index // 4) % len(THREAT_SMS)]
            when = _at(day, rng.choice([7, 13, 22, 23]), rng.randint(0, 59))
            stamp = when.strftime("%m月%d日 %H:%M")
            sender = NUMBERS[(index // 4) % len(NUMBERS)]
            picture = sms_screenshot(font_path=font_path, sender=sender, messages=[(stamp, text)])
            result.screenshots += 1
            tags = ["threat"]
            if "通讯录" in text or "同学群" in text:
                tags += ["contact_list_blast", "public_shaming"]
            if "法院" in text or "起诉" in text:
                tags.append("fake_legal_document")
            if "单位" in text or "公司" in text:
                tags.append("workplace_contact")
            if when.hour >= 21 or when.hour < 8:
                tags.append("night_time")
            add(
                "message",
                {"channel": "sms", "sender": sender, "text": text, "tags": sorted(set(tags))},
                when,
                [
                    services.Upload(
                        name=f"Screenshot_{when:%Y%m%d_%H%M%S}.png", stream=io.BytesIO(picture)
                    )
                ],
            )
        if index >= 6 and (index - 6) % 5 == 0 and (index - 6) // 5 < len(CONTACTS):
            name, relation, channel, summary = CONTACTS[(index - 6) // 5]
            add(
                "contact_report",
                {
                    "contact_name": name,
                    "relation": relation,
                    "channel": channel,
                    "summary": summary,
                    "tags": ["contact_list_blast", "third_party_contact"],
                },
                _at(day, 21, 40),
            )
    # A batch of screenshots in one entry, as a user would upload them.
    last = first_day + timedelta(days=days - 1)
    pictures = [
        services.Upload(
            name=f"Screenshot_{last:%Y%m%d}_{n}.png",
            stream=io.BytesIO(
                sms_screenshot(
                    font_path=font_path,
                    sender=NUMBERS[n],
                    messages=[
                        (f"{last:%m月%d日} 0{n}:1{n}", THREAT_SMS[n]),
                        (f"{last:%m月%d日} 0{n}:2{n}", "看到了吗？不还钱这事没完。"),
                    ],
                )
            ),
        )
        for n in range(2)
    ]
    result.screenshots += len(pictures)
    add(
        "message",
        {"channel": "sms", "sender": NUMBERS[0], "text": "", "tags": ["threat", "night_time"]},
        _at(last, 2, 30),
        pictures,
    )
    add(
        "call",
        {
            "direction": "incoming",
            "number": NUMBERS[1],
            "duration_s": 2,
            "summary": "通话录音（演示数据：合成的提示音，不是真实录音）。",
            "tags": ["threat"],
        },
        _at(last, 23, 5),
        [services.Upload(name="通话录音-演示.wav", stream=io.BytesIO(tone_wav()))],
    )
    if night_call_seq is not None:
        add(
            "correction",
            {
                "corrects_seq": night_call_seq,
                "reason": "号码记错了，核对通话记录后更正。",
                "changes": {"number": NUMBERS[3]},
            },
            _at(last, 9, 0),
        )
    add("note", {"text": "今天一共接了十几个电话，不敢开机，晚上睡不着。"}, _at(last, 23, 50))
    # One contact filed their own statement through a link; another link is still open.
    link, _raw = services.create_contact_link(case=case, user=user, label="表姐")
    services.submit_contact_report(
        link=link,
        body={
            "contact_name": "赵敏",
            "relation": "表姐",
            "channel": "wechat",
            "summary": "催收的人在微信上给我发了她的照片和欠款截图，说再不还就发到家族群里。",
            "tags": ["contact_list_blast", "public_shaming", "third_party_contact"],
        },
        occurred_at=_at(last, 19, 15),
    )
    services.create_contact_link(case=case, user=user, label="舅舅")
    result.entries = case.entries.count()
    return result
