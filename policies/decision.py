"""The policy decision point: a loaded policy compiled for fast decisions, and its helpers.

`Policy.decide(request)` answers allow, deny or require_approval:

1. An unknown tenant, a caller with none of the tenant's roles, or a server the
   policy does not list: deny (`default:unknown-tenant`, `default:no-role`,
   `default:unknown-server`).
2. Some grant of one of the caller's roles must match the tool, or the call is
   denied (`default:not-granted`): default deny.
   Tools of an `untrusted` server are judged as write_high and open-world,
   whatever they claim (trust-scoped annotations).
3. Every rule whose scope, `when_tainted` and `when` match is considered. Deny
   overrides require_approval, which overrides the grant's allow; the first
   matching rule of the winning effect is the one named. A `when` that cannot be
   evaluated (a missing field, wrong types) counts as matching: rules fail closed.

The helpers the host needs before and after a call (`visible_tools`,
`can_approve`, `budgets_for`, `rate_limit_for`, `redactor`, `server`,
`max_data_class`) live here too, so every answer comes from the same policy.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from policies.expressions import EvaluationError, Expression, compile_expression
from policies.loader import LoadedPolicy
from policies.model import Channel, DataClass, Effect, PolicyFile, Rule, Scope, Server, Trust
from policies.redaction import Redactor
from policies.request import (
    ApprovalRequirement,
    Decision,
    DecisionRequest,
    Outcome,
    RuleTrace,
    ToolFacts,
)
from policies.sandbox_profile import SandboxProfile

_CACHE_LIMIT = 4096
Step = tuple[str, str, bool, str]  # (rule, effect, matched, detail): a RuleTrace, unbuilt
_CLASSES = tuple(DataClass)
_HINT_NAMES = {"read_only": "readOnlyHint", "destructive": "destructiveHint",
               "idempotent": "idempotentHint", "open_world": "openWorldHint"}


class UnknownTenant(LookupError):
    """A helper was asked about a tenant the policy does not define."""


@dataclass(frozen=True)
class Budgets:
    """Effective budgets of a caller: per run, and the tenant's tokens per day."""

    tool_calls_per_run: int
    wall_time_s_per_run: int
    tokens_per_run: int
    cost_per_run: float
    retries_per_run: int
    tokens_per_day: int


@dataclass(frozen=True)
class RateLimits:
    """Requests per minute allowed to the whole tenant and to one user."""

    tenant_requests_per_minute: int
    user_requests_per_minute: int


class CompiledScope:
    """A grant's or rule's scope, compiled: tool globs to one regex, hints to a dict."""

    def __init__(self, scope: Scope) -> None:
        self.tools = _glob_regex(scope.tools)
        self.risk = frozenset(scope.risk) if scope.risk else None
        self.data_class = frozenset(scope.data_class) if scope.data_class else None
        annotations = scope.annotations.model_dump(exclude_none=True) if scope.annotations else {}
        self.hints = tuple(annotations.items())

    def mismatch(self, tool: ToolFacts, hints: dict[str, bool]) -> str:
        """Why the scope does not match the tool, or '' when it does (tool name aside)."""
        if self.risk is not None and tool.effective_risk not in self.risk:
            return f"risk is {tool.effective_risk}"
        if self.data_class is not None and tool.effective_data_class not in self.data_class:
            return f"data class is {tool.effective_data_class}"
        for hint, wanted in self.hints:
            if hints[hint] is not wanted:
                return f"{_HINT_NAMES[hint]} is {str(hints[hint]).lower()}"
        return ""


@dataclass(frozen=True)
class _Grant:
    name: str
    role: str
    scope: CompiledScope


@dataclass(frozen=True)
class _Rule:
    rule: Rule
    scope: CompiledScope
    condition: Expression | None
    tenants: frozenset[str] | None
    roles: frozenset[str] | None
    channels: frozenset[Channel] | None

    def applies_to_caller(self, tenant: str, roles: Sequence[str], channel: Channel,
                          tainted: bool) -> str:
        if self.tenants is not None and tenant not in self.tenants:
            return f"not for tenant {tenant}"
        if self.roles is not None and self.roles.isdisjoint(roles):
            return "not for the caller's roles"
        if self.channels is not None and channel not in self.channels:
            return f"not on the {channel} channel"
        if self.rule.when_tainted and not tainted:
            return "the run is not tainted"
        return ""


