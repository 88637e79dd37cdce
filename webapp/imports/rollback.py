"""Rolling back an import run from the event journal: what it created is removed, what it changed is put back.

A rollback is durable work of kind ``import_rollback`` (``request_rollback`` queues it): it goes through the
profiles the run touched in chunks of ``LOOKUP_CHUNK``, one transaction per chunk with its progress marker
(``rollback_done``) and counts, like an import's batches. A worker killed mid-chunk leaves the chunk and its
marker, or neither; the retried work row goes on after the last committed chunk.

Optionally (``remove_fields``) the rollback also removes the fields the run created (``created_fields``: made
while the run was set up, as "Create this field" on its mapping screen does, and mapped by it), in the same
transaction that marks it rolled back: a field that still holds values once the run's are gone (written by
something else, or changed since and left) is kept, and so is one the unsubscribe behaviour uses; the run's
report (``error``, line by line) says which fields went and why the others stay.
"""

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, insert, select, update

from webapp.extensions import db
from webapp.imports.apply import in_language
from webapp.imports.planner import LOOKUP_CHUNK
from webapp.imports.runs import get_run
from webapp.models import (
    Account,
    Collection,
    Field,
    ImportDefinition,
    ImportRun,
    ImportRunStatus,
    Profile,
    ProfileEvent,
    ScheduledWork,
    Subprofile,
    utcnow,
)
from webapp.platform import work
from webapp.platform.errors import Conflict, ValidationError
from webapp.profiles import events
from webapp.profiles import fields as profile_fields
from webapp.profiles.databases import get_database
from webapp.profiles.values import diff, interests_diff

KIND = "import_rollback"
ERROR_LENGTH = 60000


@dataclass
class RollbackReport:
    removed: int = 0
    restored: int = 0
    left: list[str] = field(default_factory=list)  # what was changed since, and left alone


@dataclass(frozen=True)
class JournalRange:
    """A run's share of the event journal: its database, its event-id range and the source and reference on its
    events; and whose name the undo's own events carry. An import run is one (``_journal``); a bulk action
    (``webapp.bulk``) is another, and undoes its value changes with the same ``touched_by`` and ``JournalUndo``."""

    database_id: int
    first_event_id: int | None
    last_event_id: int | None
    source: str
    reference: str
    actor: str = ""
    undo_reference: str = ""

    @property
    def undo_origin(self) -> events.Origin:
        return events.Origin(
            self.source, actor=self.actor, reference=self.undo_reference or f"{self.reference} rollback"
        )


@dataclass
class _Touched:
    created: bool = False
    last_event: int = 0
    fields: dict[str, list] = field(default_factory=dict)  # key: [first old, last new]
    interests: dict[str, list] = field(default_factory=dict)
    subprofiles: list[int] = field(default_factory=list)
    sub_fields: dict[int, dict[str, list]] = field(default_factory=dict)  # updated subprofile: key: [old, new]


def request_rollback(account: Account, run_id: int, *, remove_fields: bool = False, locale: str = "") -> ImportRun:
    """Queue the rollback of a finished run (durable work of kind ``import_rollback``). With ``remove_fields`` it
    also removes the fields the run created that nothing else uses; ``locale``: the language of its report."""
    run = get_run(account, run_id)
    if run.status != ImportRunStatus.DONE:
        raise ValidationError(_("Only a finished import can be rolled back."))
    if run.first_event_id is None:
        raise ValidationError(_("This import changed nothing, so there is nothing to roll back."))
    run.status = ImportRunStatus.ROLLING_BACK
    run.rollback_total = run.rollback_done = run.removed = run.restored = 0
    run.error = ""
    payload: dict[str, Any] = {"run_id": run.id}
    if remove_fields:
        payload["remove_fields"] = True
    if locale:
        payload["locale"] = locale[:16]
    work.schedule(KIND, payload=payload, account_id=account.id)
    db.session.commit()
    return run


