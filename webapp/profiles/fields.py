"""Field definitions of databases and collections, and what changing them does to stored values.

A change that stored data cannot survive (a type no value converts to, ``unique`` over duplicates,
``required`` over empty values without a default) is refused with a message naming examples; a change
it can survive rewrites the values in the same transaction. Nothing is silently dropped or corrupted.

Removing a field removes its values, and the packages above take out their own references to it in the same
transaction through ``on_removal`` (web forms: their key fields, language field and double opt-in values).
"""

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import pycountry
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select, text

from webapp.extensions import db
from webapp.models import Account, Collection, Database, Field, Profile, Subprofile
from webapp.platform.errors import Conflict, NotFound, ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles.databases import check_name, get_collection, get_database
from webapp.profiles.field_expressions import dialect_name, field_indexes, index_names, match_value, raw_value
from webapp.profiles.field_types import FIELD_TYPES, MAX_DECIMALS, FieldValueError, coerce

MAX_TEXT_LENGTH = 1000
EXAMPLES_SHOWN = 3


@dataclass
class FieldSpec:
    """What an admin (or the SOAP API) says about a field."""

    name: str
    type: str = "text"
    options: dict[str, Any] = dataclass_field(default_factory=dict)
    default: Any = None
    required: bool = False
    shown: bool = True
    hidden: bool = False
    indexed: bool = False
    unique: bool = False
    # ``{language: label}``; None keeps the labels the field has (doors that do not speak of labels, like SOAP).
    labels: dict[str, str] | None = None
    # Personal data (``privacy``: an anonymisation removes it); None keeps what the field has (SOAP, REST).
    personal: bool | None = None


def get_field(account: Account, field_id: int) -> Field:
    return owned(Field, account, field_id, _("Field not found."))


def create_field(
    account: Account, spec: FieldSpec, *, database_id: int | None = None, collection_id: int | None = None
) -> Field:
    """Add a field to a database, or to a collection when ``collection_id`` is given."""
    owner: Database | Collection
    if collection_id:
        owner = get_collection(account, collection_id)
    elif database_id is not None:
        owner = get_database(account, database_id)
    else:
        raise NotFound(_("Database not found."))
    field = Field(
        account_id=account.id,
        database_id=owner.database_id if isinstance(owner, Collection) else owner.id,
        collection_id=owner.id if isinstance(owner, Collection) else None,
        position=len(owner.fields),
    )
    _apply_spec(account, owner, field, spec)
    db.session.add(field)
    try:
        db.session.flush()
        _migrate_values(field, old=None)
        _sync_indexes(field)
    except Exception:
        # A refused field (e.g. required over existing profiles without a default) must not linger,
        # flushed, in the session where the next commit of the same request would store it.
        db.session.rollback()
        raise
    db.session.commit()
    return field


def update_field(account: Account, field_id: int, spec: FieldSpec) -> Field:
    """Change a field; stored values are converted to a new type or options, or the change is refused."""
    field = get_field(account, field_id)
    old = FieldSpec(
        name=field.name,
        type=field.type,
        options=dict(field.options or {}),
        default=field.default,
        required=field.required,
        indexed=field.indexed,
        unique=field.unique,
    )
    _apply_spec(account, _owner(field), field, spec)
    try:
        _migrate_values(field, old=old)
        _sync_indexes(field)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return field


def delete_field(account: Account, field_id: int) -> int:
    """Remove a field and its values; returns how many profiles (or subprofiles) lost a value."""
    removed = drop_field(get_field(account, field_id))
    db.session.commit()
    return removed


def on_removal(handler: Callable[[Field], None]) -> None:
    """Call ``handler(field)`` in the transaction that removes ``field`` (``drop_field``), before its row goes:
    a package above this one registers it in its ``init_app`` to take out its own references to the field."""
    handlers: list[Callable[[Field], None]] = current_app.extensions.setdefault("field_removal", [])
    if handler not in handlers:
        handlers.append(handler)


def drop_field(field: Field) -> int:
    """Remove a field and its values in the caller's transaction (``delete_field`` commits it); returns how many
    profiles (or subprofiles) lost a value. Raises ``Conflict`` when the unsubscribe behaviour uses the field.
    The ``on_removal`` handlers take out the references to it (a form's key fields, …) in the same transaction."""
    owner = _owner(field)
    if field.key in (owner.unsubscribe_values or {}).get("fields", {}):
        raise Conflict(_("The unsubscribe behaviour uses field %(name)s; change it first.", name=field.name))
    for handler in current_app.extensions.get("field_removal", ()):
        handler(field)
    holders = list(db.session.scalars(_holders(field)))
    for holder in holders:
        values = dict(holder.fields)
        values.pop(field.key, None)
        holder.fields = values
    for name in index_names(field):
        db.session.execute(text(f"DROP INDEX IF EXISTS {name}"))
    db.session.delete(field)
    return len(holders)


