"""The federated MCP endpoint (`/mcp`): one server that shows each client what its token allows.

MCP clients and IDEs connect here with a user token (the same JWT as the chat
endpoint). They list `search_tools` plus every federated tool the policy lets
them call, and their calls take the same path as the chat's: schema check,
policy decision, approval for held calls, audit, and a signed call context to
the server. A held call answers `approval_required` with the approval id; once
an approver approves it, the same call (same arguments) runs it, exactly once.
Every call counts against the caller's rate limits, shared with chat turns; a
call over them answers `rate_limited` with `retry_after_s`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from fastmcp import FastMCP
from fastmcp.server.dependencies import get_http_headers
from fastmcp.server.middleware import Middleware, MiddlewareContext
from fastmcp.tools import Tool
from fastmcp.tools.base import ToolResult
from mcp.types import TextContent, ToolAnnotations

from host import calls as tc
from host.approvals import ApprovalStatus, args_hash
from host.auth import Principal, UserAuthenticator
from host.discovery import SEARCH_TOOLS_DESCRIPTION
from host.ratelimit import RateLimiter
from host.services import SEARCH_TOOLS_SCHEMA, HostServices
from host.toolcalls import ToolCallRequest
from mcp_servers.kit.context import CallContext
from mcp_servers.kit.errors import (
    ApprovalRequired,
    InternalError,
    NotFound,
    PolicyDenied,
    TesseraError,
)
from mcp_servers.kit.spec import DataClass
from mcp_servers.kit.store.audit import AuditEvent, append_audit
from policies.model import Channel
from policies.request import DecisionRequest, Outcome


class _Listed(Tool):
    """A federated tool as this endpoint lists it; `FederatedTools` answers its calls."""

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        # Only reachable if the middleware were removed: fail closed, as a tool error.
        return _error(InternalError("federated-tool-without-middleware"))


class FederatedTools(Middleware):
    def __init__(self, host: HostServices, auth: UserAuthenticator, limiter: RateLimiter) -> None:
        self.host = host
        self.auth = auth
        self.limiter = limiter

    def _principal(self) -> Principal:
        headers = get_http_headers(include={"authorization"})
        return self.auth.authenticate(headers.get("authorization"))

    async def on_list_tools(self, context: MiddlewareContext[Any], call_next: Any) -> Sequence[Tool]:
        try:
            who = self._principal()
        except TesseraError:
            return []
        listed: list[Tool] = [_Listed(name=tc.SEARCH_TOOLS, description=SEARCH_TOOLS_DESCRIPTION,
                                      parameters=SEARCH_TOOLS_SCHEMA,
                                      annotations=ToolAnnotations(read_only_hint=True))]
        policy = self.host.policy()
        for name, tool in sorted(self.host.federation.tools.items()):
            if policy.may_call(who.tenant, who.roles, tc.tool_facts(tool), channel=Channel.DIRECT):
                listed.append(_Listed(name=name, description=tool.description,
                                      parameters=tool.input_schema,
                                      annotations=ToolAnnotations(**_snake(tool.annotations))))
        return listed

    async def on_call_tool(self, context: MiddlewareContext[Any], call_next: Any) -> ToolResult:
        name, arguments = context.message.name, dict(context.message.arguments or {})
        try:
            who = self._principal()
            await self.limiter.admit_caller(self.host.policy(), who)  # shared with chat turns
            if name == tc.SEARCH_TOOLS:
                return await self._search(who, arguments)
            return await direct_call(self.host, who, name, arguments)
        except TesseraError as error:
            return _error(error)

    async def _search(self, who: Principal, arguments: dict[str, Any]) -> ToolResult:
        return await _search_result(self.host, who, arguments)


async def direct_call(host: HostServices, who: Principal, name: str,
                      arguments: dict[str, Any]) -> ToolResult:
    """One call from an MCP client: the chat path's checks, with approval by re-call."""
    tool = host.federation.tools.get(name)
    if tool is None:
        raise NotFound(f"There is no tool named {name!r}.",
                       model_fix_hint="List the tools, or call search_tools.")
    call = ToolCallRequest(f"mcp_{uuid.uuid4().hex[:12]}", tc.model_name(name), json.dumps(arguments))
    # Same user, tool and arguments → same key: a client's retry, or its re-call after an
    # approval, is the same write. A client that means two identical writes sends its own keys.
    key = "tessera-mcp-" + args_hash(f"{who.tenant}/{who.user}/{name}", arguments)[:32]
    tool, arguments = tc.parse_call(call, host.federation.tools, {name}, idempotency_key=key)
    decision = host.policy().decide(DecisionRequest(
        tenant=who.tenant, user=who.user, roles=who.roles, tool=tc.tool_facts(tool),
        arguments=arguments, channel=Channel.DIRECT))
    await _audit(host, who, "mcp.call", name, {"outcome": decision.outcome.value, "rule": decision.rule})
    if decision.outcome is Outcome.DENY:
        raise PolicyDenied(decision.reason, details={"rule": decision.rule})
    clearance = min(decision.clearance.rank, who.clearance.rank)
    context = CallContext(tenant=who.tenant, user=who.user, roles=who.roles,
                          clearance=list(DataClass)[clearance - 1], traceparent=host.traceparent())
    if decision.outcome is Outcome.REQUIRE_APPROVAL:
        return await _approved_or_proposed(host, who, tool, arguments, decision, context)
    return _passthrough(await host.federation.call(name, arguments, context))