def rollback_run(account: Account, run_id: int, *, remove_fields: bool = False) -> RollbackReport:
    """Undo a finished run now (queue it and apply it in this process): what the work kind does, for callers
    that wait for the result. The queued work row then finds the rollback done and does nothing."""
    request_rollback(account, run_id, remove_fields=remove_fields)
    apply_rollback(run_id, remove_fields=remove_fields)
    run = get_run(account, run_id)
    return RollbackReport(run.removed, run.restored, run.error.splitlines())


def apply_rollback(run_id: int, *, remove_fields: bool = False, locale: str = "") -> None:
    """Undo a run whose rollback is queued, chunk after chunk, each chunk one transaction with its progress:
    remove what the run created, restore what it changed — except what was changed since by another event
    (reported in the run's ``error`` and left). Journalled with source import. Goes on after the last
    committed chunk when an earlier attempt died. With ``remove_fields``, the fields the run created and
    nothing else uses go too, in the last transaction (the report in ``locale``)."""
    with in_language(locale):
        _apply_rollback(run_id, remove_fields)


def _apply_rollback(run_id: int, remove_fields: bool) -> None:
    run = db.session.get(ImportRun, run_id)
    if run is None or run.status != ImportRunStatus.ROLLING_BACK:
        return
    account = db.session.get_one(Account, run.account_id)
    touched, first_event = touched_by(account, _journal(run))
    profile_ids = sorted(touched)
    if run.rollback_total != len(profile_ids):
        run.rollback_total = len(profile_ids)
        db.session.commit()
    done = run.rollback_done
    for start in range(done, len(profile_ids), LOOKUP_CHUNK):
        chunk = profile_ids[start : start + LOOKUP_CHUNK]
        run = db.session.scalar(select(ImportRun).where(ImportRun.id == run_id).with_for_update())
        if run is None or run.status != ImportRunStatus.ROLLING_BACK or run.rollback_done != start:
            db.session.rollback()
            return  # another attempt has moved the rollback on
        undo = JournalUndo(account, _journal(run))
        undo.chunk({profile_id: touched[profile_id] for profile_id in chunk}, first_event)
        undo.journal()
        run.rollback_done = start + len(chunk)
        run.removed += undo.report.removed
        run.restored += undo.report.restored
        if undo.report.left:
            run.error = "\n".join([*filter(None, [run.error]), *undo.report.left])[:ERROR_LENGTH]
        db.session.commit()
    run = db.session.scalar(select(ImportRun).where(ImportRun.id == run_id).with_for_update())
    if run is not None and run.status == ImportRunStatus.ROLLING_BACK:
        if remove_fields:
            report = _remove_created_fields(account, run)
            run.error = "\n".join([*filter(None, [run.error]), *report])[:ERROR_LENGTH]
        run.status = ImportRunStatus.ROLLED_BACK
    db.session.commit()


def run_rollback_work(row: ScheduledWork) -> None:
    """The ``import_rollback`` work kind (commits once per chunk, like the ``import`` kind)."""
    payload = row.payload or {}
    apply_rollback(
        int(payload["run_id"]), remove_fields=bool(payload.get("remove_fields")), locale=payload.get("locale") or ""
    )


def created_fields(account: Account, run: ImportRun) -> list[Field]:
    """The fields the run created: fields of its database (or its collections) made while it was set up —
    between its upload and its start, as "Create this field" on its mapping screen makes them — that its
    definition maps a column to."""
    definition = db.session.get(ImportDefinition, run.definition_id) if run.definition_id else None
    if definition is None or definition.account_id != account.id:
        return []
    targets = {str(target).lower() for target in (definition.mapping or {}).values()}
    until = run.started_at or run.finished_at or utcnow()
    found = []
    for made in db.session.scalars(
        select(Field)
        .where(
            Field.account_id == account.id,
            Field.database_id == run.database_id,
            Field.created_at >= run.created_at,
            Field.created_at <= until,
        )
        .order_by(Field.id)
    ):
        if made.collection_id is None:
            target = f"field:{made.name}"
        else:
            target = f"collection:{db.session.get_one(Collection, made.collection_id).name}.{made.name}"
        if target.lower() in targets:
            found.append(made)
    return found


