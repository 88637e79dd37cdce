"""Factories for test data, built through the services (so tests exercise the same rules)."""

from webapp.models import Account, Database, User
from webapp.services import accounts, databases
from webapp.services.fields import FieldSpec, create_field

PASSWORD = "correct horse battery"


def make_account(name: str = "Acme") -> Account:
    return accounts.get_or_create_account(name)


def make_user(account: Account, role: str = "admin", email: str | None = None) -> User:
    email = email or f"{role}.{account.id}@example.com"
    return accounts.create_user(account, email=email, password=PASSWORD, role=role)


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
