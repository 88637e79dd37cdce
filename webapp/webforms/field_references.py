"""What removing a profile field does to web forms' settings.

A form's settings name fields by id: its key fields, its language field and the values double opt-in sets
(``unconfirmed_values``, ``confirmed_values``). Removing a field (``profiles.fields.drop_field``, through any
door, or an import's rollback) takes it out of every form's settings in the same transaction, and raises those
forms' revision: a form keeps working without it, and its settings stay valid to save. What that leaves for the
marketer to choose again (a key field of a form that finds profiles, the values a confirmation sets) is what the
builder asks for on the next save. The field removal's confirmation names the forms (``forms_naming``).

Items bound to the field stay in the items list and drop out of the form as shown (``widgets.definition.
live_items``).
"""

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Account, Field, Form
from webapp.profiles import fields as profile_fields
from webapp.webforms.builder import mark_changed, without_fields


def init_app(app) -> None:
    with app.app_context():
        profile_fields.on_removal(forget_field)


def names_field(form: Form, field_id: int) -> bool:
    """Whether the form's settings name the field (as a key field, the language field or an opt-in value)."""
    return field_id in (form.key_field_ids or []) or _without(form, field_id) != (form.settings or {})


def forms_naming(account: Account, field: Field) -> list[Form]:
    """The forms of the field's database whose settings name it, by name."""
    if field.collection_id is not None:
        return []  # settings name fields of the database's profiles only
    query = select(Form).where(Form.account_id == account.id, Form.database_id == field.database_id)
    return [form for form in db.session.scalars(query.order_by(Form.name, Form.id)) if names_field(form, field.id)]


def forget_field(field: Field) -> None:
    """Take ``field`` out of the settings of every form of its database, in the caller's transaction (the forms
    locked: a settings save at the same time cannot put it back)."""
    if field.collection_id is not None:
        return  # settings name fields of the database's profiles only
    query = (
        select(Form)
        .where(Form.account_id == field.account_id, Form.database_id == field.database_id)
        .order_by(Form.id)
        .with_for_update(of=Form)
        .execution_options(populate_existing=True)
    )
    for form in db.session.scalars(query):
        if not names_field(form, field.id):
            continue
        form.key_field_ids = [key for key in form.key_field_ids or [] if key != field.id]
        form.settings = _without(form, field.id)
        mark_changed(form)


def _without(form: Form, field_id: int) -> dict:
    return without_fields(form.settings or {}, lambda other: other == field_id)
