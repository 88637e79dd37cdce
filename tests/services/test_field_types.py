"""Every field type's validation and coercion, good and bad values."""

from datetime import date, datetime

import pytest

from webapp.profiles.field_types import FIELD_TYPES, FieldValueError, coerce

CHOICES = {"choices": ["yes", "no", "maybe"]}
MULTI = {"choices": ["red", "green", "blue"], "multiple": True}

GOOD = [
    ("text", "  Jan  ", {}, "Jan"),
    ("text", 12, {}, "12"),
    ("text", "x" * 255, {}, "x" * 255),
    ("large_text", "line one\r\nline two", {}, "line one\nline two"),
    ("email", "Jan.Jansen@Example.COM", {}, "Jan.Jansen@example.com"),
    ("email", "info@xn--bcher-kva.example", {}, "info@bücher.example"),
    ("phone", "+31 20 123 4567", {}, "+31201234567"),
    ("phone", "020-1234567", {"region": "NL"}, "+31201234567"),
    ("phone", "0031 20 123 4567", {"region": "NL"}, "+31201234567"),
    ("number", "42", {}, 42),
    ("number", " -7 ", {}, -7),
    ("number", 3.0, {}, 3),
    ("decimal", "12.50", {}, 12.5),
    ("decimal", "12,5", {}, 12.5),
    ("decimal", 3, {}, 3),
    ("decimal", "-0.001", {}, -0.001),
    ("date", "2024-02-29", {}, "2024-02-29"),
    ("date", date(2024, 1, 2), {}, "2024-01-02"),
    ("datetime", "2024-02-29 13:45", {}, "2024-02-29 13:45:00"),
    ("datetime", "2024-02-29T13:45:30", {}, "2024-02-29 13:45:30"),
    ("datetime", datetime(2024, 1, 2, 3, 4, 5, 678), {}, "2024-01-02 03:04:05"),
    ("country", "nl", {}, "NL"),
    ("country", "NLD", {}, "NL"),
    ("country", "Netherlands", {}, "NL"),
    ("choice", "yes", CHOICES, "yes"),
    ("choice", "MAYBE", CHOICES, "maybe"),
    ("choice", ["blue", "red"], MULTI, ["red", "blue"]),
    ("choice", "green, red", MULTI, ["red", "green"]),
    ("reference", "17", {"database_id": 1}, 17),
]

BAD = [
    ("text", "x" * 256, {}, "longer than 255"),
    ("text", "two\nlines", {}, "single line"),
    ("text", ["a"], {}, "must be text"),
    ("text", True, {}, "must be text"),
    ("text", "An\x00n", {}, "zero byte"),  # PostgreSQL cannot store it
    ("large_text", "line\n\x00", {}, "zero byte"),
    ("choice", "yes\x00", CHOICES, "zero byte"),
    ("email", "jan.example.com", {}, "not a valid email"),
    ("email", "jan@", {}, "not a valid email"),
    ("phone", "020 123 4567", {}, "international"),
    ("phone", "+31 12", {}, "not a possible phone number"),
    ("phone", "call me", {"region": "NL"}, "not a phone number"),
    ("number", "abc", {}, "whole number"),
    ("number", "1.5", {}, "whole number"),
    ("number", True, {}, "whole number"),
    ("decimal", "abc", {}, "must be a number"),
    ("decimal", "NaN", {}, "must be a number"),
    ("decimal", "1e999", {}, "too large"),
    ("number", "9" * 5000, {}, "at most 30 digits"),  # over Python's int digit limit: a field error, not a crash
    ("number", "-" + "1" * 31, {}, "at most 30 digits"),
    ("number", 10**40, {}, "at most 30 digits"),
    ("decimal", "1" * 5000, {}, "at most 100 characters"),
    ("decimal", "0." + "1" * 200, {}, "at most 100 characters"),
    ("decimal", 10**101, {}, "at most 100 characters"),
    ("date", "2023-02-29", {}, "date like"),
    ("date", "31-12-2024", {}, "date like"),
    ("date", "20241231", {}, "date like"),
    ("datetime", "2024-02-29 25:00", {}, "date and time"),
    ("datetime", "yesterday", {}, "date and time"),
    ("country", "XX", {}, "ISO 3166"),
    ("country", "Atlantis", {}, "ISO 3166"),
    ("choice", "perhaps", CHOICES, "must be one of: yes, no, maybe"),
    ("choice", ["yes", "no"], CHOICES, "takes one choice"),
    ("choice", ["red", "pink"], MULTI, "must be one of"),
    ("reference", "abc", {"database_id": 1}, "id of a profile"),
    ("reference", 0, {"database_id": 1}, "id of a profile"),
]


@pytest.mark.parametrize(("type_name", "value", "options", "expected"), GOOD)
def test_good_values_are_coerced(ctx, type_name, value, options, expected):
    assert coerce(type_name, value, options) == expected


@pytest.mark.parametrize(("type_name", "value", "options", "message"), BAD)
def test_bad_values_are_refused_with_a_clear_message(ctx, type_name, value, options, message):
    with pytest.raises(FieldValueError) as error:
        coerce(type_name, value, options)
    assert message in str(error.value)


@pytest.mark.parametrize("type_name", sorted(FIELD_TYPES))
@pytest.mark.parametrize("empty", [None, "", "   ", []])
def test_empty_input_clears_the_value(ctx, type_name, empty):
    options = MULTI if type_name == "choice" else {}
    assert coerce(type_name, empty, options) is None


def test_every_type_is_covered_by_good_and_bad_cases():
    assert {case[0] for case in GOOD} == set(FIELD_TYPES)
    assert {case[0] for case in BAD} == set(FIELD_TYPES)


def _generated_address(rng) -> str:
    """Addresses near the edges of the common shape (``field_types._plain_email``) and beyond it."""
    pieces = ["a", "Z", "0", "_", "+", "=", "-", "--", ".", "..", "é", " ", "!", '"', "xn--", "b" * 62, "c" * 64]
    tops = ["com", "NL", "org", "Info", "localhost", "local", "test", "arpa", "invalid", "onion", "1", "t", "x" * 64]

    def run(choices, most):
        return "".join(rng.choice(choices) for _ in range(rng.randint(1, most)))

    dotted = ".".join(run(pieces[:6], 3) for _ in range(rng.randint(1, 3)))
    local = dotted if rng.random() < 0.8 else run(pieces, 6)
    label_pieces = ["a", "Z", "0", "a-b", "b" * 62, "a", "Z", "0", "a-b", "b" * 62, "-", "xn--", "é", "_"]
    labels = [run(label_pieces, 3) for _ in range(rng.randint(0, 3))]
    return f"{local}@{'.'.join([*labels, rng.choice(tops)])}" if rng.random() < 0.95 else local + run(pieces, 4)


def test_the_fast_path_for_common_addresses_agrees_with_the_email_validator():
    """``coerce_email`` skips ``validate_email`` for addresses of the common shape: for each generated address
    the fast path takes, the validator must accept it and normalise it the same way."""
    import random

    from email_validator import EmailNotValidError, validate_email

    from webapp.profiles.field_types import _plain_email

    rng, taken = random.Random(18), 0
    for _ in range(20000):
        address = _generated_address(rng)
        fast = _plain_email(address)
        if fast is None:
            continue
        taken += 1
        try:
            assert validate_email(address, check_deliverability=False).normalized == fast, address
        except EmailNotValidError as error:
            raise AssertionError(f"{address!r}: the fast path took an address the validator refuses: {error}") from None
    assert taken > 500  # the generator reaches the fast path often enough to mean something
