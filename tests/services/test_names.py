"""Names: databases and collections may hold spaces (as Copernica's do); fields and interests stay identifiers."""

import pytest

from webapp.platform.errors import ValidationError
from webapp.profiles import databases
from webapp.profiles.fields import FieldSpec, create_field


def test_database_and_collection_names_may_hold_spaces(account):
    database = databases.create_database(account, "  Fictional   Persons 3 ")
    assert database.name == "Fictional Persons 3"
    collection = databases.create_collection(account, database.id, "Order lines - 2024")
    assert collection.name == "Order lines - 2024"
    assert databases.find_database(account, "fictional persons 3").id == database.id


def test_names_with_spaces_are_unique_whatever_the_case_and_spacing(account):
    database = databases.create_database(account, "Fictional Persons")
    with pytest.raises(ValidationError) as raised:
        databases.create_database(account, "fictional  persons")
    assert "already exists" in raised.value.errors["name"]
    databases.create_collection(account, database.id, "My Children")
    with pytest.raises(ValidationError):
        databases.create_collection(account, database.id, "my children")


@pytest.mark.parametrize("name", ["2024 leads", " ", "-dash", "semi;colon", "=cmd", "x" * 65])
def test_other_database_names_are_refused(account, name):
    with pytest.raises(ValidationError) as raised:
        databases.create_database(account, name)
    assert "name" in raised.value.errors
    assert databases.list_databases(account) == []


def test_field_and_interest_names_stay_identifiers(account):
    database = databases.create_database(account, "Fictional Persons")
    with pytest.raises(ValidationError):
        create_field(account, FieldSpec(name="First name"), database_id=database.id)
    with pytest.raises(ValidationError):
        databases.create_interest(account, database.id, "News letter")
