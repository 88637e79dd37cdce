"""The one reading of a yes/no value (an interest, a tick, a boolean-ish setting) that arrives as text.

Every door that takes such a value as text reads it here: imports (interest columns), the SOAP API
(interests and unsubscribe values), web form ticks and the form builder's on/off properties. The word lists
are the union of what those doors accepted before they shared this rule, so nothing accepted then is refused
now. Words are compared stripped and case-insensitively; an empty value is "no".
"""

from typing import Any

TRUE_WORDS = frozenset({"1", "yes", "y", "true", "on", "x", "ja", "j", "waar"})
FALSE_WORDS = frozenset({"", "0", "no", "n", "false", "off", "nee", "onwaar"})


def parse_flag(value: Any) -> bool | None:
    """``True`` or ``False`` for a yes/no value, ``None`` when it is not one (the caller decides what that means).

    ``None`` and empty text are ``False``; booleans are themselves; the numbers 1 and 0 are ``True`` and ``False``.
    """
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return True if value == 1 else False if value == 0 else None
    if not isinstance(value, str):
        return None
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None
