"""Erasure and anonymisation of a person: a durable work kind with a report of what was removed.

``request_erasure`` writes a ``PrivacyRequest`` and its ``privacy_erasure`` work row in one transaction, and at
once replaces the address's suppression entry by one holding only a keyed hash (``suppression.suppress_erased``),
so that nothing is mailed to the person while the work waits, nor ever after: a later import, form, survey,
SOAP or REST create brings back a profile that is still never mailed.

The handler (``run_erasure_work``) locks the request and does nothing when it is no longer pending (a second run
of the same row), then walks ``STEPS`` — one function per table or store that can hold the person — and marks
the request done with the counts, in the job's transaction. The address itself is kept on the request only while
the work waits. An **erasure** removes the profiles (with subprofiles, journal, aliases, consent records,
uploaded files, follow-up and callback logs) and empties the personal parts of the rows kept for statistics
(submissions, survey responses, sent-message log, bounce reports); an **anonymisation** keeps the profiles with
their fields not marked personal (email and phone fields always are), and scrubs the person's personal values
from everything else the same way. No ``profile_removed`` event is journalled: it would keep the last values
and send them to callbacks. A table added later that holds personal data gets a step here (``docs/privacy.md``).
"""

import gzip
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import Text, cast, delete, func, or_, select

from webapp.email import suppression
from webapp.exports import downloads
from webapp.extensions import db
from webapp.models import (
    OPEN_RUN_STATUSES,
    Account,
    BounceReport,
    CallbackDelivery,
    CaughtMail,
    ConsentRecord,
    FollowUpRun,
    FollowUpRunStatus,
    FormFile,
    FormSubmission,
    ImportLineError,
    ImportRun,
    Mailing,
    MailingRecipient,
    PrivacyRequest,
    PrivacyRequestKind,
    PrivacyRequestStatus,
    Profile,
    ProfileAlias,
    ProfileEvent,
    ScheduledWork,
    SentMessage,
    Subprofile,
    SurveyResponse,
    UnmatchedReport,
    utcnow,
)
from webapp.platform import work
from webapp.platform.errors import NotFound, ValidationError
from webapp.platform.tenancy import owned
from webapp.privacy import people
from webapp.privacy.scrubbing import bytes_contain, contains_any, scrubbed
from webapp.profiles.profiles import get_profile, new_code

log = logging.getLogger(__name__)

WORK_KIND = "privacy_erasure"


@dataclass
class Person:
    """What one run of the work erases: the account, the profiles, the addresses and the values to scrub."""

    account: Account
    request: PrivacyRequest
    profiles: list[Profile]
    addresses: set[str]
    needles: set[str]
    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0
    # False for retention's removal of inactive profiles: the person did not ask to be kept out.
    keep_out: bool = True
    # Profiles of the person removed before (their journal, submissions and responses remain).
    removed_ids: list[int] = field(default_factory=list)

    @property
    def erase(self) -> bool:
        return self.request.kind == PrivacyRequestKind.ERASE

    @property
    def profile_ids(self) -> list[int]:
        """The person's profiles, and those removed before."""
        return [profile.id for profile in self.profiles] + self.removed_ids

    def count(self, table: str, rows: int) -> None:
        if rows:
            self.counts[table] = self.counts.get(table, 0) + rows


# --- requesting --------------------------------------------------------------------------------------------


def request_erasure(
    account: Account,
    *,
    kind: str,
    requested_by: str,
    address: str = "",
    profile_id: int | None = None,
) -> PrivacyRequest:
    """Ask for the person (by address across the account's databases, or by one profile and its address) to be
    erased or anonymised; the work runs in the background. One transaction."""
    if kind not in tuple(PrivacyRequestKind):
        raise ValidationError({"kind": _("Choose erase or anonymise.")})
    profiles: list[Profile] = []
    if profile_id is not None:
        profile = get_profile(account, profile_id)
        profiles = [profile]
        address = address or min(people.addresses_of(profile), default="")
    if address:
        address = people.checked_address(address)
        profiles += [found for found in people.profiles_with_address(account, address) if found not in profiles]
    if not address and not profiles:
        raise ValidationError({"address": _("Enter an email address.")})
    request = PrivacyRequest(
        account_id=account.id,
        kind=kind,
        address=address,
        address_hash=suppression.erased_key(address) if address else "",
        profile_ids=sorted(profile.id for profile in profiles),
        requested_by=requested_by[:255],
    )
    db.session.add(request)
    db.session.flush()
    if address:
        suppression.suppress_erased(account.id, address, detail=_("Erasure request %(id)s", id=request.id))
    row = work.schedule(WORK_KIND, payload={"request": request.id}, account_id=account.id)
    db.session.flush()
    request.work_id = row.id
    db.session.commit()
    return request


