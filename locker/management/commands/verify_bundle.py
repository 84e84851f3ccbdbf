import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from locker.dossier.verify import verify_dossier_pdf
from locker.exports.verification import BundleReport, verify_bundle_zip


def verify_file(path: Path, receipt: Any = None) -> BundleReport:
    with path.open("rb") as handle:
        is_pdf = handle.read(5) == b"%PDF-"
    if is_pdf:
        return verify_dossier_pdf(path, receipt=receipt)
    return verify_bundle_zip(str(path), receipt=receipt)


class Command(BaseCommand):
    help = "Verify an export bundle (ZIP) or a dossier PDF. Exits 0 when it verifies, 1 if not."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--receipt", type=Path, help="a receipt (signed checkpoint) JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        receipt = None
        if options["receipt"]:
            try:
                receipt = json.loads(options["receipt"].read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"receipt cannot be read: {exc}") from exc
        report = verify_file(path, receipt)
        self.stdout.write(f"case        {report.case}")
        self.stdout.write(f"length      {report.length}")
        self.stdout.write(f"head        {report.head}")
        if report.signer_fingerprint:
            self.stdout.write(f"signer      SHA-256 {report.signer_fingerprint}")
            self.stdout.write(
                "signer is this instance: " + ("yes" if report.checkpoint_trusted else "no")
            )
            if report.signer is not None:
                # current, former (a key retired by a rotation) or unknown; listed at /keys
                self.stdout.write(f"signer key  {report.signer.status}")
            self.stdout.write(
                "head signed by this instance: " + ("yes" if report.head_known else "no")
            )
        if report.receipt_checked and report.ok:
            self.stdout.write("receipt     the chain still holds the receipt's head")
        for note in report.notes:
            self.stdout.write(note)
        if not report.ok:
            where = f" at seq {report.first_bad_seq}" if report.first_bad_seq else ""
            raise CommandError(f"NOT VERIFIED{where}: {report.problem}", returncode=1)
        self.stdout.write("VERIFIED")
