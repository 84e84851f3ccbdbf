"""Seal the evidence files stored before encryption at rest existed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from locker.services.storage_encryption import RotationRefused, seal_plaintext_files


class Command(BaseCommand):
    help = (
        "Encrypt, in place, every plaintext file in the evidence storage (originals, derived "
        "copies, dossier PDFs) under the current master key. Each file's bytes are checked "
        "against its recorded SHA-256 first (a file that no longer matches is left as it is, "
        "for verify_chain to report) and replaced whole. Safe to stop and run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--verbose-files", action="store_true", help="a line per file")

    def handle(self, *args: Any, **options: Any) -> None:
        def tell(name: str, outcome: str) -> None:
            if options["verbose_files"] or outcome.startswith("NOT"):
                self.stdout.write(f"{outcome:>15}  {name}")

        try:
            report = seal_plaintext_files(on_file=tell)
        except RotationRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{len(report.sealed)} file(s) encrypted, {report.already_sealed} already encrypted, "
            f"{len(report.mismatched)} left as they are (their bytes do not match their hash)"
        )
        if report.mismatched:
            raise CommandError("some files do not match their recorded hash: run verify_chain")
