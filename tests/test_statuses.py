"""Status enums: their members are the strings stored in the status columns, which must not change."""

from webapp.models import (
    DELIVERY_STATUSES,
    EXPORT_RUN_STATUSES,
    FOLLOWUP_STATUSES,
    IMPORT_RUN_STATUSES,
    OPEN_RUN_STATUSES,
    RUN_STATUSES,
    SUBMISSION_STATUSES,
    WORK_STATUSES,
    FollowUpRunStatus,
    WorkStatus,
)


def test_stored_values_are_unchanged():
    assert WORK_STATUSES == ("pending", "queued", "done", "failed")
    assert IMPORT_RUN_STATUSES == ("pending", "queued", "running", "done", "failed", "rolled_back", "rolling_back")
    assert EXPORT_RUN_STATUSES == ("running", "retrying", "done", "failed")
    assert DELIVERY_STATUSES == ("pending", "delivered", "failed", "cancelled")
    assert SUBMISSION_STATUSES == ("accepted", "invalid", "rejected")
    assert FOLLOWUP_STATUSES == ("active", "paused")
    assert RUN_STATUSES == ("pending", "queued", "sending", "done", "skipped", "failed", "cancelled", "review")
    assert OPEN_RUN_STATUSES == ("pending", "queued", "sending")


def test_members_are_plain_strings_where_it_matters():
    assert isinstance(WorkStatus.PENDING, str)
    assert str(FollowUpRunStatus.REVIEW) == f"{FollowUpRunStatus.REVIEW}" == "review"
    assert [str(status) for status in RUN_STATUSES] == list(RUN_STATUSES)
