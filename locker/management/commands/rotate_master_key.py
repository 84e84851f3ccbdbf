"""Re-wrap every stored file's data key under a new master key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from locker.services.storage_encryption import RotationRefused, rotate_master_key


class Command(BaseCommand):
    help = (
        "Re-wrap the data key of every encrypted file in the evidence storage under the "
        "current (first) master key; the files' encrypted contents are not rewritten. With "
        "--generate, first make a new master key and put it first in the key file, the old "
        "keys kept after it until every file is re-wrapped; then they move to "
        "<key file>.retired (for restoring older backups). Keys in LOCKER_MASTER_KEY: put the "
        "new key first there yourself, restart the app, run this, then remove the old ones. "
        "Safe to stop and run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--generate", action="store_true", help="make a new master key in the key file first"
        )
        parser.add_argument("--verbose-files", action="store_true", help="a line per file")

    def handle(self, *args: Any, **options: Any) -> None:
        def tell(name: str, outcome: str) -> None:
            if options["verbose_files"] or outcome.startswith("FAILED"):
                self.stdout.write(f"{outcome}  {name}")

        try:
            report = rotate_master_key(generate=options["generate"], on_file=tell)
        except RotationRefused as exc:
            raise CommandError(str(exc)) from exc
        if report.new_key:
            self.stdout.write(f"new master key {report.current_id} (written to the key file)")
        self.stdout.write(
            f"{report.rewrapped} file(s) re-wrapped under master key {report.current_id}, "
            f"{report.already_current} already under it, {report.plaintext} not encrypted; "
            f"{report.details_rewrapped} sealed complainant detail(s) re-wrapped"
        )
        for name in report.failed:
            if not name.startswith(("evidence/", "derived/", "dossiers/", "authorisations/")):
                self.stdout.write(f"FAILED: sealed under a key not configured  {name}")
        if not report.done:
            raise CommandError(
                f"{len(report.failed)} file(s) could not be re-wrapped (listed above); the old "
                "keys stay in place. Fix the key configuration and run this again"
            )
        for key_id in report.retired_ids:
            self.stdout.write(f"master key {key_id} retired: no file needs it (kept in .retired)")
        if report.keys_in_environment:
            self.stdout.write(
                "every encrypted file is under the first key of LOCKER_MASTER_KEY: the others "
                "may be removed from it now (keep them wherever backups made before need them)"
            )
