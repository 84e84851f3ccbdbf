"""Properties of the chain's canonical bytes and hashes (spec evidence-chain-v1, sections 1-3;
locker/core/chain.py), checked by Hypothesis over generated values, entries and chains.

RFC 8785 is the definition (spec section 2): the canonical bytes must be what the `rfc8785`
package, an independent implementation of it, writes, for every value the format allows.
The format allows null, true, false, integers of magnitude below 2^53 and valid Unicode text;
no floats, no lone surrogates. Text is not normalised (RFC 8785 says so, and the spec adds no
rule): an NFD "é" and an NFC one are different records and hash differently.

The run is the same every time (derandomized, no example database) and bounded: a few
hundred examples a test, no deadline, so a busy machine is slow but never flaky."""

from __future__ import annotations

import copy
import json
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from locker.core import chain

PROPERTIES = settings(
    derandomize=True,
    database=None,
    max_examples=100,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Whole chains cost more to draw: fewer of them (each is several entries, every link checked).
CHAINS = settings(PROPERTIES, max_examples=40)

SAFE = chain.MAX_SAFE_INTEGER
integers = st.integers(min_value=-SAFE, max_value=SAFE)
# Valid Unicode: Hypothesis's text never holds a surrogate code point.
texts = st.text(max_size=12)
scalars = st.none() | st.booleans() | integers | texts


def json_values(
    names: st.SearchStrategy[str] = texts, max_leaves: int = 16
) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=4),
        max_leaves=max_leaves,
    )


objects = st.dictionaries(texts, json_values(), max_size=5)
# Member names the server ever stores: ASCII snake_case at every depth (core.kinds).
snake_names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
# Names of the Basic Multilingual Plane: RFC 8785 sorts by UTF-16 code units, Python by code
# points, and the two agree unless a name has a character beyond U+FFFF (see the report).
bmp_names = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]), max_size=8)


def canonical(value: Any) -> bytes:
    return chain.canonical_bytes({"v": value})


def reordered(value: Any, data: st.DataObject) -> Any:
    """The same JSON value with the members of every object in another order."""
    if isinstance(value, dict):
        names = data.draw(st.permutations(list(value)))
        return {name: reordered(value[name], data) for name in names}
    if isinstance(value, list):
        return [reordered(item, data) for item in value]
    return value


