"""The conduct analysis of a case (docs/analysis.md): how often, how late, from which
numbers, who else was reached, and which records' words suggest a tag. Pure: the events of
locker.core.stats.effective_events in (corrections applied, times in the user's zone), one
ConductAnalysis out. The counts come from locker.core.stats and locker.core.regf, the same
functions the case page and the dossiers use, so each count has one source.

Keyword detection is a suggestion, never a finding: a word list cannot tell "we will sue
you" from "I told them I would go to the police". The user confirms a suggestion as a tag
(a correction entry, docs/chain-format.md "Confirming suggested tags"); only confirmed tags
count as conduct anywhere."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from locker.core import regf, stats
from locker.core.kinds import Tag
from locker.core.stats import DayCount, Event

WINDOW_DAYS = regf.WINDOW_DAYS

# The word lists, by the tag a match suggests. Chinese words are matched in the text with
# spaces and punctuation taken out ("起 诉", "起-诉" are still 起诉), after full-width
# letters are folded to ASCII and traditional characters to simplified (_TRADITIONAL).
# English words match whole words, case-insensitively ("police" but not "policy").
ZH_KEYWORDS: dict[str, tuple[str, ...]] = {
    Tag.THREAT: (
        "弄死",
        "打死",
        "砍死",
        "杀了你",
        "杀你",
        "杀全家",
        "废了你",
        "打断",
        "卸你",
        "上门",
        "找上门",
        "到你家",
        "去你家",
        "堵你",
        "后果自负",
        "走着瞧",
        "让你好看",
        "不得好死",
        "小心点",
        "你等着",
        "出门小心",
        "人身安全",
    ),
    Tag.INSULT: (
        "傻逼",
        "傻b",
        "sb",
        "煞笔",
        "垃圾",
        "畜生",
        "贱人",
        "婊子",
        "王八蛋",
        "狗东西",
        "老赖",
        "废物",
        "去死",
        "不要脸",
        "死全家",
        "你妈",
        "他妈的",
    ),
    Tag.IMPERSONATION: (
        "公安",
        "警察",
        "派出所",
        "警官",
        "民警",
        "刑警",
        "经侦",
        "网警",
        "法院",
        "法官",
        "检察院",
        "律师",
        "律所",
        "执行局",
        "司法所",
        "仲裁委",
    ),
    Tag.FAKE_LEGAL_DOCUMENT: (
        "律师函",
        "传票",
        "起诉书",
        "起诉",
        "立案",
        "拘留",
        "逮捕",
        "通缉",
        "判决书",
        "裁定书",
        "执行通知",
        "强制执行",
        "法院通知",
        "协查函",
        "逮捕令",
        "拘传",
        "征信黑名单",
        "刑事责任",
        "坐牢",
        "判刑",
        "诈骗罪",
    ),
    Tag.THIRD_PARTY_CONTACT: (
        "爆通讯录",
        "通讯录",
        "联系人",
        "全家",
        "家人",
        "父母",
        "你爸",
        "你妈妈",
        "老婆",
        "老公",
        "同事",
        "领导",
        "单位",
        "朋友圈",
        "亲戚",
        "紧急联系人",
        "曝光",
    ),
    Tag.PAY_UNRELATED_PARTY: (
        "转到个人账户",
        "个人账户",
        "个人账号",
        "私人账户",
        "转给",
        "打到这个卡",
        "这个卡号",
        "这张卡",
        "收款码",
        "扫码还款",
        "微信转账",
        "支付宝转账",
        "代还",
    ),
}

EN_KEYWORDS: dict[str, tuple[str, ...]] = {
    Tag.THREAT: (
        "kill you",
        "hurt you",
        "beat you",
        "break your",
        "come to your house",
        "come to your home",
        "find you",
        "you will regret",
        "watch your back",
        "consequences",
        "we know where you live",
    ),
    Tag.INSULT: (
        "idiot",
        "stupid",
        "scum",
        "bitch",
        "bastard",
        "loser",
        "deadbeat",
        "liar",
        "thief",
        "trash",
        "shameless",
    ),
    Tag.IMPERSONATION: (
        "police",
        "officer",
        "detective",
        "sheriff",
        "fbi",
        "court officer",
        "judge",
        "attorney",
        "lawyer",
        "law firm",
        "prosecutor",
    ),
    Tag.FAKE_LEGAL_DOCUMENT: (
        "arrest",
        "warrant",
        "lawsuit",
        "sue you",
        "summons",
        "subpoena",
        "court order",
        "legal notice",
        "legal action",
        "jail",
        "prison",
        "criminal charges",
        "garnish",
        "seize",
        "blacklist",
    ),
    Tag.THIRD_PARTY_CONTACT: (
        "your contacts",
        "contact list",
        "your family",
        "your parents",
        "your wife",
        "your husband",
        "your employer",
        "your boss",
        "your coworkers",
        "your colleagues",
        "your friends",
        "your neighbors",
        "everyone you know",
    ),
    Tag.PAY_UNRELATED_PARTY: (
        "personal account",
        "my account",
        "this account",
        "gift card",
        "cash app",
        "zelle",
        "venmo",
        "western union",
        "wire it to",
        "pay to this",
    ),
}

# Traditional characters in the words above, to simplified (a user may paste a message
# written in Hong Kong or Taiwan script). Only what the lists need: a full converter would
# be a dependency for no gain here.
_TRADITIONAL_PAIRS = {
    "訴": "诉",
    "師": "师",
    "傳": "传",
    "訊": "讯",
    "錄": "录",
    "殺": "杀",
    "廢": "废",
    "斷": "断",
    "門": "门",
    "後": "后",
    "負": "负",
    "讓": "让",
    "險": "险",
    "畜": "畜",
    "賤": "贱",
    "東": "东",
    "賴": "赖",
    "媽": "妈",
    "臉": "脸",
    "滾": "滚",
    "員": "员",
    "偵": "侦",
    "網": "网",
    "檢": "检",
    "察": "察",
    "執": "执",
    "行": "行",
    "局": "局",
    "裁": "裁",
    "決": "决",
    "書": "书",
    "強": "强",
    "製": "制",
    "協": "协",
    "徵": "征",
    "單": "单",
    "黑": "黑",
    "責": "责",
    "任": "任",
    "罪": "罪",
    "騙": "骗",
    "聯": "联",
    "係": "系",
    "親": "亲",
    "戚": "戚",
    "緊": "紧",
    "急": "急",
    "領": "领",
    "導": "导",
    "們": "们",
    "圈": "圈",
    "曝": "曝",
    "轉": "转",
    "個": "个",
    "賬": "账",
    "帳": "账",
    "號": "号",
    "張": "张",
    "碼": "码",
    "還": "还",
    "款": "款",
    "寶": "宝",
    "對": "对",
    "來": "来",
    "會": "会",
    "帶": "带",
    "讀": "读",
    "靜": "静",
    "場": "场",
    "處": "处",
    "縣": "县",
    "區": "区",
    "報": "报",
    "條": "条",
    "務": "务",
    "頭": "头",
    "給": "给",
    "這": "这",
    "卡": "卡",
    "爺": "爷",
    "爸": "爸",
    "婆": "婆",
    "錢": "钱",
    "證": "证",
    "據": "据",
    "罰": "罚",
    "債": "债",
    "機": "机",
    "關": "关",
    "話": "话",
}
_TRADITIONAL = str.maketrans({k: v for k, v in _TRADITIONAL_PAIRS.items() if k != v})
_NOT_CJK_WORD = re.compile(r"[\s\W_]+", re.UNICODE)


def fold(text: str) -> str:
    """The text as the Chinese lists are matched against it: NFKC (full-width letters and
    digits to ASCII), lower case, traditional characters to simplified, spaces and
    punctuation removed."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_TRADITIONAL)
    return _NOT_CJK_WORD.sub("", folded)


