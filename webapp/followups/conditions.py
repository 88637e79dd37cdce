"""Follow-up conditions are trees of the one rule language (``webapp/rules``, docs/selections.md): validated once
when a follow-up is saved against what the follow-up may name, and checked for the triggering profile (and
subprofile) by the rule evaluator. Stored conditions of before the rule language have the same shape
(``{"match", "rules"}`` with field, interest, "subscribed" and nested rules), so they read as they are."""

from typing import Any

from webapp.models import Field
from webapp.profiles.field_conditions import holds as compare
from webapp.rules import tree
from webapp.rules.evaluate import matches

__all__ = ["compare", "matches", "validate"]


def validate(
    condition: Any,
    fields: dict[int, Field],
    interest_ids: set[int],
    *,
    collections: dict[int, dict[int, Field]] | None = None,
    account_id: int | None = None,
    database_id: int | None = None,
) -> dict[str, Any]:
    """The condition in its stored form, or ``ValueError`` with a message naming the bad rule.

    ``fields`` are the fields a rule may name (the database's and, for a collection follow-up, the
    collection's), by id; rule values are coerced to their field's type so comparisons are like for like.
    With the account and database, rules may also name the database's collections and selections."""
    scope = tree.Scope(
        fields=fields,
        interest_ids=interest_ids,
        collections=collections or {},
        account_id=account_id,
        database_id=database_id,
    )
    return tree.validate(condition, scope)