def holder_count(field: Field) -> int:
    """How many profiles (or subprofiles, for a collection field) hold a value for ``field``."""
    return db.session.scalar(select(func.count()).select_from(_holders(field).order_by(None).subquery())) or 0


def move_field(account: Account, field_id: int, offset: int) -> None:
    """Move a field up (``-1``) or down (``+1``) in its owner's order."""
    field = get_field(account, field_id)
    siblings = list(_owner(field).fields)
    index = siblings.index(field)
    target = max(0, min(len(siblings) - 1, index + offset))
    siblings.insert(target, siblings.pop(index))
    for position, sibling in enumerate(siblings):
        sibling.position = position
    db.session.commit()


# --- validation of a spec -------------------------------------------------------------------------


def _apply_spec(account: Account, owner: Database | Collection, field: Field, spec: FieldSpec) -> None:
    errors: dict[str, str] = {}
    try:
        name = check_name(spec.name)
        for sibling in owner.fields:
            if sibling.name.lower() == name.lower() and sibling.id != field.id:
                errors["name"] = _("A field named %(name)s already exists.", name=name)
    except ValidationError as error:
        errors.update(error.errors)
        name = spec.name
    if spec.type not in FIELD_TYPES:
        raise ValidationError({"type": _("Unknown field type %(type)s.", type=spec.type)})
    try:
        options = _clean_options(account, spec.type, spec.options or {})
    except ValidationError as error:
        errors.update(error.errors)
        options = {}
    default = None
    if not errors:
        try:
            default = coerce(spec.type, spec.default, options)
        except FieldValueError as error:
            errors["default"] = _("The default %(reason)s.", reason=str(error))
    if isinstance(owner, Collection) and (spec.indexed or spec.unique):
        errors["indexed"] = _("Only database fields can be indexed or unique.")
    if spec.unique and (spec.type == "large_text" or (spec.type == "choice" and spec.options.get("multiple"))):
        errors["unique"] = _("This type of field cannot be unique.")
    labels = _checked_labels(spec.labels, errors) if spec.labels is not None else field.labels
    if errors:
        raise ValidationError(errors)
    field.name, field.type, field.options, field.default = name, spec.type, options, default
    field.required, field.shown, field.hidden = spec.required, spec.shown, spec.hidden
    field.indexed, field.unique = spec.indexed or spec.unique, spec.unique
    if spec.personal is not None:
        field.personal = spec.personal
    field.labels = labels or None


LABEL_LANGUAGES = ("en", "nl")
MAX_LABEL_LENGTH = 100


def _checked_labels(labels: dict[str, str], errors: dict[str, str]) -> dict[str, str]:
    """The non-empty labels of the admin's languages, trimmed and at most 100 characters."""
    cleaned = {}
    for language in LABEL_LANGUAGES:
        label = " ".join(str(labels.get(language) or "").split())
        if len(label) > MAX_LABEL_LENGTH:
            errors[f"label_{language}"] = _("A label has at most %(count)s characters.", count=MAX_LABEL_LENGTH)
        elif label:
            cleaned[language] = label
    return cleaned


def field_label(field: Field, language: str) -> str:
    """What people read for the field in ``language``: its label there, else in another language, else its
    name."""
    labels = field.labels or {}
    return labels.get(language) or next(iter(labels.values()), "") or field.name


