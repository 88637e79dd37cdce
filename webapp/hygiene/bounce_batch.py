"""The bounce policy over a batch of events: the receiver's group commit, counted and suppressed set-based.

``policies.on_profile_event`` reads, per bounce, the database's policy, the address's suppression (three
times) and the profile's journal, and inserts a suppression in a savepoint: eight round trips per bounce.
For the bounces of one writing call (``events.note_written``: the receiver commits what arrived together)
this module does the same work in a fixed number of statements: the policies of the batch's databases, the
suppressions of its addresses (locked, as ``suppression.suppress`` locks them), the journals of its profiles,
one INSERT for the new suppressions. The rules are ``policies``' own (``in_a_row``, the thresholds, which
reason replaces which, the action applied once); the actions themselves go through ``policies.apply_action``.

Only bounces (one or more) of distinct profiles and distinct addresses take this path: otherwise one bounce
could change what the next one reads (a suppression put back in force resets the counting window), and the
events go to ``policies.on_profile_event`` one by one, in order, as any other event does. A single bounce
(``events.record``) takes it too: four statements instead of eight.
"""

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from webapp.email import suppression
from webapp.extensions import db
from webapp.hygiene import policies
from webapp.models import Database, HygienePolicy, Profile, ProfileEvent, SuppressedAddress, utcnow

BATCHED_FROM = 1  # events: a single bounce is counted the same way, in fewer statements


def init_app(app) -> None:
    """Subscribe to the event spine as a batch subscriber (after the per-event ones, see ``policies``)."""
    app.extensions["profile_events"].in_transaction_batch.append(on_profile_events)


def on_profile_events(written: list[ProfileEvent]) -> None:
    """The policies' reaction to the events of one writing call (inside the writing transaction)."""
    bounces = _batchable(written)
    if bounces is None:
        for event in written:
            policies.on_profile_event(event)
        return
    _react(bounces)


@dataclass(frozen=True)
class _Bounce:
    event: ProfileEvent
    profile: Profile
    address: str  # as ``suppression.normalised`` keeps it
    kind: str  # hard or soft


def _batchable(written: list[ProfileEvent]) -> list[_Bounce] | None:
    """The batch's bounces when every event is a bounce of its own profile and address, else None."""
    if len(written) < BATCHED_FROM:
        return None
    bounces = []
    for event in written:
        if event.kind != "bounced" or event.source != "bounce" or event.subprofile_id:
            return None
        profile = db.session.get(Profile, event.profile_id)
        if profile is None:
            return None
        address = suppression.normalised(policies.address_of(profile))
        kind = "hard" if (event.changes.get("bounce") or {}).get("type") == "hard" else "soft"
        bounces.append(_Bounce(event, profile, address, kind))
    addressed = [bounce for bounce in bounces if bounce.address]
    if len({bounce.profile.id for bounce in bounces}) < len(bounces):
        return None
    if len({(bounce.profile.account_id, bounce.address) for bounce in addressed}) < len(addressed):
        return None
    return addressed


def _react(bounces: list[_Bounce]) -> None:
    """Count each bounce, suppress the addresses at their threshold, then apply the actions (in event order)."""
    if not bounces:
        return
    rules = _policies({bounce.profile.database_id for bounce in bounces})
    rows = _suppressions(bounces)
    chains = _chains(bounces, rows)
    new: list[dict] = []
    acting: list[tuple[_Bounce, HygienePolicy]] = []
    for bounce in bounces:
        rule = rules[bounce.profile.database_id]
        threshold = rule.hard_threshold if bounce.kind == "hard" else rule.soft_threshold
        if policies.in_a_row(chains.get(bounce.profile.id, []), bounce.kind) < threshold:
            continue
        row = rows.get((bounce.profile.account_id, bounce.address))
        before = row.reason if row is not None and row.lifted_at is None else None
        reason = suppression.Reason.HARD_BOUNCE if bounce.kind == "hard" else suppression.Reason.SOFT_BOUNCE
        detail = _detail(bounce.event)
        if row is None:
            new.append(_new_row(bounce, reason, detail))
        else:
            suppression.suppress(
                bounce.profile.account_id, bounce.address, reason, database_id=bounce.profile.database_id, detail=detail
            )
        if before in (None, suppression.Reason.UNSUBSCRIBE):
            acting.append((bounce, rule))
    _insert(new)
    for bounce, rule in acting:
        action, values = (
            (rule.hard_action, rule.hard_values) if bounce.kind == "hard" else (rule.soft_action, rule.soft_values)
        )
        policies.apply_action(bounce.profile, action, values, bounce.event)


