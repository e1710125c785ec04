"""The safe condition language of policy rules (`when: quantity * net_price > 10000`).

A small language with a real parser (a Pratt parser over a regex tokenizer) that
compiles to Python closures. Nothing is ever passed to `eval`, `exec` or
`getattr`: a field path only reads keys of the call's argument mapping and items
of its lists, and a function call can only name one of `FUNCTIONS`.

    expression := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum (("=="|"!="|"<"|"<="|">"|">="|"in"|"not in") sum)?
    sum        := product (("+"|"-") product)*
    product    := unary (("*"|"/"|"%") unary)*
    unary      := "-" unary | primary
    primary    := number | string | true | false | null | "[" list "]" | "(" expression ")"
                | function "(" arguments ")" | path
    path       := (name | "$"name) ("." name | "[" integer "]" | "[*]")*

Types are strict: arithmetic takes numbers only (so no string repetition or
formatting), `and`/`or`/`not` take booleans only, ordering compares two numbers
or two strings. A `[*]` in a path yields a list; arithmetic and comparisons
between a list and a value or two lists work item by item, so
`sum(items[*].quantity * items[*].price)` is an order's value and
`any(items[*].quantity > 100)` asks about any line (two lists compared with
`==` are compared whole). Anything that goes wrong while evaluating (a missing field, a type
mismatch, division by zero) raises `EvaluationError`; the decision point then
treats the rule as matching (it fails closed, see `docs/policies.md`).
Size limits keep hostile expressions cheap: at most `MAX_LENGTH` characters,
`MAX_DEPTH` levels of nesting and `MAX_NUMBER_DIGITS` digits per number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policies.expression_ops import (
    ARITY,
    COMPARISONS,
    FUNCTIONS,
    EvaluationError,
    Evaluator,
    binary,
    constant,
    exists_of,
    kind,
    logical_not,
    negate,
    path_of,
)

MAX_LENGTH = 1000
MAX_DEPTH = 24
MAX_NUMBER_DIGITS = 24
CONTEXT_VARIABLES = frozenset(
    {"tenant", "user", "roles", "tool", "server", "risk", "data_class", "tainted", "channel"}
)



class ExpressionError(ValueError):
    """An expression that cannot be compiled; `column` is 1-based."""

    def __init__(self, message: str, column: int | None = None) -> None:
        self.column = column
        super().__init__(f"{message} (at column {column})" if column else message)


_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<name>\$?[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|<=|>=|\[\*\]|[-+*/%<>()\[\],.])
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, var, keyword, op, end
    text: str
    column: int


def _tokenize(source: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if not match:
            raise ExpressionError(f"unexpected character {source[position]!r}", position + 1)
        kind, text = match.lastgroup or "", match.group()
        if kind == "name" and text.startswith("$"):
            kind = "var"
        elif kind == "name" and text in _KEYWORDS:
            kind = "keyword"
        if kind != "space":
            tokens.append(_Token(kind, text, position + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(source) + 1))
    return tokens


# Binding powers of the infix operators; comparisons do not chain.
_INFIX = {"or": 10, "and": 20, "==": 40, "!=": 40, "<": 40, "<=": 40, ">": 40, ">=": 40,
          "in": 40, "not in": 40, "+": 50, "-": 50, "*": 60, "/": 60, "%": 60}


@dataclass(frozen=True)
class Expression:
    """A compiled condition. Call `evaluate(arguments, context)`; it returns a bool."""

    source: str
    fields: frozenset[str]  # root argument names it reads, e.g. {"items", "plant"}
    variables: frozenset[str]  # context variables it reads, e.g. {"tainted"}
    _run: Evaluator

    def evaluate(self, arguments: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
        try:
            result = self._run((arguments, context))
        except EvaluationError:
            raise
        except (ArithmeticError, TypeError, ValueError, RecursionError) as exc:
            raise EvaluationError(f"cannot evaluate: {type(exc).__name__}") from None
        if not isinstance(result, bool):
            raise EvaluationError(f"the condition gave {kind(result)}, not true or false")
        return result


def compile_expression(source: str) -> Expression:
    """Parse and compile `source`, or raise `ExpressionError` saying where it is wrong."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("the expression is empty")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    parser = _Parser(_tokenize(source))
    run = parser.expression(0, depth=0)
    parser.expect("end")
    return Expression(source, frozenset(parser.fields), frozenset(parser.variables), run)


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens, self.index = tokens, 0
        self.fields: set[str] = set()
        self.variables: set[str] = set()

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, kind: str, text: str | None = None) -> _Token:
        token = self.token
        if token.kind != kind or (text is not None and token.text != text):
            wanted = repr(text) if text else ("end of expression" if kind == "end" else kind)
            found = repr(token.text) if token.text else "end of expression"
            raise ExpressionError(f"expected {wanted}, found {found}", token.column)
        return self.advance()

    def infix_operator(self) -> str | None:
        token = self.token
        if token.kind == "keyword" and token.text == "not":
            following = self.tokens[self.index + 1]
            return "not in" if following.kind == "keyword" and following.text == "in" else None
        if token.kind in ("keyword", "op") and token.text in _INFIX:
            return token.text
        return None

    def expression(self, min_power: int, depth: int) -> Evaluator:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"nested deeper than {MAX_DEPTH} levels", self.token.column)
        left = self.prefix(depth)
        while (operator := self.infix_operator()) is not None and _INFIX[operator] > min_power:
            column = self.token.column
            self.advance()
            if operator == "not in":
                self.advance()
            right = self.expression(_INFIX[operator], depth + 1)
            left = binary(operator, left, right)
            if operator in COMPARISONS and self.infix_operator() in COMPARISONS:
                raise ExpressionError("comparisons do not chain; use 'and'", column)
        return left

    def prefix(self, depth: int) -> Evaluator:
        token = self.advance()
        if token.kind == "number":
            return constant(_number(token))
        if token.kind == "string":
            return constant(_string(token))
        if token.kind == "keyword":
            if token.text in ("true", "false", "null"):
                return constant({"true": True, "false": False, "null": None}[token.text])
            if token.text == "not":
                return logical_not(self.expression(30, depth + 1))
        if token.kind == "op":
            if token.text == "-":
                return negate(self.expression(70, depth + 1))
            if token.text == "(":
                inner = self.expression(0, depth + 1)
                self.expect("op", ")")
                return inner
            if token.text == "[":
                return self.list_literal(depth)
        if token.kind == "name" and self.token.text == "(":
            return self.call(token, depth)
        if token.kind in ("name", "var"):
            return self.path(token)
        found = repr(token.text) if token.text else "end of expression"
        raise ExpressionError(f"unexpected {found}", token.column)

    def list_literal(self, depth: int) -> Evaluator:
        items: list[Evaluator] = []
        while self.token.text != "]":
            items.append(self.expression(0, depth + 1))
            if self.token.text != ",":
                break
            self.advance()
        self.expect("op", "]")
        return lambda env: [item(env) for item in items]

    def call(self, name: _Token, depth: int) -> Evaluator:
        function = FUNCTIONS.get(name.text)
        if function is None:
            raise ExpressionError(
                f"unknown function {name.text!r}; known: {', '.join(sorted(FUNCTIONS))}",
                name.column)
        self.expect("op", "(")
        if name.text == "exists":
            target = self.expect("name") if self.token.kind == "name" else self.expect("var")
            steps = self.path_steps()
            self.expect("op", ")")
            self._note(target)
            return exists_of(target.text, steps)
        arguments: list[Evaluator] = []
        while self.token.text != ")":
            arguments.append(self.expression(0, depth + 1))
            if self.token.text != ",":
                break
            self.advance()
        self.expect("op", ")")
        arity = ARITY[name.text]
        if not arity[0] <= len(arguments) <= arity[1]:
            raise ExpressionError(f"{name.text}() takes {_arity_text(arity)}", name.column)
        return lambda env: function(*(argument(env) for argument in arguments))

    def path(self, root: _Token) -> Evaluator:
        self._note(root)
        return path_of(root.text, self.path_steps())

    def path_steps(self) -> tuple[str | int | None, ...]:
        steps: list[str | int | None] = []  # a key, an index, or None for [*]
        while self.token.text in (".", "[", "[*]"):
            token = self.advance()
            if token.text == ".":
                steps.append(_field_name(self.expect("name")))
            elif token.text == "[*]":
                steps.append(None)
            else:
                negative = self.token.text == "-" and bool(self.advance())
                digits = self.expect("number")
                if not digits.text.isdigit() or len(digits.text) > 6:
                    raise ExpressionError("an index is a whole number", digits.column)
                steps.append(-int(digits.text) if negative else int(digits.text))
                self.expect("op", "]")
        return tuple(steps)

    def _note(self, root: _Token) -> None:
        if root.kind == "var":
            name = root.text[1:]
            if name not in CONTEXT_VARIABLES:
                raise ExpressionError(
                    f"unknown variable {root.text!r}; known: "
                    f"{', '.join('$' + v for v in sorted(CONTEXT_VARIABLES))}", root.column)
            self.variables.add(name)
        else:
            self.fields.add(_field_name(root))


def _field_name(token: _Token) -> str:
    if token.text.startswith("__"):
        raise ExpressionError(f"names starting with '__' are not allowed: {token.text!r}",
                              token.column)
    return token.text


def _number(token: _Token) -> int | float:
    if len(token.text) > MAX_NUMBER_DIGITS:
        raise ExpressionError(f"number longer than {MAX_NUMBER_DIGITS} characters", token.column)
    value = float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        raise ExpressionError("number out of range", token.column)
    return value


def _string(token: _Token) -> str:
    body, out, index = token.text[1:-1], [], 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            escaped = body[index + 1]
            if escaped not in _ESCAPES:
                raise ExpressionError(f"unknown escape \\{escaped}", token.column + index + 1)
            out.append(_ESCAPES[escaped])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _arity_text(arity: tuple[int, int]) -> str:
    low, high = arity
    if low == high:
        return f"{low} argument{'s' if low > 1 else ''}"
    return f"{low} to {high} arguments"
