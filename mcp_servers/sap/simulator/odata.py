"""OData v2 as the simulator speaks it: `$filter` parsing, query options, JSON and error bodies.

The filter grammar covers what SAP Gateway clients commonly send: `eq ne gt ge
lt le`, `and`, `or`, `not`, parentheses, string literals (`'it''s'`), numbers,
`datetime'2026-01-31T00:00:00'`, `true/false/null`, and the functions
`substringof`, `startswith`, `endswith`, `tolower`, `toupper`. Anything else is a
400 with an OData error body, as Gateway answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.responses import JSONResponse


class ODataError(Exception):
    """Becomes an OData v2 error body with this HTTP status."""

    def __init__(self, status: int, message: str, code: str = "/IWBEP/CM_MGW_RT/020",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, self.code, self.headers)


def error_response(status: int, message: str, code: str = "/IWBEP/CM_MGW_RT/020",
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": {"lang": "en", "value": message},
                      "innererror": {"transactionid": "SIMULATOR", "errordetails": []}}}
    return JSONResponse(body, status_code=status, headers=headers)


# --- serialisation ----------------------------------------------------------------------------

def to_json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return f"/Date({int(value.timestamp() * 1000)})/"
    if isinstance(value, Decimal):
        return f"{value:.3f}"
    return value


def from_json_value(value: Any, like: Any) -> Any:
    """Parse a request body value into the type of the stored value it replaces."""
    if isinstance(like, datetime) or (isinstance(value, str) and value.startswith("/Date(")):
        match = re.fullmatch(r"/Date\((-?\d+)(?:[+-]\d+)?\)/", str(value))
        if not match:
            raise ODataError(400, f"Invalid Edm.DateTime value '{value}'")
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    if isinstance(like, Decimal):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise ODataError(400, f"Invalid Edm.Decimal value '{value}'") from None
    return value


# --- $filter ----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<dt>datetime'[^']*')|(?P<num>-?\d+(?:\.\d+)?[mMdD]?)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_/]*))"
)
_COMPARE = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
            "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
            "lt": lambda a, b: a < b, "le": lambda a, b: a <= b}
Row = dict[str, Any]
Expr = Callable[[Row], Any]


def parse_filter(text: str) -> Callable[[Row], bool]:
    tokens = _tokenize(text)
    parser = _Parser(tokens)
    expr = parser.expression()
    if parser.position != len(tokens):
        raise ODataError(400, "Invalid $filter: unexpected text after the expression")
    return lambda row: bool(expr(row))


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match:
            raise ODataError(400, f"Invalid $filter near position {position}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.position = tokens, 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.position] if self.position < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (value is not None and token[1] != value):
            raise ODataError(400, f"Invalid $filter: expected {value or 'a term'}")
        self.position += 1
        return token

    def expression(self) -> Expr:
        left = self.conjunction()
        while self.peek() == ("word", "or"):
            self.take()
            right, first = self.conjunction(), left
            left = lambda row, a=first, b=right: a(row) or b(row)  # noqa: E731
        return left

    def conjunction(self) -> Expr:
        left = self.comparison()
        while self.peek() == ("word", "and"):
            self.take()
            right, first = self.comparison(), left
            left = lambda row, a=first, b=right: a(row) and b(row)  # noqa: E731
        return left

    def comparison(self) -> Expr:
        if self.peek() == ("word", "not"):
            self.take()
            inner = self.comparison()
            return lambda row: not inner(row)
        left = self.term()
        kind, word = self.peek()
        if kind == "word" and word in _COMPARE:
            self.take()
            right, op = self.term(), _COMPARE[word]
            return lambda row: _compare(op, left(row), right(row))
        return left

    def term(self) -> Expr:
        kind, value = self.take()
        if kind == "punct" and value == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if kind == "str":
            text = value[1:-1].replace("''", "'")
            return lambda row: text
        if kind == "dt":
            moment = _parse_datetime(value[9:-1])
            return lambda row: moment
        if kind == "num":
            number = Decimal(value.rstrip("mMdD"))
            return lambda row: number
        if kind == "word" and value in ("true", "false", "null"):
            constant = {"true": True, "false": False, "null": None}[value]
            return lambda row: constant
        if kind == "word" and self.peek() == ("punct", "("):
            return self.function(value)
        if kind == "word":
            return lambda row: _property(row, value)
        raise ODataError(400, f"Invalid $filter: unexpected '{value}'")

    def function(self, name: str) -> Expr:
        self.take("(")
        args = [self.expression()]
        while self.peek() == ("punct", ","):
            self.take()
            args.append(self.expression())
        self.take(")")
        functions: dict[str, Callable[..., Any]] = {
            "substringof": lambda needle, hay: str(needle).lower() in str(hay or "").lower(),
            "startswith": lambda hay, prefix: str(hay or "").startswith(str(prefix)),
            "endswith": lambda hay, suffix: str(hay or "").endswith(str(suffix)),
            "tolower": lambda value: str(value or "").lower(),
            "toupper": lambda value: str(value or "").upper(),
        }
        if name not in functions:
            raise ODataError(400, f"Invalid $filter: function '{name}' is not supported")
        fn = functions[name]
        return lambda row: fn(*(arg(row) for arg in args))


def _property(row: Row, name: str) -> Any:
    if name not in row:
        raise ODataError(400, f"Property '{name}' is invalid")
    return row[name]


def _compare(op: Callable[[Any, Any], bool], left: Any, right: Any) -> bool:
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        left, right = _number(left), _number(right)
    if left is None or right is None:
        return op is _COMPARE["eq"] and left is right or op is _COMPARE["ne"] and left is not right
    try:
        return op(left, right)
    except TypeError:
        raise ODataError(400, "Invalid $filter: operands of different types") from None


def _number(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return value


def _parse_datetime(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        raise ODataError(400, f"Invalid datetime literal '{text}'") from None


# --- $orderby, $select -------------------------------------------------------------------------

def apply_orderby(rows: list[Row], text: str) -> list[Row]:
    for clause in reversed([part.strip() for part in text.split(",") if part.strip()]):
        name, _, direction = clause.partition(" ")
        if direction.strip() not in ("", "asc", "desc"):
            raise ODataError(400, f"Invalid $orderby direction '{direction.strip()}'")
        if rows and name not in rows[0]:
            raise ODataError(400, f"Property '{name}' is invalid")
        rows = sorted(rows, key=lambda row: (row[name] is None, row[name]),
                      reverse=direction.strip() == "desc")
    return rows


def select_fields(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]