async def _approved_or_proposed(host: HostServices, who: Principal, tool: Any, arguments: dict[str, Any],
                                decision: Any, context: CallContext) -> ToolResult:
    await host.approvals.expire_due(who.tenant)
    approval = await host.approvals.find_for_call(who.tenant, who.user, tool.name, arguments)
    if approval is not None and approval.status is ApprovalStatus.PROPOSED:
        raise ApprovalRequired(
            f"{tool.name} is still waiting for approval {approval.id}.",
            model_fix_hint="Tell the user; once approved, make the same call again to run it.",
            details={"approval_id": approval.id, "rule": approval.rule})
    if approval is not None and approval.status is ApprovalStatus.EXECUTED:
        return _stored(approval.result or {})
    if approval is not None:
        claimed = await host.approvals.begin_execution(who.tenant, approval.id, who.user)
        if claimed is not None:
            started = time.monotonic()
            result = await host.federation.call(tool.name, dict(claimed.arguments), context)
            stored = {"is_error": bool(result.is_error), "content": result.structured_content,
                      "duration_ms": round((time.monotonic() - started) * 1000, 1)}
            await host.approvals.finish_execution(who.tenant, claimed.id, who.user, stored)
            return _passthrough(result)
    requirement = decision.approval
    roles = sorted({role for group in requirement.approvers for role in group})
    proposed = await host.approvals.propose(
        who.tenant, requester=who.user, requester_roles=list(who.roles), tool=tool.name,
        arguments=arguments, rule=decision.rule,
        approver_roles=roles, expires_after_s=requirement.expires_after_s,
        reason="requested over the MCP endpoint",
        impact=f"{tool.name}: {json.dumps(host.policy().redactor(who.tenant).redact_obj(arguments))}"[:500])
    raise ApprovalRequired(
        f"{tool.name} needs approval; request {proposed.id} is waiting for an approver.",
        model_fix_hint="Tell the user; once approved, make the same call again to run it.",
        details={"approval_id": proposed.id, "rule": decision.rule, "approver_roles": roles})


def _passthrough(result: Any) -> ToolResult:
    return ToolResult(content=list(result.content), structured_content=result.structured_content,
                      is_error=bool(result.is_error))


def _stored(result: dict[str, Any]) -> ToolResult:
    content = result.get("content")
    structured = content if isinstance(content, dict) else None
    text = json.dumps(content, ensure_ascii=False, default=str)
    return ToolResult(content=[TextContent(type="text", text=text)], structured_content=structured,
                      is_error=bool(result.get("is_error")))


def _error(error: TesseraError) -> ToolResult:
    payload = error.to_payload()
    return ToolResult(
        content=[TextContent(type="text", text=f"{payload.error_category.value}: "
                             f"{payload.human_message} {payload.model_fix_hint}")],
        structured_content=payload.model_dump(mode="json", exclude_none=True), is_error=True)


async def _audit(host: HostServices, who: Principal, action: str, target: str,
                 details: dict[str, Any]) -> None:
    async with host.runs.store.tenant(who.tenant) as conn:
        await append_audit(conn, AuditEvent(actor=who.user, action=action, target=target,
                                            details=details))


def _snake(annotations: dict[str, Any]) -> dict[str, Any]:
    names = {"readOnlyHint": "read_only_hint", "destructiveHint": "destructive_hint",
             "idempotentHint": "idempotent_hint", "openWorldHint": "open_world_hint", "title": "title"}
    return {names[k]: v for k, v in annotations.items() if k in names}


def federated_mcp(host: HostServices, auth: UserAuthenticator, limiter: RateLimiter) -> FastMCP:
    mcp = FastMCP("tessera", instructions=(
        "Tessera's federated tools. Call search_tools to find the right tool for a task. "
        "Some writes need a human approver: such a call answers approval_required with an "
        "approval id; after approval, repeat the same call to run it."))
    mcp.add_middleware(FederatedTools(host, auth, limiter))
    return mcp


async def _search_result(host: HostServices, who: Principal, arguments: dict[str, Any]) -> ToolResult:
    body = (await host.find_tools(who.tenant, who.roles, arguments)).model_dump(mode="json")
    return ToolResult(content=[TextContent(type="text", text=json.dumps(body))], structured_content=body)