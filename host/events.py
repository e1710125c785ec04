"""What a run tells its watcher, in order: the events the chat endpoint streams as SSE.

    run_started → (tool_call_started → tool_call_finished)* → approval_required?
                → token* → answer → run_finished

Arguments in events are redacted by the tenant's PII patterns before they leave.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel, Field


class RunEvent(BaseModel):
    """One event of a run; `type` names it and is the SSE event name."""

    type: Literal["run_started", "tool_call_started", "tool_call_finished", "approval_required",
                  "token", "answer", "run_finished"] = Field(description="Event name.")
    run_id: str = Field(description="The run it belongs to.")
    data: dict[str, Any] = Field(default_factory=dict, description="The event's content.")


Emit = Callable[[RunEvent], Awaitable[None]]


async def discard(event: RunEvent) -> None:
    """An `Emit` for runs nobody watches (a resumed run after a restart)."""
