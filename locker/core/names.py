"""A person's name put together from its parts: the one place an account's first and last
names become the name printed on a page, a dossier or an e-mail.

Django's own get_full_name() writes "first last", which turns 王𠮷 (family name 王, given name
𠮷) into "𠮷 王". Chinese, Japanese and Korean names are written family name first and with
no space between the parts; other names given name first, with a space."""

from __future__ import annotations

import re
from typing import Any

# Han ideographs (with the radicals, the compatibility ideographs and Extensions A to H),
# kana, Bopomofo and Hangul: the scripts whose names are written family name first.
_EAST_ASIAN = re.compile(
    "[\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff]"
)


def full_name(given: str, family: str) -> str:
    """The name from its given and family parts: "王𠮷" for given 𠮷 and family 王 (either
    part in a Chinese, Japanese or Korean script), "Jane Roe" for given Jane and family
    Roe; "" when both are empty."""
    given, family = (given or "").strip(), (family or "").strip()
    if _EAST_ASIAN.search(given + family):
        return family + given
    return " ".join(part for part in (given, family) if part)


def account_name(user: Any) -> str:
    """An account's name as printed for people: its first and last names in the order of
    their script (full_name), else its username."""
    given, family = getattr(user, "first_name", ""), getattr(user, "last_name", "")
    return full_name(given, family) or user.get_username()
