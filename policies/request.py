"""What the decision point is asked and what it answers: `DecisionRequest` and `Decision`.

Both cross into the host's traces and audit log, so both are pydantic models with
a description on every field. `ToolFacts` carries what the catalog knows about
the tool being called; facts the caller does not know are assumed at their most
dangerous (risk write_high, data class IV, open world), so a missing fact can
never loosen a decision.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from policies.model import Channel, DataClass, Effect, Risk


class Outcome(enum.StrEnum):
    """The three outcomes. Deny overrides require_approval, which overrides allow."""

    ALLOW = "allow"
    REQUIRE_APPROVAL = "require_approval"
    DENY = "deny"


class ToolFacts(BaseModel):
    """What the catalog knows about a tool; unknown facts are assumed at their worst."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Namespaced tool name, server.tool.")
    risk: Risk | None = Field(default=None, description="read, write_low or write_high; "
                              "unknown is treated as write_high.")
    data_class: DataClass | None = Field(default=None, description="Highest data class the "
                                         "tool can return; unknown is treated as IV.")
    idempotent: bool = Field(default=False, description="Repeating the call is harmless.")
    open_world: bool | None = Field(default=None, description="The tool reaches outside "
                                    "Tessera; unknown is treated as true.")
    arguments: frozenset[str] | None = Field(default=None, description="Top-level argument "
                                             "names of its input schema, when known (for lint).")

    @property
    def server(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def effective_risk(self) -> Risk:
        return self.risk or Risk.WRITE_HIGH

    @property
    def effective_data_class(self) -> DataClass:
        return self.data_class or DataClass.IV

    def hints(self) -> dict[str, bool]:
        """The MCP annotations, derived from the facts the way the kit derives them."""
        risk = self.effective_risk
        return {
            "read_only": risk is Risk.READ,
            "destructive": risk is Risk.WRITE_HIGH,
            "idempotent": risk is Risk.READ or self.idempotent,
            "open_world": self.open_world is not False,
        }

    @classmethod
    def from_annotations(cls, name: str, annotations: Mapping[str, Any] | None,
                         data_class: DataClass | None = None) -> ToolFacts:
        """Facts of a tool known only by its MCP annotations (a third-party server's).

        MCP's defaults apply to hints that are absent: not read-only, destructive,
        not idempotent, open world."""
        annotations = annotations or {}
        if annotations.get("readOnlyHint") is True:
            risk = Risk.READ
        elif annotations.get("destructiveHint") is False:
            risk = Risk.WRITE_LOW
        else:
            risk = Risk.WRITE_HIGH
        return cls(name=name, risk=risk, data_class=data_class,
                   idempotent=annotations.get("idempotentHint") is True,
                   open_world=annotations.get("openWorldHint") is not False)


class DecisionRequest(BaseModel):
    """One tool call to decide on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str = Field(description="Tenant the caller acts for.")
    user: str = Field(description="The calling user (the JWT subject).")
    roles: tuple[str, ...] = Field(description="The caller's roles.")
    tool: ToolFacts = Field(description="The tool being called.")
    arguments: dict[str, Any] = Field(default_factory=dict, description="The call's arguments.")
    tainted: bool = Field(default=False, description="The run has already read a result "
                          "of an untrusted server.")
    channel: Channel = Field(default=Channel.MODEL, description="model: the result goes to "
                             "an LLM; direct: to a person's own MCP client.")


class RuleTrace(BaseModel):
    """One rule or grant the decision point considered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str = Field(description="Name of the rule or grant.")
    effect: str = Field(description="allow, deny or require_approval.")
    matched: bool = Field(description="Whether it matched this call.")
    detail: str = Field(default="", description="Why it matched or not.")


class ApprovalRequirement(BaseModel):
    """What an approval of a held call needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[str, ...] = Field(description="Every approval rule that matched; an "
                                   "approver must qualify for each.")
    approvers: tuple[tuple[str, ...], ...] = Field(description="Per matched rule, the roles "
                                                   "that may approve it.")
    expires_after_s: int = Field(description="Seconds until the pending request expires "
                                 "(the shortest of the matched rules).")


class Decision(BaseModel):
    """The answer: an outcome, the rule that decided it, and how it got there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Outcome = Field(description="allow, deny or require_approval.")
    rule: str = Field(description="The rule that decided the outcome; goes into traces and "
                      "the audit log.")
    reason: str = Field(description="A sentence for the user and the model.")
    chain: tuple[RuleTrace, ...] = Field(default=(), description="Rules considered, in order.")
    approval: ApprovalRequirement | None = Field(default=None, description="Set when the "
                                                 "outcome is require_approval.")
    clearance: DataClass = Field(description="Highest data class the call may return on this "
                                 "channel; the host signs it into the call context.")
    taints_session: bool = Field(default=False, description="Reading this call's result "
                                 "taints the run (the tool's server is untrusted).")
    policy_digest: str = Field(description="Digest of the policy files that decided.")

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW


EFFECT_OUTCOME = {Effect.DENY: Outcome.DENY, Effect.REQUIRE_APPROVAL: Outcome.REQUIRE_APPROVAL}
