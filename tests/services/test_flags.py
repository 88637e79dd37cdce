"""The one reading of a yes/no value (``webapp.profiles.flags``), shared by imports, SOAP and web forms."""

import pytest

from webapp.profiles.flags import parse_flag

# Every word imports or the SOAP API accepted before they shared the parser.
ON = ["1", "yes", "y", "true", "on", "x", "ja", "j", "waar", "YES", " True ", "On", True, 1]
OFF = ["", "  ", "0", "no", "n", "false", "off", "nee", "onwaar", "NO", " False", "Off", None, False, 0]
NEITHER = ["maybe", "2", "yess", "-1", "1.0", 2, 0.5, [], {}]


@pytest.mark.parametrize("value", ON)
def test_yes_words_are_true(value):
    assert parse_flag(value) is True


@pytest.mark.parametrize("value", OFF)
def test_no_words_and_empty_are_false(value):
    assert parse_flag(value) is False


@pytest.mark.parametrize("value", NEITHER)
def test_anything_else_is_not_a_flag(value):
    assert parse_flag(value) is None
