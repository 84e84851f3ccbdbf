from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from locker.core import chain
from locker.infra import hsm, signing


class Command(BaseCommand):
    help = (
        "Create the instance's CA and signing key if missing, and show their fingerprints "
        "(and those of former signing keys; `rotate_signing_key` makes a new one). With "
        "LOCKER_SIGNING_PKCS11_* set, a new signing key is made in the PKCS#11 token, and "
        "--pkcs11 puts an existing instance's key there: `generate` a new key in the token "
        "(the file key is retired, like a rotation), `import` the file key moved into it "
        "(same certificate)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--pkcs11",
            choices=("generate", "import"),
            help="put the signing key into the configured PKCS#11 token",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["pkcs11"]:
                self._into_token(options["pkcs11"])
            created = signing.ensure_keys()
            signer = signing.load_signer()
        except (hsm.TokenError, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        directory = signing.key_dir()
        self.stdout.write(("Created" if created else "Existing") + f" keys in {directory}")
        self.stdout.write(
            f"CA certificate      SHA-256 {signing.fingerprint(signer.ca_certificate)}"
        )
        self.stdout.write(f"  subject           {signer.ca_certificate.subject.rfc4514_string()}")
        self.stdout.write(f"Signing certificate SHA-256 {signing.fingerprint(signer.certificate)}")
        self.stdout.write(f"  subject           {signer.certificate.subject.rfc4514_string()}")
        self.stdout.write(f"  valid until       {signer.certificate.not_valid_after_utc:%Y-%m-%d}")
        self.stdout.write(f"  private key       {signer.key_location}")
        if isinstance(signer.key, hsm.TokenKey):
            facts = hsm.private_key_attributes(signer.key.config, signer.key.public)
            said = ", ".join(f"{name} {'yes' if value else 'no'}" for name, value in facts.items())
            self.stdout.write(f"  in the token      {said}")
        for retired in signer.previous:
            self.stdout.write(
                f"Former signing key  SHA-256 {signing.fingerprint(retired.certificate)}"
            )
            self.stdout.write(f"  retired at        {chain.format_timestamp(retired.retired_at)}")

    def _into_token(self, how: str) -> None:
        token = hsm.configured()
        if token is None:
            raise CommandError("--pkcs11: set LOCKER_SIGNING_PKCS11_MODULE and the others first")
        if how == "import":
            certificate = signing.move_signing_key_into_token()
            self.stdout.write(
                f"The signing key of SHA-256 {signing.fingerprint(certificate)} is in "
                f"{token.describe()}; {signing.SIGNING_KEY} is deleted (copies in backups "
                "taken before are not)"
            )
            return
        if not signing.signing_key_is_a_file():
            self.stdout.write(
                f"The signing key is already in {token.describe()} (`rotate_signing_key` "
                "makes a new one there)"
            )
            return
        rotation = signing.rotate_signing_key()
        self.stdout.write(
            f"A new signing key in {token.describe()}: SHA-256 "
            f"{signing.fingerprint(rotation.current)}; the file key SHA-256 "
            f"{signing.fingerprint(rotation.retired)} is retired and deleted"
        )
