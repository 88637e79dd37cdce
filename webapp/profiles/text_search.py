"""Substring search of a database's profiles across their text fields: ``example.nl`` finds the addresses at that
domain, ``haag`` finds Den Haag.

What is matched: a profile id typed as a number, and what was typed anywhere in any text-like field (text,
email, phone, choice, …; not hidden fields), ignoring case; ``%`` and ``_`` are plain characters. It is an SQL
condition, so a list, a count and a bulk action over "every match" ask the database, never Python, which
profiles match (the list's conditions are the rule language's: ``rules.list_filter``). ``interest_condition``
serves the unsubscribe behaviour and ``lists.Filter``.

On PostgreSQL, when the ``pg_trgm`` extension is there (the migration creates it where it can), one trigram GIN
index covers the text of all of a profile's values: ``ix_profile_text_trgm`` on ``lower(fields::text)``. The
search adds ``lower(fields::text) LIKE '%…%'`` as a pre-filter that index answers, and then checks the text
fields one by one (so a match in a number field, or in a field's key, is not a match). The pre-filter is left
out for what the JSON text would spell differently (quotes, backslashes, control characters) and for fewer than
three characters (trigrams need three); for a whole address it looks for the part before the ``@`` only.
Without the extension, and on SQLite, the same query runs as a scan (``LIKE``): right, only slower.
"""

from flask_babel import gettext as _
from sqlalchemy import Text, cast, false, func, literal_column, or_, select, text, true
from sqlalchemy.sql.elements import ColumnElement

from webapp.extensions import db
from webapp.models import Database, Field, Profile
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import MAX_ID
from webapp.profiles.field_expressions import dialect_name, raw_value
from webapp.profiles.field_types import get_field_type

MAX_QUERY = 200
TRIGRAM_INDEX = "ix_profile_text_trgm"


def text_fields(database: Database) -> list[Field]:
    """The fields a search looks in: every text-like field of the database, shown in the list or not, except hidden
    ones (the admin never shows their values, so a search must not reveal them either)."""
    return [f for f in database.fields if get_field_type(f.type).sort_as == "text" and not f.hidden]


def text_condition(database: Database, query: str, *, prefilter: bool = True) -> ColumnElement:
    """Profiles of ``database`` matching ``query`` (see the module docstring); the caller scopes to the account.
    ``prefilter=False`` leaves out the trigram pre-filter (``bench/dashboard.py`` times the scan it saves)."""
    query = query.strip()
    if len(query) > MAX_QUERY:
        raise ValidationError({"q": _("Search for at most %(count)s characters.", count=MAX_QUERY)})
    if not query:
        return true()
    dialect = dialect_name()
    needle = query.lower()
    pattern = "%" + escape_like(needle) + "%"
    in_fields = [func.lower(raw_value(field, dialect)).like(pattern, escape="\\") for field in text_fields(database)]
    matched = or_(*in_fields) if in_fields else false()
    narrowing = _narrowing_part(needle)
    if prefilter and in_fields and dialect == "postgresql" and _prefilter_fits(narrowing):
        whole = func.lower(cast(literal_column("profile.fields"), Text))
        matched = whole.like("%" + escape_like(narrowing) + "%", escape="\\") & matched
    if query.isascii() and query.isdigit() and int(query) <= MAX_ID:
        return or_(Profile.id == int(query), matched)
    return matched


def interest_condition(interest_id: int, held: bool = True) -> ColumnElement:
    """Profiles that hold (or, ``held=False``, lack) an interest."""
    holds: ColumnElement
    if dialect_name() == "postgresql":
        holds = literal_column("profile.interests").op("@>")(func.jsonb_build_array(int(interest_id)))
    else:
        each = func.json_each(literal_column("profile.interests")).table_valued("value")
        holds = select(1).select_from(each).where(each.c.value == int(interest_id)).exists()
    return holds if held else ~holds


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def trigram_index_exists() -> bool:
    """Whether this database has the trigram index (PostgreSQL with ``pg_trgm``)."""
    if dialect_name() != "postgresql":
        return False
    return bool(db.session.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": TRIGRAM_INDEX}))


def _narrowing_part(needle: str) -> str:
    """What the pre-filter looks for: the whole text, except for a whole address, where the part before the ``@``
    does (the domain's trigrams are in nearly every profile, and reading their long lists is what costs)."""
    local, at, _domain = needle.partition("@")
    return local if at and len(local) >= 3 else needle


def _prefilter_fits(needle: str) -> bool:
    return len(needle) >= 3 and not any(ch in needle for ch in '"\\') and all(ch >= " " for ch in needle)
