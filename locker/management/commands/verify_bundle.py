import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from locker.dossier.verify import verify_dossier_pdf
from locker.exports.verification import UNBOUNDED, BundleReport, verify_bundle_zip


def verify_file(path: Path, receipt: Any = None) -> BundleReport:
    with path.open("rb") as handle:
        is_pdf = handle.read(5) == b"%PDF-"
    if is_pdf:
        return verify_dossier_pdf(path, receipt=receipt, limits=UNBOUNDED)
    # The operator's own machine: no bound on the work, unlike the public /verify.
    return verify_bundle_zip(str(path), receipt=receipt, limits=UNBOUNDED)


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
        self._attestation(report)
        if not report.ok:
            where = f" at seq {report.first_bad_seq}" if report.first_bad_seq else ""
            raise CommandError(f"NOT VERIFIED{where}: {report.problem}", returncode=1)
        self.stdout.write("VERIFIED")

    def _attestation(self, report: BundleReport) -> None:
        if report.anchors_problem:
            self.stdout.write(f"anchors     unreadable: {report.anchors_problem}")
            return
        attestation = report.attestation
        if attestation is None:
            self.stdout.write("anchors     none: no third-party time in this file")
            return
        for conflict in attestation.conflicts:
            self.stdout.write(
                f"CONFLICT    a TSA vouched for another head at length {conflict.length} "
                f"({conflict.head[:16]}…): rewritten after it was time-stamped"
            )
        for rejected in attestation.rejected:
            self.stdout.write(
                f"rejected    anchor at length {rejected.length}: " + "; ".join(rejected.problems)
            )
        for span in attestation.ranges:
            seqs = f"{span.first_seq}-{span.last_seq}"
            recorded = span.recorded_to.isoformat() if span.recorded_to else "-"
            if span.attested_at is None:
                self.stdout.write(f"attested    {seqs:>11}  recorded {recorded}  not yet")
                continue
            flag = "  LATE" if span.late else ""
            self.stdout.write(
                f"attested    {seqs:>11}  recorded {recorded}  "
                f"no later than {span.attested_at.isoformat()} by "
                f"{'; '.join(span.attested_by)}{flag}"
            )
        if attestation.first_late_seq is not None:
            self.stdout.write(
                f"LATE        from seq {attestation.first_late_seq}: attested more than "
                f"{int(attestation.late_after.total_seconds())} s after recorded"
            )
