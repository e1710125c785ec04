"""The run loop: a question becomes a short, budgeted sequence of tool calls and an answer.

    1. Check the run's budget; when something is spent, stop and say what was done.
    2. Ask the model for the next step, offering the core tools and those it discovered;
       a reply it was unsure of is asked again, once, at a stronger tier (`escalation`).
    3. An answer ends the run. Tool calls are checked (schema, policy) and made,
       independent reads in parallel (`host.calls`).
    4. A call that needs approval pauses the run; its state is already in PostgreSQL,
       and `resume_run` continues it on any host process once the approval is decided.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import anyio

from host import calls as tc
from host.budgets import spent
from host.events import Emit, RunEvent
from host.llm import ModelReply, escalate
from host.runs import LeaseLost, PendingCall, RunState, Stopwatch
from host.services import HostServices
from host.toolcalls import ToolCallRequest
from host.tracing import tracer
from mcp_servers.kit.errors import (
    ApprovalRequired,
    BudgetExceeded,
    TesseraError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mcp_servers.kit.spec import Risk
from policies.request import Outcome

logger = logging.getLogger("tessera.host.loop")


@dataclass(frozen=True)
class Answer:
    text: str


@dataclass(frozen=True)
class CallTools:
    calls: tuple[ToolCallRequest, ...]
    reasoning: str


@dataclass(frozen=True)
class Stopped:
    reason: str


Step = Answer | CallTools | Stopped


@dataclass(frozen=True)
class RunResult:
    run_id: str
    status: str  # finished | paused | failed | handed_over
    answer: str
    approval_id: str | None = None


async def drive(state: RunState, host: HostServices, emit: Emit) -> RunResult:
    """Run until an answer, a pause for approval, or a spent budget (see the module docstring)."""
    try:
        return await _drive(state, host, emit)
    except LeaseLost:  # this process stalled past its lease and another took the run over
        logger.warning("run %s was taken over by another host process", state.run_id)
        await emit(RunEvent(type="run_finished", run_id=state.run_id, data={
            "status": "handed_over", "usage": state.usage.model_dump(), "cost": state.usage.cost}))
        return RunResult(state.run_id, "handed_over", "")
    except TesseraError as error:  # a part the run needs failed: the database timed out, ...
        logger.warning("run %s stopped: %s", state.run_id, error.human_message)
        host.runs.held.pop(state.run_id, None)
        return await finish(state, host, emit, stopped=f"a service it needs failed ({error.human_message})")
    except Exception:  # our bug: the user gets a reference, the log the rest
        reference = uuid.uuid4().hex[:12]
        logger.exception("run %s failed [reference %s]", state.run_id, reference)
        host.runs.held.pop(state.run_id, None)
        return await finish(state, host, emit, stopped=f"an internal error occurred (reference {reference})")


async def _drive(state: RunState, host: HostServices, emit: Emit) -> RunResult:
    with tracer.start_as_current_span("tessera.run", attributes={
            "tessera.run_id": state.run_id, "tessera.tenant": state.tenant}):
        return await _steps(state, host, emit)


async def _steps(state: RunState, host: HostServices, emit: Emit) -> RunResult:
    clock = Stopwatch(state.usage)
    while True:
        clock.lap()
        if (limit := spent(state)) is not None:
            return await finish(state, host, emit, stopped=f"the run used {limit}")
        step = unanswered(state) or await next_step(state, host, emit)
        clock.lap()
        if isinstance(step, Answer):
            return await finish(state, host, emit, answer=step.text)
        if isinstance(step, Stopped):
            return await finish(state, host, emit, stopped=step.reason)
        outcome = await perform(step, state, host, emit, clock)
        if isinstance(outcome, Stopped):
            return await finish(state, host, emit, stopped=outcome.reason)
        if outcome is not None:
            return await pause(state, host, emit, outcome)


async def next_step(state: RunState, host: HostServices, emit: Emit) -> Step:
    """One model turn: an answer, tool calls, or a reason to stop.

    A reply less sure than TESSERA_HOST_ESCALATE_BELOW_CONFIDENCE is set aside (its tokens
    still count) and the turn is asked again, once, at a stronger tier: see `escalation`.
    """
    try:
        reply, stronger = await ask(state, host, emit, may_escalate=True)
        if stronger is not None:
            await host.record(state, "escalation", {
                "from": state.tier, "to": stronger, "reason": "low_confidence",
                "confidence": reply.confidence, "threshold": host.settings.escalate_below_confidence})
            state.tier = stronger
            reply, _ = await ask(state, host, emit, may_escalate=False)
    except BudgetExceeded as error:
        return Stopped(error.human_message)
    except (UpstreamTimeout, UpstreamUnavailable) as error:
        return Stopped(f"the model endpoint failed ({error.human_message})")
    if not reply.tool_calls:
        return Answer(reply.text)
    state.messages.append({
        "role": "assistant", "content": reply.text or None,
        "tool_calls": [{"id": c.id, "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments}}
                       for c in reply.tool_calls],
    })
    # Saved before any call is made: a process that dies mid-turn leaves calls that
    # `unanswered` finds, with the same ids, so their idempotency keys do not change.
    await host.runs.save(state, status="running", lease_s=host.settings.run_lease_s)
    return CallTools(reply.tool_calls, reply.text)


async def ask(state: RunState, host: HostServices, emit: Emit, *,
              may_escalate: bool) -> tuple[ModelReply, str | None]:
    """One model call at the run's tier, charged to the run; and the tier to ask again at, or None.

    While the reply may still be set aside its text is held back, and streamed once it is
    kept: the user sees it a whole reply later, but never sees a reply that was discarded.
    """
    below = host.settings.escalate_below_confidence
    stronger = host.model.stronger_tier(state.tier) if may_escalate and below else None
    held: list[str] = []

    async def on_delta(delta: str) -> None:
        if stronger is not None:
            held.append(delta)
        else:
            await emit(RunEvent(type="token", run_id=state.run_id, data={"delta": delta}))

    with tracer.start_as_current_span("tessera.llm", attributes={"tessera.tier": state.tier}) as span:
        await host.usage.check_tokens(state, host.tokens_per_day(state))
        reply = await host.model.complete(state.messages, host.tool_definitions(state),
                                          tier=state.tier, on_delta=on_delta, logprobs=below is not None)
        await account(state, host, reply)
        higher = escalation(reply, below, stronger if spent(state) is None else None)
        span.set_attributes({"tessera.model": reply.model, "tessera.tokens_in": reply.tokens_in,
                             "tessera.tokens_out": reply.tokens_out,
                             "tessera.tool_calls": len(reply.tool_calls)})
        if reply.confidence is not None:
            span.set_attribute("tessera.confidence", reply.confidence)
        if higher is not None:
            span.set_attribute("tessera.escalated_to", higher)
    if higher is None:
        for delta in held:
            await emit(RunEvent(type="token", run_id=state.run_id, data={"delta": delta}))
    return reply, higher


def escalation(reply: ModelReply, below: float | None, stronger: str | None) -> str | None:
    """The tier to ask this turn again at, or None to keep the reply.

    Only a reply whose confidence is known (the endpoint sent logprobs) and under the
    threshold goes up, and only to a stronger tier that runs another model and that the
    run's budget still allows (the caller passes None otherwise).
    """
    if below is None or stronger is None or reply.confidence is None:
        return None
    return stronger if reply.confidence < below else None


def unanswered(state: RunState) -> CallTools | None:
    """The last turn's calls that have no result yet (a run resumed after a crash mid-turn)."""
    answered = {m.get("tool_call_id") for m in state.messages if m.get("role") == "tool"}
    for message in reversed(state.messages):
        if message.get("role") == "assistant":
            calls = tuple(ToolCallRequest(c["id"], c["function"]["name"], c["function"]["arguments"])
                          for c in message.get("tool_calls") or [] if c["id"] not in answered)
            return CallTools(calls, message.get("content") or "") if calls else None
        if message.get("role") in ("user", "system"):
            return None
    return None


