"""The compiler: a validated rule tree to a SQLAlchemy WHERE clause, on PostgreSQL and SQLite alike.

Field values live in the JSON column ``fields``; comparisons use the expressions of ``profiles.field_expressions``
(text lower-cased, numbers as numbers, dates as ISO text), the ones an indexed field's index is built from, so
a rule on an indexed field can walk its index. Every rule means what ``evaluate`` means for one profile; where
SQL would give NULL (no value) a rule is false, and ``not`` negates that two-valued answer.

The profile table is always ``profile`` (unaliased); a collection selection's rows are ``subprofile``, and a
subprofile rule looks at an alias of its own, so rules nest freely.
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import count
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from webapp.extensions import db
from webapp.models import (
    Database,
    EmailResult,
    Field,
    Form,
    Profile,
    ProfileEvent,
    Selection,
    Subprofile,
    SuppressedAddress,
    utcnow,
)
from webapp.platform.errors import ValidationError
from webapp.profiles import field_conditions
from webapp.profiles.field_expressions import dialect_name, has_interest, raw_value
from webapp.rules.tree import DAY_OPERATORS, options_of

EMAIL_TIME = {
    "received": "sent_at",
    "opened": "opened_at",
    "clicked": "clicked_at",
    "not_opened": "sent_at",
    "bounced": "bounced_at",
    "complained": "complained_at",
    "unsubscribed": "unsubscribed_at",
}


@dataclass
class Compiler:
    """Compiles trees over one database: ``sub_table`` names the subprofile rows of a collection selection."""

    database: Database
    dialect: str = field(default_factory=dialect_name)
    sub_table: str | None = None
    collection_id: int | None = None  # the collection of ``sub_table``'s rows
    _fields: dict[int, Field] = field(default_factory=dict)
    _aliases: Any = field(default_factory=lambda: count(1))
    _stack: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self._fields:
            rows = db.session.scalars(select(Field).where(Field.database_id == self.database.id))
            self._fields = {row.id: row for row in rows}
        self.today = utcnow().date()
        self.now = utcnow()

    def where(self, tree: dict[str, Any] | None, *, sub_table: str | None = None) -> ColumnElement[bool]:
        """The WHERE clause of ``tree`` (no rules: true); ``sub_table`` overrides the subprofile table."""
        saved = self.sub_table
        if sub_table is not None:
            self.sub_table = sub_table
        try:
            return self._group(tree or {})
        finally:
            self.sub_table = saved

    # --- groups and rules ---------------------------------------------------------------------------------

    def _group(self, group: dict[str, Any]) -> ColumnElement[bool]:
        parts = [self._rule(rule) for rule in group.get("rules") or []]
        if not parts:
            return true()
        if len(parts) == 1:
            return parts[0]
        return or_(*parts) if group.get("match") == "any" else and_(*parts)

    def _rule(self, rule: dict[str, Any]) -> ColumnElement[bool]:
        compiled = self._group(rule) if "rules" in rule else self._plain(rule)
        if rule.get("not"):
            return not_(func.coalesce(compiled, false()))
        return compiled

    def _plain(self, rule: dict[str, Any]) -> ColumnElement[bool]:
        if "subscribed" in rule:
            subscribed = self._subscribed()
            return subscribed if rule["subscribed"] else not_(func.coalesce(subscribed, false()))
        if "suppressed" in rule:
            suppressed = self._suppressed()
            return suppressed if rule["suppressed"] else not_(suppressed)
        if "unconfirmed" in rule:
            unconfirmed = self._unconfirmed()
            return unconfirmed if rule["unconfirmed"] else not_(unconfirmed)
        if "interest_id" in rule:
            held = has_interest(rule["interest_id"], self.dialect)
            return held if rule["value"] else not_(func.coalesce(held, false()))
        if "collection_id" in rule:
            return self._subprofiles(rule)
        if "email" in rule:
            return self._email(rule)
        if "selection_id" in rule:
            return self._selection(rule)
        return self._field_rule(rule)

    # --- fields ----------------------------------------------------------------------------------------------

    def _table_of(self, field_row: Field) -> str:
        if field_row.collection_id is None:
            return "profile"
        if self.sub_table is None:
            raise ValidationError(_("Field %(name)s belongs to a collection.", name=field_row.name))
        return self.sub_table

    def _field_rule(self, rule: dict[str, Any]) -> ColumnElement[bool]:
        field_row = self._fields.get(int(rule["field_id"]))
        if field_row is None:
            return false()  # the field was removed since the rule was saved: nobody matches it
        if rule["operator"] == "changed_in_last_days":
            return self._changed(field_row, rule["days"])
        operator = rule["operator"]
        value = rule.get("days", 0) if operator in DAY_OPERATORS else rule.get("value")
        return field_conditions.condition(
            field_row,
            operator,
            value,
            table=self._table_of(field_row),
            dialect=self.dialect,
            today=self.today,
            options=options_of(rule),
        )

    def _changed(self, field_row: Field, days: int) -> ColumnElement[bool]:
        key = str(int(field_row.id))
        if self.dialect == "postgresql":
            changed: ColumnElement = literal_column(f"((profile_event.changes::jsonb -> 'fields') ? '{key}')")
        else:
            changed = func.json_extract(ProfileEvent.changes, f'$.fields."{key}"').is_not(None)
        conditions = [ProfileEvent.profile_id == Profile.id, ProfileEvent.created_at >= self.now - timedelta(days=days)]
        if field_row.collection_id is not None and self.sub_table is not None:
            conditions.append(ProfileEvent.subprofile_id == literal_column(f"{self.sub_table}.id"))
        return exists(select(literal(1)).select_from(ProfileEvent).where(*conditions, changed))

    # --- profile state ----------------------------------------------------------------------------------

    def _subscribed(self) -> ColumnElement[bool]:
        values = self.database.unsubscribe_values or {}
        if self.database.unsubscribe_behaviour != "update" or not (values.get("fields") or values.get("interests")):
            return true()
        parts: list[ColumnElement[bool]] = []
        for key, wanted in (values.get("fields") or {}).items():
            if self.dialect == "postgresql":
                element: ColumnElement = literal_column(f"(profile.fields -> '{int(key)}')")
                parts.append(
                    element.is_(None) if wanted is None else element == cast(literal(json.dumps(wanted)), _jsonb())
                )
            else:
                stored = func.json_extract(Profile.fields, f'$."{int(key)}"')
                if wanted is None:
                    parts.append(stored.is_(None))
                elif isinstance(wanted, list | dict):
                    parts.append(func.json(stored) == func.json(literal(json.dumps(wanted))))
                else:
                    parts.append(stored == literal(wanted))
        for interest_id, on in (values.get("interests") or {}).items():
            held = has_interest(int(interest_id), self.dialect)
            parts.append(held if on else not_(held))
        return not_(func.coalesce(and_(*parts), false()))

    def _suppressed(self) -> ColumnElement[bool]:
        emails = [row for row in self._fields.values() if row.type == "email" and row.collection_id is None]
        if not emails:
            return false()
        addresses = [func.lower(raw_value(row, self.dialect, "profile")) for row in emails]
        return exists(
            select(literal(1))
            .select_from(SuppressedAddress)
            .where(
                SuppressedAddress.account_id == Profile.account_id,
                SuppressedAddress.lifted_at.is_(None),
                or_(*[SuppressedAddress.address == address for address in addresses]),
            )
        )

    def _unconfirmed(self) -> ColumnElement[bool]:
        """Signed up through a form with double opt-in (the journal's ``profile_created`` from that form) and no
        ``confirmed`` event since (hygiene's sign-up policy uses the same definition)."""
        forms = db.session.scalars(select(Form).where(Form.database_id == self.database.id))
        opt_in = [str(form.id) for form in forms if ((form.settings or {}).get("double_opt_in") or {}).get("enabled")]
        if not opt_in:
            return false()

        def journal(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
            event = select(literal(1)).select_from(ProfileEvent)
            return exists(event.where(ProfileEvent.profile_id == Profile.id, *conditions))

        return and_(
            journal(
                ProfileEvent.kind == "profile_created",
                ProfileEvent.source == "form",
                ProfileEvent.reference.in_(opt_in),
            ),
            not_(journal(ProfileEvent.kind == "confirmed")),
        )

    # --- subprofiles, email results, other selections ------------------------------------------------------

    def _subprofiles(self, rule: dict[str, Any]) -> ColumnElement[bool]:
        name = f"sp{next(self._aliases)}"
        alias = aliased(Subprofile, name=name)
        condition = and_(
            alias.profile_id == Profile.id,
            alias.collection_id == rule["collection_id"],
            self.where(rule.get("where"), sub_table=name),
        )
        operator, number = rule.get("count") or [">=", 1]
        if (operator, number) in ((">=", 1), (">", 0)):
            return exists(select(literal(1)).select_from(alias).where(condition))
        if (operator, number) in (("=", 0), ("<", 1), ("<=", 0)):
            return not_(exists(select(literal(1)).select_from(alias).where(condition)))
        counted = select(func.count()).select_from(alias).where(condition).scalar_subquery()
        return {
            "=": counted == number,
            "!=": counted != number,
            "<": counted < number,
            ">": counted > number,
            "<=": counted <= number,
            ">=": counted >= number,
        }[operator]

    def _email(self, rule: dict[str, Any]) -> ColumnElement[bool]:
        kind = rule["email"]
        conditions: list[ColumnElement[bool]] = [EmailResult.profile_id == Profile.id]
        if rule.get("mailing_id"):
            conditions.append(EmailResult.mailing_id == rule["mailing_id"])
        if rule.get("template_id"):
            conditions.append(EmailResult.template_id == rule["template_id"])
        moment = getattr(EmailResult, EMAIL_TIME[kind])
        if kind in ("opened", "clicked", "complained", "unsubscribed"):
            conditions.append(moment.is_not(None))
        elif kind == "not_opened":
            conditions.append(EmailResult.opened_at.is_(None))
        elif kind == "bounced":
            bounce = rule.get("bounce", "any")
            conditions.append(EmailResult.bounce != "" if bounce == "any" else EmailResult.bounce == bounce)
        if rule.get("days") is not None:
            conditions.append(moment >= self.now - timedelta(days=rule["days"]))
        return exists(select(literal(1)).select_from(EmailResult).where(*conditions))

    def _selection(self, rule: dict[str, Any]) -> ColumnElement[bool]:
        other = db.session.get(Selection, rule["selection_id"])
        if other is None or other.database_id != self.database.id:
            member: ColumnElement[bool] = false()  # removed since: nobody is in it
        elif other.id in self._stack:
            raise ValidationError(_("A selection cannot contain itself: %(path)s.", path=other.name))
        else:
            self._stack = (*self._stack, other.id)
            try:
                member = self._selection_members(other)
            finally:
                self._stack = self._stack[:-1]
        return member if rule.get("in", True) else not_(func.coalesce(member, false()))

    def _selection_members(self, other: Selection) -> ColumnElement[bool]:
        if other.collection_id is None:
            return self.where(other.rules)
        if self.sub_table == "subprofile" and self.collection_id == other.collection_id:
            return self.where(other.rules)
        name = f"sp{next(self._aliases)}"
        alias = aliased(Subprofile, name=name)
        return exists(
            select(literal(1))
            .select_from(alias)
            .where(
                alias.profile_id == Profile.id,
                alias.collection_id == other.collection_id,
                self.where(other.rules, sub_table=name),
            )
        )


def _jsonb():
    from sqlalchemy.dialects.postgresql import JSONB

    return JSONB()
