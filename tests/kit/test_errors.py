"""The error taxonomy: categories, their classes, the wire payload, validation details."""

from __future__ import annotations

import enum
import inspect
import json
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mcp_servers.kit import errors
from mcp_servers.kit.errors import (
    ERROR_CLASSES,
    ErrorCategory,
    InternalError,
    TesseraError,
    ToolErrorPayload,
    ValidationFailed,
    validation_failed_from,
)

BRIEF_CATEGORIES = {
    "validation", "not_found", "auth", "forbidden", "policy_denied", "approval_required",
    "rate_limited", "budget_exceeded", "upstream_timeout", "upstream_unavailable", "conflict",
    "internal",
}
RETRYABLE = {"rate_limited", "upstream_timeout", "upstream_unavailable"}
SECRET = "sk-live-7f3a9c2e51b84d06"

CATEGORIES = list(ErrorCategory)
RAISABLE_WITH_A_MESSAGE = [c for c in ErrorCategory if c is not ErrorCategory.INTERNAL]


def test_the_categories_are_the_twelve_of_the_brief():
    assert {category.value for category in ErrorCategory} == BRIEF_CATEGORIES


def test_every_category_has_exactly_one_error_class():
    classes = list(ERROR_CLASSES.values())

    assert set(ERROR_CLASSES) == set(ErrorCategory)
    assert len(set(classes)) == len(classes) == 12
    assert all(cls.category is category for category, cls in ERROR_CLASSES.items())


def test_every_error_class_in_the_module_is_registered():
    defined = {
        cls for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, TesseraError) and cls is not TesseraError
    }

    assert defined == set(ERROR_CLASSES.values())


@pytest.mark.parametrize("category", CATEGORIES, ids=str)
def test_only_rate_limits_and_upstream_outages_are_retryable(category: ErrorCategory):
    assert ERROR_CLASSES[category].retryable is (category.value in RETRYABLE)


def test_each_category_has_its_own_default_hint():
    hints = [cls.default_hint for cls in ERROR_CLASSES.values()]

    assert len(set(hints)) == len(hints)
    assert TesseraError.default_hint not in hints


@pytest.mark.parametrize("category", RAISABLE_WITH_A_MESSAGE, ids=str)
def test_the_payload_has_the_wire_shape(category: ErrorCategory):
    error = ERROR_CLASSES[category]("Plant 1000 is not known.")

    assert error.to_payload().model_dump(mode="json", exclude_none=True) == {
        "error_category": category.value,
        "human_message": "Plant 1000 is not known.",
        "model_fix_hint": ERROR_CLASSES[category].default_hint,
        "retryable": category.value in RETRYABLE,
    }


def test_the_payload_carries_retry_after_and_details_when_given():
    error = errors.RateLimited(
        "Too many calls to SAP.",
        model_fix_hint="Wait two seconds.",
        retry_after_s=2.0,
        details={"limit": "10/s"},
    )

    assert error.to_payload().model_dump(mode="json", exclude_none=True) == {
        "error_category": "rate_limited",
        "human_message": "Too many calls to SAP.",
        "model_fix_hint": "Wait two seconds.",
        "retryable": True,
        "retry_after_s": 2.0,
        "details": {"limit": "10/s"},
    }


def test_the_payload_schema_requires_four_fields_and_allows_two_more():
    schema = ToolErrorPayload.model_json_schema()

    assert set(schema["required"]) == {
        "error_category", "human_message", "model_fix_hint", "retryable"
    }
    assert set(schema["properties"]) == set(schema["required"]) | {"retry_after_s", "details"}
    assert all(prop.get("description") for prop in schema["properties"].values())


def test_the_payload_refuses_unknown_fields():
    with pytest.raises(ValidationError, match="extra"):
        ToolErrorPayload(
            error_category="conflict", human_message="m", model_fix_hint="h", retryable=False,
            traceback="...",
        )


def test_the_exception_text_is_the_human_message():
    error = errors.Conflict("The order changed since you read it.")

    assert (str(error), error.human_message) == ("The order changed since you read it.",) * 2


def test_an_internal_error_carries_only_its_correlation_id():
    payload = InternalError("c0ffee1234567890").to_payload()

    assert payload.details == {"correlation_id": "c0ffee1234567890"}
    assert payload.human_message == (
        "The server failed unexpectedly (correlation id c0ffee1234567890)."
    )
    assert (payload.error_category, payload.retryable, payload.retry_after_s) == (
        ErrorCategory.INTERNAL, False, None
    )


def test_an_internal_error_cannot_be_given_a_message():
    assert list(inspect.signature(InternalError).parameters) == ["correlation_id"]
    with pytest.raises(TypeError):
        InternalError("abc", details={"sql": "SELECT secret"})  # type: ignore[call-arg]


class Unit(enum.StrEnum):
    KG = "kg"
    PIECE = "pc"


class Line(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=8, description="Material number.")
    qty: int = Field(ge=1, le=100, description="Quantity.")
    unit: Unit = Field(default=Unit.PIECE, description="Unit of measure.")


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Line] = Field(min_length=1, max_length=3, description="Order lines.")
    price: float = Field(default=1.0, gt=0, description="Net price.")
    discount: float = Field(default=0.0, lt=1, description="Discount fraction.")
    priority: Literal["low", "high"] = Field(default="low", description="Priority.")
    plant: str = Field(default="1000", description="Plant.")