async def account(state: RunState, host: HostServices, reply: ModelReply) -> None:
    state.usage.model_calls += 1
    state.usage.tokens_in += reply.tokens_in
    state.usage.tokens_out += reply.tokens_out
    state.usage.cost += reply.cost
    host.charge(state, tokens=reply.tokens_in + reply.tokens_out, cost=reply.cost)
    await host.record(state, "model_call", {"model": reply.model, "tier": reply.tier,
                                            "tokens_in": reply.tokens_in, "tokens_out": reply.tokens_out,
                                            "tool_calls": [c.name for c in reply.tool_calls],
                                            "calls_from_text": reply.calls_from_text,
                                            "confidence": reply.confidence})


@dataclass
class Turn:
    """The calls of one model turn after checking: answered ones, allowed ones, a held one."""

    outcomes: dict[str, tc.CallOutcome] = field(default_factory=dict)
    allowed: list[tuple[ToolCallRequest, Any, dict[str, Any], Any]] = field(default_factory=list)
    held: tc.CallOutcome | None = None


async def perform(step: CallTools, state: RunState, host: HostServices, emit: Emit,
                  clock: Stopwatch) -> tc.CallOutcome | Stopped | None:
    """Make the calls of one model turn; the call that waits for approval, a stop, or None."""
    turn = await check_calls(step, state, host)
    deadline = time.monotonic() + max(0.0, state.limits.wall_s - clock.lap())
    await make_calls(turn, state, host, emit, deadline)
    for call in step.calls:  # results go back in the order the model asked
        if (outcome := turn.outcomes.get(call.id)) is not None:
            if not outcome.is_error:
                state.done.append(outcome.tool)
            state.messages.append(outcome.message)
            await host.record(state, "tool_call", host.call_record(state, outcome))
    stop = None
    if any(outcome.invalid for outcome in turn.outcomes.values()):
        state.fix_attempts += 1
        if (higher := escalate(state.tier)) is not None:
            await host.record(state, "escalation", {"from": state.tier, "to": higher,
                                                    "reason": "malformed_call"})
            state.tier = higher
        if state.fix_attempts > 1 and turn.held is None:
            stop = Stopped("the model twice asked for a call that does not fit the tool")
    await host.runs.save(state, status="running", lease_s=host.settings.run_lease_s)
    return turn.held or stop


