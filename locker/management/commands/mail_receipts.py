from typing import Any

from django.core.management.base import BaseCommand, CommandError

from locker.services import mailed_receipts as mail_services


class Command(BaseCommand):
    help = (
        "Run the daily receipt mail now: plan the receipts of the people who asked for them "
        "(at most one round a day each, never a head already mailed to them) and send every "
        "one not sent yet. Exits 1 if the mail server refused some."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        planned = mail_services.plan_receipt_mails()
        result = mail_services.send_due_receipt_mails()
        self.stdout.write(
            f"{planned} receipt(s) planned; {result.receipts} sent in {result.mails} mail(s)"
        )
        if result.held_until is not None:
            self.stdout.write(
                "some receipts are held by another worker (or one that stopped) until "
                f"{result.held_until.isoformat()}; run again after that"
            )
        if result.failed:
            raise CommandError(
                f"the mail server did not take the mail for {len(result.failed)} recipient(s); "
                "they are sent on the next run"
            )
