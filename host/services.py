"""Everything a run needs, in one place: `HostServices`, built once when the host starts.

The loop reads top to bottom because the details live here: which tools a run
offers the model and how they are named, how `search_tools` adds tools, how a
held call becomes an approval and how a decided approval settles, what gets
redacted and recorded, and what a stopped run tells the user.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from pydantic import ValidationError

from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from host import calls as tc
from host.approvals import ApprovalStatus, ApprovalStore
from host.budgets import TenantUsage
from host.conversations import ConversationStore
from host.discovery import (
    SEARCH_TOOLS_DESCRIPTION,
    CatalogView,
    SearchToolsInput,
    SearchToolsOutput,
    ToolCatalog,
)
from host.federation import Federation
from host.llm import ModelClient
from host.runs import PendingCall, RunState, RunStore
from host.settings import HostSettings
from host.toolcalls import ToolCallRequest
from mcp_servers.kit.errors import (
    ApprovalRequired,
    PolicyDenied,
    TesseraError,
    validation_failed_from,
)
from mcp_servers.kit.store.audit import AuditEvent
from policies.decision import Policy, UnknownTenant
from policies.store import PolicyStore

CITATION_TOOL = "citations.attribute"
SEARCH_TOOLS_SCHEMA = SearchToolsInput.model_json_schema()


@dataclass
class HostServices:
    settings: HostSettings
    federation: Federation
    model: ModelClient
    policies: PolicyStore
    catalog: ToolCatalog
    runs: RunStore
    approvals: ApprovalStore
    usage: TenantUsage
    conversations: ConversationStore

    # --- policy -------------------------------------------------------------------------

    def policy(self) -> Policy:
        return self.policies.current()

    def tokens_per_day(self, state: RunState) -> int:
        try:
            budget = self.policy().budgets_for(state.tenant, state.roles).tokens_per_day
        except UnknownTenant:
            budget = self.settings.tenant_tokens_per_day
        return min(budget, self.settings.tenant_tokens_per_day)

    def view(self, tenant: str, roles: list[str] | tuple[str, ...], *, tainted: bool = False) -> CatalogView:
        """The catalog as this caller may see it: filtered by policy before any ranking."""
        policy = self.policy()
        tools = self.federation.tools
        allowed = {name for name, tool in tools.items()
                   if policy.may_call(tenant, roles, tc.tool_facts(tool), tainted=tainted)}
        return self.catalog.view(lambda name: name in allowed)

    def redact(self, state: RunState, value: Any) -> Any:
        return self.policy().redactor(state.tenant).redact_obj(value)

    # --- the tools a run offers -----------------------------------------------------------

    def tool_definitions(self, state: RunState) -> list[dict[str, Any]]:
        definitions = [_function(tc.SEARCH_TOOLS, SEARCH_TOOLS_DESCRIPTION, SEARCH_TOOLS_SCHEMA)]
        for name in state.toolset:
            tool = self.federation.tools.get(name)
            if tool is not None:
                definitions.append(_function(tc.model_name(name), tool.description, tool.input_schema))
        return definitions

    async def find_tools(self, tenant: str, roles: Sequence[str], arguments: Any, *,
                         tainted: bool = False) -> SearchToolsOutput:
        """`search_tools` for a caller (chat or /mcp): validated, policy-filtered, ranked."""
        try:
            wanted = SearchToolsInput.model_validate(arguments)
        except ValidationError as error:
            raise validation_failed_from(error) from None
        result = await self.view(tenant, roles, tainted=tainted).search(wanted.query, wanted.k)
        return SearchToolsOutput.from_result(result)

    async def search_tools(self, state: RunState, call: ToolCallRequest) -> tc.CallOutcome:
        try:  # arguments that are not JSON fail the input model like any other bad value
            answer = await self.find_tools(state.tenant, state.roles, _safe_json(call.arguments),
                                           tainted=state.tainted)
        except TesseraError as error:
            return tc.error_outcome(call, tc.SEARCH_TOOLS, error, invalid=True)
        state.toolset.extend(t.name for t in answer.tools if t.name not in state.toolset)
        for found in answer.tools:  # the model calls them by the names it is offered
            found.name = tc.model_name(found.name)
        body = answer.model_dump(mode="json")
        return tc.CallOutcome(call=call, tool=tc.SEARCH_TOOLS,
                              message=tc.tool_message(call.id, json.dumps(body)), structured=body)

    # --- approvals ------------------------------------------------------------------------

    async def propose(self, state: RunState, call: ToolCallRequest, tool: Any,
                      arguments: dict[str, Any], decision: Any, reasoning: str) -> tc.CallOutcome:
        requirement = decision.approval
        roles = sorted({role for group in requirement.approvers for role in group})
        shown = self.redact(state, arguments)
        impact = f"{tool.name}: " + ", ".join(f"{k}={json.dumps(v, default=str)}"
                                              for k, v in shown.items() if k != "idempotency_key")
        approval = await self.approvals.propose(
            state.tenant, requester=state.user, requester_roles=list(state.roles), tool=tool.name, arguments=arguments,
            rule=decision.rule, approver_roles=roles, expires_after_s=requirement.expires_after_s,
            run_id=state.run_id, tool_call_id=call.id,
            reason=reasoning or _last_user_message(state), impact=impact[:500])
        outcome = tc.error_outcome(call, tool.name, ApprovalRequired(
            f"{tool.name} waits for approval {approval.id}.", details={"approval_id": approval.id}))
        outcome.held_approval = approval.id
        outcome.details = {"rule": decision.rule, "impact": approval.impact,
                           "approver_roles": roles, "expires_at": approval.expires_at.isoformat()}
        return outcome

    async def settle(self, state: RunState, pending: PendingCall) -> dict[str, Any] | None:
        """The tool message that settles a paused call, or None while it still waits."""
        await self.approvals.expire_due(state.tenant)
        approval = await self.approvals.get(state.tenant, pending.approval_id)
        call_id = pending.tool_call_id
        if approval.status is ApprovalStatus.PROPOSED:
            return None
        if approval.status is ApprovalStatus.REJECTED:
            state.notes.append(f"{approval.tool} was rejected by {approval.decided_by}")
            error = PolicyDenied(f"The approver rejected the call. {approval.decision_note or ''}".strip(),
                                 details={"approval_id": approval.id})
            return tc.error_outcome(ToolCallRequest(call_id, approval.tool, "{}"), approval.tool,
                                    error).message
        if approval.status is ApprovalStatus.EXPIRED:
            state.notes.append(f"{approval.tool} was not done: its approval expired")
            error = PolicyDenied("The approval expired; the call was not made.",
                                 details={"approval_id": approval.id})
            return tc.error_outcome(ToolCallRequest(call_id, approval.tool, "{}"), approval.tool,
                                    error).message
        if approval.status is ApprovalStatus.EXECUTED:
            return tc.tool_message(call_id, json.dumps(approval.result or {}))
        claimed = await self.approvals.begin_execution(state.tenant, approval.id, state.user)
        if claimed is None:
            return None
        outcome = await self.execute_approved(state, call_id, claimed)
        return outcome.message

    async def execute_approved(self, state: RunState, call_id: str, approval: Any) -> tc.CallOutcome:
        tool = self.federation.tool(approval.tool)
        call = ToolCallRequest(call_id, tc.model_name(approval.tool), json.dumps(approval.arguments))
        context = tc.call_context(state, state.clearance, self.traceparent())
        outcome = await tc.execute(self.federation, state, call, tool, dict(approval.arguments),
                                   context, deadline=time.monotonic() + self.settings.max_wall_s)
        result = {"is_error": outcome.is_error, "content": outcome.structured
                  if outcome.structured is not None else outcome.message["content"]}
        if outcome.error_category not in ("upstream_timeout", "upstream_unavailable"):
            await self.approvals.finish_execution(state.tenant, approval.id, state.user, result)
        return outcome

    # --- records --------------------------------------------------------------------------

    @staticmethod
    def traceparent() -> str | None:
        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier)
        return carrier.get("traceparent")

    def note_retrieval(self, state: RunState, tool: str, outcome: tc.CallOutcome) -> None:
        hits = (outcome.structured or {}).get("hits") if not outcome.is_error else None
        for hit in hits or []:
            chunk = hit.get("chunk_id") if isinstance(hit, dict) else None
            if chunk and chunk not in state.retrieved_chunks:
                state.retrieved_chunks.append(str(chunk))

    def call_record(self, state: RunState, outcome: tc.CallOutcome) -> dict[str, Any]:
        return {"id": outcome.call.id, "tool": outcome.tool, "is_error": outcome.is_error,
                "error_category": outcome.error_category,
                "duration_ms": round(outcome.duration_ms, 1),
                "arguments": self.redact(state, _safe_json(outcome.call.arguments))}

    async def decided(self, state: RunState, tool: str, decision: Any) -> None:
        """A policy decision goes into the run's record and the tenant's audit log, with its rule."""
        details = {"tool": tool, "outcome": decision.outcome.value, "rule": decision.rule}
        await self.record(state, "decision", details)
        self.runs.audit(state, AuditEvent(actor=state.user, action="policy.decision",
                                          target=f"run:{state.run_id}",
                                          details={**details, "policy": decision.policy_digest}))

    def charge(self, state: RunState, *, tokens: int, cost: float) -> None:
        """Add a model call to the tenant's usage today, in the step's save (`RunStore.on_save`).

        Until then the run counts the tokens itself, so its next check sees them.
        """
        if state.tenant_tokens_today is not None:
            state.tenant_tokens_today += tokens

        async def write(conn: AsyncConnection) -> None:
            state.tenant_tokens_today = await TenantUsage.charge(conn, tokens=tokens, cost=cost)

        self.runs.on_save(state, write, spent=True)

    def answered(self, state: RunState, text: str) -> None:
        """The final answer joins the conversation, in the run's last save."""
        if not state.conversation_id:
            return
        conversation, redacted = state.conversation_id, self.redact(state, text)

        async def write(conn: AsyncConnection) -> None:
            await ConversationStore.add_message(conn, conversation, "assistant", redacted, state.run_id)

        self.runs.on_save(state, write)

    async def fold_history(self, state: RunState) -> None:
        """Fold the conversation's oldest messages into its summary once it has grown past the limit."""
        if state.conversation_id and state.history_length + 2 > self.conversations.keep:
            await self.conversations.compact(state.tenant, state.conversation_id)

    async def record(self, state: RunState, kind: str, payload: dict[str, Any]) -> None:
        self.runs.record(state, kind, self.redact(state, payload))

    def stop_message(self, state: RunState, reason: str) -> str:
        lines = [f"I stopped because {reason}."]
        lines.append(f"Done: {', '.join(state.done)}." if state.done else "No tool call was completed.")
        lines.extend(f"Not done: {note}." for note in state.notes)
        return " ".join(lines)

    async def citations(self, state: RunState, answer: str) -> list[dict[str, Any]]:
        """Claim-level support for the answer, when chunks were read and citations is federated."""
        if not answer or not state.retrieved_chunks or CITATION_TOOL not in self.federation.tools:
            return []
        context = tc.call_context(state, state.clearance, self.traceparent())
        try:
            result = await self.federation.call(
                CITATION_TOOL, {"answer": answer[:8000], "chunk_ids": state.retrieved_chunks[:50]},
                context)
        except Exception:  # citations are a help, never a reason to lose the answer
            return []
        if result.is_error or not result.structured_content:
            return []
        return list(result.structured_content.get("claims", []))


def _function(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description[:1024],
                                             "parameters": schema or {"type": "object"}}}


def _last_user_message(state: RunState) -> str:
    for message in reversed(state.messages):
        if message.get("role") == "user":
            return str(message.get("content", ""))[:500]
    return ""


def _safe_json(text: str) -> Any:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return {"unparsed": text[:200]}