class Policy:
    """A loaded, compiled policy. Immutable; `PolicyStore` swaps whole policies."""

    def __init__(self, loaded: LoadedPolicy) -> None:
        self.loaded = loaded
        self.document: PolicyFile = loaded.document
        self.digest = loaded.digest
        doc = self.document
        self._tenant_roles = {name: frozenset(t.roles) for name, t in doc.tenants.items()}
        self._grants = {
            role_name: tuple(_Grant(f"grant:{role_name}:{g.name or index + 1}", role_name,
                                    CompiledScope(g)) for index, g in enumerate(role.allow))
            for role_name, role in doc.roles.items()
        }
        self._rules = tuple(
            _Rule(rule, CompiledScope(rule),
                  compile_expression(rule.when) if rule.when else None,
                  frozenset(rule.tenants) if rule.tenants else None,
                  frozenset(rule.roles) if rule.roles else None,
                  frozenset(rule.channel) if rule.channel else None)
            for rule in doc.rules
        )
        self._candidates: dict[str, tuple[_Rule, ...]] = {}
        self._decisions: dict[tuple[Any, ...], Decision] = {}
        self._approvals: dict[tuple[str, ...], ApprovalRequirement] = {}
        self._clearances: dict[tuple[str, tuple[str, ...], Channel], DataClass] = {}
        self._callable: dict[tuple[Any, ...], bool] = {}
        self._global_redactor = Redactor(doc.redactions)
        self._redactors = {name: Redactor([*doc.redactions, *tenant.redactions])
                           for name, tenant in doc.tenants.items()}

    # --- deciding --------------------------------------------------------------------

    def decide(self, request: DecisionRequest, *, explain: bool = False) -> Decision:
        """Decide one call. With `explain`, the chain also lists what did not match and why."""
        tool, tenant_name = request.tool, request.tenant
        clearance = self.max_data_class(tenant_name, request.roles, request.channel)
        tenant_roles = self._tenant_roles.get(tenant_name)
        if tenant_roles is None:
            return self._default("default:unknown-tenant",
                                 f"Tenant {tenant_name!r} is not in the policy.", clearance)
        roles = [role for role in request.roles if role in tenant_roles]
        if not roles:
            return self._default("default:no-role", "None of the caller's roles exists in "
                                 f"tenant {tenant_name}.", clearance)
        server = self.document.servers.get(tool.server)
        if server is None:
            return self._default("default:unknown-server", f"Server {tool.server!r} is not "
                                 "in the policy.", clearance)
        if server.trust is Trust.UNTRUSTED:
            tool = _unbelieved(tool)
            request = request.model_copy(update={"tool": tool})
        hints = tool.hints()
        chain: list[Step] = []
        grant = self._matching_grant(roles, tool, hints, chain, explain)
        if grant is None:
            return self._default("default:not-granted", f"No role of the caller may call "
                                 f"{tool.name}.", clearance, chain)
        taints = server.trust is Trust.UNTRUSTED
        matched = self._matching_rules(request, roles, hints, chain, explain)
        denied = [rule for rule in matched if rule.effect is Effect.DENY]
        if denied:
            return self._decision(Outcome.DENY, denied[0].name, self._reason(denied[0]),
                                  chain, None, clearance, taints)
        held = [rule for rule in matched if rule.effect is Effect.REQUIRE_APPROVAL]
        if held:
            approval = self._approval(held)
            return self._decision(Outcome.REQUIRE_APPROVAL, held[0].name,
                                  self._reason(held[0]), chain, approval, clearance, taints)
        return self._decision(Outcome.ALLOW, grant.name, f"Allowed for role {grant.role}.",
                              chain, None, clearance, taints)

    def _matching_grant(self, roles: Sequence[str], tool: ToolFacts, hints: dict[str, bool],
                        chain: list[Step], explain: bool) -> _Grant | None:
        for role in roles:
            for grant in self._grants[role]:
                if not grant.scope.tools.match(tool.name):
                    if explain:
                        chain.append((grant.name, "allow", False, "tool not listed"))
                    continue
                why_not = grant.scope.mismatch(tool, hints)
                if not why_not:
                    chain.append((grant.name, "allow", True, f"role {role}"))
                    return grant
                if explain:
                    chain.append((grant.name, "allow", False, why_not))
        return None

    def _matching_rules(self, request: DecisionRequest, roles: Sequence[str],
                        hints: dict[str, bool], chain: list[Step],
                        explain: bool) -> list[Rule]:
        matched: list[Rule] = []
        context: dict[str, Any] | None = None
        for compiled in self._rules_for(request.tool.name, explain):
            rule = compiled.rule
            if explain and not compiled.scope.tools.match(request.tool.name):
                chain.append((rule.name, rule.effect.value, False, "tool not listed"))
                continue
            why_not = (compiled.applies_to_caller(request.tenant, roles, request.channel,
                                                  request.tainted)
                       or compiled.scope.mismatch(request.tool, hints))
            detail = ""
            if not why_not and compiled.condition is not None:
                context = context or _context(request, roles)
                why_not, detail = _check_condition(compiled.condition, request.arguments,
                                                   context)
            if why_not:
                if explain:
                    chain.append((rule.name, rule.effect.value, False, why_not))
                continue
            chain.append((rule.name, rule.effect.value, True, detail))
            matched.append(rule)
            if rule.effect is Effect.DENY and not explain:
                break  # nothing can override a deny
        return matched

    def _rules_for(self, tool_name: str, explain: bool) -> tuple[_Rule, ...]:
        if explain:
            return self._rules  # every rule, so the chain can say why each did not match
        found = self._candidates.get(tool_name)
        if found is None:
            if len(self._candidates) >= _CACHE_LIMIT:
                self._candidates.clear()
            found = tuple(r for r in self._rules if r.scope.tools.match(tool_name))
            self._candidates[tool_name] = found
        return found

    def _default(self, rule: str, reason: str, clearance: DataClass,
                 chain: list[Step] | None = None) -> Decision:
        chain = [*(chain or []), (rule, "deny", True, reason)]
        return self._decision(Outcome.DENY, rule, reason, chain, None, clearance, False)

    def _decision(self, outcome: Outcome, rule: str, reason: str, chain: list[Step],
                  approval: ApprovalRequirement | None, clearance: DataClass,
                  taints: bool) -> Decision:
        # Decisions are immutable, and most calls repeat one of a few answers, so equal
        # answers share one object; building pydantic models is most of a decision's cost.
        key = (outcome, rule, reason, tuple(chain), approval and approval.rules, clearance,
               taints)
        decision = self._decisions.get(key)
        if decision is None:
            if len(self._decisions) >= _CACHE_LIMIT:
                self._decisions.clear()
            decision = Decision.model_construct(
                outcome=outcome, rule=rule, reason=reason,
                chain=tuple(RuleTrace.model_construct(rule=r, effect=e, matched=m, detail=d)
                            for r, e, m, d in chain),
                approval=approval, clearance=clearance, taints_session=taints,
                policy_digest=self.digest)
            self._decisions[key] = decision
        return decision

    def _approval(self, held: list[Rule]) -> ApprovalRequirement:
        key = tuple(rule.name for rule in held)
        approval = self._approvals.get(key)
        if approval is None:
            approval = ApprovalRequirement.model_construct(
                rules=key,
                approvers=tuple(tuple(rule.approval.approvers) for rule in held if rule.approval),
                expires_after_s=min(rule.approval.expires_after_s for rule in held
                                    if rule.approval))
            self._approvals[key] = approval  # bounded: subsets of the policy's rules
        return approval

    @staticmethod
    def _reason(rule: Rule) -> str:
        if rule.reason:
            return rule.reason
        if rule.effect is Effect.DENY:
            return f"Policy rule {rule.name} does not allow this call."
        return f"Policy rule {rule.name} requires an approver's sign-off for this call."

    # --- helpers for the host -----------------------------------------------------------

    def may_call(self, tenant: str, roles: Sequence[str], tool: ToolFacts, *,
                 tainted: bool = False, channel: Channel = Channel.MODEL) -> bool:
        """Whether the caller could call `tool` at all: a grant matches and no rule that
        ignores the arguments denies it. Calls that may need approval count as callable."""
        key = (tenant, tuple(roles), tool.name, tool.risk, tool.data_class, tool.open_world,
               tool.idempotent, tainted, channel)
        found = self._callable.get(key)
        if found is None:
            if len(self._callable) >= _CACHE_LIMIT:
                self._callable.clear()
            found = self._callable[key] = self._may_call(tenant, roles, tool, tainted, channel)
        return found

    def _may_call(self, tenant: str, roles: Sequence[str], tool: ToolFacts, tainted: bool,
                  channel: Channel) -> bool:
        tenant_roles = self._tenant_roles.get(tenant)
        server = self.document.servers.get(tool.server)
        if tenant_roles is None or server is None:
            return False
        if server.trust is Trust.UNTRUSTED:
            tool = _unbelieved(tool)
        valid = [role for role in roles if role in tenant_roles]
        hints = tool.hints()
        if self._matching_grant(valid, tool, hints, [], False) is None:
            return False
        for compiled in self._rules_for(tool.name, False):
            if (compiled.rule.effect is Effect.DENY and compiled.condition is None
                    and not compiled.applies_to_caller(tenant, valid, channel, tainted)
                    and not compiled.scope.mismatch(tool, hints)):
                return False
        return True

    def visible_tools(self, tenant: str, roles: Sequence[str], tools: Iterable[ToolFacts], *,
                      tainted: bool = False, channel: Channel = Channel.MODEL) -> list[ToolFacts]:
        """The part of a catalog the caller may call (filter before ranking tools)."""
        return [tool for tool in tools
                if self.may_call(tenant, roles, tool, tainted=tainted, channel=channel)]

    def can_approve(self, approver_user: str, approver_roles: Sequence[str],
                    requester_user: str, tenant: str,
                    requirement: Decision | ApprovalRequirement | str) -> bool:
        """Whether this approver may approve: never the requester; a role of the tenant
        that every matched approval rule names. `requirement` may be a rule name."""
        if approver_user.strip().casefold() == requester_user.strip().casefold():
            return False
        tenant_roles = self._tenant_roles.get(tenant)
        if tenant_roles is None:
            return False
        held = frozenset(role for role in approver_roles if role in tenant_roles)
        if isinstance(requirement, Decision):
            if requirement.approval is None:
                return False
            requirement = requirement.approval
        if isinstance(requirement, str):
            rule = next((r for r in self.document.rules if r.name == requirement), None)
            if rule is None or rule.approval is None:
                return False
            needed: Iterable[Sequence[str]] = [rule.approval.approvers]
        else:
            needed = requirement.approvers
        return all(not held.isdisjoint(approvers) for approvers in needed)

    def budgets_for(self, tenant: str, roles: Sequence[str]) -> Budgets:
        """Per field: the most generous of the roles' budgets, capped by the tenant's."""
        tenant_policy = self._tenant(tenant)
        caps = tenant_policy.budgets
        valid = [self.document.roles[r] for r in roles if r in tenant_policy.roles]
        values: dict[str, Any] = {"tokens_per_day": caps.tokens_per_day}
        for name in ("tool_calls_per_run", "wall_time_s_per_run", "tokens_per_run",
                     "cost_per_run", "retries_per_run"):
            cap = getattr(caps, name)
            set_by_roles = [v for role in valid if (v := getattr(role.budgets, name)) is not None]
            values[name] = min(cap, max(set_by_roles)) if set_by_roles else cap
        return Budgets(**values)

    def rate_limit_for(self, tenant: str, roles: Sequence[str]) -> RateLimits:
        """The tenant's limit, and one user's: the most generous role's, capped by the tenant's."""
        tenant_policy = self._tenant(tenant)
        total = tenant_policy.rate_limit.requests_per_minute
        per_role = [role.rate_limit.requests_per_minute
                    for name in roles if name in tenant_policy.roles
                    and (role := self.document.roles[name]).rate_limit is not None]
        user = max(per_role) if per_role else tenant_policy.per_user_rate_limit.requests_per_minute
        return RateLimits(total, min(user, total))

    def redactor(self, tenant: str | None = None) -> Redactor:
        """The tenant's redactor (global patterns, then the tenant's); unknown: global only."""
        return self._redactors.get(tenant or "", self._global_redactor)

    def server(self, name: str) -> Server | None:
        """A server's trust level and sandbox profile, or None when the policy has none."""
        return self.document.servers.get(name)

    def sandbox_profile(self, name: str) -> SandboxProfile:
        """A server's sandbox profile; the strictest default when the policy lists none."""
        server = self.document.servers.get(name)
        return server.sandbox if server is not None else SandboxProfile()

    def max_data_class(self, tenant: str, roles: Sequence[str],
                       channel: Channel = Channel.MODEL) -> DataClass:
        """The caller's clearance: the highest of their roles', capped by the tenant and,
        on the model channel, by what may reach a model. No valid role: class I."""
        key = (tenant, tuple(roles), channel)
        found = self._clearances.get(key)
        if found is None:
            if len(self._clearances) >= _CACHE_LIMIT:
                self._clearances.clear()
            found = self._clearances[key] = self._clearance(tenant, roles, channel)
        return found

    def _clearance(self, tenant: str, roles: Sequence[str], channel: Channel) -> DataClass:
        tenant_policy = self.document.tenants.get(tenant)
        if tenant_policy is None:
            return DataClass.I
        ranks = [self.document.roles[r].max_data_class.rank for r in roles
                 if r in tenant_policy.roles]
        rank = min(max(ranks, default=1), tenant_policy.max_data_class.rank)
        if channel is Channel.MODEL:
            rank = min(rank, tenant_policy.model_max_data_class.rank)
        return _CLASSES[rank - 1]

    def taints(self, tool: ToolFacts) -> bool:
        """Whether reading this tool's result taints a run: its server is untrusted (or unknown)."""
        server = self.document.servers.get(tool.server)
        return server is None or server.trust is Trust.UNTRUSTED

    def _tenant(self, tenant: str) -> Any:
        found = self.document.tenants.get(tenant)
        if found is None:
            raise UnknownTenant(f"tenant {tenant!r} is not in the policy")
        return found


