"""Protocol-level conformance checks, run as an MCP client against any server.

They need nothing but an MCP connection, so they run against our servers (in
memory, over stdio or HTTP) and against anyone else's. For each tool:

- `definition`: name, description and JSON Schemas are well formed; for a
  Tessera tool also its spec in `_meta` (examples validate, annotations agree
  with the risk level).
- `examples`: each example call returns output matching the output schema, or
  an error of a category the spec declares. Writes run only when allowed.
- `malformed`: arguments the input schema rejects give an `isError` result
  (`validation` for a Tessera tool), never a JSON-RPC error or a crash.
- `no_context`: a Tessera tool called without a call context answers `auth`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import jsonschema
from fastmcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, Tool
from pydantic import ValidationError

from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.kit.errors import ErrorCategory, ToolErrorPayload
from mcp_servers.kit.spec import SPEC_META_KEY, Risk, SpecMeta

CALL_TIMEOUT_S = 30.0
TOOL_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./")

TokenFactory = Callable[[str], str]  # tenant -> call-context token for the server under test


class Outcome(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    check: str
    subject: str
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class CheckOptions:
    tokens: TokenFactory | None = None  # None: calls that need identity are skipped
    tenant: str = "conformance-a"
    allow_writes: bool = False  # run example calls of write tools too


async def protocol_checks(client: Client, options: CheckOptions) -> list[CheckResult]:
    results = [_server_info(client)]
    tools = await client.list_tools()
    results.append(
        CheckResult("tools", "server", Outcome.PASS if tools else Outcome.FAIL,
                    f"{len(tools)} tools" if tools else "the server lists no tools")
    )
    for tool in tools:
        spec = _spec_of(tool)
        results.append(_definition(tool, spec))
        results.extend(await _examples(client, tool, spec, options))
        results.append(await _malformed(client, tool, spec, options))
        results.append(await _no_context(client, tool, spec))
    return results


async def call(client: Client, name: str, arguments: dict[str, Any], token: str | None
               ) -> CallToolResult | MCPError:
    """One tool call, bounded in time; a JSON-RPC error is returned, not raised."""
    meta = {CONTEXT_META_KEY: token} if token else None
    try:
        with anyio.fail_after(CALL_TIMEOUT_S):
            return await client.call_tool_mcp(name, arguments, meta=meta)
    except MCPError as exc:
        return exc


def error_payload(result: CallToolResult) -> ToolErrorPayload | None:
    try:
        return ToolErrorPayload.model_validate(result.structured_content or {})
    except ValidationError:
        return None


def _server_info(client: Client) -> CheckResult:
    info = client.server_info
    if info is None or not info.name:
        return CheckResult("initialize", "server", Outcome.FAIL, "no serverInfo name")
    return CheckResult("initialize", "server", Outcome.PASS, f"{info.name} {info.version}")


def _spec_of(tool: Tool) -> SpecMeta | None | str:
    """The Tessera spec in the tool's _meta; None for a foreign tool; a str if malformed."""
    raw = (tool.meta or {}).get(SPEC_META_KEY)
    if raw is None:
        return None
    try:
        return SpecMeta.model_validate(raw)
    except ValidationError as exc:
        return f"malformed {SPEC_META_KEY}: {exc.errors()[0]['msg']}"


def _definition(tool: Tool, spec: SpecMeta | None | str) -> CheckResult:
    problems = []
    if not tool.name or set(tool.name) - TOOL_NAME_CHARS or len(tool.name) > 128:
        problems.append("name has characters MCP does not allow or is too long")
    if not (tool.description or "").strip():
        problems.append("no description")
    for label, schema in (("input", tool.input_schema), ("output", tool.output_schema)):
        if schema is None:
            continue
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except jsonschema.SchemaError as exc:
            problems.append(f"{label} schema is invalid: {exc.message}")
    if tool.input_schema.get("type") != "object":
        problems.append("input schema is not of type object")
    if isinstance(spec, str):
        problems.append(spec)
    elif spec is not None:
        problems.extend(_spec_problems(tool, spec))
    outcome = Outcome.FAIL if problems else Outcome.PASS
    return CheckResult("definition", tool.name, outcome, "; ".join(problems))


def _spec_problems(tool: Tool, spec: SpecMeta) -> list[str]:
    problems = []
    if len(spec.examples) < 2:
        problems.append("fewer than 2 examples")
    if not spec.errors:
        problems.append("declares no error categories")
    if tool.output_schema is None:
        problems.append("no output schema")
    for index, example in enumerate(spec.examples):
        try:
            jsonschema.validate(example, tool.input_schema)
        except jsonschema.ValidationError as exc:
            problems.append(f"example {index} breaks the input schema: {exc.message}")
    notes = tool.annotations
    if notes is None:
        problems.append("no annotations")
    elif (notes.read_only_hint, notes.destructive_hint) != (
        spec.risk is Risk.READ, spec.risk is Risk.WRITE_HIGH
    ):
        problems.append(f"annotations disagree with risk {spec.risk}")
    return problems