def same_json(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: Python's True == 1 is not JSON's true == 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


# Canonical bytes ---------------------------------------------------------------------------


@PROPERTIES
@given(objects, st.data())
def test_canonical_bytes_are_deterministic_and_ignore_member_order(
    value: dict[str, Any], data: st.DataObject
) -> None:
    assert chain.canonical_bytes(value) == chain.canonical_bytes(copy.deepcopy(value))
    assert chain.canonical_bytes(reordered(value, data)) == chain.canonical_bytes(value)


@PROPERTIES
@given(st.dictionaries(bmp_names, json_values(bmp_names), max_size=5))
def test_canonical_bytes_are_rfc_8785(value: dict[str, Any]) -> None:
    chain.check_json_value(value)
    assert chain.canonical_bytes(value) == rfc8785.dumps(value)


@PROPERTIES
@given(objects)
def test_canonical_bytes_round_trip_through_json_parsing(value: dict[str, Any]) -> None:
    data = chain.canonical_bytes(value)
    parsed = chain.parse_json(data, "value")
    assert same_json(parsed, value)
    assert chain.canonical_bytes(parsed) == data
    # As a line of entries.jsonl it is accepted as it is, and read back as the same value.
    assert same_json(chain.parse_jsonl(data + b"\n"), [value])


@PROPERTIES
@given(json_values(), json_values())
def test_distinct_values_have_distinct_bytes(a: Any, b: Any) -> None:
    assert (canonical(a) == canonical(b)) == same_json(a, b)


@PROPERTIES
@given(objects)
def test_a_line_not_in_canonical_form_is_refused(value: dict[str, Any]) -> None:
    # One line still, but with spaces, \u escapes and the members in their given order.
    loose = json.dumps(value, ensure_ascii=True, separators=(", ", ": ")).encode()
    assume(loose != chain.canonical_bytes(value))
    with pytest.raises(chain.FormatError, match="not in canonical form"):
        chain.parse_jsonl(loose + b"\n")


# Text: UTF-8 as it is, only the escapes JSON requires, no normalisation ---------------------

SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r"}
SHORT_ESCAPES["\t"] = "\\t"


def rfc_8785_string(text: str) -> bytes:
    """The spec's rule, written out: `"` and `\\` escaped, control characters as their short
    escape or \\u00xx (lower-case hex), every other character as its UTF-8."""
    out = []
    for char in text:
        if char in SHORT_ESCAPES:
            out.append(SHORT_ESCAPES[char])
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return ('"' + "".join(out) + '"').encode("utf-8")


@PROPERTIES
@given(st.text(max_size=40))
def test_text_is_utf8_with_only_the_escapes_json_requires(text: str) -> None:
    assert canonical(text) == b'{"v":' + rfc_8785_string(text) + b"}"


@PROPERTIES
@given(st.text(st.characters(min_codepoint=0x80, exclude_categories=["Cs"]), min_size=1))
def test_non_ascii_text_is_never_escaped(text: str) -> None:
    assert b"\\u" not in canonical(text)
    assert text.encode("utf-8") in canonical(text)


# Characters whose NFD is another sequence: precomposed Latin, Hangul, a CJK compatibility
# ideograph (NFC itself changes U+F900 into U+8C48).
COMPOSED = st.sampled_from(["é", "Å", "ñ", "ǘ", "가", "힣", "\uf900"])


@PROPERTIES
@given(st.tuples(texts, COMPOSED, texts).map("".join))
def test_text_is_not_normalised(text: str) -> None:
    decomposed = unicodedata.normalize("NFD", text)
    assert canonical(decomposed) != canonical(text)
    assert canonical(decomposed) == b'{"v":' + rfc_8785_string(decomposed) + b"}"


def test_nfc_and_nfd_of_one_word_are_different_records() -> None:
    nfc, nfd = "Café 催收", unicodedata.normalize("NFD", "Café 催收")
    assert nfc != nfd
    assert chain.sha256_hex(canonical(nfc)) != chain.sha256_hex(canonical(nfd))


lone_surrogates = st.integers(min_value=0xD800, max_value=0xDFFF).map(chr)


@PROPERTIES
@given(texts, lone_surrogates, texts, st.booleans())
def test_lone_surrogates_are_refused_in_values_and_names(
    before: str, surrogate: str, after: str, as_name: bool
) -> None:
    bad = before + surrogate + after
    value = {"body": {bad: 1}} if as_name else {"body": {"text": [bad]}}
    with pytest.raises(chain.FormatError, match="lone surrogate"):
        chain.check_json_value(value)
    # The bytes cannot be made at all: no hash of a string UTF-8 cannot carry.
    with pytest.raises(UnicodeEncodeError):
        chain.canonical_bytes(value)


@PROPERTIES
@given(lone_surrogates)
def test_an_escaped_lone_surrogate_in_a_line_is_refused(surrogate: str) -> None:
    line = b'{"t":"\\u' + f"{ord(surrogate):04x}".encode() + b'"}\n'
    with pytest.raises(chain.FormatError, match="lone surrogate"):
        chain.parse_jsonl(line)


# Numbers: integers of magnitude below 2^53, nothing else ----------------------------------


@PROPERTIES
@given(integers)
def test_an_integer_is_its_plain_decimal(number: int) -> None:
    chain.check_json_value({"n": number})
    assert canonical(number) == b'{"v":' + str(number).encode() + b"}"


@PROPERTIES
@given(st.integers(min_value=SAFE + 1) | st.integers(max_value=-SAFE - 1))
def test_integers_of_2_to_the_53_and_beyond_are_refused(number: int) -> None:
    with pytest.raises(chain.FormatError, match="beyond 2\\^53"):
        chain.check_json_value({"body": {"n": number}})


@PROPERTIES
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_refused_even_whole_ones(number: float) -> None:
    with pytest.raises(chain.FormatError, match="floating-point"):
        chain.check_json_value({"body": {"amount": number}})


@pytest.mark.parametrize("text", [b"1.0", b"1e2", b"-0.0", b"NaN", b"Infinity", b"-Infinity"])
def test_a_line_with_a_non_integer_number_is_refused(text: bytes) -> None:
    with pytest.raises(chain.FormatError):
        chain.parse_jsonl(b'{"n":' + text + b"}\n")


def test_booleans_are_not_numbers() -> None:
    assert canonical(True) == b'{"v":true}' and canonical(1) == b'{"v":1}'


# Entries and their hash --------------------------------------------------------------------

START = datetime(2026, 1, 1, tzinfo=UTC)
timestamps = st.integers(min_value=0, max_value=10**13).map(
    lambda us: chain.format_timestamp(START + timedelta(microseconds=us))
)
evidence_items = st.fixed_dictionaries(
    {
        "sha256": st.binary(min_size=1, max_size=8).map(chain.sha256_hex),
        "size": st.integers(min_value=0, max_value=SAFE),
        "media_type": st.sampled_from(["image/png", "image/jpeg", "audio/amr", "application/pdf"]),
        "name": texts,
    }
)
bodies = st.dictionaries(snake_names, json_values(snake_names, max_leaves=6), max_size=3)


def entries(case: str, seq: int, prev: str, recorded_at: str) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {
            "v": st.just(1),
            "case": st.just(case),
            "seq": st.just(seq),
            "prev": st.just(prev),
            "kind": st.sampled_from(["call", "message", "contact_report", "note", "correction"]),
            "recorded_at": st.just(recorded_at),
            "occurred_at": st.none() | timestamps,
            "author": st.sampled_from(["user:42", "token:3", "contact-link:7"]),
            "body": bodies,
            "evidence": st.lists(evidence_items, max_size=2),
        }
    )


