"""The evaluator: does one profile (and, in a collection's context, one of its subprofiles) satisfy a tree?

Field, interest and subscription rules are checked in Python on the loaded values (follow-up triggers check
them on every event, so no query); rules about other rows (subprofiles, email results, suppression, other
selections, the journal) ask the database about this one profile with the compiler's SQL. Both mean what the
compiler means (``tests/services/test_rules.py`` checks them against each other).
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Database, Profile, Subprofile, utcnow
from webapp.profiles.field_types import is_empty
from webapp.rules.sql import Compiler
from webapp.rules.tree import DAY_OPERATORS


def matches(tree: dict[str, Any] | None, profile: Profile | None, subprofile: Subprofile | None = None) -> bool:
    """True when ``profile`` (and its ``subprofile``) satisfies ``tree``; a missing profile only matches an
    empty tree. Field rules look at the subprofile's values first (collection fields), then the profile's."""
    if not tree or not tree.get("rules"):
        return True
    if profile is None:
        return False
    values = {**(profile.fields or {}), **((subprofile.fields or {}) if subprofile is not None else {})}
    return _Evaluation(profile, subprofile, values).group(tree)


class _Evaluation:
    def __init__(self, profile: Profile, subprofile: Subprofile | None, values: dict[str, Any]):
        self.profile, self.subprofile, self.values = profile, subprofile, values

    def group(self, group: dict[str, Any]) -> bool:
        results = (self.rule(rule) for rule in group.get("rules") or [])
        return any(results) if group.get("match") == "any" else all(results)

    def rule(self, rule: dict[str, Any]) -> bool:
        result = self.group(rule) if "rules" in rule else self.plain(rule)
        return not result if rule.get("not") else result

    def plain(self, rule: dict[str, Any]) -> bool:
        if "subscribed" in rule:
            from webapp.profiles.unsubscribe import is_subscribed

            return is_subscribed(self.profile) == rule["subscribed"]
        if "interest_id" in rule:
            return (rule["interest_id"] in (self.profile.interests or [])) == rule["value"]
        if "field_id" in rule and rule["operator"] != "changed_in_last_days":
            wanted = rule.get("days") if rule["operator"] in DAY_OPERATORS else rule.get("value")
            return compare(self.values.get(str(rule["field_id"])), rule["operator"], wanted)
        return self.by_sql(rule)

    def by_sql(self, rule: dict[str, Any]) -> bool:
        """A rule about other rows, asked of the database for this profile only."""
        database = db.session.get_one(Database, self.profile.database_id)
        if self.subprofile is not None:
            compiler = Compiler(database, sub_table="subprofile", collection_id=self.subprofile.collection_id)
            query = (
                select(Subprofile.id)
                .join(Profile, Profile.id == Subprofile.profile_id)
                .where(Subprofile.id == self.subprofile.id)
            )
        else:
            compiler = Compiler(database)
            query = select(Profile.id).where(Profile.id == self.profile.id)
        plain = {key: value for key, value in rule.items() if key != "not"}
        return db.session.scalar(query.where(compiler.where({"rules": [plain]}))) is not None


def compare(stored: Any, operator: str, wanted: Any) -> bool:
    """One comparison of a stored value with a (coerced) rule value; text compares case-insensitively."""
    if operator == "empty":
        return is_empty(stored)
    if operator == "not_empty":
        return not is_empty(stored)
    if operator in ("contains", "starts_with"):
        needle = str(wanted).lower()
        if isinstance(stored, list):
            if operator == "contains":
                return any(needle == str(item).lower() for item in stored)
            return any(str(item).lower().startswith(needle) for item in stored)
        text = str("" if stored is None else stored).lower()
        return needle in text if operator == "contains" else text.startswith(needle)
    if operator == "in":
        return any(_equal(stored, value) for value in wanted)
    if operator == "not_in":
        return not any(_equal(stored, value) for value in wanted)
    if operator == "=":
        return _equal(stored, wanted)
    if operator == "!=":
        return not _equal(stored, wanted)
    if operator in ("birthday_today", "in_last_days", "in_next_days"):
        return _date(stored, operator, int(wanted or 0) if operator != "birthday_today" else 0)
    if is_empty(stored) or wanted is None or isinstance(wanted, list):
        return False
    left, right = _pair(stored, wanted)
    if type(left) is not type(right):
        return False
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[operator]


def _date(stored: Any, operator: str, days: int) -> bool:
    if is_empty(stored) or not isinstance(stored, str):
        return False
    today = utcnow().date()
    day = stored[:10]
    if operator == "birthday_today":
        return stored[5:10] == today.strftime("%m-%d")
    if operator == "in_last_days":
        return (today - timedelta(days=days)).isoformat() <= day <= today.isoformat()
    return today.isoformat() <= day <= (today + timedelta(days=days)).isoformat()


def _equal(stored: Any, wanted: Any) -> bool:
    if is_empty(stored) or wanted is None:
        return is_empty(stored) and (wanted is None or is_empty(wanted))
    if isinstance(stored, list) or isinstance(wanted, list):
        as_set = {str(item).lower() for item in (stored if isinstance(stored, list) else [stored])}
        wanted_set = {str(item).lower() for item in (wanted if isinstance(wanted, list) else [wanted])}
        return as_set == wanted_set
    left, right = _pair(stored, wanted)
    return left == right


def _pair(stored: Any, wanted: Any) -> tuple[Any, Any]:
    """Both values in comparable form; a number meets a numeric text as a number."""
    left, right = _comparable(stored), _comparable(wanted)
    if isinstance(left, Decimal) is not isinstance(right, Decimal):
        try:
            return (left if isinstance(left, Decimal) else Decimal(left)), (
                right if isinstance(right, Decimal) else Decimal(right)
            )
        except ArithmeticError:
            return left, right
    return left, right


def _comparable(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    return str(value).lower()