async def _examples(client: Client, tool: Tool, spec: SpecMeta | None | str,
                    options: CheckOptions) -> list[CheckResult]:
    if not isinstance(spec, SpecMeta):
        return [CheckResult("examples", tool.name, Outcome.SKIP, "no Tessera spec with examples")]
    if spec.risk is not Risk.READ and not options.allow_writes:
        return [CheckResult("examples", tool.name, Outcome.SKIP, "write tool; writes not allowed")]
    if options.tokens is None:
        return [CheckResult("examples", tool.name, Outcome.SKIP, "no call context available")]
    results = []
    for index, example in enumerate(spec.examples):
        outcome = await call(client, tool.name, example, options.tokens(options.tenant))
        problem = _result_problem(tool, spec, outcome)
        results.append(CheckResult(f"example {index}", tool.name,
                                   Outcome.FAIL if problem else Outcome.PASS, problem))
    return results


def _result_problem(tool: Tool, spec: SpecMeta, outcome: CallToolResult | MCPError) -> str:
    if isinstance(outcome, MCPError):
        return f"JSON-RPC error {outcome.error.code}: {outcome.error.message}"
    if outcome.is_error:
        payload = error_payload(outcome)
        if payload is None:
            return "error result without a structured error payload"
        if payload.error_category not in spec.errors:
            return f"undeclared error category {payload.error_category}: {payload.human_message}"
        return ""
    if tool.output_schema is not None:
        try:
            jsonschema.validate(outcome.structured_content, tool.output_schema)
        except jsonschema.ValidationError as exc:
            return f"output breaks the output schema: {exc.message}"
    return ""


async def _malformed(client: Client, tool: Tool, spec: SpecMeta | None | str,
                     options: CheckOptions) -> CheckResult:
    arguments = _rejected_arguments(tool, spec)
    if arguments is None:
        return CheckResult("malformed", tool.name, Outcome.SKIP, "the schema accepts anything")
    if isinstance(spec, SpecMeta) and options.tokens is None:
        return CheckResult("malformed", tool.name, Outcome.SKIP, "no call context available")
    token = options.tokens(options.tenant) if options.tokens else None
    outcome = await call(client, tool.name, arguments, token)
    if isinstance(outcome, MCPError):
        return CheckResult("malformed", tool.name, Outcome.FAIL,
                           f"JSON-RPC error {outcome.error.code} instead of an isError result")
    if not outcome.is_error:
        return CheckResult("malformed", tool.name, Outcome.FAIL, "bad arguments were accepted")
    if isinstance(spec, SpecMeta):
        payload = error_payload(outcome)
        if payload is None or payload.error_category is not ErrorCategory.VALIDATION:
            got = payload.error_category if payload else "no structured error"
            return CheckResult("malformed", tool.name, Outcome.FAIL, f"expected validation, got {got}")
    return CheckResult("malformed", tool.name, Outcome.PASS)


async def _no_context(client: Client, tool: Tool, spec: SpecMeta | None | str) -> CheckResult:
    if not isinstance(spec, SpecMeta):
        return CheckResult("no_context", tool.name, Outcome.SKIP, "not a Tessera tool")
    outcome = await call(client, tool.name, spec.examples[0] if spec.examples else {}, None)
    if isinstance(outcome, MCPError):
        return CheckResult("no_context", tool.name, Outcome.FAIL,
                           f"JSON-RPC error {outcome.error.code} instead of an auth result")
    payload = error_payload(outcome) if outcome.is_error else None
    if payload is None or payload.error_category is not ErrorCategory.AUTH:
        return CheckResult("no_context", tool.name, Outcome.FAIL,
                           "a call without a call context was not refused with auth")
    return CheckResult("no_context", tool.name, Outcome.PASS)


def _rejected_arguments(tool: Tool, spec: SpecMeta | None | str) -> dict[str, Any] | None:
    """Arguments the tool's input schema rejects, built from an example where there is one."""
    schema = tool.input_schema
    base = dict(spec.examples[0]) if isinstance(spec, SpecMeta) and spec.examples else {}
    properties = list(schema.get("properties", {}))
    bad_value = {"__tessera_unexpected__": [[None]]}
    candidates = [
        {**base, **{name: bad_value for name in properties}},
        {**base, "__tessera_unexpected_argument__": 1},
        {name: value for name, value in base.items() if name not in schema.get("required", [])},
    ]
    for arguments in candidates:
        try:
            jsonschema.validate(arguments, schema)
        except jsonschema.ValidationError:
            return arguments
    return None