cases = st.uuids().map(str)


@st.composite
def chains(draw: st.DrawFn, min_size: int = 1, max_size: int = 5) -> list[dict[str, Any]]:
    """A valid chain of line objects: seq 1..n, prev links, recorded_at never decreasing."""
    case = draw(cases)
    times = sorted(draw(st.lists(timestamps, min_size=min_size, max_size=max_size)))
    lines, prev = [], chain.GENESIS_PREV
    for seq, recorded_at in enumerate(times, start=1):
        entry = draw(entries(case, seq, prev, recorded_at))
        prev = chain.entry_hash(entry)
        lines.append({"entry": entry, "hash": prev})
    return lines


# A changed value for each member that is still a valid entry.
CHANGES: dict[str, st.SearchStrategy[Any]] = {
    "v": st.just(2),
    "case": cases,
    "seq": st.integers(min_value=1, max_value=SAFE),
    "prev": st.binary(max_size=8).map(chain.sha256_hex),
    "kind": st.sampled_from(["call", "message", "note", "case_update"]),
    "recorded_at": timestamps,
    "occurred_at": st.none() | timestamps,
    "author": st.text(min_size=1, max_size=8),
    "body": bodies,
    "evidence": st.lists(evidence_items, max_size=2),
}


@PROPERTIES
@given(st.data())
def test_changing_any_member_changes_the_hash(data: st.DataObject) -> None:
    entry = data.draw(entries(data.draw(cases), 1, chain.GENESIS_PREV, data.draw(timestamps)))
    chain.check_entry_shape(entry)
    member = data.draw(st.sampled_from(sorted(chain.ENTRY_MEMBERS)))
    changed = {**entry, member: data.draw(CHANGES[member])}
    assume(not same_json(changed[member], entry[member]))
    assert chain.entry_hash(changed) != chain.entry_hash(entry)


@PROPERTIES
@given(st.data())
def test_changing_anything_deep_in_the_body_changes_the_hash(data: st.DataObject) -> None:
    entry = data.draw(entries(data.draw(cases), 1, chain.GENESIS_PREV, data.draw(timestamps)))
    body = data.draw(bodies)
    assume(not same_json(body, entry["body"]))
    assert chain.entry_hash({**entry, "body": body}) != chain.entry_hash(entry)


# Verifying a chain: every single edit, deletion, insertion or reordering is found ----------


@CHAINS
@given(chains())
def test_a_valid_chain_verifies(lines: list[dict[str, Any]]) -> None:
    report = chain.verify_lines(lines)
    assert report.ok, report.problem
    assert (report.length, report.head) == (len(lines), lines[-1]["hash"])


