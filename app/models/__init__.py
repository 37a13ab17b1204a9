"""SQLAlchemy models: persistence only. Imported together so Alembic sees every table."""

from __future__ import annotations

from .accounts import Institution, Invitation, LoginSession, Membership, Role, ThrottleEvent, User
from .credentials import Credential, IssuerKey
from .jobs import Job, JobStatus
from .learning import (
    AbilityRecord,
    Attempt,
    AttemptStatus,
    LessonVisit,
    PathDecisionRecord,
    Response,
)
from .lti import (
    EmbedAccount,
    LtiAccount,
    LtiContext,
    LtiContextMember,
    LtiDeployment,
    LtiGradeLink,
    LtiLogin,
    LtiPlatform,
    LtiToolKey,
)
from .packs import ModuleRow, Pack, PackVersion, ParameterVersion, PendingImport
from .xapi import XapiStatement

__all__ = [
    "AbilityRecord",
    "Attempt",
    "AttemptStatus",
    "Credential",
    "EmbedAccount",
    "Institution",
    "Invitation",
    "IssuerKey",
    "Job",
    "JobStatus",
    "LessonVisit",
    "LoginSession",
    "LtiAccount",
    "LtiContext",
    "LtiContextMember",
    "LtiDeployment",
    "LtiGradeLink",
    "LtiLogin",
    "LtiPlatform",
    "LtiToolKey",
    "Membership",
    "ModuleRow",
    "Pack",
    "PackVersion",
    "ParameterVersion",
    "PathDecisionRecord",
    "PendingImport",
    "Response",
    "Role",
    "ThrottleEvent",
    "User",
    "XapiStatement",
]