def _remove_created_fields(account: Account, run: ImportRun) -> list[str]:
    """Remove the fields the run created that hold no value now that the run's are gone (in the caller's
    transaction); one report line per field."""
    report = []
    for made in created_fields(account, run):
        holders = profile_fields.holder_count(made)
        if holders:
            report.append(
                ngettext(
                    "Field %(name)s, which this import created, is kept: %(num)d profile holds a value written by "
                    "something else.",
                    "Field %(name)s, which this import created, is kept: %(num)d profiles hold a value written by "
                    "something else.",
                    holders,
                    name=made.name,
                )
                if made.collection_id is None
                else ngettext(
                    "Field %(name)s, which this import created, is kept: %(num)d subprofile holds a value written "
                    "by something else.",
                    "Field %(name)s, which this import created, is kept: %(num)d subprofiles hold a value written "
                    "by something else.",
                    holders,
                    name=made.name,
                )
            )
            continue
        try:
            profile_fields.drop_field(made)  # refuses before it changes anything
        except Conflict as error:
            report.append(
                _("Field %(name)s, which this import created, is kept: %(reason)s", name=made.name, reason=error)
            )
            continue
        report.append(_("Field %(name)s, which this import created, is removed.", name=made.name))
    return report


def init_app(app) -> None:
    with app.app_context():
        work.register_kind(KIND, run_rollback_work)


def _reference(run: ImportRun) -> str:
    return f"import {run.id}"


def _journal(run: ImportRun) -> JournalRange:
    return JournalRange(run.database_id, run.first_event_id, run.last_event_id, "import", _reference(run))


def touched_by(account: Account, run: JournalRange) -> tuple[dict[int, _Touched], int | None]:
    """What the run did to each profile, from its own events (in the run's event-id range), and its first event."""
    query = (
        select(
            ProfileEvent.id,
            ProfileEvent.profile_id,
            ProfileEvent.subprofile_id,
            ProfileEvent.kind,
            ProfileEvent.changes,
        )
        .where(
            ProfileEvent.id.between(run.first_event_id or 0, run.last_event_id or 0),
            ProfileEvent.account_id == account.id,
            ProfileEvent.database_id == run.database_id,
            ProfileEvent.source == run.source,
            ProfileEvent.reference == run.reference,
        )
        .order_by(ProfileEvent.id)
    )
    touched: dict[int, _Touched] = {}
    first_event = None
    for event_id, profile_id, subprofile_id, kind, changes in db.session.execute(query):
        first_event = first_event or event_id
        entry = touched.setdefault(profile_id, _Touched())
        entry.last_event = event_id
        if kind == "profile_created":
            entry.created = True
        if kind == "subprofile_created":
            entry.subprofiles.append(subprofile_id)
            continue
        if subprofile_id is not None:  # subprofile_updated (through a collection's key fields)
            sub_fields = entry.sub_fields.setdefault(subprofile_id, {})
            for key, (old, new) in (changes.get("fields") or {}).items():
                sub_fields.setdefault(key, [old, new])[1] = new
            continue
        for section, target in (("fields", entry.fields), ("interests", entry.interests)):
            for key, (old, new) in (changes.get(section) or {}).items():
                target.setdefault(key, [old, new])[1] = new
    return touched, first_event


def _changes_since(touched: dict[int, _Touched], first_event: int | None, run: JournalRange) -> dict[int, list]:
    """Per profile, the changes other writers made after the run's last event for it: (subprofile, kind, changes)."""
    later: dict[int, list] = {}
    for profile_id, subprofile_id, event_id, kind, changes in db.session.execute(
        select(
            ProfileEvent.profile_id,
            ProfileEvent.subprofile_id,
            ProfileEvent.id,
            ProfileEvent.kind,
            ProfileEvent.changes,
        ).where(
            ProfileEvent.profile_id.in_(list(touched)),
            ProfileEvent.id > first_event,
            ProfileEvent.reference != run.reference,
        )
    ):
        if event_id > touched[profile_id].last_event:
            later.setdefault(profile_id, []).append((subprofile_id, kind, changes))
    return later


