"""Bulk cell validation (``import_values``) gives exactly what ``field_types.coerce`` gives, fast path or not."""

import random

import pytest

from webapp.imports.cells import CellCoercer
from webapp.models import Field
from webapp.profiles.field_types import FieldValueError, coerce

EMAILS = [
    "ann@example.com",
    "Ann.Smith@Example.COM",
    "a+tag@mail.example.org",
    "o'brien@example.nl",
    "x@example.museum",
    "user@localhost",
    "a@b",
    "a@example.test",
    "a@example.invalid",
    "a@[192.0.2.1]",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    '"quoted"@example.com',
    "a@example..com",
    "a@-example.com",
    "a@example-.com",
    "a@example.com.",
    "a@123.456",
    "a@example.c",
    "a@ex_ample.com",
    "jürgen@example.de",
    "ann@exämple.de",
    "ann@xn--exmple-cua.de",
    "a b@example.com",
    "a@b@example.com",
    "@example.com",
    "ann@",
    " ann@example.com ",
    "ANN@EXAMPLE.COM",
    "a" * 64 + "@example.com",
    "a" * 65 + "@example.com",
    "a@" + "b" * 63 + ".com",
    "a@" + "b" * 64 + ".com",
    "a" * 64 + "@" + ("b" * 60 + ".") * 3 + "com",
    "a@example.onion",
    "a@sub.example.arpa",
    "a@EXAMPLE.local",
    "{x}|~!#$%&*/=?^_`@example.com",
    "a@example.com\n",
    "a\u00a0b@example.com",
    "a@ex\u00adample.com",
    "test@xn--80ak6aa92e.com",
]
ALPHABET = "ab.Z9@-_+\"'() []\\,;:<>éü\u200b"


def random_strings(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    values = []
    for _ in range(count):
        local = "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 8)))
        domain = "".join(rng.choice("ab.-9é") for _ in range(rng.randrange(0, 8)))
        values.append(f"{local}@{domain}{rng.choice(['', '.com', '.nl', '.test'])}")
    return values


DATES = [
    "2024-12-31",
    "2024-02-29",
    "2023-02-29",
    "2024-13-01",
    "2024-00-10",
    "0000-01-01",
    "9999-12-31",
    " 2024-01-01",
    "2024-1-1",
    "20240101",
    "2024-01-01 10:00",
    "2024-01-01T10:00:00",
]
DATETIMES = [
    "2024-12-31 23:59:59",
    "2024-12-31 24:00:00",
    "2023-02-29 10:00:00",
    "2024-01-01 10:00",
    "2024-01-01T10:00:00",
    "2024-01-01 10:00:00.5",
    "2024-01-01",
    " 2024-01-01 10:00:00",
    "2024-01-01 10:60:00",
    "2024-01-01 10:00:00+02:00",
]
DECIMALS = [
    "0",
    "-0",
    "-0.0",
    "007",
    "1.5",
    "-12.25",
    "0.1",
    "1e3",
    "1,5",
    "1.000000000000001",
    "123456789012345",
    "1234567890123456",
    "9007199254740993",
    "12.",
    ".5",
    "nan",
    "inf",
    "",
    " 3 ",
    "1.2345678901234567",
    "99999999999999.99",
]


def outcome(function, value):
    try:
        return ("ok", function(value))
    except FieldValueError as error:
        return ("error", str(error))


@pytest.mark.parametrize(
    ("type_name", "values"),
    [
        ("email", EMAILS + random_strings(1, 3000)),
        ("date", DATES),
        ("datetime", DATETIMES),
        ("decimal", DECIMALS),
    ],
)
def test_bulk_validation_equals_coerce(ctx, type_name, values):
    field = Field(id=7, name="Value", type=type_name, options={})
    coercer = CellCoercer(field)
    for repeat in range(2):  # the second time from the cache
        for value in values:
            expected = outcome(lambda raw: coerce(type_name, raw, {}), value)
            if expected[0] == "error":
                expected = ("error", f"Value {expected[1]}")
            assert outcome(coercer, value) == expected, (repeat, value)


def test_the_email_fast_path_is_taken_for_common_addresses(ctx, monkeypatch):
    from webapp.imports import cells

    calls = []
    real = cells.validate_email
    monkeypatch.setattr(cells, "validate_email", lambda text, **kw: calls.append(text) or real(text, **kw))
    coercer = CellCoercer(Field(id=7, name="Email", type="email", options={}))
    assert [coercer(f"user{n}@Example.COM") for n in range(100)][-1] == "user99@example.com"
    assert calls == ["a@Example.COM"]  # one check of the domain, none per address
