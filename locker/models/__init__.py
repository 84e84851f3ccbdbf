"""The app's models, split by area; import them from here."""

from locker.models.accounts import ApiToken, Profile, UserSession
from locker.models.anchors import Anchor, AnchorLeaf
from locker.models.case_conduct import CaseConduct
from locker.models.case_stats import CaseStats, CaseStatsCount
from locker.models.cases import (
    Case,
    Checkpoint,
    ContactLink,
    Entry,
    EvidenceFile,
    EvidenceText,
    KeptReceipt,
    SigningCertificate,
)
from locker.models.complainant import CaseComplaint, ComplainantDetails
from locker.models.data_exports import DataExport
from locker.models.devices import CaptureDevice, DevicePost
from locker.models.dossiers import Dossier
from locker.models.idempotency import IdempotencyKey
from locker.models.mailed_receipts import MailedReceipt
from locker.models.passkeys import Passkey
from locker.models.security import SecurityEvent
from locker.models.sharing import (
    AccessLog,
    Annotation,
    CaseVisit,
    Invitation,
    ProfessionalProfile,
    Share,
)

__all__ = [
    "AccessLog",
    "Anchor",
    "AnchorLeaf",
    "Annotation",
    "ApiToken",
    "CaptureDevice",
    "Case",
    "CaseComplaint",
    "CaseConduct",
    "CaseStats",
    "CaseStatsCount",
    "CaseVisit",
    "Checkpoint",
    "ComplainantDetails",
    "ContactLink",
    "DataExport",
    "DevicePost",
    "Dossier",
    "Entry",
    "EvidenceFile",
    "EvidenceText",
    "IdempotencyKey",
    "Invitation",
    "KeptReceipt",
    "MailedReceipt",
    "Passkey",
    "ProfessionalProfile",
    "Profile",
    "SecurityEvent",
    "Share",
    "SigningCertificate",
    "UserSession",
]