def _english_pattern(word: str) -> re.Pattern[str]:
    # Whole words, the last one with its common endings ("arrested", "lawsuits").
    parts = [re.escape(p) for p in word.split()]
    return re.compile(r"(?<![a-z0-9])" + r"\s+".join(parts) + r"(?:s|es|ed|d|ing)?(?![a-z0-9])")


_EN_PATTERNS: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    tag: [(word, _english_pattern(word)) for word in words] for tag, words in EN_KEYWORDS.items()
}
_ZH_BY_LENGTH = sorted(
    ((word, str(tag)) for tag, words in ZH_KEYWORDS.items() for word in words),
    key=lambda pair: -len(pair[0]),
)
# Short Latin words in the Chinese list ("sb") must be whole words too, or "sbc" matches.
_ZH_LATIN = re.compile(r"^[a-z0-9]+$")


@dataclass(frozen=True)
class KeywordMatch:
    tag: str
    words: tuple[str, ...]  # the listed words found, in list order


def detect(text: str) -> list[KeywordMatch]:
    """The tags the words of `text` suggest, with the listed words found (zh and en)."""
    if not text or not text.strip():
        return []
    folded = fold(text)
    spaced = unicodedata.normalize("NFKC", text).casefold()
    # Longest Chinese words first, each match taken out of the text, so that the 律师 of a
    # 律师函 (a legal document) does not also suggest an impersonated lawyer.
    zh_found: dict[str, list[str]] = defaultdict(list)
    for word, tag in _ZH_BY_LENGTH:
        if _ZH_LATIN.match(word):
            if _english_pattern(word).search(spaced):
                zh_found[tag].append(word)
        elif word in folded:
            zh_found[tag].append(word)
            folded = folded.replace(word, "\x00")
    found: list[KeywordMatch] = []
    for tag in (*ZH_KEYWORDS, *(t for t in EN_KEYWORDS if t not in ZH_KEYWORDS)):
        words = [w for w in ZH_KEYWORDS.get(tag, ()) if w in zh_found[str(tag)]]
        for word, pattern in _EN_PATTERNS.get(tag, []):
            if pattern.search(spaced):
                words.append(word)
        if words:
            found.append(KeywordMatch(str(tag), tuple(words)))
    return found


