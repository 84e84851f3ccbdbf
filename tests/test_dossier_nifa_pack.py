"""The attachment pack (NIFA's 2 MB limit): a ZIP of signed PDF parts, each within the limit,
each valid for pyHanko and pdfsig, stating "part k of n" and every part's digest; every
exhibit in exactly one part; part 1 carrying the chain, which tools/verify_evidence.py
checks."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.utils import translation
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from locker import services
from locker.dossier import build
from locker.dossier.images import prepare_images
from locker.dossier.pack import PART_LIMIT_BYTES, build_pack
from locker.dossier.sign import asn1_certificate
from locker.infra import signing
from locker.infra.storage import evidence_storage
from locker.services import deletion
from locker.services import dossiers as dossier_services

from .dossier_helpers import has, make_dossier, pdf_text, run_tool, small_case
from .factories import PASSWORD, add_entry

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = 24


def noisy_png(seed: int, size: tuple[int, int] = (520, 1150)) -> bytes:
    """Noise does not compress: each printed copy weighs a few hundred KB."""
    picture = Image.effect_noise(size, 60 + seed).convert("RGB")
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=1)
    return out.getvalue()


def heavy_case(screenshots: int = SCREENSHOTS):
    case = small_case()
    for number in range(screenshots):
        add_entry(
            case,
            "message",
            {"channel": "sms", "sender": "106900001", "text": f"第{number}条催收短信"},
            occurred_at=f"2026-02-{1 + number % 27:02d}T10:{number % 60:02d}:00+08:00",
            uploads=[services.Upload(f"shot_{number}.png", io.BytesIO(noisy_png(number)))],
        )
    return case


@pytest.fixture(scope="module")
def pack(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        case = heavy_case()
        dossier, pdf = make_dossier(case, "cn_regulator", "zh-hans", attachment_pack=True)
        with evidence_storage().open(dossier.pack_file_name, "rb") as handle:
            archive = handle.read()
        folder = tmp_path_factory.mktemp("pack")
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            opened.extractall(folder)
            names = opened.namelist()
        yield dossier, pdf, archive, folder, names
        # Made outside any test's transaction, so it is committed: take the whole account
        # away again (case, entries, files), or later tests meet its rows.
        deletion.delete_account(user=case.owner, password=PASSWORD)


def test_the_pack_has_several_parts_each_within_the_limit(pack) -> None:
    dossier, pdf, archive, folder, names = pack
    manifest = json.loads((folder / "manifest.json").read_text())
    parts = manifest["parts"]
    assert len(pdf) > PART_LIMIT_BYTES  # the single PDF would not do
    assert len(parts) >= 3 and dossier.pack_parts == len(parts)
    assert dossier.pack_sha256 == hashlib.sha256(archive).hexdigest()
    assert sorted(names) == sorted(["manifest.json", *(p["file"] for p in parts)])
    for number, part in enumerate(parts, start=1):
        body = (folder / part["file"]).read_bytes()
        assert part["part"] == number
        assert len(body) == part["size"] <= PART_LIMIT_BYTES
        assert hashlib.sha256(body).hexdigest() == part["sha256"]


def test_every_part_is_signed_and_valid_for_pyhanko(pack) -> None:
    _dossier, _pdf, _archive, folder, _names = pack
    context = ValidationContext(
        trust_roots=[asn1_certificate(signing.load_signer().ca_certificate)],
        allow_fetching=False,
    )
    for path in sorted(folder.glob("part-*.pdf")):
        signatures = PdfFileReader(io.BytesIO(path.read_bytes())).embedded_signatures
        assert len(signatures) == 1, path.name
        status = validate_pdf_signature(signatures[0], context)
        assert status.intact and status.valid and status.trusted, path.name


@pytest.mark.skipif(not has("pdfsig"), reason="poppler-utils (pdfsig) is not installed")
def test_every_part_is_valid_for_pdfsig(pack) -> None:
    _dossier, _pdf, _archive, folder, _names = pack
    for path in sorted(folder.glob("part-*.pdf")):
        out = run_tool("pdfsig", str(path))
        assert "Signature is Valid" in out and "Total document signed" in out, path.name


@pytest.mark.skipif(not has("pdftotext"), reason="poppler-utils (pdftotext) is not installed")
def test_each_part_states_its_number_and_every_parts_digest(pack) -> None:
    _dossier, _pdf, _archive, folder, _names = pack
    parts = json.loads((folder / "manifest.json").read_text())["parts"]
    count = len(parts)
    for part in parts:
        text = "".join(pdf_text(str(folder / part["file"])).split())
        assert f"第{part['part']}部分，共{count}部分" in text, part["file"]
        # Its own digest and every other part's: a missing part shows in any one of them.
        for other in parts:
            assert other["content_digest"] in text, (part["file"], other["part"])


def test_every_exhibit_is_in_exactly_one_part(pack) -> None:
    _dossier, _pdf, _archive, folder, _names = pack
    manifest = json.loads((folder / "manifest.json").read_text())
    placed = [label for part in manifest["parts"] for label in part["exhibits"]]
    # The screenshots, small_case's screenshot and its WAV, each once.
    assert len(placed) == len(set(placed)) == SCREENSHOTS + 2
    first, *others = manifest["parts"]
    # The WAV (seq 4; seq 1 opens the case): part 1 has the files that are not pictures.
    assert first["exhibits"] == ["E-4"]
    assert all(part["exhibits"] for part in others)


def test_part_one_carries_the_chain_for_the_standalone_verifier(pack) -> None:
    dossier, _pdf, _archive, folder, _names = pack
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "verify_evidence.py"), str(folder / "part-01.pdf")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert dossier.chain_head in done.stdout
    # The exhibit parts carry no chain: only part 1 is the dossier's record.
    second = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "verify_evidence.py"), str(folder / "part-02.pdf")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert second.returncode != 0


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_tight_limit_reduces_pictures_and_names_the_one_that_cannot_fit(
    language, tmp_path
) -> None:
    """At a limit where a copy does not fit as it is, it is reduced and the page says so; a
    picture that cannot fit even at the last step is listed as not included, not an error."""
    case = small_case()
    add_entry(
        case,
        "message",
        {"channel": "sms", "sender": "106900002", "text": "大图"},
        occurred_at="2026-02-01T10:00:00+08:00",
        uploads=[services.Upload("big.png", io.BytesIO(noisy_png(7)))],
    )
    dossier = dossier_services.request_dossier(
        case=case, user=case.owner, template="court", language=language
    )
    data = build.gather(dossier)
    with translation.override(language):
        images = prepare_images(case.id, data.exhibits, tmp_path)
        limit = 420_000
        result = build_pack(
            data, tmp_path, images=images, audio_durations={}, reason="test", limit=limit
        )
        with zipfile.ZipFile(result.path) as opened:
            manifest = json.loads(opened.read("manifest.json"))
            for part in manifest["parts"]:
                assert len(opened.read(part["file"])) <= limit
        reduced = [label for part in manifest["parts"] for label in part["reduced"]]
        assert reduced, manifest
        # Nothing fits at a limit below a part's own weight: said, not failed.
        (tmp_path / "tiny").mkdir()
        tiny = build_pack(
            data, tmp_path / "tiny", images=images, audio_durations={}, reason="t", limit=270_000
        )
    with zipfile.ZipFile(tiny.path) as opened:
        manifest = json.loads(opened.read("manifest.json"))
        first = opened.read(manifest["parts"][0]["file"])
    assert manifest["not_included"], manifest
    (tmp_path / "first.pdf").write_bytes(first)
    if has("pdftotext"):
        text = "".join(pdf_text(str(tmp_path / "first.pdf")).split())
        expected = "即使缩小" if language == "zh-hans" else "toolargefor"
        assert expected in text


def test_the_pack_downloads_for_a_reader(pack, client) -> None:
    dossier, _pdf, archive, _folder, _names = pack
    # Each test has its own media directory: the stored pack is put back where it was.
    storage = evidence_storage()
    if not storage.exists(dossier.pack_file_name):
        assert storage.save(dossier.pack_file_name, io.BytesIO(archive)) == dossier.pack_file_name
    client.force_login(dossier.case.owner)
    response = client.get(f"/cases/{dossier.case_id}/dossiers/{dossier.id}/pack")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert b"".join(response.streaming_content) == archive
