"""The evaluator: does one profile (and, in a collection's context, one of its subprofiles) satisfy a tree?

Field, interest and subscription rules are checked in Python on the loaded values (follow-up triggers check
them on every event, so no query); rules about other rows (subprofiles, email results, suppression, other
selections, the journal) ask the database about this one profile with the compiler's SQL. Both mean what the
compiler means (``tests/services/test_rules.py`` checks them against each other): a field rule is the comparison
``profiles.field_conditions.holds`` makes, the one whose SQL the compiler writes. ``matches_values`` checks a tree
of field and interest rules over plain values, with no profile (callbacks' conditions over a change).
"""

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Database, Profile, Subprofile, utcnow
from webapp.profiles.field_conditions import holds
from webapp.rules.sql import Compiler
from webapp.rules.tree import DAY_OPERATORS, options_of


def matches(tree: dict[str, Any] | None, profile: Profile | None, subprofile: Subprofile | None = None) -> bool:
    """True when ``profile`` (and its ``subprofile``) satisfies ``tree``; a missing profile only matches an
    empty tree. Field rules look at the subprofile's values first (collection fields), then the profile's."""
    if not tree or not tree.get("rules"):
        return True
    if profile is None:
        return False
    values = {**(profile.fields or {}), **((subprofile.fields or {}) if subprofile is not None else {})}
    return _Evaluation(values, profile.interests or [], profile, subprofile).group(tree)


def matches_values(tree: dict[str, Any] | None, values: Mapping[str, Any], interests: Collection[int] = ()) -> bool:
    """True when plain ``values`` (keyed by ``str(field_id)``) and held ``interests`` satisfy ``tree``, a tree of
    field, interest and group rules only (no profile, no query: callbacks' conditions over a change)."""
    if not tree or not tree.get("rules"):
        return True
    return _Evaluation(values, interests).group(tree)


class _Evaluation:
    def __init__(
        self,
        values: Mapping[str, Any],
        interests: Collection[int],
        profile: Profile | None = None,
        subprofile: Subprofile | None = None,
    ):
        self.values, self.interests = values, interests
        self.profile, self.subprofile = profile, subprofile
        self.today = utcnow().date()

    def group(self, group: dict[str, Any]) -> bool:
        results = (self.rule(rule) for rule in group.get("rules") or [])
        return any(results) if group.get("match") == "any" else all(results)

    def rule(self, rule: dict[str, Any]) -> bool:
        result = self.group(rule) if "rules" in rule else self.plain(rule)
        return not result if rule.get("not") else result

    def plain(self, rule: dict[str, Any]) -> bool:
        if "interest_id" in rule:
            return (rule["interest_id"] in self.interests) == rule["value"]
        if "field_id" in rule and rule["operator"] != "changed_in_last_days":
            wanted = rule.get("days") if rule["operator"] in DAY_OPERATORS else rule.get("value")
            stored = self.values.get(str(rule["field_id"]))
            return holds(stored, rule["operator"], wanted, today=self.today, options=options_of(rule))
        if self.profile is None:
            raise ValueError(f"A rule about a profile's other rows needs the profile: {rule}")
        if "subscribed" in rule:
            from webapp.profiles.unsubscribe import is_subscribed

            return is_subscribed(self.profile) == rule["subscribed"]
        return self.by_sql(self.profile, rule)

    def by_sql(self, profile: Profile, rule: dict[str, Any]) -> bool:
        """A rule about other rows, asked of the database for this profile only."""
        database = db.session.get_one(Database, profile.database_id)
        if self.subprofile is not None:
            compiler = Compiler(database, sub_table="subprofile", collection_id=self.subprofile.collection_id)
            query = (
                select(Subprofile.id)
                .join(Profile, Profile.id == Subprofile.profile_id)
                .where(Subprofile.id == self.subprofile.id)
            )
        else:
            compiler = Compiler(database)
            query = select(Profile.id).where(Profile.id == profile.id)
        plain = {key: value for key, value in rule.items() if key != "not"}
        return db.session.scalar(query.where(compiler.where({"rules": [plain]}))) is not None