def line(**changes: Any) -> dict[str, Any]:
    return {"sku": "A-1", "qty": 2} | changes


def validation_error(model: type[BaseModel], data: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return caught.value


FIELD_PROBLEMS = [
    pytest.param({"items": [{"sku": "A-1"}]}, "items.0.qty", "a value (this field is required)",
                 id="missing-nested"),
    pytest.param({}, "items", "a value (this field is required)", id="missing-top-level"),
    pytest.param({"items": [line()], "note": "x"}, "note", "no such field (remove it)",
                 id="extra-top-level"),
    pytest.param({"items": [line(), line(colour="red")]}, "items.1.colour",
                 "no such field (remove it)", id="extra-nested"),
    pytest.param({"items": [line(qty="many")]}, "items.0.qty", "a valid int", id="type-int"),
    pytest.param({"items": [line(sku=12)]}, "items.0.sku", "a valid string", id="type-string"),
    pytest.param({"items": "A-1"}, "items", "a valid list", id="type-list"),
    pytest.param({"items": [line(qty=0)]}, "items.0.qty", "a number >= 1", id="range-ge"),
    pytest.param({"items": [line(qty=101)]}, "items.0.qty", "a number <= 100", id="range-le"),
    pytest.param({"items": [line()], "price": 0}, "price", "a number > 0.0", id="range-gt"),
    pytest.param({"items": [line()], "discount": 1}, "discount", "a number < 1.0", id="range-lt"),
    pytest.param({"items": [line(sku="")]}, "items.0.sku", "at least 1 characters/items",
                 id="length-string-short"),
    pytest.param({"items": [line(sku="A-123456789")]}, "items.0.sku", "at most 8 characters/items",
                 id="length-string-long"),
    pytest.param({"items": []}, "items", "at least 1 characters/items", id="length-list-short"),
    pytest.param({"items": [line()] * 4}, "items", "at most 3 characters/items",
                 id="length-list-long"),
    pytest.param({"items": [line(unit="lb")]}, "items.0.unit", "one of 'kg' or 'pc'", id="enum"),
    pytest.param({"items": [line()], "priority": "urgent"}, "priority", "one of 'low' or 'high'",
                 id="literal"),
    pytest.param([], "(arguments)", "a valid model", id="not-an-object"),
]


@pytest.mark.parametrize("data, path, expected", FIELD_PROBLEMS)
def test_validation_failed_names_the_field_and_what_was_expected(
    data: Any, path: str, expected: str
):
    error = validation_failed_from(validation_error(Order, data))

    [field] = error.details["fields"]
    assert (field["field"], field["expected"]) == (path, expected)
    assert field["problem"]
    assert f"{path}: {field['problem']}" in error.human_message


def test_validation_failed_lists_every_bad_field():
    data = {"items": [line(qty=0), {"sku": ""}], "priority": "urgent", "extra": 1}

    error = validation_failed_from(validation_error(Order, data))

    assert [f["field"] for f in error.details["fields"]] == [
        "items.0.qty", "items.1.sku", "items.1.qty", "priority", "extra"
    ]
    assert error.human_message.count(";") == 4


def test_validation_failed_is_a_non_retryable_validation_error():
    error = validation_failed_from(validation_error(Order, {}))
    payload = error.to_payload()

    assert isinstance(error, ValidationFailed)
    assert (payload.error_category, payload.retryable) == (ErrorCategory.VALIDATION, False)
    assert "details.fields" in payload.model_fix_hint


SECRET_INPUTS = [
    pytest.param({"items": [line(qty=SECRET)]}, id="type"),
    pytest.param({"items": [line(sku=SECRET)]}, id="too-long"),
    pytest.param({"items": [line(unit=SECRET)]}, id="enum"),
    pytest.param({"items": [line()], "priority": SECRET}, id="literal"),
    pytest.param({"items": [line()], "price": SECRET}, id="float"),
    pytest.param({"items": [line()], "debug": SECRET}, id="extra-field-value"),
    pytest.param({"items": SECRET}, id="list-type"),
    pytest.param({"items": [line(), line(), line(), line(sku=SECRET)]}, id="list-too-long"),
    pytest.param({"items": [line()], "plant": [SECRET]}, id="string-type"),
]


@pytest.mark.parametrize("data", SECRET_INPUTS)
def test_validation_failed_never_echoes_the_bad_input(data: dict[str, Any]):
    error = validation_failed_from(validation_error(Order, data))

    assert error.details["fields"]
    assert SECRET not in json.dumps(error.to_payload().model_dump(mode="json"))
    assert SECRET not in str(error)


class Pallet(BaseModel):
    kind: Literal["pallet"] = Field(description="Discriminator.")


class Crate(BaseModel):
    kind: Literal["crate"] = Field(description="Discriminator.")


class Shipment(BaseModel):
    package: Annotated[Pallet | Crate, Field(discriminator="kind")] = Field(description="Package.")


def test_validation_failed_never_echoes_a_bad_union_tag():
    error = validation_failed_from(validation_error(Shipment, {"package": {"kind": SECRET}}))

    assert error.details["fields"][0]["field"] == "package"
    assert SECRET not in json.dumps(error.to_payload().model_dump(mode="json"))
