"""SQLAlchemy models, one module per aggregate; importing this registers every table."""

from app.models.audit import AuditLogEntry
from app.models.competition import (
    Competition,
    CompetitionOrganizer,
    EntrySelection,
    Participation,
    Phase,
    PhaseFile,
    SubmissionKind,
    TiePolicy,
)
from app.models.rescore import Rescore
from app.models.submission import (
    Split,
    Submission,
    SubmissionEvent,
    SubmissionScore,
    SubmissionStatus,
)
from app.models.testset import TestSetVersion
from app.models.user import ApiToken, EmailPurpose, EmailToken, Role, User

__all__ = [
    "ApiToken",
    "AuditLogEntry",
    "Competition",
    "CompetitionOrganizer",
    "EmailPurpose",
    "EmailToken",
    "EntrySelection",
    "Participation",
    "Phase",
    "PhaseFile",
    "Rescore",
    "Role",
    "Split",
    "Submission",
    "SubmissionEvent",
    "SubmissionKind",
    "SubmissionScore",
    "SubmissionStatus",
    "TestSetVersion",
    "TiePolicy",
    "User",
]
