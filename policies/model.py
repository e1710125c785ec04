"""The policy document: what one `policies/*.yaml` file may say, as pydantic models.

Every file is a `PolicyFile`; the files of a directory merge into one (see
`policies/loader.py`). `policies/schema.json` is generated from `PolicyFile`, so
editors validate as the security team types, and `docs/policies.md` explains
every key (a test fails when one is missing there). The enumerations mirror the
kit's (`Risk`, `DataClass`) by value; this package imports nothing else of ours.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from policies.expressions import ExpressionError, compile_expression
from policies.sandbox_profile import SandboxProfile

NAME = r"^[a-z][a-z0-9_-]*$"
SERVER_NAME = r"^[a-z][a-z0-9_]*$"
RULE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
TOOL_GLOB = r"^(\*|(\*|[a-z][a-z0-9_]*)\.[a-z0-9_*?]+)$"
DURATION = r"^[1-9][0-9]*[smhd]$"

Name = Annotated[str, StringConstraints(pattern=NAME, max_length=64)]
ServerName = Annotated[str, StringConstraints(pattern=SERVER_NAME, max_length=64)]
ToolGlob = Annotated[str, StringConstraints(pattern=TOOL_GLOB, max_length=128)]
Duration = Annotated[str, StringConstraints(pattern=DURATION)]


class Risk(enum.StrEnum):
    """How much harm a call can do (the kit's `Risk`, by value)."""

    READ = "read"
    WRITE_LOW = "write_low"
    WRITE_HIGH = "write_high"


class DataClass(enum.StrEnum):
    """Data classification from public (I) to strictly confidential (IV) (the kit's, by value)."""

    I = "I"  # noqa: E741 - roman numerals on purpose
    II = "II"
    III = "III"
    IV = "IV"

    @property
    def rank(self) -> int:
        return _RANKS[self.value]


_RANKS = {"I": 1, "II": 2, "III": 3, "IV": 4}


class Trust(enum.StrEnum):
    """How far Tessera trusts what a server returns."""

    TRUSTED = "trusted"  # our own code over our own data
    INTERNAL = "internal"  # our code over a company system (SAP, MES)
    UNTRUSTED = "untrusted"  # third-party code or outside content: its claims are not believed,
    # and reading its results taints the run


class Channel(enum.StrEnum):
    """Who receives a tool's result."""

    MODEL = "model"  # the host's tool loop: the result goes into an LLM's context
    DIRECT = "direct"  # a person's own MCP client (IDE, Inspector) calling the tool


class Effect(enum.StrEnum):
    """What a rule does when it matches."""

    DENY = "deny"
    REQUIRE_APPROVAL = "require_approval"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True,
                              populate_by_name=False, validate_default=True)


def seconds(duration: str) -> int:
    """`"90s"`, `"30m"`, `"8h"`, `"2d"` in seconds."""
    return int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[duration[-1]]


class Annotations(_Strict):
    """MCP tool annotations a grant or rule can match on; an unset hint matches any value."""

    read_only: bool | None = Field(default=None, alias="readOnlyHint",
                                   description="The tool changes nothing (risk read).")
    destructive: bool | None = Field(default=None, alias="destructiveHint",
                                     description="The tool may destroy or irreversibly change "
                                     "data (risk write_high).")
    idempotent: bool | None = Field(default=None, alias="idempotentHint",
                                    description="Repeating the call with the same arguments "
                                    "has no further effect.")
    open_world: bool | None = Field(default=None, alias="openWorldHint",
                                    description="The tool reaches systems or content outside "
                                    "Tessera's control.")


class Scope(_Strict):
    """Which tool calls a grant or rule is about: every key that is set must match."""

    tools: list[ToolGlob] = Field(
        default_factory=lambda: ["*"], min_length=1,
        description="Tool names or globs as server.tool: 'sap.create_purchase_order', "
        "'sap.*', '*.delete_*', or '*' for every tool.")
    risk: list[Risk] | None = Field(
        default=None, min_length=1, description="Risk levels it applies to (read, write_low, "
        "write_high); unset: any.")
    annotations: Annotations | None = Field(
        default=None, description="MCP annotation values the tool must have; unset: any.")
    data_class: list[DataClass] | None = Field(
        default=None, min_length=1, description="Data classes (the highest class the tool can "
        "return) it applies to; unset: any.")