def _current_subprofiles(touched: dict[int, _Touched]) -> dict[int, Any]:
    sub_ids = [sub_id for entry in touched.values() for sub_id in [*entry.subprofiles, *entry.sub_fields]]
    return {
        row.id: row
        for start in range(0, len(sub_ids), LOOKUP_CHUNK)
        for row in db.session.execute(
            select(Subprofile.id, Subprofile.collection_id, Subprofile.fields).where(
                Subprofile.id.in_(sub_ids[start : start + LOOKUP_CHUNK])
            )
        )
    }


class JournalUndo:
    """The rollback's writes, chunk by chunk, and the report of what was left alone; the journal rows are
    written at the end (``journal``)."""

    def __init__(self, account: Account, run: JournalRange):
        self.account, self.run = account, run
        self.names = {f.key: f.name for f in get_database(account, run.database_id).fields}
        self.origin = run.undo_origin
        self.now = utcnow()
        self.report = RollbackReport()
        self.event_rows: list[dict] = []
        self.removals: list[int] = []  # of the current chunk, like the two lists below
        self.updates: list[dict] = []
        self.removed_subs: list[int] = []
        self.sub_updates: list[dict] = []

    def chunk(self, touched: dict[int, _Touched], first_event: int | None) -> None:
        """Undo the run for these profiles."""
        later = _changes_since(touched, first_event, self.run)
        current = {
            row.id: row
            for row in db.session.execute(
                select(Profile.id, Profile.fields, Profile.interests).where(Profile.id.in_(list(touched)))
            )
        }
        current_subs = _current_subprofiles(touched)
        self.removals, self.updates, self.removed_subs, self.sub_updates = [], [], [], []
        for profile_id, entry in touched.items():
            since = later.get(profile_id, [])
            profile = current.get(profile_id)
            if profile is None:
                self.report.left.append(_("Profile %(id)s was removed since.", id=profile_id))
            elif entry.created:
                self._remove_created(profile, since)
            else:
                self._restore(profile, entry, since)
                self._remove_subprofiles(profile_id, entry, since, current_subs)
                self._restore_subprofiles(profile_id, entry, since, current_subs)
        self._write()

    def _remove_created(self, profile, since: list) -> None:
        if since:
            self.report.left.append(_("Profile %(id)s was changed since; it is kept.", id=profile.id))
            return
        self.removals.append(profile.id)
        changes = {"fields": diff(profile.fields, {}), "interests": interests_diff(profile.interests, [])}
        self._event(profile.id, "profile_removed", changes)

    def _restore(self, profile, entry: _Touched, since: list) -> None:
        """Put back the fields and interests the run changed, unless they were changed since."""
        profile_id = profile.id
        changed_fields = {k for sub, _kind, changes in since if sub is None for k in (changes.get("fields") or {})}
        changed_interests = {
            k for sub, _kind, changes in since if sub is None for k in (changes.get("interests") or {})
        }
        fields, interests = dict(profile.fields), set(profile.interests or [])
        for key, (old, new) in entry.fields.items():
            if key in changed_fields or fields.get(key) != new:
                self.report.left.append(
                    _(
                        "Profile %(id)s: %(field)s was changed since; it is kept.",
                        id=profile_id,
                        field=self.names.get(key, key),
                    )
                )
            elif old is None:
                fields.pop(key, None)
            else:
                fields[key] = old
        for key, (old, new) in entry.interests.items():
            if key in changed_interests or (int(key) in interests) != new:
                self.report.left.append(_("Profile %(id)s: an interest was changed since; it is kept.", id=profile_id))
            elif old:
                interests.add(int(key))
            else:
                interests.discard(int(key))
        new_interests = sorted(interests)
        if fields != profile.fields or new_interests != sorted(profile.interests or []):
            self.updates.append(
                {"id": profile_id, "fields": fields, "interests": new_interests, "updated_at": self.now}
            )
            changes = {
                "fields": diff(profile.fields, fields),
                "interests": interests_diff(profile.interests or [], new_interests),
            }
            self._event(profile_id, "profile_updated", changes)
            self.report.restored += 1

    def _remove_subprofiles(self, profile_id: int, entry: _Touched, since: list, current_subs: dict) -> None:
        """Remove the subprofiles the run created, unless they were changed since."""
        changed_subs = {sub for sub, _kind, _changes in since if sub is not None}
        for sub_id in entry.subprofiles:
            sub = current_subs.get(sub_id)
            if sub is None or sub_id in changed_subs:
                self.report.left.append(_("Subprofile %(id)s was changed since; it is kept.", id=sub_id))
                continue
            self.removed_subs.append(sub_id)
            self._event(profile_id, "subprofile_removed", {"fields": diff(sub.fields, {})}, sub.collection_id, sub_id)

    def _restore_subprofiles(self, profile_id: int, entry: _Touched, since: list, current_subs: dict) -> None:
        """Put back the values of the subprofiles the run updated (by a collection's key fields), unless they
        were changed since; a subprofile the run created is removed instead (``_remove_subprofiles``)."""
        changed_subs = {sub for sub, _kind, _changes in since if sub is not None}
        for sub_id, changes in entry.sub_fields.items():
            sub = current_subs.get(sub_id)
            if sub_id in entry.subprofiles:
                continue
            if sub is None or sub_id in changed_subs:
                self.report.left.append(_("Subprofile %(id)s was changed since; it is kept.", id=sub_id))
                continue
            fields = dict(sub.fields)
            for key, (old, new) in changes.items():
                if fields.get(key) != new:
                    self.report.left.append(_("Subprofile %(id)s was changed since; it is kept.", id=sub_id))
                    break
                if old is None:
                    fields.pop(key, None)
                else:
                    fields[key] = old
            else:
                self.sub_updates.append({"id": sub_id, "fields": fields, "updated_at": self.now})
                changes_made = {"fields": diff(sub.fields, fields)}
                self._event(profile_id, "subprofile_updated", changes_made, sub.collection_id, sub_id)

    def _write(self) -> None:
        if self.sub_updates:
            db.session.execute(update(Subprofile), self.sub_updates)
        if self.removed_subs:
            db.session.execute(delete(Subprofile).where(Subprofile.id.in_(self.removed_subs)))
        if self.updates:
            db.session.execute(update(Profile), self.updates)
        if self.removals:
            db.session.execute(delete(Subprofile).where(Subprofile.profile_id.in_(self.removals)))
            db.session.execute(delete(Profile).where(Profile.id.in_(self.removals)))
            self.report.removed += len(self.removals)

    def _event(self, profile_id, kind, changes, collection_id=None, subprofile_id=None) -> None:
        self.event_rows.append(
            _event(
                self.account, self.run, self.origin, self.now, profile_id, kind, changes, collection_id, subprofile_id
            )
        )

    def journal(self) -> None:
        """The rollback's events, in one statement, announced to the bulk subscribers."""
        if self.event_rows:
            event_ids = db.session.scalars(insert(ProfileEvent).returning(ProfileEvent.id), self.event_rows).all()
            events.note_bulk(list(event_ids))


def _event(account, run, origin, now, profile_id, kind, changes, collection_id=None, subprofile_id=None) -> dict:
    return {
        "account_id": account.id,
        "database_id": run.database_id,
        "profile_id": profile_id,
        "collection_id": collection_id,
        "subprofile_id": subprofile_id,
        "kind": kind,
        "source": origin.source,
        "actor": origin.actor,
        "reference": origin.reference,
        "changes": changes,
        "created_at": now,
    }


_Undo = JournalUndo  # its former name, which the crash tests patch
