"""Callback definitions: create, change, pause and delete a database's (or collection's) callbacks.

Every definition is validated here, whatever door it comes through: the URL passes the outbound URL guard, the
condition parses (``conditions``), actions and sources are known. Sending is ``deliveries``' work.
"""

import base64
import secrets
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete as sql_delete
from sqlalchemy import select

from webapp.callbacks import conditions, copernica
from webapp.extensions import db
from webapp.models import (
    CALLBACK_ACTIONS,
    CALLBACK_METHODS,
    Account,
    Callback,
    CallbackDelivery,
    CallbackStyle,
    Collection,
    Database,
    Selection,
)
from webapp.platform.errors import ValidationError
from webapp.platform.outbound_urls import check_outbound_url
from webapp.platform.tenancy import owned
from webapp.profiles import events
from webapp.profiles.databases import collection_of, get_database


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def list_callbacks(account: Account, database_id: int) -> list[Callback]:
    database = get_database(account, database_id)
    return list(
        db.session.scalars(
            select(Callback)
            .where(Callback.account_id == account.id, Callback.database_id == database.id)
            .order_by(Callback.id)
        )
    )


def get_callback(account: Account, callback_id: int) -> Callback:
    return owned(Callback, account, callback_id, _("Callback not found."))


def create_callback(
    account: Account,
    database_id: int,
    *,
    url: str,
    method: str = "json",
    style: str = CallbackStyle.STANDARD,
    actions: list[str] | None = None,
    sources: list[str] | None = None,
    expression: str = "",
    collection_id: int | None = None,
    selection_id: int | None = None,
) -> Callback:
    """A new, active callback with a fresh secret. Empty ``actions``/``sources`` mean all of them."""
    database = get_database(account, database_id)
    values = _validated(
        account,
        database,
        url=url,
        method=method,
        style=style,
        actions=actions,
        sources=sources,
        expression=expression,
        collection_id=collection_id,
        selection_id=selection_id,
    )
    callback = Callback(
        account_id=account.id, database_id=database.id, secret=new_secret(), active=True, paused_reason="", **values
    )
    db.session.add(callback)
    db.session.commit()
    return callback


def update_callback(
    account: Account,
    callback_id: int,
    *,
    url: str,
    method: str = "json",
    style: str = CallbackStyle.STANDARD,
    actions: list[str] | None = None,
    sources: list[str] | None = None,
    expression: str = "",
    collection_id: int | None = None,
    selection_id: int | None = None,
) -> Callback:
    callback = get_callback(account, callback_id)
    database = get_database(account, callback.database_id)
    values = _validated(
        account,
        database,
        url=url,
        method=method,
        style=style,
        actions=actions,
        sources=sources,
        expression=expression,
        collection_id=collection_id,
        selection_id=selection_id,
    )
    for name, value in values.items():
        setattr(callback, name, value)
    db.session.commit()
    return callback


def delete_callback(account: Account, callback_id: int) -> None:
    """Remove a callback with its delivery log (pending deliveries are dropped)."""
    callback = get_callback(account, callback_id)
    db.session.execute(sql_delete(CallbackDelivery).where(CallbackDelivery.callback_id == callback.id))
    db.session.delete(callback)
    db.session.commit()


def new_callback_secret(account: Account, callback_id: int) -> Callback:
    """Replace the signing secret (receivers must be given the new one)."""
    callback = get_callback(account, callback_id)
    callback.secret = new_secret()
    db.session.commit()
    return callback


def pause_callback(account: Account, callback_id: int, reason: str = "") -> Callback:
    callback = get_callback(account, callback_id)
    callback.active = False
    callback.paused_reason = reason or _("Paused by a user.")
    db.session.commit()
    return callback


def _validated(
    account: Account,
    database: Database,
    *,
    url,
    method,
    style,
    actions,
    sources,
    expression,
    collection_id,
    selection_id=None,
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    try:
        url = check_outbound_url(url)
    except ValidationError as error:
        errors.update(error.errors)
    method = (method or "json").strip().lower()
    if method not in CALLBACK_METHODS:
        errors["method"] = _("Choose json or post.")
    style = (style or CallbackStyle.STANDARD).strip().lower()
    if style not in tuple(CallbackStyle):
        errors["style"] = _("Choose the standard or the Copernica style.")
    elif style == CallbackStyle.COPERNICA:
        try:
            copernica.signing_key(account.id)
        except ValidationError as error:
            errors.update(error.errors)
    actions = _unique(actions)
    if set(actions) >= set(CALLBACK_ACTIONS):
        actions = []
    if any(action not in CALLBACK_ACTIONS for action in actions):
        errors["actions"] = _("Choose among create, update and delete.")
    sources = _unique(sources)
    if set(sources) >= set(events.SOURCES):
        sources = []
    unknown = [source for source in sources if source not in events.SOURCES]
    if unknown:
        errors["sources"] = _("Unknown source: %(names)s.", names=", ".join(unknown))
    collection = collection_of(account, database, collection_id) if collection_id else None
    if collection_id and collection is None:
        errors["collection_id"] = _("Choose a collection of this database.")
    try:
        expression = conditions.validate(expression, set(condition_names(database, collection)))
    except ValidationError as error:
        errors.update(error.errors)
    selection = db.session.get(Selection, int(selection_id)) if selection_id and 0 < int(selection_id) < 2**31 else None
    if selection is not None and (selection.account_id != account.id or selection.database_id != database.id):
        selection = None
    if selection_id and selection is None:
        errors["selection_id"] = _("Choose a selection of this database.")
    elif selection is not None and selection.collection_id != (collection.id if collection else None):
        # a selection of what the callback calls about, so that removing a collection removes both together
        errors["selection_id"] = _(
            "Choose a selection of the same profiles or subprofiles as the callback (a collection's callback: a "
            "selection of that collection)."
        )
    if errors:
        raise ValidationError(errors)
    return {
        "selection_id": selection.id if selection else None,
        "url": url,
        "method": method,
        "style": style,
        "actions": actions,
        "sources": sources,
        "expression": expression,
        "collection_id": collection.id if collection else None,
    }


def _unique(values) -> list[str]:
    if isinstance(values, str):
        values = [part for part in values.replace(",", " ").split()]
    result: list[str] = []
    for value in values or []:
        value = str(value).strip().lower()
        if value and value not in result:
            result.append(value)
    return result


def condition_names(database: Database, collection: Collection | None) -> list[str]:
    """The names a condition may use: the collection's fields first, then the database's fields and interests."""
    names = [field.name for field in collection.fields] if collection else []
    names += [field.name for field in database.fields] + [interest.name for interest in database.interests]
    return names