class Grant(Scope):
    """One thing a role may call; a call is allowed only when a grant of a caller's role matches."""

    name: Annotated[str, StringConstraints(pattern=RULE_NAME, max_length=64)] | None = Field(
        default=None, description="Name shown in decisions; default: the grant's position.")
    description: str = Field(default="", description="Why the role has this grant.")


class RoleBudgets(_Strict):
    """Per-run budgets of a role; unset values fall back to the tenant's."""

    tool_calls_per_run: int | None = Field(
        default=None, ge=0, description="Most tool calls in one run.")
    wall_time_s_per_run: int | None = Field(
        default=None, ge=1, description="Longest run, in seconds.")
    tokens_per_run: int | None = Field(
        default=None, ge=0, description="Most LLM tokens (prompt + completion) in one run.")
    cost_per_run: float | None = Field(
        default=None, ge=0, description="Most cost of one run, in the site's accounting unit.")
    retries_per_run: int | None = Field(
        default=None, ge=0, description="Most retries of retryable tool errors in one run.")


class TenantBudgets(_Strict):
    """A tenant's budgets: the default and the cap for every run, and a daily token budget."""

    tool_calls_per_run: int = Field(default=20, ge=0, description="Most tool calls in one run.")
    wall_time_s_per_run: int = Field(default=300, ge=1, description="Longest run, in seconds.")
    tokens_per_run: int = Field(
        default=100_000, ge=0, description="Most LLM tokens (prompt + completion) in one run.")
    cost_per_run: float = Field(
        default=5.0, ge=0, description="Most cost of one run, in the site's accounting unit.")
    retries_per_run: int = Field(
        default=3, ge=0, description="Most retries of retryable tool errors in one run.")
    tokens_per_day: int = Field(
        default=2_000_000, ge=0, description="Most LLM tokens the whole tenant uses per UTC day.")


class RateLimit(_Strict):
    """A request rate limit."""

    requests_per_minute: int = Field(
        ge=1, description="Most requests (tool calls and chat turns) per minute.")


