"""`manage.py prepare_bucket`: create the evidence bucket if missing, private and versioned
(locker/infra/buckets.py). compose.yaml's `bucket` service runs it once before the app starts;
on AWS run it once by hand, or make the bucket with your own tooling the same way."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError

from locker.infra.buckets import BucketNotReady, prepare_bucket


class Command(BaseCommand):
    help = "Create the S3 evidence bucket if missing, private and versioned (LOCKER_STORAGE=s3)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.LOCKER_STORAGE != "s3":
            raise CommandError("LOCKER_STORAGE is not s3: the evidence is on the file system")
        try:
            report = prepare_bucket(storages["evidence"])
        except BucketNotReady as error:
            raise CommandError(str(error)) from error
        except Exception as error:  # the store's own errors: say which, exit 1
            raise CommandError(f"the bucket could not be prepared: {error!r}") from error
        self.stdout.write(
            f"bucket {report.bucket}: {'created' if report.created else 'exists'}, "
            f"versioning {report.versioning}, no public grants"
        )
        for note in report.notes:
            self.stdout.write(f"  note: {note}")
        if report.anonymous_listing_refused:
            self.stdout.write("  anonymous listing: refused")
        else:
            self.stdout.write(
                self.style.WARNING(
                    "  WARNING: the store answered an anonymous listing; configure its "
                    "credentials so that it refuses requests without them (docs/deploy.md)"
                )
            )
