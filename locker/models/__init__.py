"""The app's models, split by area; import them from here."""

from locker.models.accounts import ApiToken, Profile
from locker.models.cases import (
    Case,
    Checkpoint,
    ContactLink,
    Entry,
    EntryQuerySet,
    EvidenceFile,
    KeptReceipt,
    KeptReceiptQuerySet,
)
from locker.models.dossiers import Dossier
from locker.models.sharing import (
    AccessLog,
    AccessLogQuerySet,
    Annotation,
    CaseVisit,
    Invitation,
    ProfessionalProfile,
    Share,
)

__all__ = [
    "AccessLog",
    "AccessLogQuerySet",
    "Annotation",
    "ApiToken",
    "Case",
    "CaseVisit",
    "Checkpoint",
    "ContactLink",
    "Dossier",
    "Entry",
    "EntryQuerySet",
    "EvidenceFile",
    "Invitation",
    "KeptReceipt",
    "KeptReceiptQuerySet",
    "ProfessionalProfile",
    "Profile",
    "Share",
]
