"""Keyword detection for the conduct analysis (locker/core/conduct.py, docs/analysis.md): the
Chinese and English word lists, by the tag a match suggests, and `detect`, which finds them
in a record's text. A match is a suggestion the user confirms, never a finding.

Pure: no Django, no database."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from locker.core.kinds import Tag

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
