import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from locker.models import Case
from locker.selectors.chain import checkpoint_signers, verify_case


class Command(BaseCommand):
    help = (
        "Recompute every entry hash, re-hash every evidence file from storage, and check "
        "the signature of every stored checkpoint, saying whether its signer is this "
        "instance's current key, a former one or unknown. Exits 0 when every case verifies, "
        "1 otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", help="only this case (UUID)")

    def handle(self, *args: Any, **options: Any) -> None:
        cases = Case.objects.order_by("created_at")
        if options["case"]:
            try:
                cases = cases.filter(pk=uuid.UUID(options["case"]))
            except ValueError as exc:
                raise CommandError(f"not a case id: {options['case']}") from exc
            if not cases.exists():
                raise CommandError(f"no case {options['case']}")
        failures = 0
        for case in cases.iterator():
            report = verify_case(case)
            signers = checkpoint_signers(case)
            if not report.ok:
                failures += 1
                self.stdout.write(f"FAIL {case.id} seq {report.first_bad_seq}: {report.problem}")
            elif signers.bad_signature_length is not None:
                failures += 1
                self.stdout.write(
                    f"FAIL {case.id} seq {signers.bad_signature_length}: the signature of the "
                    "checkpoint stored for it does not verify"
                )
            else:
                counts = signers.counts
                self.stdout.write(
                    f"ok   {case.id} length {report.length} head {report.head} checkpoints "
                    f"signed by the current key {counts['current']}, by a former key "
                    f"{counts['former']}, by an unknown key {counts['unknown']}"
                )
        if failures:
            raise CommandError(f"{failures} case(s) failed verification", returncode=1)
