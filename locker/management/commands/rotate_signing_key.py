from typing import Any

from django.core.management.base import BaseCommand, CommandError

from locker.core import chain
from locker.infra import hsm, signing


class Command(BaseCommand):
    help = (
        "Issue a new signing certificate from the instance CA and make it current. The old "
        "certificate is kept (public part, with the time it was retired) so that what it "
        "signed stays verifiable; its private key is deleted. With LOCKER_SIGNING_PKCS11_* "
        "set, the new key is made in the PKCS#11 token and the old one destroyed. Running web "
        "and worker processes sign with the new key from their next signature on."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rotation = signing.rotate_signing_key()
        except (hsm.TokenError, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Rotated the signing key in {signing.key_dir()}")
        self.stdout.write(
            f"retired  SHA-256 {signing.fingerprint(rotation.retired)} "
            f"at {chain.format_timestamp(rotation.retired_at)}"
        )
        self.stdout.write(f"current  SHA-256 {signing.fingerprint(rotation.current)}")
        self.stdout.write(f"  private key       {signing.load_signer().key_location}")
        self.stdout.write(f"  valid until       {rotation.current.not_valid_after_utc:%Y-%m-%d}")