@CHAINS
@given(chains(), st.data())
def test_an_edited_entry_is_found_at_its_seq(lines: list[dict], data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
    member = data.draw(st.sampled_from(sorted(chain.ENTRY_MEMBERS)))
    entry = lines[position]["entry"]
    new_value = data.draw(CHANGES[member])
    assume(not same_json(new_value, entry[member]))
    lines[position] = {**lines[position], "entry": {**entry, member: new_value}}
    report = chain.verify_lines(lines)
    assert not report.ok
    assert report.first_bad_seq == position + 1


@CHAINS
@given(chains(), st.data())
def test_an_edited_entry_with_its_hash_recomputed_is_found(
    lines: list[dict], data: st.DataObject
) -> None:
    original = chain.verify_lines(lines)
    position = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
    member = data.draw(st.sampled_from(sorted(chain.ENTRY_MEMBERS)))
    entry = lines[position]["entry"]
    new_value = data.draw(CHANGES[member])
    assume(not same_json(new_value, entry[member]))
    forged = {**entry, member: new_value}
    lines[position] = {"entry": forged, "hash": chain.entry_hash(forged)}
    report = chain.verify_lines(lines)
    if position < len(lines) - 1:
        # The next entry's prev no longer matches, if nothing before it already failed.
        assert not report.ok
        assert report.first_bad_seq in (position + 1, position + 2)
    else:
        # The last entry rewritten whole: only the head a receipt or checkpoint kept shows it.
        assert not report.ok or report.head != original.head


@CHAINS
@given(chains(min_size=2), st.data())
def test_a_deleted_entry_is_found(lines: list[dict], data: st.DataObject) -> None:
    original = chain.verify_lines(lines)
    position = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
    del lines[position]
    report = chain.verify_lines(lines)
    if position < len(lines):
        assert not report.ok
        assert report.first_bad_seq == position + 1
    else:
        # The last one gone: the chain is a shorter valid chain, with another head.
        assert report.ok and (report.length, report.head) != (original.length, original.head)


@CHAINS
@given(chains(), st.data())
def test_an_inserted_entry_is_found(lines: list[dict], data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
    case = lines[0]["entry"]["case"]
    # The forger's best: an entry that fits the links at its place, seq and prev included.
    prev = lines[position - 1]["hash"] if position else chain.GENESIS_PREV
    recorded_at = lines[position]["entry"]["recorded_at"]
    forged = data.draw(entries(case, position + 1, prev, recorded_at))
    lines.insert(position, {"entry": forged, "hash": chain.entry_hash(forged)})
    report = chain.verify_lines(lines)
    assert not report.ok
    assert report.first_bad_seq == position + 2


@CHAINS
@given(chains(min_size=2), st.data())
def test_two_entries_swapped_are_found(lines: list[dict], data: st.DataObject) -> None:
    first = data.draw(st.integers(min_value=0, max_value=len(lines) - 2))
    second = data.draw(st.integers(min_value=first + 1, max_value=len(lines) - 1))
    lines[first], lines[second] = lines[second], lines[first]
    report = chain.verify_lines(lines)
    assert not report.ok
    assert report.first_bad_seq == first + 1


@CHAINS
@given(chains(min_size=2), st.data())
def test_an_entry_replaced_by_an_omitted_line_with_other_links_is_found(
    lines: list[dict], data: st.DataObject
) -> None:
    """An omitted line keeps its links checked (spec section 5): a stub that lies about its
    hash breaks the next entry's prev; one that tells the truth verifies."""
    position = data.draw(st.integers(min_value=0, max_value=len(lines) - 2))
    entry = lines[position]["entry"]
    honest = {"seq": entry["seq"], "prev": entry["prev"], "hash": lines[position]["hash"]}
    lines[position] = {"omitted": honest}
    assert chain.verify_lines(lines).ok
    lying = {**honest, "hash": data.draw(st.binary(max_size=8).map(chain.sha256_hex))}
    assume(lying["hash"] != honest["hash"])
    lines[position] = {"omitted": lying}
    report = chain.verify_lines(lines)
    assert not report.ok
    assert report.first_bad_seq == position + 2
