"""Time zones as a person reads them (issue 16, item 13): the place in the reader's language
and the offset on the day, never the raw IANA name such as "Asia/Shanghai"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from locker.core.labels import time_zone_label

from .factories import UserFactory
from .ui_helpers import body_of, client_for

WINTER = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SUMMER = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "language", "at", "label"),
    [
        ("Asia/Shanghai", "zh-hans", WINTER, "中国（上海）时间 UTC+08:00"),
        ("Asia/Shanghai", "en", WINTER, "China (Shanghai) Time UTC+08:00"),
        ("America/New_York", "en", WINTER, "United States (New York) Time UTC-05:00"),
        ("America/New_York", "en", SUMMER, "United States (New York) Time UTC-04:00"),
        ("UTC", "zh-hans", SUMMER, "UTC"),
    ],
)
def test_a_zone_is_named_by_its_place_and_offset(
    name: str, language: str, at: datetime, label: str
) -> None:
    assert time_zone_label(name, language=language, at=at) == label


@pytest.mark.django_db
def test_the_preferences_page_offers_zones_by_their_names() -> None:
    page = body_of(client_for(UserFactory()).get(reverse("preferences"))).decode()
    assert "中国（上海）时间 UTC+08:00" in page
    assert ">Asia/Shanghai<" not in page and ">Asia/Shanghai (" not in page
