from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from locker.services import anchors as anchor_services


class Command(BaseCommand):
    help = (
        "Run one anchoring round now: the checkpoints signed since the last round get one "
        "RFC 3161 time-stamp over their Merkle root from each TSA in LOCKER_TSA_URLS. "
        "Exits 1 if no TSA answered."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = anchor_services.anchor_pending_checkpoints(wait_s=anchor_services.ROUND_WAIT_S)
        except anchor_services.TSAUnavailable as exc:
            raise CommandError(f"no time-stamp authority answered: {exc}") from exc
        if result.busy:
            raise CommandError("another anchoring round is still running; try again")
        for failure in result.failures:
            self.stderr.write(f"a TSA failed (the round used the others): {failure}")
        if result.anchor is None:
            if not settings.LOCKER_TSA_URLS:
                self.stdout.write("no TSA configured (LOCKER_TSA_URLS): nothing anchored")
            else:
                self.stdout.write("nothing to anchor: no checkpoint since the last round")
            return
        anchor = result.anchor
        self.stdout.write(
            f"anchored {result.checkpoints} checkpoint(s) under root {anchor.root} "
            f"with {len(anchor.tokens)} token(s); attested at {anchor.attested_at.isoformat()}"
        )
