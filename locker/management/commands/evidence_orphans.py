"""List evidence files no entry names; remove them with --delete."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from locker.selectors.orphans import DEFAULT_GRACE, OrphanFile, iter_orphans
from locker.services.orphans import MIN_GRACE, delete_orphans


class Command(BaseCommand):
    help = (
        "List files in the evidence storage that no evidence record names (left by an upload "
        "that failed between storing its files and recording its entry), with size and age. "
        "With --delete, remove those older than --older-than hours (default "
        f"{DEFAULT_GRACE.total_seconds() / 3600:g}, at least {MIN_GRACE.total_seconds() / 3600:g})."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--delete", action="store_true", help="remove the old orphans")
        parser.add_argument(
            "--older-than",
            type=float,
            default=DEFAULT_GRACE.total_seconds() / 3600,
            metavar="HOURS",
            help="grace period: only files older than this are removed",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        grace = timedelta(hours=options["older_than"])
        now = timezone.now()
        if options["delete"]:
            if grace < MIN_GRACE:
                raise CommandError(
                    f"--older-than must be at least {MIN_GRACE.total_seconds() / 3600:g} hour(s): "
                    "a younger file may belong to an upload still being recorded"
                )
            removed = delete_orphans(older_than=grace, now=now)
            for orphan in removed:
                self.stdout.write(f"removed  {self._line(orphan, now)}")
            self.stdout.write(f"{len(removed)} orphan file(s) removed")
            return
        orphans = list(iter_orphans(grace=grace, now=now))
        for orphan in orphans:
            self.stdout.write(f"orphan   {self._line(orphan, now)}")
        old = sum(1 for orphan in orphans if orphan.age(now) >= grace)
        self.stdout.write(
            f"{len(orphans)} orphan file(s), {old} older than {grace.total_seconds() / 3600:g} h "
            "(run with --delete to remove those)"
        )

    @staticmethod
    def _line(orphan: OrphanFile, now: datetime) -> str:
        hours = orphan.age(now).total_seconds() / 3600
        return f"{orphan.name}  {orphan.size} bytes  {hours:.1f} h old"
