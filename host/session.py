"""A chat turn: a user's message becomes a run with a prompt, a toolset and a budget.

The prompt is the system prompt, the conversation's rolling summary, what the
memory server recalls about the user (when the caller may use it), the recent
messages, and the new message. The run then goes to the loop (`host.loop.drive`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from host import calls as tc
from host.auth import Principal
from host.budgets import run_limits
from host.events import Emit, RunEvent
from host.loop import RunResult, drive
from host.runs import RunState, new_run_id
from host.services import HostServices
from policies.decision import UnknownTenant

MEMORY_TOOL = "memory.recall"
SYSTEM_PROMPT = """You are Tessera, the assistant of {tenant}'s plant staff. Today is {today}.
Answer from what the tools return, never from guesses; cite the documents you used.
You offer a few tools now; call search_tools to find others for the task at hand.
Changes in SAP or MES may need a human approver: when a call waits for approval, tell the
user its approval id and that the change happens only once it is approved.
Be brief and concrete."""


def prompt_hash(system: str, tools: list[dict[str, Any]]) -> str:
    blob = json.dumps({"system": system, "tools": tools}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


async def start_run(host: HostServices, who: Principal, conversation_id: str, text: str,
                    emit: Emit) -> RunResult:
    # What is kept is redacted by the tenant's PII patterns; this turn still sees the words as typed.
    history = await host.conversations.open(who.tenant, who.user, conversation_id,
                                            host.policy().redactor(who.tenant).redact(text))
    system = SYSTEM_PROMPT.format(tenant=who.tenant, today=dt.date.today().isoformat())
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    if history.summary:
        messages.append({"role": "system", "content": f"Earlier in this conversation: {history.summary}"})
    view = host.view(who.tenant, who.roles)
    remembered = await recall(host, who, view, text)
    if remembered:
        messages.append({"role": "system", "content": "What you know about this user:\n" + remembered})
    messages.extend(history.messages)
    messages.append({"role": "user", "content": text})
    try:
        budgets = host.policy().budgets_for(who.tenant, who.roles)
    except UnknownTenant:
        budgets = None
    state = RunState(
        run_id=new_run_id(), tenant=who.tenant, user=who.user, roles=list(who.roles),
        clearance=who.clearance.value, conversation_id=conversation_id, messages=messages,
        toolset=[tool.name for tool in view.core_tools(who.tenant)],
        limits=run_limits(host.settings, budgets), history_length=len(history.messages),
    )
    await host.runs.create(
        state, model=host.model.model_for(state.tier),
        prompt_hash=prompt_hash(SYSTEM_PROMPT, host.tool_definitions(state)),
        config_version=host.policy().digest, toolset_version=str(host.federation.version),
        lease_s=host.settings.run_lease_s)
    await emit(RunEvent(type="run_started", run_id=state.run_id,
                        data={"conversation_id": conversation_id}))
    return await drive(state, host, emit)


async def recall(host: HostServices, who: Principal, view: Any, text: str) -> str:
    """The user's memories relevant to this message, when the memory server is there and allowed."""
    if view.get(MEMORY_TOOL) is None or MEMORY_TOOL not in host.federation.tools:
        return ""
    state_like = RunState(run_id="recall", tenant=who.tenant, user=who.user, roles=list(who.roles),
                          clearance=who.clearance.value, messages=[],
                          limits=run_limits(host.settings, None))
    context = tc.call_context(state_like, who.clearance.value, host.traceparent())
    try:
        result = await host.federation.call(MEMORY_TOOL, {"query": text[:500], "k": 5}, context)
    except Exception:  # memory is a help; a run never fails for want of it
        return ""
    if result.is_error or not result.structured_content:
        return ""
    return "\n".join(f"- {m['content']}" for m in result.structured_content.get("memories", [])[:5])
