"""Scrubbing a person's values out of stored JSON and text: every string that contains one of them
(case-insensitively) becomes empty, dictionary keys and everything else stay. Used where a row is kept for
statistics (a submission, a survey response, the journal of an anonymised profile) but must no longer say who."""

from typing import Any


def contains_any(text: str, needles: set[str]) -> bool:
    lowered = text.lower()
    return any(needle in lowered for needle in needles)


def scrubbed(value: Any, needles: set[str]) -> Any:
    """``value`` with every string holding one of ``needles`` (lowercase) emptied."""
    if isinstance(value, str):
        return "" if contains_any(value, needles) else value
    if isinstance(value, list):
        return [scrubbed(part, needles) for part in value]
    if isinstance(value, dict):
        return {key: scrubbed(part, needles) for key, part in value.items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if contains_any(str(value), needles) else value
    return value


def bytes_contain(data: bytes, needles: set[str]) -> bool:
    """Whether raw bytes (a mail, a file) hold one of ``needles``."""
    lowered = data.lower()
    return any(needle.encode() in lowered for needle in needles)