class Redaction(_Strict):
    """A named pattern of personal data, replaced before anything is stored, traced or exported."""

    name: Annotated[str, StringConstraints(pattern=NAME, max_length=64)] = Field(
        description="Name of the pattern, e.g. email.")
    pattern: str = Field(min_length=1, description="Python regular expression matching the data.")
    replacement: str = Field(default="", description="Text put in its place, literally; "
                             "default: [REDACTED:<name>].")
    ignore_case: bool = Field(default=False, description="Match without regard to case.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        if compiled.match(""):
            raise ValueError("the pattern matches the empty string")
        return pattern


class Role(_Strict):
    """What holders of a role may call, see and spend."""

    description: str = Field(default="", description="Who holds this role.")
    max_data_class: DataClass = Field(default=DataClass.I, description="Highest data class the "
                                      "role may see (its clearance), I to IV.")
    allow: list[Grant] = Field(default_factory=list, description="What the role may call; "
                               "nothing else is allowed.")
    budgets: RoleBudgets = Field(default_factory=RoleBudgets, description="Per-run budgets.")
    rate_limit: RateLimit | None = Field(default=None, description="Per-user request rate "
                                         "limit; unset: the tenant's per_user_rate_limit.")


class Tenant(_Strict):
    """One customer or plant organisation sharing the installation."""

    description: str = Field(default="", description="Who the tenant is.")
    roles: list[Name] = Field(min_length=1, description="Roles that exist in this tenant; a "
                              "role not listed here gives a caller of this tenant nothing.")
    max_data_class: DataClass = Field(default=DataClass.IV, description="Highest data class "
                                      "anyone of the tenant may see.")
    model_max_data_class: DataClass = Field(
        default=DataClass.III, description="Highest data class that may reach a model (the "
        "host's tool loop), whatever the caller's clearance.")
    budgets: TenantBudgets = Field(default_factory=TenantBudgets, description="Run and daily "
                                   "budgets (the default and the cap).")
    rate_limit: RateLimit = Field(default_factory=lambda: RateLimit(requests_per_minute=600),
                                  description="Request rate limit of the whole tenant.")
    per_user_rate_limit: RateLimit = Field(
        default_factory=lambda: RateLimit(requests_per_minute=60),
        description="Request rate limit of one user when none of their roles sets one.")
    redactions: list[Redaction] = Field(default_factory=list, description="Extra redaction "
                                        "patterns for this tenant, after the global ones.")


class Approval(_Strict):
    """Who may approve a call a rule holds for approval, and for how long the approval stands."""

    approvers: list[Name] = Field(min_length=1, description="Roles whose holders may approve. "
                                  "The requester never approves their own request.")
    expires_after: Duration = Field(default="24h", description="A pending request expires "
                                    "after this long: 90s, 30m, 8h, 2d.")

    @property
    def expires_after_s(self) -> int:
        return seconds(self.expires_after)


class Rule(Scope):
    """A rule that denies a call or holds it for approval when everything it states matches."""

    name: Annotated[str, StringConstraints(pattern=RULE_NAME, max_length=64)] = Field(
        description="Unique name; it goes into decisions, traces and the audit log.")
    description: str = Field(default="", description="Why the rule exists.")
    effect: Effect = Field(description="deny or require_approval.")
    tenants: list[Name] | None = Field(default=None, min_length=1,
                                       description="Tenants it applies to; unset: all.")
    roles: list[Name] | None = Field(default=None, min_length=1, description="It applies to "
                                     "callers holding any of these roles; unset: everyone.")
    channel: list[Channel] | None = Field(default=None, min_length=1, description="model "
                                          "and/or direct; unset: both.")
    when: str | None = Field(default=None, description="A condition over the call's arguments "
                             "in the policy expression language, e.g. "
                             "quantity * net_price > 10000.")
    when_tainted: bool = Field(default=False, description="Apply only once the run has read "
                               "a result of an untrusted server.")
    approval: Approval | None = Field(default=None, description="Approvers and expiry; "
                                      "required for require_approval.")
    reason: str = Field(default="", description="Message shown to the user and the model "
                        "when the rule fires.")

    @field_validator("when")
    @classmethod
    def _when_compiles(cls, when: str | None) -> str | None:
        if when is not None:
            try:
                compile_expression(when)
            except ExpressionError as exc:
                raise ValueError(f"bad condition: {exc}") from None
        return when

    @model_validator(mode="after")
    def _approval_matches_effect(self) -> Rule:
        if self.effect is Effect.REQUIRE_APPROVAL and self.approval is None:
            raise ValueError("a require_approval rule needs approval.approvers")
        if self.effect is Effect.DENY and self.approval is not None:
            raise ValueError("a deny rule takes no approval section")
        return self


class Server(_Strict):
    """A capability server: how far its output is trusted, and its sandbox."""

    description: str = Field(default="", description="What the server is for.")
    trust: Trust = Field(default=Trust.INTERNAL, description="trusted, internal or untrusted. "
                         "An untrusted server's tools count as write_high and open-world "
                         "whatever they claim, and reading their results taints the run.")
    sandbox: SandboxProfile = Field(default_factory=SandboxProfile,
                                    description="What the server's process may touch.")


class PolicyFile(_Strict):
    """One policy file. All sections are optional; a directory's files merge into one policy."""

    version: Literal[1] = Field(default=1, description="Format version of the file; 1.")
    tenants: dict[Name, Tenant] = Field(default_factory=dict, description="Tenants by name.")
    roles: dict[Name, Role] = Field(default_factory=dict, description="Roles by name.")
    servers: dict[ServerName, Server] = Field(default_factory=dict,
                                              description="Capability servers by name.")
    rules: list[Rule] = Field(default_factory=list, description="Deny and approval rules, "
                              "in order.")
    redactions: list[Redaction] = Field(default_factory=list, description="Redaction "
                                        "patterns applied for every tenant, in order.")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one policy file, as published in `policies/schema.json`."""
    schema = PolicyFile.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://tessera.invalid/policies/schema.json",
        **schema,
    }