def get_request(account: Account, request_id: int) -> PrivacyRequest:
    return owned(PrivacyRequest, account, request_id, _("Privacy request not found."))


def list_requests(account: Account, *, limit: int = 100) -> list[PrivacyRequest]:
    return list(
        db.session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.account_id == account.id)
            .order_by(PrivacyRequest.id.desc())
            .limit(limit)
        )
    )


# --- the work ----------------------------------------------------------------------------------------------


def run_erasure_work(row: ScheduledWork) -> None:
    """Erase or anonymise the request's person, once (a request no longer pending is left alone)."""
    request = db.session.scalar(
        select(PrivacyRequest)
        .where(PrivacyRequest.id == int((row.payload or {}).get("request", 0)))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if request is None or request.status != PrivacyRequestStatus.PENDING:
        return
    account = db.session.get(Account, request.account_id)
    if account is None:
        raise NotFound(_("Privacy request not found."))
    _erase(_person(account, request))


def erase_now(account: Account, request: PrivacyRequest, *, keep_out: bool) -> None:
    """Run a request in the caller's transaction (retention uses it for inactive profiles, with ``keep_out``
    False: no suppression entry, the person may sign up again)."""
    person = _person(account, request)
    person.keep_out = keep_out
    _erase(person)


def _erase(person: Person) -> None:
    """Every step, then the report (counts only) and the request done, its address forgotten."""
    for step in STEPS:
        step(person)
    request = person.request
    request.report = {
        "tables": dict(sorted(person.counts.items())),
        "files": person.files,
        "profiles": len(person.profiles),
    }
    request.status, request.finished_at, request.address = PrivacyRequestStatus.DONE, utcnow(), ""


def _person(account: Account, request: PrivacyRequest) -> Person:
    profiles = list(
        db.session.scalars(
            select(Profile)
            .where(Profile.account_id == account.id, Profile.id.in_(request.profile_ids or []))
            .with_for_update()
        )
    )
    if request.address:
        known = {profile.id for profile in profiles}
        profiles += [found for found in people.profiles_with_address(account, request.address) if found.id not in known]
    addresses = {request.address} if request.address else set()
    for profile in profiles:
        addresses |= people.addresses_of(profile)
    removed = people.removed_profiles(account, addresses)
    for profile in profiles:
        removed.pop(profile.id, None)
    anonymise = request.kind == PrivacyRequestKind.ANONYMISE
    needles = people.distinctive_values(profiles, personal_only=anonymise, removed=removed)
    person = Person(account, request, profiles, addresses, needles | addresses)
    person.removed_ids = sorted(removed)
    return person


# --- the steps: one per table or store -------------------------------------------------------------------


def _consents(person: Person) -> None:
    if person.profile_ids:
        result = db.session.execute(
            delete(ConsentRecord).where(
                ConsentRecord.account_id == person.account.id, ConsentRecord.profile_id.in_(person.profile_ids)
            )
        )
        person.count("consent_record", _rows(result))


def _form_files(person: Person) -> None:
    if person.profile_ids:
        result = db.session.execute(
            delete(FormFile).where(
                FormFile.account_id == person.account.id, FormFile.profile_id.in_(person.profile_ids)
            )
        )
        person.count("form_file", _rows(result))


def _submissions(person: Person) -> None:
    conditions = [FormSubmission.profile_id.in_(person.profile_ids)] if person.profile_ids else []
    conditions += [_text_contains(FormSubmission.data, address) for address in person.addresses]
    if not conditions:
        return
    rows = db.session.scalars(
        select(FormSubmission).where(FormSubmission.account_id == person.account.id, or_(*conditions))
    ).all()
    for row in rows:
        row.data = scrubbed(row.data or {}, person.needles)
        row.consents, row.response = {}, {}
        row.ip, row.user_agent, row.origin = "", "", ""
        if person.erase:
            row.profile_id = None
    person.count("form_submission", len(rows))


def _survey_responses(person: Person) -> None:
    if not person.profile_ids:
        return
    rows = db.session.scalars(
        select(SurveyResponse).where(
            SurveyResponse.account_id == person.account.id, SurveyResponse.profile_id.in_(person.profile_ids)
        )
    ).all()
    for row in rows:
        row.answers = scrubbed(row.answers or {}, person.needles)
        row.hidden = scrubbed(row.hidden or {}, person.needles)
        if person.erase:
            row.profile_id, row.hidden = None, {}
    person.count("survey_response", len(rows))


def _journal(person: Person) -> None:
    if not person.profile_ids:
        return
    where = (ProfileEvent.account_id == person.account.id, ProfileEvent.profile_id.in_(person.profile_ids))
    if person.erase:
        person.count("profile_event", _rows(db.session.execute(delete(ProfileEvent).where(*where))))
        return
    changed = 0
    fields = people.fields_by_id(set(people.database_names(person.account)))
    personal = {key for key, one in fields.items() if people.is_personal(one)}
    for event in db.session.scalars(select(ProfileEvent).where(*where)):
        clean = scrubbed(event.changes or {}, person.needles)
        if isinstance(clean.get("fields"), dict):  # the old and new values of personal fields go, whatever they were
            clean["fields"] = {key: pair for key, pair in clean["fields"].items() if str(key) not in personal}
        if clean != event.changes or contains_any(event.actor or "", person.needles):
            event.changes, changed = clean, changed + 1
            event.actor = "" if contains_any(event.actor or "", person.needles) else event.actor
    person.count("profile_event", changed)


def _aliases(person: Person) -> None:
    if person.profile_ids:
        result = db.session.execute(
            delete(ProfileAlias).where(
                ProfileAlias.account_id == person.account.id, ProfileAlias.profile_id.in_(person.profile_ids)
            )
        )
        person.count("profile_alias", _rows(result))


def _sent_messages(person: Person) -> list[int]:
    conditions = [SentMessage.recipient.in_(sorted(person.addresses))] if person.addresses else []
    if person.profile_ids:
        conditions.append(SentMessage.profile_id.in_(person.profile_ids))
    if not conditions:
        return []
    rows = db.session.scalars(
        select(SentMessage).where(SentMessage.account_id == person.account.id, or_(*conditions))
    ).all()
    for row in rows:
        row.recipient, row.subject = "", ""
        if person.erase:
            row.profile_id = None
    person.count("sent_message", len(rows))
    return [row.id for row in rows]


def _sent_and_bounces(person: Person) -> None:
    message_ids = _sent_messages(person)
    conditions = [BounceReport.recipient.in_(sorted(person.addresses))] if person.addresses else []
    if person.profile_ids:
        conditions.append(BounceReport.profile_id.in_(person.profile_ids))
    if message_ids:
        conditions.append(BounceReport.sent_message_id.in_(message_ids))
    if not conditions:
        return
    rows = db.session.scalars(
        select(BounceReport).where(BounceReport.account_id == person.account.id, or_(*conditions))
    ).all()
    for row in rows:
        row.raw, row.raw_size, row.diagnostic, row.recipient = b"", 0, "", ""
        if person.erase:
            row.profile_id = None
    person.count("bounce_report", len(rows))


def _unmatched(person: Person) -> None:
    """Reports that matched no sent message belong to no account: those naming the address go."""
    if not person.addresses:
        return
    addresses = sorted(person.addresses)
    conditions = [UnmatchedReport.recipient.in_(addresses), UnmatchedReport.envelope_to.in_(addresses)]
    conditions += [UnmatchedReport.raw.op("LIKE")(_bytes_pattern(address)) for address in addresses]
    rows = db.session.scalars(select(UnmatchedReport).where(or_(*conditions))).all()
    rows = [
        row
        for row in rows
        if {row.recipient.lower(), row.envelope_to.lower()} & person.addresses
        or bytes_contain(row.raw or b"", person.addresses)
    ]
    for row in rows:
        db.session.delete(row)
    person.count("unmatched_report", len(rows))


def _caught_mail(person: Person) -> None:
    if not person.addresses:
        return
    addresses = sorted(person.addresses)
    conditions = [func.lower(CaughtMail.recipient).in_(addresses)]
    conditions += [CaughtMail.raw.op("LIKE")(_bytes_pattern(address)) for address in addresses]
    rows = db.session.scalars(
        select(CaughtMail).where(CaughtMail.account_id == person.account.id, or_(*conditions))
    ).all()
    rows = [
        row for row in rows if row.recipient.lower() in person.addresses or bytes_contain(row.raw, person.addresses)
    ]
    for row in rows:
        db.session.delete(row)
    person.count("caught_mail", len(rows))


def _callback_deliveries(person: Person) -> None:
    if person.profile_ids:
        result = db.session.execute(
            delete(CallbackDelivery).where(
                CallbackDelivery.account_id == person.account.id, CallbackDelivery.profile_id.in_(person.profile_ids)
            )
        )
        person.count("callback_delivery", _rows(result))


def _mailing_recipients(person: Person) -> None:
    """A mailing's recipient rows stay (its counts), without an SMTP answer that may quote the address."""
    if not person.profile_ids:
        return
    rows = db.session.scalars(
        select(MailingRecipient)
        .join(Mailing, Mailing.id == MailingRecipient.mailing_id)
        .where(Mailing.account_id == person.account.id, MailingRecipient.profile_id.in_(person.profile_ids))
    ).all()
    for row in rows:
        row.error = "" if contains_any(row.error or "", person.needles) else row.error
    person.count("mailing_recipient", len(rows))


def _follow_up_runs(person: Person) -> None:
    if not person.profile_ids:
        return
    rows = db.session.scalars(
        select(FollowUpRun).where(
            FollowUpRun.account_id == person.account.id, FollowUpRun.profile_id.in_(person.profile_ids)
        )
    ).all()
    for row in rows:
        if row.status in OPEN_RUN_STATUSES:
            row.status = FollowUpRunStatus.CANCELLED
        row.outcome = "" if contains_any(row.outcome or "", person.needles) else row.outcome
        row.last_error = "" if contains_any(row.last_error or "", person.needles) else row.last_error
        if person.erase:
            row.profile_id = None
    person.count("follow_up_run", len(rows))


def _import_errors(person: Person) -> None:
    if not person.addresses:
        return
    runs = select(ImportRun.id).where(ImportRun.account_id == person.account.id)
    conditions = []
    for address in person.addresses:
        conditions += [_text_contains(ImportLineError.value, address), _text_contains(ImportLineError.cells, address)]
    line_numbers = db.session.execute(
        select(ImportLineError.run_id, ImportLineError.line).where(ImportLineError.run_id.in_(runs), or_(*conditions))
    ).all()
    removed = 0
    for run_id, line in set(line_numbers):  # every error of such a line (its cells are written once)
        result = db.session.execute(
            delete(ImportLineError).where(ImportLineError.run_id == run_id, ImportLineError.line == line)
        )
        removed += _rows(result)
    person.count("import_line_error", removed)
    for run in db.session.scalars(
        select(ImportRun).where(ImportRun.account_id == person.account.id, ImportRun.error != "")
    ):
        if contains_any(run.error, person.addresses):
            run.error = ""
            person.count("import_run", 1)


def _import_files(person: Person) -> None:
    """Stored import files naming the address: its lines are cut from a plain file; a compressed one goes. Files are
    read line by line (an import file may be large), and rewritten only when they hold the address."""
    if not person.addresses:
        return
    runs = db.session.scalars(
        select(ImportRun).where(ImportRun.account_id == person.account.id, ImportRun.file_path != "")
    ).all()
    for run in runs:
        path = Path(run.file_path)
        if not path.is_file():
            continue
        compressed = _compressed(path)
        if not _holds(path, compressed, person.addresses):
            continue
        person.files += 1
        if compressed:
            path.unlink()
            run.file_path = ""
            continue
        kept = path.with_name(path.name + ".erasing")
        with path.open("rb") as source, kept.open("wb") as target:
            target.writelines(line for line in source if not bytes_contain(line, person.addresses))
        kept.replace(path)
        run.file_size = path.stat().st_size


def _export_files(person: Person) -> None:
    """Export files kept for a later download: those made from a database holding the person, or naming the
    address, are deleted (cutting one person out of an export is not safe; a new export is one click)."""
    databases = {profile.database_id for profile in person.profiles}
    for row, path in downloads.written_files(person.account):
        named = bool(person.addresses) and path.is_file() and _holds(path, _compressed(path), person.addresses)
        if row.database_id in databases or named:
            person.files += downloads.discard_file(row, _("It held the data of a person who asked to be erased."))


def _compressed(path: Path) -> bool:
    with path.open("rb") as probe:
        return probe.read(2) == b"\x1f\x8b" or zipfile.is_zipfile(path)


def _holds(path: Path, compressed: bool, addresses: set[str]) -> bool:
    try:
        if not compressed:
            with path.open("rb") as lines:
                return any(bytes_contain(line, addresses) for line in lines)
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    with archive.open(name) as lines:
                        if any(bytes_contain(line, addresses) for line in lines):
                            return True
            return False
        with gzip.open(path, "rb") as lines:
            return any(bytes_contain(line, addresses) for line in lines)
    except (OSError, zipfile.BadZipFile, EOFError):
        return True  # unreadable: it may hold the address, so it goes


def _work_payloads(person: Person) -> None:
    rows = db.session.scalars(
        select(ScheduledWork).where(
            ScheduledWork.account_id == person.account.id, ScheduledWork.id != person.request.work_id
        )
    ).all()
    for row in rows:
        clean = scrubbed(row.payload or {}, person.needles)
        if clean != row.payload:
            row.payload = clean
            person.count("scheduled_work", 1)


def _suppression(person: Person) -> None:
    if not person.keep_out:
        return
    detail = _("Erasure request %(id)s", id=person.request.id)
    for address in person.addresses:
        suppression.suppress_erased(person.account.id, address, detail=detail)
    person.count("suppressed_address", len(person.addresses))


def _profiles(person: Person) -> None:
    if not person.profiles:
        return
    if person.erase:
        person.count(
            "subprofile",
            db.session.scalar(
                select(func.count()).select_from(Subprofile).where(Subprofile.profile_id.in_(person.profile_ids))
            )
            or 0,
        )
        for profile in person.profiles:
            db.session.delete(profile)
        person.count("profile", len(person.profiles))
        db.session.flush()
        return
    fields = people.fields_by_id({profile.database_id for profile in person.profiles})
    personal = {key for key, one in fields.items() if people.is_personal(one)}
    subprofiles = db.session.scalars(select(Subprofile).where(Subprofile.profile_id.in_(person.profile_ids))).all()
    holders: list[Profile | Subprofile] = [*person.profiles, *subprofiles]
    for holder in holders:
        holder.fields = {key: value for key, value in (holder.fields or {}).items() if key not in personal}
        holder.code, holder.updated_at = new_code(), utcnow()  # links made for the person stop working
    person.count("profile", len(person.profiles))
    person.count("subprofile", len(subprofiles))


# The order matters: the rows that find the person by profile come before the profiles go.
STEPS: list[Callable[[Person], None]] = [
    _consents,
    _form_files,
    _submissions,
    _survey_responses,
    _journal,
    _aliases,
    _sent_and_bounces,
    _unmatched,
    _caught_mail,
    _callback_deliveries,
    _follow_up_runs,
    _mailing_recipients,
    _import_errors,
    _import_files,
    _export_files,
    _work_payloads,
    _suppression,
    _profiles,
]


def _rows(result) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _text_contains(column, needle: str):
    """The column (JSON or text) as text contains ``needle``, case-insensitively."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(cast(column, Text)).like(f"%{escaped}%", escape="\\")


def _bytes_pattern(needle: str) -> bytes:
    """A LIKE pattern over raw bytes (no escape: ``_`` in an address only widens the match; callers check)."""
    return f"%{needle}%".encode()
