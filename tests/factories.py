"""Factories for test data, built through the services (so tests exercise the same rules)."""

from webapp.accounts import accounts, users
from webapp.models import Account, Database, User
from webapp.profiles import databases
from webapp.profiles.fields import FieldSpec, create_field

PASSWORD = "correct horse battery"


def make_account(name: str = "Acme") -> Account:
    return accounts.get_or_create_account(name)


def make_user(account: Account, role: str = "admin", email: str | None = None) -> User:
    email = email or f"{role}.{account.id}@example.com"
    return users.create_user(account, email=email, password=PASSWORD, role=role)


def make_database(account: Account, name: str = "Customers", *, fields=None) -> Database:
    """A database with fields given as ``{name: type}`` or ``{name: FieldSpec kwargs}``."""
    database = databases.create_database(account, name)
    default_fields = {
        "Email": {"type": "email", "indexed": True},
        "FirstName": {"type": "text", "indexed": True},
        "LastName": "text",
    }
    for field_name, spec in (fields if fields is not None else default_fields).items():
        kwargs = {"type": spec} if isinstance(spec, str) else dict(spec)
        create_field(account, FieldSpec(name=field_name, **kwargs), database_id=database.id)
    return database


def make_followup(
    account: Account,
    database: Database,
    *,
    trigger: dict,
    actions: list,
    name: str = "Welcome",
    activation_condition=None,
    execution_condition=None,
    delay=None,
    collection_id=None,
    status: str = "active",
):
    """A follow-up validated by the engine's own validator (``definitions.check_definition``)."""
    from webapp.extensions import db
    from webapp.followups import definitions
    from webapp.models import FollowUp

    cleaned = definitions.check_definition(
        account,
        database.id,
        trigger=trigger,
        activation_condition=activation_condition or {},
        execution_condition=execution_condition or {},
        delay=delay or {"kind": "none"},
        actions=actions,
        collection_id=collection_id,
    )
    followup = FollowUp(
        account_id=account.id, database_id=database.id, collection_id=collection_id, name=name, status=status, **cleaned
    )
    db.session.add(followup)
    db.session.commit()
    return followup


def make_followup_run(followup, profile_id: int | None, *, due_at=None, status: str = "pending"):
    from webapp.extensions import db
    from webapp.models import FollowUpRun, utcnow

    run = FollowUpRun(
        account_id=followup.account_id,
        followup_id=followup.id,
        profile_id=profile_id,
        due_at=due_at or utcnow(),
        status=status,
    )
    db.session.add(run)
    db.session.commit()
    return run


FORM_COLUMNS = ("name", "behaviour", "on_no_match", "key_field_ids", "allowed_origins", "collection_id")


def make_form(account: Account, database: Database, items=None, **settings):
    """A web form; ``items`` may name fields (``{"type": "field", "field": "Email"}``) or interests
    (``{"type": "interest", "interest": "News"}``) instead of giving ids, and get an ``id`` when they lack one.
    Without items: one field item per database field. Keywords that are ``Form`` columns (``behaviour``,
    ``key_field_ids`` also as names, ``allowed_origins`` …) set those; the rest go into ``Form.settings``."""
    import secrets

    from webapp.extensions import db
    from webapp.models import Form

    fields = {field.name: field for field in database.fields}
    interests = {interest.name: interest for interest in database.interests}
    if items is None:
        items = [{"type": "field", "field": name} for name in fields]
    built = []
    for item in items:
        item = {"id": secrets.token_hex(4), **item}
        if "field" in item:
            item["field_id"] = fields[item.pop("field")].id
        if "interest" in item:
            item["interest_id"] = interests[item.pop("interest")].id
        built.append(item)
    columns = {name: settings.pop(name) for name in FORM_COLUMNS if name in settings}
    columns["key_field_ids"] = [
        fields[key].id if isinstance(key, str) else key for key in columns.get("key_field_ids", [])
    ]
    columns.setdefault("name", "Sign up")
    form = Form(account_id=account.id, database_id=database.id, items=built, settings=settings, **columns)
    db.session.add(form)
    db.session.commit()
    return form


def make_form_submission(
    form,
    *,
    status: str = "accepted",
    reason: str = "",
    data=None,
    consents=None,
    origin: str = "",
    profile=None,
    created_at=None,
):
    """A submission row as the public API stores it (for the admin's results, spam and export views)."""
    from webapp.extensions import db
    from webapp.models import FormSubmission, utcnow

    submission = FormSubmission(
        account_id=form.account_id,
        form_id=form.id,
        profile_id=profile.id if profile else None,
        status=status,
        reason=reason,
        data=data or {},
        consents=consents or {},
        origin=origin,
        created_at=created_at or utcnow(),
    )
    db.session.add(submission)
    db.session.commit()
    return submission


def make_form_day(form, day, *, views: int = 0):
    """One day of a form's view count."""
    from webapp.extensions import db
    from webapp.models import FormDayStat

    stat = FormDayStat(form_id=form.id, day=day, views=views)
    db.session.add(stat)
    db.session.commit()
    return stat


def make_form_file(submission, profile, *, filename: str = "cv.pdf", data: bytes = b"%PDF-1.4"):
    """A file uploaded with ``submission``, stored against ``profile``."""
    from webapp.extensions import db
    from webapp.models import FormFile

    upload = FormFile(
        account_id=submission.account_id,
        form_id=submission.form_id,
        profile_id=profile.id,
        submission_id=submission.id,
        filename=filename,
        content_type="application/pdf",
        size=len(data),
        data=data,
    )
    db.session.add(upload)
    db.session.commit()
    return upload


def tampered(token: str, position: int = -3) -> str:
    """``token`` with the character at ``position`` replaced by a different one. Not the last character: in
    unpadded base64 it may carry only unused bits, so changing it can leave the signature valid."""
    index = position % len(token)
    replacement = "B" if token[index] == "A" else "A"
    return token[:index] + replacement + token[index + 1 :]
