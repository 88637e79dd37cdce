"""SQLAlchemy models only: columns, relationships, small derived properties."""

from webapp.models.accounts import ROLES, Account, ApiToken, User
from webapp.models.base import Base, utcnow
from webapp.models.callbacks import (
    CALLBACK_ACTIONS,
    CALLBACK_METHODS,
    DELIVERY_STATUSES,
    Callback,
    CallbackDelivery,
    CallbackStyle,
    DeliveryStatus,
)
from webapp.models.databases import UNSUBSCRIBE_BEHAVIOURS, Collection, Database, Field, Interest
from webapp.models.email import CaughtMail, EmailTemplate, MailSettings, SentMessage, SuppressedAddress
from webapp.models.exports import EXPORT_RUN_STATUSES, ExportDefinition, ExportRun, ExportRunStatus
from webapp.models.followups import (
    ACTION_TYPES,
    FOLLOWUP_STATUSES,
    OPEN_RUN_STATUSES,
    RUN_STATUSES,
    TRIGGER_KINDS,
    FollowUp,
    FollowUpRun,
    FollowUpRunStatus,
    FollowUpStatus,
)
from webapp.models.forms import (
    FORM_BEHAVIOURS,
    SUBMISSION_STATUSES,
    Form,
    FormDayStat,
    FormFile,
    FormSubmission,
    SubmissionStatus,
)
from webapp.models.hygiene import INTAKE_PROVIDERS, BounceReport, IntakeCredential, UnmatchedReport
from webapp.models.hygiene_policies import POLICY_ACTIONS, SIGNUP_ACTIONS, HygienePolicy
from webapp.models.imports import IMPORT_RUN_STATUSES, ImportDefinition, ImportLineError, ImportRun, ImportRunStatus
from webapp.models.privacy import (
    ConsentRecord,
    PrivacyRequest,
    PrivacyRequestKind,
    PrivacyRequestStatus,
    RetentionSettings,
)
from webapp.models.profiles import Profile, ProfileAlias, ProfileEvent, Subprofile
from webapp.models.surveys import Survey, SurveyResponse
from webapp.models.work import WORK_STATUSES, ScheduledWork, WorkStatus

__all__ = [
    "ConsentRecord",
    "PrivacyRequest",
    "PrivacyRequestKind",
    "PrivacyRequestStatus",
    "RetentionSettings",
    "INTAKE_PROVIDERS",
    "BounceReport",
    "IntakeCredential",
    "UnmatchedReport",
    "FORM_BEHAVIOURS",
    "SUBMISSION_STATUSES",
    "Form",
    "FormDayStat",
    "FormFile",
    "FormSubmission",
    "SubmissionStatus",
    "ACTION_TYPES",
    "FOLLOWUP_STATUSES",
    "OPEN_RUN_STATUSES",
    "RUN_STATUSES",
    "TRIGGER_KINDS",
    "FollowUp",
    "FollowUpRun",
    "FollowUpRunStatus",
    "FollowUpStatus",
    "CaughtMail",
    "EmailTemplate",
    "MailSettings",
    "SentMessage",
    "SuppressedAddress",
    "POLICY_ACTIONS",
    "SIGNUP_ACTIONS",
    "HygienePolicy",
    "EXPORT_RUN_STATUSES",
    "ExportDefinition",
    "ExportRun",
    "ExportRunStatus",
    "IMPORT_RUN_STATUSES",
    "ImportDefinition",
    "ImportLineError",
    "ImportRun",
    "ImportRunStatus",
    "CALLBACK_ACTIONS",
    "CALLBACK_METHODS",
    "Callback",
    "CallbackDelivery",
    "DELIVERY_STATUSES",
    "CallbackStyle",
    "DeliveryStatus",
    "ProfileAlias",
    "ROLES",
    "UNSUBSCRIBE_BEHAVIOURS",
    "WORK_STATUSES",
    "Account",
    "ApiToken",
    "Base",
    "Collection",
    "Database",
    "Field",
    "Interest",
    "Profile",
    "ProfileEvent",
    "ScheduledWork",
    "WorkStatus",
    "Subprofile",
    "Survey",
    "SurveyResponse",
    "User",
    "utcnow",
]
