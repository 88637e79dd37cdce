"""The condition language of callbacks: a small expression on a profile's fields, parsed by hand (never eval).

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
  case-insensitively; a number literal compares numerically; dates compare as ``YYYY-MM-DD`` text.
- ``empty(Name)`` is true when the field has no value; ``and``, ``or``, ``not`` and parentheses combine.
- A comparison with an empty value is false (except ``!=``, which is true); a bare name is true when its value
  is not empty (interests: when set).
"""

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from webapp.platform.errors import ValidationError

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


# A parsed condition is a tuple tree:
#   ("or", a, b) ("and", a, b) ("not", a) ("cmp", op, name, literal) ("in", name, [literals])
#   ("contains", name, literal) ("empty", name) ("truthy", name) ("const", value)


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

    def parse(self) -> tuple:
        tree = self.disjunction(0)
        if self.peek().kind != "end":
            raise self.unexpected(_("and, or or the end"))
        return tree

    def disjunction(self, depth: int) -> tuple:
        if depth > MAX_DEPTH:
            raise _error(_("The condition is nested too deeply."))
        tree = self.conjunction(depth)
        while self.accept("keyword", "or"):
            tree = ("or", tree, self.conjunction(depth))
        return tree

    def conjunction(self, depth: int) -> tuple:
        tree = self.negation(depth)
        while self.accept("keyword", "and"):
            tree = ("and", tree, self.negation(depth))
        return tree

    def negation(self, depth: int) -> tuple:
        if self.accept("keyword", "not"):
            if depth > MAX_DEPTH:
                raise _error(_("The condition is nested too deeply."))
            return ("not", self.negation(depth + 1))
        return self.comparison(depth)

    def comparison(self, depth: int) -> tuple:
        if self.accept("punct", "("):
            tree = self.disjunction(depth + 1)
            self.expect("punct", ")", _("a closing parenthesis"))
            return tree
        if self.accept("keyword", "empty"):
            self.expect("punct", "(", _("an opening parenthesis after empty"))
            name = self.name()
            self.expect("punct", ")", _("a closing parenthesis"))
            return ("empty", name)
        if self.peek().kind == "keyword" and self.peek().value in ("true", "false"):
            return ("const", self.take().value == "true")
        name = self.name()
        token = self.peek()
        if token.kind == "op":
            self.take()
            return ("cmp", token.value, name, self.literal())
        if self.accept("keyword", "in"):
            return ("in", name, self.literal_list())
        if token.kind == "keyword" and token.value == "not" and self.tokens[self.index + 1].value == "in":
            self.index += 2
            return ("not", ("in", name, self.literal_list()))
        if self.accept("keyword", "contains"):
            return ("contains", name, self.literal())
        return ("truthy", name)

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


def parse(expression: str) -> tuple | None:
    """The parsed condition, or ``None`` for an empty one; raises ``ValidationError`` on ``expression``."""
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
    """Evaluate ``expression`` against ``values`` (names, matched case-insensitively, to stored values)."""
    tree = parse(expression)
    if tree is None:
        return True
    lowered = {name.lower(): value for name, value in values.items()}
    return bool(_evaluate(tree, lowered))


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def _evaluate(tree: tuple, values: dict[str, Any]) -> bool:
    kind = tree[0]
    if kind == "or":
        return _evaluate(tree[1], values) or _evaluate(tree[2], values)
    if kind == "and":
        return _evaluate(tree[1], values) and _evaluate(tree[2], values)
    if kind == "not":
        return not _evaluate(tree[1], values)
    if kind == "const":
        return tree[1]
    if kind == "empty":
        return _is_empty(values.get(tree[1].lower()))
    if kind == "truthy":
        return not _is_empty(values.get(tree[1].lower()))
    value = values.get(tree[2 if kind == "cmp" else 1].lower())
    if kind == "in":
        return any(_compare("==", value, literal) for literal in tree[2])
    if kind == "contains":
        if isinstance(value, list):
            return any(_compare("==", item, tree[2]) for item in value)
        if _is_empty(value):
            return False
        return _text(tree[2]) in _text(value)
    return _compare(tree[1], value, tree[3])


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).casefold()


def _compare(op: str, value: Any, literal: Any) -> bool:
    if value is None or value == "" or value == []:
        return op == "!="
    if isinstance(value, list):  # multiple choice: == compares with any chosen value
        hits = [_compare(op, item, literal) for item in value]
        return all(hits) if op == "!=" else any(hits)
    left: Any
    right: Any
    if isinstance(literal, bool) or isinstance(value, bool):
        left, right = _text(value), _text(literal)
    elif isinstance(literal, int | float):
        try:
            left, right = float(value), float(literal)
        except (TypeError, ValueError):
            return op == "!="
    else:
        left, right = _text(value), _text(literal)
    return {
        "==": left == right,
        "!=": left != right,
        "<": left < right,
        ">": left > right,
        "<=": left <= right,
        ">=": left >= right,
    }[op]
