from __future__ import annotations

import copy
import json

import pytest

from locker.core import chain

CASE = "3f2b8c1e-9a4d-4e2b-8f61-0c5d7a9e1b23"


def make_entry(seq: int = 1, prev: str = chain.GENESIS_PREV, **overrides) -> dict:
    entry = {
        "v": 1,
        "case": CASE,
        "seq": seq,
        "prev": prev,
        "kind": "message",
        "recorded_at": f"2026-11-0{seq}T01:02:03.000004Z",
        "occurred_at": None,
        "author": "user:42",
        "body": {"channel": "sms", "text": '再不还钱就爆你通讯录！\n"家人"', "tags": ["threat"]},
        "evidence": [
            {"sha256": "a" * 64, "size": 10, "media_type": "image/png", "name": "截图.png"}
        ],
    }
    entry.update(overrides)
    return entry


def build_chain(length: int) -> list[dict]:
    lines, prev = [], chain.GENESIS_PREV
    for seq in range(1, length + 1):
        entry = make_entry(seq, prev)
        prev = chain.entry_hash(entry)
        lines.append({"entry": entry, "hash": prev})
    return lines


def test_canonical_bytes_keep_chinese_as_utf8_and_sort_members() -> None:
    data = chain.canonical_bytes({"b": "爆通讯录", "a": 1, "c": {"z": None, "y": [True]}})
    assert data == '{"a":1,"b":"爆通讯录","c":{"y":[true],"z":null}}'.encode()


def test_canonical_bytes_escape_only_what_json_requires() -> None:
    data = chain.canonical_bytes({"t": 'tab\t quote" slash/ bell\x07 é'})
    assert data == b'{"t":"tab\\t quote\\" slash/ bell\\u0007 \xc3\xa9"}'


def test_known_hash_of_a_fixed_entry() -> None:
    entry = make_entry()
    expected = chain.sha256_hex(
        json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert chain.entry_hash(entry) == expected
    assert len(expected) == 64


def test_valid_chain_verifies() -> None:
    report = chain.verify_lines(build_chain(4))
    assert report.ok and report.length == 4


@pytest.mark.parametrize("member", sorted(chain.ENTRY_MEMBERS))
def test_changing_any_member_of_any_entry_is_detected(member: str) -> None:
    for position in range(3):
        lines = build_chain(3)
        entry = lines[position]["entry"]
        replacement = {
            "v": 2,
            "case": "00000000-0000-4000-8000-000000000000",
            "seq": 9,
            "prev": "f" * 64,
            "kind": "note",
            "recorded_at": "2026-11-01T01:02:03.000005Z",
            "occurred_at": "2026-10-01T00:00:00.000000Z",
            "author": "user:43",
            "body": {"channel": "sms", "text": "改过的", "tags": []},
            "evidence": [],
        }[member]
        entry[member] = replacement
        report = chain.verify_lines(lines)
        assert not report.ok, (member, position)
        assert report.first_bad_seq == position + 1


def test_removed_middle_entry_is_detected() -> None:
    lines = build_chain(4)
    del lines[1]
    report = chain.verify_lines(lines)
    assert not report.ok and report.first_bad_seq == 2


def test_omitted_lines_keep_links_checked() -> None:
    lines = build_chain(3)
    stub = {"omitted": {"seq": 2, "prev": lines[1]["entry"]["prev"], "hash": lines[1]["hash"]}}
    assert chain.verify_lines([lines[0], stub, lines[2]]).ok
    bad = copy.deepcopy(stub)
    bad["omitted"]["hash"] = "0" * 64
    assert not chain.verify_lines([lines[0], bad, lines[2]]).ok


def test_decreasing_recorded_at_is_detected() -> None:
    first = make_entry(1, recorded_at="2026-11-02T00:00:00.000000Z")
    second = make_entry(2, chain.entry_hash(first), recorded_at="2026-11-01T00:00:00.000000Z")
    lines = [{"entry": e, "hash": chain.entry_hash(e)} for e in (first, second)]
    report = chain.verify_lines(lines)
    assert not report.ok and "recorded_at" in (report.problem or "")


@pytest.mark.parametrize(
    "value",
    [1.5, 2**53, {"n": float("nan")}, "\ud800", [1, 2.0]],
)
def test_values_the_canonical_form_cannot_carry_are_refused(value) -> None:
    with pytest.raises(chain.FormatError):
        chain.check_json_value({"x": value})


def test_timestamps_are_ascii_digits_and_real_dates() -> None:
    assert chain.parse_timestamp("2024-02-29T23:59:59.999999Z").day == 29
    for text in (
        "２０２６-01-01T00:00:00.000000Z",  # fullwidth digits
        "2026-01-01T00:00:00.000000+00:00",
        "2025-02-29T00:00:00.000000Z",
        "2026-01-01T24:00:00.000000Z",
    ):
        with pytest.raises(chain.FormatError):
            chain.parse_timestamp(text)