def _unbelieved(tool: ToolFacts) -> ToolFacts:
    # An untrusted server's own claims (read-only, closed-world) are not believed:
    # its tools count as write_high and open-world, so only a grant that names them
    # without a risk or annotation condition lets them through.
    return tool.model_copy(update={"risk": None, "open_world": None, "idempotent": False})


def _glob_regex(globs: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{fnmatch.translate(glob)})" for glob in globs))


def _context(request: DecisionRequest, roles: Sequence[str]) -> dict[str, Any]:
    tool = request.tool
    return {"tenant": request.tenant, "user": request.user, "roles": list(roles),
            "tool": tool.name, "server": tool.server, "risk": tool.effective_risk.value,
            "data_class": tool.effective_data_class.value, "tainted": request.tainted,
            "channel": request.channel.value}


def _check_condition(condition: Expression, arguments: dict[str, Any],
                     context: dict[str, Any]) -> tuple[str, str]:
    """(why it does not match, or ''; what to note when it does)."""
    try:
        if condition.evaluate(arguments, context):
            return "", f"when {condition.source}"
        return f"{condition.source} is false", ""
    except EvaluationError as exc:
        # Fail closed: a deny or approval rule must not be bypassed by leaving a
        # field out or sending the wrong type.
        return "", f"{condition.source} could not be evaluated ({exc}), so the rule applies"