async def check_calls(step: CallTools, state: RunState, host: HostServices) -> Turn:
    """Budget, name and schema, then policy, for each call; search_tools is answered here."""
    turn = Turn()
    for call in step.calls:
        name = tc.tool_name(call.name)
        if state.usage.tool_calls >= state.limits.tool_calls:
            turn.outcomes[call.id] = tc.error_outcome(call, name, BudgetExceeded(
                "The run has no tool calls left.", model_fix_hint="Answer with what you have."))
            state.notes.append(f"{name} was not called: no tool calls left")
            continue
        state.usage.tool_calls += 1
        if call.name == tc.SEARCH_TOOLS:
            turn.outcomes[call.id] = await host.search_tools(state, call)
            continue
        try:
            tool, arguments = tc.parse_call(call, host.federation.tools, set(state.toolset),
                                            idempotency_key=f"tessera-{state.run_id}-{call.id}")
        except TesseraError as error:
            turn.outcomes[call.id] = tc.error_outcome(call, name, error, invalid=True)
            continue
        decision = host.policy().decide(tc.decision_request(state, tool, arguments))
        await host.decided(state, tool.name, decision)
        if decision.outcome is Outcome.DENY:
            turn.outcomes[call.id] = tc.denied(call, tool.name, decision.reason, decision.rule)
        elif decision.outcome is Outcome.REQUIRE_APPROVAL and turn.held is None:
            turn.held = await host.propose(state, call, tool, arguments, decision, step.reasoning)
        elif decision.outcome is Outcome.REQUIRE_APPROVAL:
            turn.outcomes[call.id] = tc.error_outcome(call, tool.name, ApprovalRequired(
                "Not made: another call of this turn is waiting for approval.",
                model_fix_hint="Ask for this call again after the first one is decided."))
        else:
            state.tainted = state.tainted or decision.taints_session
            turn.allowed.append((call, tool, arguments, decision))
    return turn


