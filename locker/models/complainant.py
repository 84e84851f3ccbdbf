"""The complainant's details that complaint channels require and nothing else may show
(docs/complainant-details.md): the person's identity and contact details, entered once per
account, and per case the numbers the collectors called, an agent filing for them and the
agent's written authorisation. None of it is a chain entry: it is kept out of the chain, the
export bundles and every listing, and goes only into the dossiers that need it (cn_regulator,
cn_12321).

The values are sealed (locker/infra/sealed_values.py: AES-256-GCM under the master key), so
a copy of the database alone does not disclose them; `sealed` is written by
locker/services/complainant.py and read by locker/selectors/complainant.py only."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from locker.models.cases import Case


class ComplainantDetails(models.Model):
    """One account's identity and contact details: legal name, ID document type and
    number, phone, e-mail, postal address (sealed JSON)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="complainant_details"
    )
    sealed = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "complainant details"

    def __str__(self) -> str:
        return f"complainant details of {self.user_id}"

    @property
    def purpose(self) -> str:
        return f"complainant:{self.user_id}"


class CaseComplaint(models.Model):
    """A case's complaint details: the complainant's own numbers that received the calls and
    messages, whether the dossier carries a typed signature, an optional agent (sealed JSON),
    and the agent's written authorisation, a file sealed in the evidence storage under
    authorisations/<case id>/ (never an entry of the chain, and not in export bundles)."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="complaint")
    sealed = models.BinaryField()
    authorisation_storage_name = models.CharField(max_length=500, blank=True)
    authorisation_sha256 = models.CharField(max_length=64, blank=True)
    authorisation_size = models.BigIntegerField(null=True, blank=True)
    authorisation_media_type = models.CharField(max_length=100, blank=True)
    authorisation_uploaded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"complaint details of {self.case_id}"

    @property
    def purpose(self) -> str:
        return f"case-complaint:{self.case_id}"