TEXT_MEMBERS = {
    "call": ("caller_claims", "summary"),
    "message": ("sender", "text"),
    "contact_report": ("summary",),
}


def event_text(event: Event) -> str:
    return "\n".join(str(event.body.get(name) or "") for name in TEXT_MEMBERS.get(event.kind, ()))


def tags_of(event: Event) -> list[str]:
    tags = event.body.get("tags")
    return [str(t) for t in tags] if isinstance(tags, list) else []


@dataclass(frozen=True)
class Suggestion:
    """A tag the analysis suggests for one record: by its words (`words`) or by a rule
    (`rule`: "night" for a contact before 08:00 or from 21:00, "frequency" for a call
    beyond the seventh in seven days, "contact_report" for a contact's statement)."""

    seq: int
    tag: str
    words: tuple[str, ...] = ()
    rule: str = ""


def suggestions(events: Sequence[Event], findings: regf.Findings) -> list[Suggestion]:
    """Tags suggested for records that do not carry them yet, in seq order. Only the kinds a
    tag belongs to (calls, messages, contact reports); outgoing calls are the borrower's own
    words and are not searched."""
    night = set(findings.night)
    over = set(findings.over_limit_calls)
    third = set(findings.third_parties)
    found: list[Suggestion] = []
    for event in sorted(events, key=lambda e: e.seq):
        if event.kind not in TEXT_MEMBERS:
            continue
        if event.kind == "call" and event.body.get("direction") == "outgoing":
            continue
        have = set(tags_of(event))
        per_tag: dict[str, Suggestion] = {}
        for match in detect(event_text(event)):
            # What a contact reports is the third-party contact itself, suggested below.
            if match.tag not in have:
                per_tag[match.tag] = Suggestion(event.seq, match.tag, words=match.words)
        rules = (
            (event.seq in night, Tag.NIGHT_TIME, "night"),
            (event.seq in over, Tag.EXCESSIVE_FREQUENCY, "frequency"),
            (event.seq in third, Tag.THIRD_PARTY_CONTACT, "contact_report"),
        )
        for applies, tag, rule in rules:
            if applies and str(tag) not in have and str(tag) not in per_tag:
                per_tag[str(tag)] = Suggestion(event.seq, str(tag), rule=rule)
        found.extend(per_tag[t] for t in sorted(per_tag, key=_tag_order))
    return found


def _tag_order(tag: str) -> int:
    names = [t.value for t in Tag]
    return names.index(tag) if tag in names else len(names)


def rolling_counts(days: Sequence[DayCount], window: int = WINDOW_DAYS) -> list[tuple[date, int]]:
    """For each day of `days` (consecutive, as stats.contacts_per_day gives them), the
    contacts on it and the `window` − 1 days before: the rolling 7-day count."""
    totals = [d.total for d in days]
    result = []
    running = 0
    for i, day in enumerate(days):
        running += totals[i]
        if i >= window:
            running -= totals[i - window]
        result.append((day.day, running))
    return result


@dataclass(frozen=True)
class NumberSummary:
    """One collector number: what came from it (calls and messages to the borrower)."""

    number: str
    calls: list[int]
    messages: list[int]
    night: list[int]
    first: datetime | None
    last: datetime | None
    active_days: int
    most_in_a_day: int
    most_in_7_days: int  # calls and messages together, calendar days
    over_limit: list[int]  # regf 1006.14(b)(2)(i), counting this number's calls alone
    after_conversation: list[int]  # the debt's (b)(2)(ii) calls placed from this number
    caller_claims: list[str]
    tags: dict[str, int]  # confirmed tags on its records

    @property
    def contacts(self) -> int:
        return len(self.calls) + len(self.messages)

    @property
    def flags(self) -> list[int]:
        """This number's calls Reg F 1006.14(b)(2) presumes harassing, either rule."""
        return sorted(set(self.over_limit) | set(self.after_conversation))


