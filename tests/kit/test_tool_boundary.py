"""The kit's one boundary: every outcome of a tool call becomes a well-formed result."""

from __future__ import annotations

import json
import logging

import pytest
from fastmcp import Client

from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.kit.errors import ERROR_CLASSES, ErrorCategory, ToolErrorPayload
from tests.kit.toy_server import SECRET_TEXT, build

pytestmark = pytest.mark.anyio


@pytest.fixture
async def toy(settings, anyio_backend):
    async with Client(build(settings).mcp) as client:
        yield client


async def _call(toy, tokens, arguments, **identity):
    token = tokens(audience="toy", **identity)
    return await toy.call_tool_mcp("toy.fail", arguments, meta={CONTEXT_META_KEY: token})


@pytest.mark.parametrize("category", [c for c in ErrorCategory if c is not ErrorCategory.INTERNAL])
async def test_each_taxonomy_error_becomes_a_structured_error_result(toy, tokens, category):
    result = await _call(toy, tokens, {"category": category.value})

    assert result.is_error
    payload = ToolErrorPayload.model_validate(result.structured_content)
    assert payload.error_category is category
    assert payload.human_message == f"{category} happened"
    assert payload.retryable is ERROR_CLASSES[category].retryable
    assert (payload.retry_after_s == 3.0) is payload.retryable
    assert payload.model_fix_hint
    assert category.value in result.content[0].text


async def test_an_unexpected_exception_is_internal_with_a_correlation_id_and_no_detail(
    toy, tokens, caplog
):
    with caplog.at_level(logging.ERROR, logger="tessera.tool"):
        result = await _call(toy, tokens, {"crash": True})

    payload = ToolErrorPayload.model_validate(result.structured_content)
    assert payload.error_category is ErrorCategory.INTERNAL
    correlation_id = payload.details["correlation_id"]
    wire = json.dumps(result.model_dump(mode="json"))
    assert "hunter2" not in wire and "RuntimeError" not in wire and "Traceback" not in wire
    # The detail goes to the log, under the same correlation id, for the operator.
    logged = [r for r in caplog.records if correlation_id in r.getMessage()]
    assert logged and SECRET_TEXT in str(logged[0].exc_info[1])


async def test_output_that_breaks_the_output_schema_is_internal(toy, tokens):
    result = await _call(toy, tokens, {"bad_output": True})
    assert result.structured_content["error_category"] == "internal"


async def test_the_handler_sees_only_the_verified_context(toy, tokens):
    result = await _call(toy, tokens, {}, tenant="globex", user="gus", roles=("buyer",))
    assert not result.is_error
    assert result.structured_content == {"tenant": "globex", "user": "gus", "roles": ["buyer"]}


async def test_a_context_for_another_server_is_refused(toy, tokens):
    token = tokens(audience="memory")
    result = await toy.call_tool_mcp("toy.fail", {}, meta={CONTEXT_META_KEY: token})
    assert result.structured_content["error_category"] == "auth"


async def test_auth_is_checked_before_arguments(toy):
    result = await toy.call_tool_mcp("toy.fail", {"category": "nonsense"})
    assert result.structured_content["error_category"] == "auth"


async def test_unknown_arguments_are_a_validation_error(toy, tokens):
    result = await _call(toy, tokens, {"categroy": "auth"})
    payload = result.structured_content
    assert payload["error_category"] == "validation"
    assert payload["details"]["fields"] == [
        {"field": "categroy", "problem": "Extra inputs are not permitted",
         "expected": "no such field (remove it)"}
    ]


async def test_an_unknown_tool_is_a_structured_not_found(toy, tokens):
    result = await toy.call_tool_mcp("toy.nope", {}, meta={CONTEXT_META_KEY: tokens(audience="toy")})
    assert result.is_error
    assert result.structured_content["error_category"] == "not_found"


async def test_listed_tools_carry_the_spec_and_derived_annotations(toy):
    [tool] = await toy.list_tools()
    assert tool.annotations.read_only_hint is True
    assert tool.annotations.destructive_hint is False
    spec = tool.meta["io.tessera/spec"]
    assert spec["risk"] == "read" and spec["data_class"] == "I"
    assert spec["examples"] == [{"category": "not_found"}, {"crash": True}]
    assert tool.output_schema["properties"].keys() == {"tenant", "user", "roles"}
