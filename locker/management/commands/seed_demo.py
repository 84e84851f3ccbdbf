from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from locker.services import demo


class Command(BaseCommand):
    help = (
        "Create a demo account with a month of debt-collection harassment in Chinese. For a "
        "development machine only: refused unless DEBUG is on or the database is the local "
        "SQLite file of `make run`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args: Any, **options: Any) -> None:
        if not (settings.DEBUG or connection.vendor == "sqlite"):
            raise CommandError(
                "refusing to create demo data: DEBUG is off and the database is not the local "
                "SQLite file, so this looks like a real deployment"
            )
        username = options["username"]
        if get_user_model().objects.filter(username=username).exists():
            raise CommandError(f"user {username!r} already exists; pick another --username")
        try:
            result = demo.seed(username, days=max(7, min(options["days"], 90)))
        except demo.NoCJKFont as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo account {result.username!r}, password {result.password!r}: case "
                f"{result.case.pk} with {result.entries} entries and {result.screenshots} "
                "screenshots."
            )
        )