@dataclass(frozen=True)
class ConductAnalysis:
    days: list[DayCount]
    rolling: list[tuple[date, int]]
    contacts: int
    calls: int
    messages: int
    most_in_a_day: int
    busiest_day: date | None
    most_in_7_days: int  # calls and messages
    night: list[int]
    regf: regf.Findings  # per debt: over-limit calls, calls after a conversation, numbers
    numbers: list[NumberSummary]
    unnumbered: int  # contacts with no number or sender recorded
    third_parties: list[int]  # contact reports
    contacts_reached: int
    reached_names: list[str]
    tags: dict[str, int]  # confirmed tags (stats.tag_counts)
    suggestions: list[Suggestion] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None

    @property
    def frequency_flags(self) -> list[int]:
        """Seqs of the calls Reg F 1006.14(b)(2) presumes harassing, for the debt."""
        return self.regf.over_limit_calls


def _number_of(event: Event) -> str:
    member = "number" if event.kind == "call" else "sender"
    return stats.normalise_number(str(event.body.get(member) or ""))


def _most_in_window(moments: Sequence[datetime], window: int) -> int:
    ordered = sorted(m.date() for m in moments)
    best = start = 0
    for end, day in enumerate(ordered):
        while ordered[start] < day - timedelta(days=window - 1):
            start += 1
        best = max(best, end - start + 1)
    return best


def analyse(events: Sequence[Event]) -> ConductAnalysis:
    """The whole analysis of a case's events (stats.effective_events, erased entries left
    out by the caller)."""
    findings = regf.findings(events)
    contacts = [e for e in stats.contact_events(events)]
    days = stats.contacts_per_day(events)
    by_number: dict[str, list[Event]] = defaultdict(list)
    unnumbered = 0
    for event in contacts:
        number = _number_of(event)
        if number:
            by_number[number].append(event)
        else:
            unnumbered += 1
    regf_numbers = {n.number: n for n in findings.numbers}
    after = {c.call for c in findings.after_conversation}
    numbers = []
    for number, items in by_number.items():
        per_day = Counter(e.at.date() for e in items)
        reg = regf_numbers.get(number)
        tag_counter: Counter[str] = Counter(t for e in items for t in tags_of(e))
        claims = sorted(
            {str(e.body.get("caller_claims") or "").strip() for e in items if e.kind == "call"}
            - {""}
        )
        numbers.append(
            NumberSummary(
                number=number,
                calls=[e.seq for e in items if e.kind == "call"],
                messages=[e.seq for e in items if e.kind == "message"],
                night=[e.seq for e in items if stats.is_night(e.at)],
                first=min(e.at for e in items),
                last=max(e.at for e in items),
                active_days=len(per_day),
                most_in_a_day=max(per_day.values()),
                most_in_7_days=_most_in_window([e.at for e in items], WINDOW_DAYS),
                over_limit=list(reg.frequency.over_limit) if reg else [],
                after_conversation=[e.seq for e in items if e.seq in after],
                caller_claims=claims,
                tags=dict(tag_counter.most_common()),
            )
        )
    numbers.sort(key=lambda n: (-n.contacts, n.number))
    busiest = max(days, key=lambda d: (d.total, -d.day.toordinal()), default=None)
    third = stats.third_party_contact_events(events)
    names = sorted(
        {" ".join(str(e.body.get("contact_name") or "").split()) for e in third} - {""},
        key=str.casefold,
    )
    rolling = rolling_counts(days)
    return ConductAnalysis(
        days=days,
        rolling=rolling,
        contacts=len(contacts),
        calls=sum(1 for e in contacts if e.kind == "call"),
        messages=sum(1 for e in contacts if e.kind == "message"),
        most_in_a_day=busiest.total if busiest else 0,
        busiest_day=busiest.day if busiest and busiest.total else None,
        most_in_7_days=max((count for _day, count in rolling), default=0),
        night=findings.night,
        regf=findings,
        numbers=numbers,
        unnumbered=unnumbered,
        third_parties=findings.third_parties,
        contacts_reached=stats.contacts_reached(events),
        reached_names=names,
        tags=stats.tag_counts(events),
        suggestions=suggestions(events, findings),
        first=min((e.at for e in contacts), default=None),
        last=max((e.at for e in contacts), default=None),
    )
