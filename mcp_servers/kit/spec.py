"""What a tool is: its `ToolSpec`, and the checks a spec must pass before it is served.

A spec is the single source of a tool's contract: name, description, input and
output JSON Schema (generated from pydantic models), examples, the error
categories it may return, its risk level, tenant scoping and the highest data
class it can return. The MCP annotations (`readOnlyHint`, `destructiveHint`,
`idempotentHint`, `openWorldHint`) are derived from it here and nowhere else, and
the Tessera-specific parts travel to clients in the tool's `_meta` under
`SPEC_META_KEY`, so a host or a conformance run can read them over the wire.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, get_args

import jsonschema
from mcp_types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mcp_servers.kit.errors import ErrorCategory

SPEC_META_KEY = "io.tessera/spec"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")

# The kit's boundary can produce these for any tool, so a spec need not list them.
ALWAYS_POSSIBLE = frozenset(
    {ErrorCategory.VALIDATION, ErrorCategory.AUTH, ErrorCategory.INTERNAL}
)


class Risk(enum.StrEnum):
    """How much harm a call can do; policy decides approval by it."""

    READ = "read"  # changes nothing a user can see
    WRITE_LOW = "write_low"  # additive or easily reversed
    WRITE_HIGH = "write_high"  # destructive, irreversible or visible outside Tessera


class DataClass(enum.StrEnum):
    """Data classification, from public (I) to strictly confidential (IV)."""

    I = "I"  # noqa: E741 - the classes are named by roman numerals on purpose
    II = "II"
    III = "III"
    IV = "IV"

    @property
    def rank(self) -> int:
        return ("I", "II", "III", "IV").index(self.value) + 1

    def allows(self, other: DataClass) -> bool:
        """True when a caller cleared for `self` may see data of class `other`."""
        return other.rank <= self.rank


class SpecMeta(BaseModel):
    """The Tessera part of a tool's contract, published in the tool's `_meta`."""

    model_config = ConfigDict(extra="forbid")

    risk: Risk = Field(description="read | write_low | write_high.")
    data_class: DataClass = Field(description="Highest data class the tool can return.")
    tenant_scoped: bool = Field(description="True when results depend on the caller's tenant.")
    errors: list[ErrorCategory] = Field(description="Every error category the tool may return.")
    examples: list[dict[str, Any]] = Field(description="Example arguments that validate.")


class SpecError(ValueError):
    """A tool spec breaks the kit's rules; raised at registration."""


@dataclass(frozen=True)
class ToolSpec:
    """The contract of one tool. See the module docstring."""

    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    examples: tuple[Mapping[str, Any], ...]
    errors: frozenset[ErrorCategory]
    risk: Risk
    data_class: DataClass
    tenant_scoped: bool = True
    idempotent: bool = False
    open_world: bool = False
    title: str | None = None

    @property
    def server(self) -> str:
        return self.name.split(".", 1)[0]

    @cached_property
    def input_schema(self) -> dict[str, Any]:
        return self.input_model.model_json_schema()

    @cached_property
    def output_schema(self) -> dict[str, Any]:
        return self.output_model.model_json_schema()

    @property
    def all_errors(self) -> frozenset[ErrorCategory]:
        return self.errors | ALWAYS_POSSIBLE

    def annotations(self) -> ToolAnnotations:
        """MCP annotations, derived from the spec so they cannot disagree with it."""
        return ToolAnnotations(
            title=self.title,
            read_only_hint=self.risk is Risk.READ,
            destructive_hint=self.risk is Risk.WRITE_HIGH,
            idempotent_hint=self.risk is Risk.READ or self.idempotent,
            open_world_hint=self.open_world,
        )

    def meta(self) -> SpecMeta:
        return SpecMeta(
            risk=self.risk,
            data_class=self.data_class,
            tenant_scoped=self.tenant_scoped,
            errors=sorted(self.all_errors),
            examples=[dict(example) for example in self.examples],
        )


def lint_spec(spec: ToolSpec) -> list[str]:
    """Every way `spec` falls short of the kit's rules; empty when it is fine."""
    problems: list[str] = []
    if not NAME_PATTERN.match(spec.name):
        problems.append(f"{spec.name!r}: name must be 'server.tool' in lower snake case")
    if len(spec.description.strip()) < 20:
        problems.append(f"{spec.name}: description is missing or shorter than 20 characters")
    if not spec.errors:
        problems.append(f"{spec.name}: declares no error categories")
    if not isinstance(spec.risk, Risk):
        problems.append(f"{spec.name}: risk level must be one of {[r.value for r in Risk]}")
    if not isinstance(spec.data_class, DataClass):
        problems.append(f"{spec.name}: data class must be one of I, II, III, IV")
    if len(spec.examples) < 2:
        problems.append(f"{spec.name}: needs at least 2 examples, has {len(spec.examples)}")
    problems.extend(_undocumented_fields(spec))
    for index, example in enumerate(spec.examples):
        problems.extend(_example_problems(spec, index, example))
    return problems


def check_spec(spec: ToolSpec) -> ToolSpec:
    """Raise `SpecError` listing every problem; return the spec when there are none."""
    problems = lint_spec(spec)
    if problems:
        raise SpecError("; ".join(problems))
    return spec


def _undocumented_fields(spec: ToolSpec) -> list[str]:
    """Fields without a description, at any depth of the input and output models."""
    problems = []
    for role, model in (("input", spec.input_model), ("output", spec.output_model)):
        for path in _fields_without_description(model, prefix="", seen=set()):
            problems.append(f"{spec.name}: {role} field {path!r} has no description")
    return problems


def _fields_without_description(model: type[BaseModel], prefix: str, seen: set[type]) -> list[str]:
    if model in seen:  # recursive models
        return []
    seen.add(model)
    missing = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        if not info.description:
            missing.append(path)
        for nested in _models_in(info.annotation):
            missing.extend(_fields_without_description(nested, f"{path}.", seen))
    return missing


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Pydantic models inside a type such as `list[Line] | None` or `dict[str, Line]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def _example_problems(spec: ToolSpec, index: int, example: Mapping[str, Any]) -> list[str]:
    problems = []
    try:
        jsonschema.validate(dict(example), spec.input_schema)
    except jsonschema.ValidationError as exc:
        problems.append(f"{spec.name}: example {index} breaks the input schema: {exc.message}")
    try:
        spec.input_model.model_validate(dict(example))
    except ValidationError as exc:
        problems.append(f"{spec.name}: example {index} does not validate: {exc.errors()[0]['msg']}")
    return problems
