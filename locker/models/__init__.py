"""The app's models, split by area; import them from here."""

from .accounts import ApiToken, Profile
from .cases import (
    Case,
    Checkpoint,
    ContactLink,
    Entry,
    EntryQuerySet,
    EvidenceFile,
    KeptReceipt,
    KeptReceiptQuerySet,
)
from .dossiers import Dossier
from .sharing import (
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
