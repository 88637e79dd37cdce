"""The condition language of callbacks: a small expression on a profile's fields, parsed by hand (never eval)
into a tree of the one rule language (``webapp/rules``, docs/selections.md) and checked by its evaluator.

Syntax (keywords are case-insensitive)::

    City == "Amsterdam" and Age >= 18
    Country in ["NL", "BE"] or not empty(Email)
    Email contains "@example.com" and (Plan != "free" or Newsletter)

- A *name* is a field of the database (for a collection's callback, a field of the collection first, then of
  the database) or an interest (true when the profile has it). Unknown names are refused when the callback is
  saved.
- Literals: strings in double or single quotes (``\\"`` escapes a quote), numbers (``12``, ``-3.5``), ``true``,
  ``false``.
- Comparisons: ``==`` (or ``=``), ``!=``, ``<``, ``>``, ``<=``, ``>=``; ``Name in [..]``, ``Name not in [..]``;
  ``Name contains "text"`` (a substring of text, an element of a multiple choice). Text compares
  case-insensitively; a number (a literal or a stored one) meets a number, or a text holding one, numerically;
  dates compare as ``YYYY-MM-DD`` text. A multiple choice compares choice by choice (the rule option ``each``):
  ``==`` and ``in`` hold such a choice, ``!=`` and ``not in`` hold none, ``<`` holds one that sorts before.
- ``empty(Name)`` is true when the field has no value; ``and``, ``or``, ``not`` and parentheses combine.
- A comparison with an empty value is false (except ``!=``, which is true); a bare name is true when its value
  is not empty (interests: when set; ``== true`` and ``== false`` ask whether it is set).

``parse`` gives the tree with names (``{"name": "City", "operator": "=", "value": "Amsterdam"}``); ``bind`` puts
keys in their place, and ``matches`` evaluates it over a change's values by name (``deliveries.condition_values``).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from webapp.platform.errors import ValidationError
from webapp.rules import evaluate

MAX_LENGTH = 2000
MAX_DEPTH = 30
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d+)?)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>==|!=|<=|>=|=|<|>)
      | (?P<punct>[()\[\],])
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
KEYWORDS = {"and", "or", "not", "in", "contains", "empty", "true", "false"}


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, op, punct, name, keyword, end
    value: Any
    position: int


def tokenize(text: str) -> list[Token]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise _error(
                _(
                    "Unexpected character %(char)s at position %(position)s.",
                    char=repr(text[position:].lstrip()[:1]),
                    position=position + 1,
                )
            )
        kind = match.lastgroup
        assert kind is not None, "every alternative of _TOKEN is a named group"
        raw = match.group(kind)
        start = match.start(kind)
        if kind == "number":
            value: Any = float(raw) if "." in raw else int(raw)
        elif kind == "string":
            value = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elif kind == "op":
            value = "==" if raw == "=" else raw
        elif kind == "name" and raw.lower() in KEYWORDS:
            kind, value = "keyword", raw.lower()
        else:
            value = raw
        tokens.append(Token(kind, value, start))
        position = match.end()
    tokens.append(Token("end", None, len(text)))
    return tokens


# A parsed condition is a rule tree (``webapp/rules``, docs/selections.md) whose field rules name their field or
# interest by ``name`` as typed; ``bind`` turns the names into the keys of the values compared.
TRUE: dict[str, Any] = {"match": "all", "rules": []}
EACH = ("=", "!=", "in", "not_in", "<", ">", "<=", ">=")


def _leaf(name: str, operator: str, *value: Any) -> dict[str, Any]:
    return {"name": name, "operator": operator, **({"value": value[0]} if value else {})}


def _negated(rule: dict[str, Any]) -> dict[str, Any]:
    flipped = {key: item for key, item in rule.items() if key != "not"}
    return flipped if rule.get("not") else {**flipped, "not": True}


def _joined(match: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return rules[0] if len(rules) == 1 else {"match": match, "rules": rules}


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.index = 0
        self.names: set[str] = set()

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def accept(self, kind: str, value: Any = None) -> Token | None:
        token = self.peek()
        if token.kind == kind and (value is None or token.value == value):
            return self.take()
        return None

    def expect(self, kind: str, value: Any, what: str) -> Token:
        token = self.accept(kind, value)
        if token is None:
            raise self.unexpected(what)
        return token

    def unexpected(self, wanted: str) -> ValidationError:
        token = self.peek()
        if token.kind == "end":
            return _error(_("The condition ends too early: expected %(wanted)s.", wanted=wanted))
        return _error(_("Expected %(wanted)s at position %(position)s.", wanted=wanted, position=token.position + 1))

    def parse(self) -> dict[str, Any]:
        tree = self.disjunction(0)
        if self.peek().kind != "end":
            raise self.unexpected(_("and, or or the end"))
        return tree

    def disjunction(self, depth: int) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise _error(_("The condition is nested too deeply."))
        rules = [self.conjunction(depth)]
        while self.accept("keyword", "or"):
            rules.append(self.conjunction(depth))
        return _joined("any", rules)

    def conjunction(self, depth: int) -> dict[str, Any]:
        rules = [self.negation(depth)]
        while self.accept("keyword", "and"):
            rules.append(self.negation(depth))
        return _joined("all", rules)

    def negation(self, depth: int) -> dict[str, Any]:
        if self.accept("keyword", "not"):
            if depth > MAX_DEPTH:
                raise _error(_("The condition is nested too deeply."))
            return _negated(self.negation(depth + 1))
        return self.comparison(depth)

    def comparison(self, depth: int) -> dict[str, Any]:
        if self.accept("punct", "("):
            tree = self.disjunction(depth + 1)
            self.expect("punct", ")", _("a closing parenthesis"))
            return tree
        if self.accept("keyword", "empty"):
            self.expect("punct", "(", _("an opening parenthesis after empty"))
            name = self.name()
            self.expect("punct", ")", _("a closing parenthesis"))
            return _leaf(name, "empty")
        if self.peek().kind == "keyword" and self.peek().value in ("true", "false"):
            return TRUE if self.take().value == "true" else _negated(TRUE)
        name = self.name()
        token = self.peek()
        if token.kind == "op":
            self.take()
            return _leaf(name, "=" if token.value == "==" else token.value, self.literal())
        if self.accept("keyword", "in"):
            return _leaf(name, "in", self.literal_list())
        if token.kind == "keyword" and token.value == "not" and self.tokens[self.index + 1].value == "in":
            self.index += 2
            return _leaf(name, "not_in", self.literal_list())
        if self.accept("keyword", "contains"):
            return _leaf(name, "contains", self.literal())
        return _leaf(name, "not_empty")

    def name(self) -> str:
        token = self.peek()
        if token.kind != "name":
            raise self.unexpected(_("a field name"))
        self.take()
        self.names.add(token.value)
        return token.value

    def literal(self) -> Any:
        token = self.peek()
        if token.kind in ("string", "number"):
            return self.take().value
        if token.kind == "keyword" and token.value in ("true", "false"):
            return self.take().value == "true"
        raise self.unexpected(_("a text in quotes or a number"))

    def literal_list(self) -> list:
        self.expect("punct", "[", _("a list in square brackets"))
        values = [self.literal()]
        while self.accept("punct", ","):
            values.append(self.literal())
        self.expect("punct", "]", _("a closing square bracket"))
        return values


def _error(message: str) -> ValidationError:
    return ValidationError({"expression": message})


def parse(expression: str) -> dict[str, Any] | None:
    """The condition as a rule tree naming fields and interests by name, or ``None`` for an empty one; raises
    ``ValidationError`` on ``expression``."""
    expression = (expression or "").strip()
    if not expression:
        return None
    if len(expression) > MAX_LENGTH:
        raise _error(_("The condition is too long."))
    return _Parser(expression).parse()


def names_in(expression: str) -> set[str]:
    """The field and interest names a condition uses (after checking its syntax)."""
    expression = (expression or "").strip()
    if not expression:
        return set()
    if len(expression) > MAX_LENGTH:
        raise _error(_("The condition is too long."))
    parser = _Parser(expression)
    parser.parse()
    return parser.names


def validate(expression: str, known_names: set[str]) -> str:
    """Check syntax and that every name is known (case-insensitively); returns the stripped expression."""
    known = {name.lower() for name in known_names}
    unknown = sorted(name for name in names_in(expression) if name.lower() not in known)
    if unknown:
        raise _error(_("Unknown field or interest: %(names)s.", names=", ".join(unknown)))
    return (expression or "").strip()


def matches(expression: str, values: dict[str, Any]) -> bool:
    """Evaluate ``expression`` against ``values`` (names, matched case-insensitively, to stored values; an
    interest's value is a boolean) with the rule evaluator."""
    named = parse(expression)
    if named is None:
        return True
    lowered = {name.lower(): value for name, value in values.items()}
    keys: dict[str, int] = {}
    tree = bind(named, lambda name: keys.setdefault(name.lower(), len(keys) + 1), lowered)
    fields = {str(key): lowered.get(name) for name, key in keys.items()}
    interests = {key for name, key in keys.items() if lowered.get(name) is True}
    return evaluate.matches_values({"match": "all", "rules": [tree]}, fields, interests)


def bind(named: dict[str, Any], key_of: Callable[[str], int], values: dict[str, Any]) -> dict[str, Any]:
    """The rule tree of a parsed condition: each name becomes the key ``key_of`` gives it. A name whose value is a
    boolean is an interest: its bare name, ``empty()`` and comparisons with true or false are interest rules
    (false counts as empty); everything else compares the stored value, a multiple choice choice by choice."""
    if "rules" in named:
        return {**named, "rules": [bind(rule, key_of, values) for rule in named["rules"]]}
    name, operator, value = named["name"], named["operator"], named.get("value")
    negated = {"not": True} if named.get("not") else {}
    key = key_of(name)
    if isinstance(values.get(name.lower()), bool):
        held = _interest_test(operator, value)
        if held is not None:
            return {"interest_id": key, "value": held, **negated}
    rule = {"field_id": key, "operator": operator, **({"value": value} if "value" in named else {}), **negated}
    return {**rule, "each": True} if operator in EACH else rule


def _interest_test(operator: str, value: Any) -> bool | None:
    """Whether an interest must be held (``True``) or not for this comparison; ``None``: not about holding it."""
    if operator in ("empty", "not_empty"):
        return operator == "not_empty"
    boolean = isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false"))
    if operator not in ("=", "!=") or not boolean:
        return None
    wanted = value if isinstance(value, bool) else value.lower() == "true"
    return wanted if operator == "=" else not wanted
