"""One tool call of a run: check it, decide on it, make it, and turn the outcome into a message.

The loop hands each call the model asked for to `make_call`. In order:
    1. name and arguments: the tool must be one the run offers, the arguments
       valid JSON that match the tool's input schema (else: a validation error
       with a fix hint goes back to the model);
    2. policy: deny → a policy_denied error; require_approval → an approval is
       proposed and the call becomes `Held` (the loop pauses the run);
    3. the call itself, with a freshly signed call context, retried only for
       retryable errors and only within the run's retry and time budget.
Every outcome is a `CallOutcome` whose `message` is the tool message the model sees.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp.types as mcp_types

from host.federation import FederatedTool
from host.runs import RunState
from host.toolcalls import ToolCallRequest
from mcp_servers.kit.context import CallContext
from mcp_servers.kit.errors import (
    PolicyDenied,
    TesseraError,
    ValidationFailed,
)
from mcp_servers.kit.spec import DataClass
from policies.request import DecisionRequest, Outcome, ToolFacts

MAX_RESULT_CHARS = 12_000
SEARCH_TOOLS = "search_tools"


def model_name(tool: str) -> str:
    """Tool names as the model sees them: OpenAI function names may not contain dots."""
    return tool.replace(".", "__")


def tool_name(model_facing: str) -> str:
    return model_facing.replace("__", ".", 1)


def tool_facts(tool: FederatedTool) -> ToolFacts:
    """What the policy needs to know of a tool: its spec's risk and data class, its hints."""
    return ToolFacts(name=tool.name, risk=tool.risk.value, data_class=tool.data_class.value,
                     idempotent=tool.annotations.get("idempotentHint") is True,
                     open_world=tool.annotations.get("openWorldHint") is not False,
                     arguments=frozenset(tool.input_schema.get("properties", {})))


@dataclass
class CallOutcome:
    call: ToolCallRequest
    tool: str
    message: dict[str, Any]
    is_error: bool = False
    error_category: str | None = None
    invalid: bool = False  # the model's call was malformed: counts toward the fix budget
    held_approval: str | None = None  # set when the call waits for approval
    duration_ms: float = 0.0
    structured: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)


def tool_message(call_id: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content[:MAX_RESULT_CHARS]}


def error_outcome(call: ToolCallRequest, tool: str, error: TesseraError, *,
                  invalid: bool = False) -> CallOutcome:
    payload = error.to_payload().model_dump(mode="json", exclude_none=True)
    return CallOutcome(call=call, tool=tool, message=tool_message(call.id, json.dumps(payload)),
                       is_error=True, error_category=payload["error_category"], invalid=invalid,
                       structured=payload)


def result_outcome(call: ToolCallRequest, tool: str, result: mcp_types.CallToolResult,
                   started: float) -> CallOutcome:
    structured = result.structured_content
    if structured is not None:
        text = json.dumps(structured, ensure_ascii=False, default=str)
    else:
        text = "\n".join(part.text for part in result.content if isinstance(part, mcp_types.TextContent))
    category = (structured or {}).get("error_category") if result.is_error else None
    return CallOutcome(call=call, tool=tool, message=tool_message(call.id, text),
                       is_error=bool(result.is_error), error_category=category,
                       duration_ms=(time.monotonic() - started) * 1000, structured=structured)


def parse_call(call: ToolCallRequest, tools: dict[str, FederatedTool], offered: set[str],
               idempotency_key: str | None = None) -> tuple[FederatedTool, dict[str, Any]]:
    """The federated tool and validated arguments of a model's call, or ValidationFailed.

    A write whose schema takes an `idempotency_key` gets `idempotency_key` when the
    caller sent none, before validation, so the schema may require it.
    """
    name = tool_name(call.name)
    if name not in offered or name not in tools:
        raise ValidationFailed(
            f"There is no tool {call.name!r} in this conversation.",
            model_fix_hint="Call one of the offered tools, or search_tools to find another.")
    try:
        arguments = json.loads(call.arguments or "{}")
    except ValueError:
        raise ValidationFailed("The arguments are not valid JSON.",
                               model_fix_hint="Send the arguments as one JSON object.") from None
    if not isinstance(arguments, dict):
        raise ValidationFailed("The arguments must be a JSON object.",
                               model_fix_hint="Send the arguments as one JSON object.")
    tool = tools[name]
    if idempotency_key is not None:
        arguments = with_idempotency_key(tool, arguments, idempotency_key)
    problems = sorted(tool.validator.iter_errors(arguments),
                      key=lambda e: list(e.absolute_path))
    if problems:
        fields = [{"field": ".".join(str(p) for p in e.absolute_path) or "(arguments)",
                   "problem": e.validator} for e in problems[:10]]
        first = problems[0]
        raise ValidationFailed(
            f"The arguments do not match {name}'s input schema.",
            model_fix_hint=f"Fix {fields[0]['field']}: {first.message[:200]}",
            details={"fields": fields})
    return tool, arguments


def decision_request(state: RunState, tool: FederatedTool, arguments: dict[str, Any]) -> DecisionRequest:
    return DecisionRequest(tenant=state.tenant, user=state.user, roles=tuple(state.roles),
                           tool=tool_facts(tool), arguments=arguments, tainted=state.tainted)


def call_context(state: RunState, clearance: str, traceparent: str | None) -> CallContext:
    rank = min(DataClass(clearance).rank, DataClass(state.clearance).rank)
    return CallContext(tenant=state.tenant, user=state.user, roles=tuple(state.roles),
                       clearance=list(DataClass)[rank - 1], run_id=state.run_id,
                       traceparent=traceparent)


def with_idempotency_key(tool: FederatedTool, arguments: dict[str, Any], key: str) -> dict[str, Any]:
    """Writes whose schema takes an idempotency key get one derived from the run and call."""
    if "idempotency_key" in tool.input_schema.get("properties", {}) and not arguments.get("idempotency_key"):
        return {**arguments, "idempotency_key": key}
    return arguments


async def execute(federation: Any, state: RunState, call: ToolCallRequest, tool: FederatedTool,
                  arguments: dict[str, Any], context: CallContext, *, deadline: float) -> CallOutcome:
    """Make the call; retry retryable errors while the run's retry budget and time allow."""
    while True:
        started = time.monotonic()
        try:
            result = await federation.call(tool.name, arguments, context,
                                           timeout_s=max(1.0, deadline - time.monotonic()))
            outcome = result_outcome(call, tool.name, result, started)
        except TesseraError as error:
            outcome = error_outcome(call, tool.name, error)
            outcome.structured = error.to_payload().model_dump(mode="json", exclude_none=True)
        structured = outcome.structured or {}
        if not (outcome.is_error and structured.get("retryable")):
            return outcome
        if state.usage.retries >= state.limits.retries:
            return outcome
        wait = float(structured.get("retry_after_s") or 0.5)
        if time.monotonic() + wait >= deadline:
            return outcome
        state.usage.retries += 1
        await anyio.sleep(wait)


def denied(call: ToolCallRequest, tool: str, reason: str, rule: str) -> CallOutcome:
    outcome = error_outcome(call, tool, PolicyDenied(reason, details={"rule": rule}))
    outcome.details["rule"] = rule
    return outcome


__all__ = ["CallOutcome", "Outcome", "SEARCH_TOOLS", "call_context", "decision_request", "denied",
           "error_outcome", "execute", "model_name", "parse_call", "tool_facts", "tool_message",
           "with_idempotency_key"]
