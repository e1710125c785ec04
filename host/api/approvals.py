"""The approvals API: list, show, approve, reject, or modify held calls.

    GET  /v1/approvals?status=pending     what the caller may decide (or asked for)
    GET  /v1/approvals/{id}
    POST /v1/approvals/{id}/approve       {"note": "..."}
    POST /v1/approvals/{id}/reject        {"note": "..."}
    POST /v1/approvals/{id}/modify        {"arguments": {...}, "note": "..."}

Only a user holding a role the matched policy rule names may decide, never the
requester. Modified arguments are re-checked against policy (a modification the
policy denies is refused) and keep the original idempotency key. A decided
approval of a paused run wakes the run at once, on this host process.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from host import calls as tc
from host.api.common import api, json_body, principal
from host.approvals import Approval, ApprovalStatus
from host.auth import Principal
from host.services import HostServices
from mcp_servers.kit.errors import Forbidden, PolicyDenied, ValidationFailed
from policies.request import DecisionRequest, Outcome

STATUS_FILTER = {"pending": ApprovalStatus.PROPOSED, **{s.value.lower(): s for s in ApprovalStatus}}


class Decision(BaseModel):
    note: str = Field(default="", max_length=2000, description="Why, for the audit log.")
    arguments: dict[str, Any] | None = Field(default=None, description="modify: the new arguments.")


def _visible(host: HostServices, who: Principal, approval: Approval) -> bool:
    return approval.requester == who.user or any(r in approval.approver_roles for r in who.roles)


@api
async def list_approvals(request: Request) -> Response:
    who, host = principal(request), request.app.state.host
    wanted = request.query_params.get("status")
    if wanted is not None and wanted.lower() not in STATUS_FILTER:
        raise ValidationFailed(f"Unknown status {wanted!r}.",
                               model_fix_hint="Use pending, approved, rejected, expired or executed.")
    approvals = await host.approvals.list(who.tenant, STATUS_FILTER[wanted.lower()] if wanted else None)
    return JSONResponse({"approvals": [a.model_dump(mode="json") for a in approvals
                                       if _visible(host, who, a)]})


@api
async def get_approval(request: Request) -> Response:
    who, host = principal(request), request.app.state.host
    approval = await host.approvals.get(who.tenant, request.path_params["id"])
    if not _visible(host, who, approval):
        raise Forbidden("You may not see this approval.")
    return JSONResponse(approval.model_dump(mode="json"))


def _decide(action: str):
    @api
    async def decide(request: Request) -> Response:
        who, host = principal(request), request.app.state.host
        body = Decision.model_validate(await json_body(request) if await request.body() else {})
        approval = await host.approvals.get(who.tenant, request.path_params["id"])
        if not host.policy().can_approve(who.user, who.roles, approval.requester, who.tenant,
                                         approval.rule):
            raise Forbidden("You may not decide this approval (approvers never decide their own "
                            "requests, and need a role the rule names).")
        arguments = None
        if action == "modify":
            arguments = _recheck(host, who, approval, body.arguments)
        decided = await host.approvals.decide(who.tenant, approval.id, approver=who.user,
                                              approve=action != "reject", note=body.note,
                                              arguments=arguments)
        if decided.run_id:
            request.app.state.wake(who.tenant, decided.run_id)
        return JSONResponse(decided.model_dump(mode="json"))

    return decide


def _recheck(host: HostServices, who: Principal, approval: Approval,
             arguments: dict[str, Any] | None) -> dict[str, Any]:
    if arguments is None:
        raise ValidationFailed("modify needs the new arguments.", model_fix_hint='Send {"arguments": {...}}.')
    if "idempotency_key" in approval.arguments:
        arguments = {**arguments, "idempotency_key": approval.arguments["idempotency_key"]}
    tool = host.federation.tool(approval.tool)
    tool, arguments = tc.parse_call(tc.ToolCallRequest("modify", tc.model_name(tool.name),
                                                       json.dumps(arguments)),
                                    host.federation.tools, {tool.name})
    decision = host.policy().decide(DecisionRequest(
        tenant=who.tenant, user=approval.requester, roles=tuple(approval.requester_roles), tool=tc.tool_facts(tool),
        arguments=arguments))
    if decision.outcome is Outcome.DENY:
        raise PolicyDenied(f"The policy denies the modified call: {decision.reason}",
                           details={"rule": decision.rule})
    return arguments


approve = _decide("approve")
reject = _decide("reject")
modify = _decide("modify")