async def make_calls(turn: Turn, state: RunState, host: HostServices, emit: Emit,
                     deadline: float) -> None:
    """Independent reads side by side; writes one at a time, in the order the model asked."""

    async def make(call: ToolCallRequest, tool: Any, arguments: dict[str, Any], decision: Any) -> None:
        with tracer.start_as_current_span("tessera.tool", attributes={
                "tessera.tool": tool.name, "tessera.rule": decision.rule,
                "tessera.outcome": decision.outcome.value}) as span:
            await emit(RunEvent(type="tool_call_started", run_id=state.run_id, data={
                "id": call.id, "tool": tool.name, "arguments": host.redact(state, arguments)}))
            context = tc.call_context(state, decision.clearance.value, host.traceparent())
            outcome = await tc.execute(host.federation, state, call, tool, arguments, context,
                                       deadline=deadline)
            turn.outcomes[call.id] = outcome
            host.note_retrieval(state, tool.name, outcome)
            span.set_attribute("tessera.error_category", outcome.error_category or "")
            await emit(RunEvent(type="tool_call_finished", run_id=state.run_id, data={
                "id": call.id, "tool": tool.name, "duration_ms": round(outcome.duration_ms, 1),
                "is_error": outcome.is_error, "error_category": outcome.error_category}))

    async with anyio.create_task_group() as group:
        for item in turn.allowed:
            if item[1].risk is Risk.READ:
                group.start_soon(make, *item)
    for item in turn.allowed:
        if item[1].risk is not Risk.READ:
            await make(*item)


async def pause(state: RunState, host: HostServices, emit: Emit, held: tc.CallOutcome) -> RunResult:
    assert held.held_approval is not None
    state.pending = PendingCall(tool_call_id=held.call.id, tool=held.tool,
                                approval_id=held.held_approval)
    await host.runs.save(state, status="paused")
    await emit(RunEvent(type="approval_required", run_id=state.run_id,
                        data={"approval_id": held.held_approval, "tool": held.tool, **held.details}))
    text = (f"The call {held.tool} needs approval (request {held.held_approval}). "
            "The run continues once an approver decides.")
    await emit(RunEvent(type="run_finished", run_id=state.run_id,
                        data={"status": "paused", "usage": state.usage.model_dump()}))
    return RunResult(state.run_id, "paused", text, approval_id=held.held_approval)


async def finish(state: RunState, host: HostServices, emit: Emit, *, answer: str | None = None,
                 stopped: str | None = None) -> RunResult:
    if stopped is not None:
        answer = host.stop_message(state, stopped)
    citations = await host.citations(state, answer or "")
    await emit(RunEvent(type="answer", run_id=state.run_id,
                        data={"text": answer, "citations": citations, "notes": state.notes}))
    status = "failed" if stopped is not None else "finished"
    state.messages = host.redact(state, state.messages)  # a finished run keeps no raw PII
    await host.record(state, "answer", {"text": host.redact(state, answer), "stopped": stopped,
                                        "citations": citations})
    host.answered(state, answer or "")
    await host.runs.save(state, status=status, outcome=stopped or "answered")
    await host.fold_history(state)
    await emit(RunEvent(type="run_finished", run_id=state.run_id, data={
        "status": status, "usage": state.usage.model_dump(), "cost": state.usage.cost}))
    return RunResult(state.run_id, status, answer or "")


async def resume_run(host: HostServices, tenant: str, run_id: str, emit: Emit) -> RunResult | None:
    """Continue a paused run whose approval was decided, or a run whose process died.

    None when another process holds the run (exactly one process resumes it).
    """
    state = await host.runs.claim(tenant, run_id, host.settings.run_lease_s)
    if state is None:
        return None
    pending = state.pending
    if pending is None:  # its process died mid-run: go on from the last saved step
        return await drive(state, host, emit)
    message = await host.settle(state, pending)
    if message is None:  # still waiting: give the run back
        await host.runs.save(state, status="paused")
        return RunResult(state.run_id, "paused", "", approval_id=pending.approval_id)
    state.messages.append(message)
    state.pending = None
    return await drive(state, host, emit)


