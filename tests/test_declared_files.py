"""A client may say what files it sends; an entry whose files are not that is refused whole,
so a cut upload is an error, never an entry without its file."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from locker import services
from locker.core import chain

from .factories import make_case
from .ui_helpers import png_bytes

pytestmark = pytest.mark.django_db


def append(case, uploads, declared):
    return services.append_entry(
        case=case,
        author="user:1",
        kind="note",
        body={"text": "催收电话录音"},
        uploads=[services.Upload(f"f{i}.png", io.BytesIO(data)) for i, data in enumerate(uploads)],
        declared_files=declared,
    )


def test_files_that_match_what_was_declared_are_recorded() -> None:
    data = png_bytes()
    declared = services.parse_declared_files(
        [{"size": len(data), "sha256": chain.sha256_hex(data)}]
    )
    entry = append(make_case(), [data], declared).entry
    assert [e["sha256"] for e in entry.evidence] == [chain.sha256_hex(data)]


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ([{"size": 10**6}], "not what the request said"),
        ([{"sha256": "0" * 64}], "not what the request said"),
        ([{"size": 1}, {"size": 2}], "said it would send 2 files, but 1 arrived"),
        ([], "said it would send 0 files, but 1 arrived"),
    ],
)
def test_a_mismatch_stores_no_entry(declared, message) -> None:
    case = make_case()
    with pytest.raises(services.InputError, match=message):
        append(case, [png_bytes()], services.parse_declared_files(declared))
    assert case.entries.count() == 1


@pytest.mark.parametrize(
    "value",
    [{}, "x", [1], [{}], [{"size": -1}], [{"size": True}], [{"sha256": "ABC"}], [{"colour": 1}]],
)
def test_a_malformed_declaration_is_refused(value) -> None:
    with pytest.raises(services.InputError, match="one object per file"):
        services.parse_declared_files(value)


def test_the_api_takes_the_declaration_in_the_entry_json(world) -> None:
    data = png_bytes()
    url = f"/api/cases/{world.case.id}/entries"
    before = world.case.entries.count()

    def send(files: list[dict[str, object]]):
        entry = json.dumps({"kind": "note", "body": {"text": "x"}, "files": files})
        upload = SimpleUploadedFile("shot.png", data, content_type="image/png")
        return world.api("owner").post_multipart(url, {"entry": entry, "files": [upload]})

    cut = send([{"size": len(data) + 1000, "sha256": chain.sha256_hex(data)}])
    assert cut.status_code == 422 and "cut off" in cut.json()["detail"]
    assert world.case.entries.count() == before
    whole = send([{"size": len(data), "sha256": chain.sha256_hex(data)}])
    assert whole.status_code == 201
    assert world.case.entries.count() == before + 1