def _clean_options(account: Account, type_name: str, options: dict[str, Any]) -> dict[str, Any]:
    if type_name == "text":
        try:
            length = int(options.get("length") or 255)
        except (TypeError, ValueError):
            length = 0
        if not 1 <= length <= MAX_TEXT_LENGTH:
            raise ValidationError({"length": _("Length must be between 1 and %(max)s.", max=MAX_TEXT_LENGTH)})
        return {"length": length}
    if type_name == "choice":
        raw = options.get("choices") or []
        if isinstance(raw, str):
            raw = raw.splitlines()
        choices = list(dict.fromkeys(str(choice).strip() for choice in raw if str(choice).strip()))
        if not choices:
            raise ValidationError({"choices": _("Give at least one choice, one per line.")})
        if any(len(choice) > 100 for choice in choices):
            raise ValidationError({"choices": _("A choice can be at most 100 characters.")})
        return {"choices": choices, "multiple": bool(options.get("multiple"))}
    if type_name == "phone":
        region = str(options.get("region") or "").strip().upper()
        if region and pycountry.countries.get(alpha_2=region) is None:
            raise ValidationError({"region": _("Use an ISO 3166 country code, like NL.")})
        return {"region": region} if region else {}
    if type_name == "decimal":
        raw_decimals = options.get("decimals")
        if raw_decimals is None or str(raw_decimals).strip() == "":
            return {}  # numbers are kept as they were given
        try:
            decimals = int(str(raw_decimals).strip())
        except ValueError:
            decimals = -1
        if isinstance(raw_decimals, bool) or not 0 <= decimals <= MAX_DECIMALS:
            raise ValidationError(
                {"decimals": _("Decimals must be a whole number from 0 to %(max)s.", max=MAX_DECIMALS)}
            )
        return {"decimals": decimals}
    if type_name == "reference":
        try:
            target = get_database(account, int(options.get("database_id") or 0))
        except (NotFound, TypeError, ValueError):
            raise ValidationError(
                {"database_id": _("Choose the database whose profiles this field refers to.")}
            ) from None
        return {"database_id": target.id}
    return {}


# --- what a change does to stored values ----------------------------------------------------------


def _owner(field: Field) -> Database | Collection:
    if field.collection_id:
        return db.session.get_one(Collection, field.collection_id)  # the foreign key keeps the owner there
    return db.session.get_one(Database, field.database_id)


def _model(field: Field):
    return Subprofile if field.collection_id else Profile


def _owner_filter(field: Field):
    model = _model(field)
    if field.collection_id:
        return model.collection_id == field.collection_id
    return model.database_id == field.database_id


def _holders(field: Field):
    """Profiles or subprofiles that hold a value for ``field``."""
    model = _model(field)
    raw = raw_value(field, dialect_name(), model.__tablename__)
    return select(model).where(_owner_filter(field), raw.is_not(None)).order_by(model.id)


def _migrate_values(field: Field, old: FieldSpec | None) -> None:
    if old is not None and (field.type, field.options) != (old.type, old.options):
        _convert_values(field, old.type)
    if field.unique and (old is None or not old.unique):
        _refuse_duplicates(field)
    if field.required and (old is None or not old.required):
        _fill_required(field)


def _convert_values(field: Field, old_type: str) -> None:
    failures: list[str] = []
    count = 0
    for holder in db.session.scalars(_holders(field)):
        value = holder.fields.get(field.key)
        try:
            converted = coerce(field.type, value, field.options)
        except FieldValueError as error:
            count += 1
            if len(failures) < EXAMPLES_SHOWN:
                failures.append(f"#{holder.id} {value!r} ({error})")
            continue
        if converted != value:
            holder.fields = {**holder.fields, field.key: converted}
    if count:
        raise Conflict(
            _(
                "%(count)s stored values of %(name)s cannot become %(type)s, e.g. %(examples)s. "
                "Correct or clear them first; nothing was changed.",
                count=count,
                name=field.name,
                type=FIELD_TYPES[field.type].label,
                examples="; ".join(failures),
            )
        )


def _refuse_duplicates(field: Field) -> None:
    model = _model(field)
    value = match_value(field, dialect_name(), model.__tablename__)
    duplicate = db.session.execute(
        select(value, func.count())
        .where(_owner_filter(field), value.is_not(None))
        .group_by(value)
        .having(func.count() > 1)
        .limit(1)
    ).first()
    if duplicate is not None:
        raise Conflict(
            _(
                "%(name)s cannot be unique: %(count)s profiles share the value %(value)s.",
                name=field.name,
                count=duplicate[1],
                value=duplicate[0],
            )
        )


def _fill_required(field: Field) -> None:
    model = _model(field)
    raw = raw_value(field, dialect_name(), model.__tablename__)
    empty = list(db.session.scalars(select(model).where(_owner_filter(field), raw.is_(None))))
    if empty and field.default is None:
        raise Conflict(
            ngettext(
                "%(num)d profile has no value for %(name)s: give a default to fill it with.",
                "%(num)d profiles have no value for %(name)s: give a default to fill them with.",
                len(empty),
                name=field.name,
            )
        )
    for holder in empty:
        holder.fields = {**holder.fields, field.key: field.default}


def _sync_indexes(field: Field) -> None:
    """(Re)create the expression indexes of an indexed or unique database field, in this transaction."""
    if field.collection_id:
        return
    connection = db.session.connection()
    for name in index_names(field):
        connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
    if field.indexed or field.unique:
        for index in field_indexes(field, connection.dialect.name):
            index.create(connection)
