from typing import Any

from django.core.management.base import BaseCommand

from locker.core import chain
from locker.infra import signing


class Command(BaseCommand):
    help = (
        "Create the instance's CA and signing key if missing, and show their fingerprints "
        "(and those of former signing keys; `rotate_signing_key` makes a new one)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        created = signing.ensure_keys()
        signer = signing.load_signer()
        directory = signing.key_dir()
        self.stdout.write(("Created" if created else "Existing") + f" keys in {directory}")
        self.stdout.write(
            f"CA certificate      SHA-256 {signing.fingerprint(signer.ca_certificate)}"
        )
        self.stdout.write(f"  subject           {signer.ca_certificate.subject.rfc4514_string()}")
        self.stdout.write(f"Signing certificate SHA-256 {signing.fingerprint(signer.certificate)}")
        self.stdout.write(f"  subject           {signer.certificate.subject.rfc4514_string()}")
        self.stdout.write(f"  valid until       {signer.certificate.not_valid_after_utc:%Y-%m-%d}")
        for retired in signer.previous:
            self.stdout.write(
                f"Former signing key  SHA-256 {signing.fingerprint(retired.certificate)}"
            )
            self.stdout.write(f"  retired at        {chain.format_timestamp(retired.retired_at)}")