def _detail(event: ProfileEvent) -> str:
    bounce = event.changes.get("bounce") or {}
    return f"{bounce.get('status', '')} {bounce.get('reason', '')} {bounce.get('diagnostic', '')}".strip()


def _policies(database_ids: set[int]) -> dict[int, HygienePolicy]:
    """The rules of each database: its row, or the defaults (``policies.policy_of``), in one query."""
    stored = {
        row.database_id: row
        for row in db.session.scalars(select(HygienePolicy).where(HygienePolicy.database_id.in_(database_ids)))
    }
    return {
        database_id: stored.get(database_id) or policies.policy_of(db.session.get_one(Database, database_id))
        for database_id in database_ids
    }


def _suppressions(bounces: list[_Bounce]) -> dict[tuple[int, str], SuppressedAddress]:
    """The suppressions of the batch's addresses, locked for the rest of the transaction (one query)."""
    wanted = {(bounce.profile.account_id, bounce.address) for bounce in bounces}
    query = (
        select(SuppressedAddress)
        .where(
            SuppressedAddress.account_id.in_({account_id for account_id, _address in wanted}),
            SuppressedAddress.address.in_({address for _account_id, address in wanted}),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    rows = {(row.account_id, row.address): row for row in db.session.scalars(query)}
    return {key: row for key, row in rows.items() if key in wanted}


def _chains(bounces: list[_Bounce], rows: dict[tuple[int, str], SuppressedAddress]) -> dict[int, list[ProfileEvent]]:
    """Each profile's chain entries (``policies._chain_entries``: up to its bounce, after the last lifting of its
    address, newest first, at most ``CHAIN_LIMIT``), for all profiles in one query."""
    scopes = []
    for bounce in bounces:
        row = rows.get((bounce.profile.account_id, bounce.address))
        scope = [ProfileEvent.profile_id == bounce.profile.id, ProfileEvent.id <= bounce.event.id]
        if row is not None and row.lifted_at is not None:
            scope.append(ProfileEvent.created_at > row.lifted_at)
        scopes.append(and_(*scope))
    newest_first = func.row_number().over(partition_by=ProfileEvent.profile_id, order_by=ProfileEvent.id.desc())
    ranked = (
        select(ProfileEvent.id, newest_first.label("rank"))
        .where(or_(*scopes), ProfileEvent.subprofile_id.is_(None), ProfileEvent.kind.in_(policies.CHAIN_EVENTS))
        .subquery()
    )
    query = (
        select(ProfileEvent)
        .join(ranked, ranked.c.id == ProfileEvent.id)
        .where(ranked.c.rank <= policies.CHAIN_LIMIT)
        .order_by(ProfileEvent.profile_id, ProfileEvent.id.desc())
    )
    chains: dict[int, list[ProfileEvent]] = {}
    for entry in db.session.scalars(query):
        chains.setdefault(entry.profile_id, []).append(entry)
    return chains


def _new_row(bounce: _Bounce, reason: suppression.Reason, detail: str) -> dict:
    return {
        "account_id": bounce.profile.account_id,
        "address": bounce.address,
        "reason": reason.value,
        "detail": detail[:500],
        "database_id": bounce.profile.database_id,
        "suppressed_at": utcnow(),
        "lifted_at": None,
        "lifted_by": "",
    }


def _insert(rows: list[dict]) -> None:
    """The new suppressions in one INSERT; an address another transaction suppressed meanwhile (a conflict)
    goes through ``suppression.suppress``, which then finds and updates its row."""
    if not rows:
        return
    dialect_insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(SuppressedAddress).on_conflict_do_nothing()
    returning = statement.returning(SuppressedAddress.account_id, SuppressedAddress.address)
    inserted = {(account_id, address) for account_id, address in db.session.execute(returning, rows)}
    for row in rows:
        if (row["account_id"], row["address"]) not in inserted:
            suppression.suppress(
                row["account_id"],
                row["address"],
                suppression.Reason(row["reason"]),
                database_id=row["database_id"],
                detail=row["detail"],
            )
