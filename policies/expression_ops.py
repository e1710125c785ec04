"""What the policy expression language's values do: paths, arithmetic, comparisons, functions.

`policies/expressions.py` parses an expression into closures built from these
helpers. Everything here works on plain JSON-like values (None, bool, int,
float, str, lists, mappings) and raises `EvaluationError` for anything else:
numbers never mix with text or booleans, logic takes only booleans, and huge
integers are computed as floats so that hostile arguments stay cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

Env = tuple[Mapping[str, Any], Mapping[str, Any]]  # (arguments, context variables)
Evaluator = Callable[[Env], Any]
_BIG = 2**63  # integers beyond this are computed as floats
COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "not in"})


class EvaluationError(ValueError):
    """An expression that compiled but cannot be evaluated for these arguments."""


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    return "an object"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def constant(value: Any) -> Evaluator:
    return lambda env: value


def path_of(root: str, steps: tuple[str | int | None, ...]) -> Evaluator:
    is_variable = root.startswith("$")
    key = root[1:] if is_variable else root

    def run(env: Env) -> Any:
        source = env[1] if is_variable else env[0]
        if key not in source:
            raise EvaluationError(f"no field {root!r}")
        return _walk(source[key], steps, root)

    return run


def _walk(value: Any, steps: tuple[str | int | None, ...], where: str) -> Any:
    for position, step in enumerate(steps):
        if step is None:
            if not isinstance(value, list | tuple):
                raise EvaluationError(f"{where} is not a list")
            rest = steps[position + 1:]
            return [_walk(item, rest, f"{where}[*]") for item in value]
        if isinstance(step, int):
            if not isinstance(value, list | tuple) or not -len(value) <= step < len(value):
                raise EvaluationError(f"no item {where}[{step}]")
            value, where = value[step], f"{where}[{step}]"
        else:
            if not isinstance(value, Mapping) or step not in value:
                raise EvaluationError(f"no field {where}.{step}")
            value, where = value[step], f"{where}.{step}"
    return value


def exists_of(root: str, steps: tuple[str | int | None, ...]) -> Evaluator:
    run = path_of(root, steps)

    def exists(env: Env) -> bool:
        try:
            return run(env) is not None
        except EvaluationError:
            return False

    return exists


def negate(operand: Evaluator) -> Evaluator:
    return lambda env: _arithmetic("-", 0, operand(env))


def logical_not(operand: Evaluator) -> Evaluator:
    def run(env: Env) -> bool:
        value = operand(env)
        if not isinstance(value, bool):
            raise EvaluationError(f"'not' needs true or false, got {kind(value)}")
        return not value

    return run


def binary(operator: str, left: Evaluator, right: Evaluator) -> Evaluator:
    if operator in ("and", "or"):
        want = operator == "or"  # the value that decides without looking right

        def logical(env: Env) -> bool:
            value = left(env)
            if not isinstance(value, bool):
                raise EvaluationError(f"'{operator}' needs true or false, got {kind(value)}")
            if value is want:
                return value
            other = right(env)
            if not isinstance(other, bool):
                raise EvaluationError(f"'{operator}' needs true or false, got {kind(other)}")
            return other

        return logical
    if operator in COMPARISONS:
        return lambda env: _compare(operator, left(env), right(env))
    return lambda env: _arithmetic(operator, left(env), right(env))


def _arithmetic(operator: str, left: Any, right: Any) -> Any:
    left_list, right_list = isinstance(left, list | tuple), isinstance(right, list | tuple)
    if left_list or right_list:
        if left_list and right_list and len(left) != len(right):
            raise EvaluationError("lists of different lengths")
        size = len(left) if left_list else len(right)
        lefts = left if left_list else [left] * size
        rights = right if right_list else [right] * size
        return [_arithmetic(operator, a, b) for a, b in zip(lefts, rights, strict=True)]
    if not (_is_number(left) and _is_number(right)):
        raise EvaluationError(f"'{operator}' needs numbers, got {kind(left)} and {kind(right)}")
    left, right = _bounded(left), _bounded(right)
    if operator == "+":
        return left + right
    if operator == "-":
        return left - right
    if operator == "*":
        return left * right
    if right == 0:
        raise EvaluationError("division by zero")
    return left / right if operator == "/" else left % right


def _bounded(number: int | float) -> int | float:
    """Huge integers become floats, so arithmetic on hostile arguments stays cheap."""
    if isinstance(number, int) and not -_BIG <= number <= _BIG:
        try:
            return float(number)
        except OverflowError:
            return math.inf if number > 0 else -math.inf
    return number


def _equal(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return left == right
    if type(left) is not type(right) and not (
        isinstance(left, list | tuple) and isinstance(right, list | tuple)
    ):
        return False
    return bool(left == right)


def _compare(operator: str, left: Any, right: Any) -> Any:
    if operator not in ("in", "not in"):
        left_list, right_list = isinstance(left, list | tuple), isinstance(right, list | tuple)
        if left_list != right_list:  # a list against one value: compare each item
            if left_list:
                return [_compare(operator, item, right) for item in left]
            return [_compare(operator, left, item) for item in right]
    if operator == "==":
        return _equal(left, right)
    if operator == "!=":
        return not _equal(left, right)
    if operator in ("in", "not in"):
        if isinstance(right, list | tuple):
            found = any(_equal(left, item) for item in right)
        elif isinstance(right, str) and isinstance(left, str):
            found = left in right
        elif isinstance(right, Mapping) and isinstance(left, str):
            found = left in right
        else:
            raise EvaluationError(f"'in' cannot look for {kind(left)} in {kind(right)}")
        return found if operator == "in" else not found
    both_numbers = _is_number(left) and _is_number(right)
    if both_numbers and (left != left or right != right):  # NaN, e.g. inf * 0
        raise EvaluationError("the numbers cannot be compared (not a number)")
    if not (both_numbers or (isinstance(left, str) and isinstance(right, str))):
        raise EvaluationError(f"'{operator}' cannot order {kind(left)} and {kind(right)}")
    if operator == "<":
        return left < right
    if operator == "<=":
        return left <= right
    if operator == ">":
        return left > right
    return left >= right


def _numbers(values: Any, function: str) -> list[int | float]:
    if not isinstance(values, list | tuple) or not all(_is_number(v) for v in values):
        raise EvaluationError(f"{function}() needs a list of numbers")
    return list(values)


def _booleans(values: Any, function: str) -> list[bool]:
    if not isinstance(values, list | tuple) or not all(isinstance(v, bool) for v in values):
        raise EvaluationError(f"{function}() needs a list of true/false values")
    return list(values)


def _extreme(pick: Callable[..., Any], name: str) -> Callable[..., Any]:
    def run(*values: Any) -> Any:
        items = _numbers(values[0] if len(values) == 1 else list(values), name)
        if not items:
            raise EvaluationError(f"{name}() of an empty list")
        return pick(items)

    return run


def _text(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    def run(*values: Any) -> Any:
        if not all(isinstance(v, str) for v in values):
            raise EvaluationError(f"{name}() needs strings")
        return function(*values)

    return run


def _length(value: Any) -> int:
    if not isinstance(value, str | list | tuple | Mapping):
        raise EvaluationError(f"len() needs a string, list or object, got {kind(value)}")
    return len(value)


def _absolute(value: Any) -> int | float:
    if not _is_number(value):
        raise EvaluationError("abs() needs a number")
    return abs(value)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sum": lambda values: sum(_numbers(values, "sum")),
    "min": _extreme(min, "min"),
    "max": _extreme(max, "max"),
    "len": _length,
    "abs": _absolute,
    "any": lambda values: any(_booleans(values, "any")),
    "all": lambda values: all(_booleans(values, "all")),
    "lower": _text(str.lower, "lower"),
    "upper": _text(str.upper, "upper"),
    "startswith": _text(str.startswith, "startswith"),
    "endswith": _text(str.endswith, "endswith"),
    "exists": lambda value: value,  # compiled specially: takes a path, not a value
}
ARITY = {"sum": (1, 1), "min": (1, 8), "max": (1, 8), "len": (1, 1), "abs": (1, 1),
          "any": (1, 1), "all": (1, 1), "lower": (1, 1), "upper": (1, 1),
          "startswith": (2, 2), "endswith": (2, 2), "exists": (1, 1)}
