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
    TeamMode,
    TiePolicy,
)
from app.models.leaderboard_snapshot import LeaderboardSnapshot, LeaderboardVersion
from app.models.notice import PhaseEvent, PhaseNotice
from app.models.rescore import Rescore
from app.models.standing import PhaseJob, PhaseRanking, RankChange
from app.models.submission import (
    Split,
    Submission,
    SubmissionEvent,
    SubmissionScore,
    SubmissionStatus,
)
from app.models.team import Team, TeamMember
from app.models.testset import TestSetVersion
from app.models.user import ApiToken, EmailPurpose, EmailToken, Role, User
from app.models.webhook import DeliveryStatus, Webhook, WebhookDelivery

__all__ = [
    "ApiToken",
    "AuditLogEntry",
    "Competition",
    "CompetitionOrganizer",
    "DeliveryStatus",
    "EmailPurpose",
    "EmailToken",
    "EntrySelection",
    "LeaderboardSnapshot",
    "LeaderboardVersion",
    "Participation",
    "Phase",
    "PhaseEvent",
    "PhaseFile",
    "PhaseJob",
    "PhaseNotice",
    "PhaseRanking",
    "RankChange",
    "Rescore",
    "Role",
    "Split",
    "Submission",
    "SubmissionEvent",
    "SubmissionKind",
    "SubmissionScore",
    "SubmissionStatus",
    "Team",
    "TeamMember",
    "TeamMode",
    "TestSetVersion",
    "TiePolicy",
    "User",
    "Webhook",
    "WebhookDelivery",
]
