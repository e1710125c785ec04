"""Tool specs: the lint every spec must pass, and what a spec publishes."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from mcp_servers.kit.definition import registered_servers
from mcp_servers.kit.errors import ErrorCategory
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.spec import DataClass, Risk, SpecError, ToolSpec, check_spec, lint_spec


class EchoInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=100, description="What to echo back.")
    times: int = Field(default=1, ge=1, le=5, description="How often to repeat it.")


class EchoOutput(BaseModel):
    text: str = Field(description="The echoed text.")


class UndocumentedInput(BaseModel):
    text: str = Field(description="What to echo back.")
    times: int = 1


class UndocumentedOutput(BaseModel):
    text: str


class Line(BaseModel):
    sku: str


class NestedUndocumentedInput(BaseModel):
    lines: list[Line] = Field(description="Order lines.")


def echo_spec(**changes: Any) -> ToolSpec:
    spec = ToolSpec(
        name="demo.echo",
        title="Echo",
        description="Echo the given text back, repeated a few times.",
        input_model=EchoInput,
        output_model=EchoOutput,
        examples=({"text": "hello"}, {"text": "hello", "times": 3}),
        errors=frozenset({ErrorCategory.NOT_FOUND}),
        risk=Risk.READ,
        data_class=DataClass.I,
    )
    return dataclasses.replace(spec, **changes)


def test_a_valid_spec_passes_lint():
    assert lint_spec(echo_spec()) == []


def test_check_spec_returns_a_valid_spec_unchanged():
    spec = echo_spec()

    assert check_spec(spec) is spec


def test_the_server_is_the_part_of_the_name_before_the_dot():
    assert echo_spec(name="sap_mm.read_purchase_order").server == "sap_mm"


LINT_FAILURES = [
    *(
        pytest.param({"name": name}, "name must be 'server.tool'", id=f"name-{name or 'empty'}")
        for name in ("echo", "Demo.Echo", "demo.echo-it", "demo.echo.more", "1demo.echo",
                     "demo_echo", "demo.", "")
    ),
    pytest.param({"description": ""}, "description is missing", id="description-empty"),
    pytest.param({"description": "   \n  "}, "description is missing", id="description-blank"),
    pytest.param({"description": "Echo some text."}, "shorter than 20", id="description-short"),
    pytest.param({"errors": frozenset()}, "declares no error categories", id="no-errors"),
    pytest.param({"examples": ()}, "needs at least 2 examples, has 0", id="no-examples"),
    pytest.param({"examples": ({"text": "hi"},)}, "needs at least 2 examples, has 1",
                 id="one-example"),
    pytest.param({"examples": ({"text": "hi"}, {"times": 2})}, "example 1 breaks the input schema",
                 id="example-missing-field"),
    pytest.param({"examples": ({"text": ""}, {"text": "hi"})}, "example 0 breaks the input schema",
                 id="example-too-short"),
    pytest.param({"examples": ({"text": "hi"}, {"text": "hi", "times": 9})},
                 "example 1 does not validate", id="example-out-of-range"),
    pytest.param({"examples": ({"text": "hi"}, {"text": "hi", "loud": True})},
                 "example 1 breaks the input schema", id="example-extra-field"),
    pytest.param({"input_model": UndocumentedInput}, "input field 'times' has no description",
                 id="undocumented-input-field"),
    pytest.param({"output_model": UndocumentedOutput}, "output field 'text' has no description",
                 id="undocumented-output-field"),
    pytest.param({"risk": "read"}, "risk level must be one of", id="risk-not-a-risk"),
    pytest.param({"data_class": "II"}, "data class must be one of", id="data-class-not-a-class"),
]


@pytest.mark.parametrize("changes, problem", LINT_FAILURES)
def test_a_broken_spec_fails_lint_with_a_message_naming_the_tool(
    changes: dict[str, Any], problem: str
):
    spec = echo_spec(**changes)

    problems = lint_spec(spec)

    assert any(problem in message for message in problems), problems
    assert all(message.startswith((spec.name, repr(spec.name))) for message in problems)


def test_an_example_breaking_the_schema_is_reported_with_the_reason():
    problems = lint_spec(echo_spec(examples=({"text": "hi"}, {"times": 2})))

    assert problems == [
        "demo.echo: example 1 breaks the input schema: 'text' is a required property",
        "demo.echo: example 1 does not validate: Field required",
    ]


def test_an_undocumented_nested_field_fails_lint():
    spec = echo_spec(input_model=NestedUndocumentedInput,
                     examples=({"lines": [{"sku": "A"}]}, {"lines": []}))

    assert any("'lines.sku' has no description" in message for message in lint_spec(spec))


def test_check_spec_raises_listing_every_problem():
    spec = echo_spec(name="Echo", description="Echo.", errors=frozenset(),
                     examples=({"text": "hi"},), output_model=UndocumentedOutput)

    with pytest.raises(SpecError) as caught:
        check_spec(spec)

    problems = lint_spec(spec)
    assert len(problems) == 5
    assert str(caught.value) == "; ".join(problems)


#            risk             idempotent  readOnly destructive idempotent (hints)
ANNOTATIONS = [
    (Risk.READ, False, True, False, True),
    (Risk.READ, True, True, False, True),
    (Risk.WRITE_LOW, False, False, False, False),
    (Risk.WRITE_LOW, True, False, False, True),
    (Risk.WRITE_HIGH, False, False, True, False),
    (Risk.WRITE_HIGH, True, False, True, True),
]


@pytest.mark.parametrize(
    "risk, idempotent, read_only, destructive, idempotent_hint", ANNOTATIONS
)
def test_annotations_are_derived_from_risk_and_idempotence(
    risk: Risk, idempotent: bool, read_only: bool, destructive: bool, idempotent_hint: bool
):
    annotations = echo_spec(risk=risk, idempotent=idempotent).annotations()

    dumped = annotations.model_dump(by_alias=True)
    assert (dumped["readOnlyHint"], dumped["destructiveHint"], dumped["idempotentHint"]) == (
        read_only, destructive, idempotent_hint
    )


@pytest.mark.parametrize("open_world", [True, False])
def test_annotations_pass_open_world_and_title_through(open_world: bool):
    annotations = echo_spec(open_world=open_world, title="Echo it").annotations()

    dumped = annotations.model_dump(by_alias=True)
    assert (dumped["openWorldHint"], dumped["title"]) == (open_world, "Echo it")


def test_meta_publishes_the_tessera_contract():
    spec = echo_spec(risk=Risk.WRITE_HIGH, data_class=DataClass.III, tenant_scoped=False,
                     errors=frozenset({ErrorCategory.NOT_FOUND, ErrorCategory.CONFLICT}))

    assert spec.meta().model_dump(mode="json") == {
        "risk": "write_high",
        "data_class": "III",
        "tenant_scoped": False,
        "errors": ["auth", "conflict", "internal", "not_found", "validation"],
        "examples": [{"text": "hello"}, {"text": "hello", "times": 3}],
    }


@pytest.mark.parametrize(
    "declared",
    [frozenset({ErrorCategory.RATE_LIMITED}),
     frozenset({ErrorCategory.VALIDATION, ErrorCategory.AUTH, ErrorCategory.INTERNAL}),
     frozenset()],
    ids=["other", "already-listed", "none"],
)
def test_meta_errors_always_include_validation_auth_and_internal(
    declared: frozenset[ErrorCategory],
):
    errors = echo_spec(errors=declared).meta().errors

    assert {"validation", "auth", "internal"} <= set(errors)
    assert set(errors) == declared | {"validation", "auth", "internal"}
    assert len(errors) == len(set(errors))


def test_input_and_output_schemas_come_from_the_models():
    spec = echo_spec()

    assert spec.input_schema["required"] == ["text"]
    assert spec.input_schema["additionalProperties"] is False
    assert set(spec.output_schema["properties"]) == {"text"}


ORDER = [DataClass.I, DataClass.II, DataClass.III, DataClass.IV]


@pytest.mark.parametrize(
    "clearance, data", list(itertools.product(ORDER, ORDER)), ids=lambda c: f"{c.value}"
)
def test_a_clearance_allows_its_own_class_and_every_lower_one(
    clearance: DataClass, data: DataClass
):
    assert clearance.allows(data) is (ORDER.index(data) <= ORDER.index(clearance))


def test_data_classes_rank_from_public_to_strictly_confidential():
    assert [c.rank for c in ORDER] == [1, 2, 3, 4]
    assert [c.value for c in DataClass] == ["I", "II", "III", "IV"]


def test_an_undocumented_field_is_reported_once_and_alone():
    assert lint_spec(echo_spec(input_model=UndocumentedInput)) == [
        "demo.echo: input field 'times' has no description"
    ]


SERVERS = sorted(registered_servers())


def test_at_least_one_server_is_registered():
    assert "memory" in SERVERS


@pytest.mark.parametrize("name", SERVERS)
def test_every_tool_of_every_registered_server_passes_lint(name: str, settings: Settings):
    server = registered_servers()[name].create(settings)

    assert server.specs, f"server {name} serves no tools"
    for spec in server.specs.values():
        assert spec.server == name
        assert lint_spec(spec) == [], spec.name
