"""Semantic checks of a policy beyond its schema: `tessera policy lint`.

Errors make lint fail; warnings are printed and do not. Checked:

- unknown tools: a glob naming an installed server must match one of its tools
  (error); a glob naming a server that is not installed here cannot be checked
  (warning), and an installed server without a policy entry is reported (warning);
- unreachable rules: a rule covered by an earlier rule of the same effect, or by
  any deny rule, can never be the one that decides (error); likewise a grant
  covered by an earlier grant of the same role (warning);
- approvers: every tenant an approval rule applies to must have one of its
  approver roles (error); an approver role that may itself make the calls it
  approves is reported (warning: Tessera refuses self-approval per user, but
  two holders of the role can approve each other's requests). With a catalog
  this is exact; without one, a rule with no `risk` is taken to hold writes;
- conditions that read an argument none of the matched tools has (warning,
  when the catalog knows the tools' arguments), and roles no tenant uses (warning).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

from policies.decision import CompiledScope, Policy
from policies.expressions import compile_expression
from policies.model import Effect, Grant, Risk, Rule, Scope
from policies.request import ToolFacts

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    level: str  # error | warning
    where: str  # file:line
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.level}: {self.message}"


def lint(policy: Policy, catalog: Mapping[str, ToolFacts] | None = None) -> list[Finding]:
    """Every finding about `policy`; `catalog` maps installed tool names to their facts."""
    findings: list[Finding] = []
    if catalog is not None:
        findings += _unknown_tools(policy, catalog)
        findings += _unlisted_servers(policy, catalog)
        findings += _unknown_fields(policy, catalog)
    findings += _unreachable_rules(policy)
    findings += _shadowed_grants(policy)
    findings += _approvers(policy, catalog)
    findings += _unused_roles(policy)
    return sorted(findings, key=lambda f: (f.level != ERROR, f.where))


def _scopes(policy: Policy) -> list[tuple[str, str, Scope]]:
    doc, loaded = policy.document, policy.loaded
    found: list[tuple[str, str, Scope]] = [
        (loaded.origin("roles", role, "allow", index),
         f"grant {_grant_name(g, index)} of role {role}", g)
        for role, r in doc.roles.items() for index, g in enumerate(r.allow)]
    found += [(loaded.origin("rules", index), f"rule {rule.name}", rule)
              for index, rule in enumerate(doc.rules)]
    return found


def _unknown_tools(policy: Policy, catalog: Mapping[str, ToolFacts]) -> list[Finding]:
    installed = {name.split(".", 1)[0] for name in catalog}
    findings = []
    for where, what, scope in _scopes(policy):
        unchecked: dict[str, list[str]] = {}
        for glob in scope.tools:
            server = glob.split(".", 1)[0]
            if glob == "*" or any(fnmatch.fnmatchcase(name, glob) for name in catalog):
                continue
            if server in installed:
                known = sorted(n for n in catalog if n.startswith(server + "."))
                findings.append(Finding(ERROR, where, f"{what}: {glob!r} matches no tool of "
                                        f"server {server} (it has {', '.join(known)})"))
            else:
                unchecked.setdefault(server, []).append(glob)
        for server, globs in unchecked.items():
            findings.append(Finding(WARNING, where, f"{what}: server {server} is not installed "
                                    f"here, so {', '.join(globs)} cannot be checked"))
    return findings


def _unlisted_servers(policy: Policy, catalog: Mapping[str, ToolFacts]) -> list[Finding]:
    installed = sorted({name.split(".", 1)[0] for name in catalog})
    return [Finding(WARNING, "policy", f"server {server} is installed but not under servers: "
                    "its tools are denied and it has no sandbox profile")
            for server in installed if server not in policy.document.servers]


def _unknown_fields(policy: Policy, catalog: Mapping[str, ToolFacts]) -> list[Finding]:
    findings = []
    for index, rule in enumerate(policy.document.rules):
        if rule.when is None:
            continue
        tools = [t for name, t in catalog.items()
                 if any(fnmatch.fnmatchcase(name, glob) for glob in rule.tools)]
        known = [t.arguments for t in tools if t.arguments is not None]
        if not known:
            continue
        for name in sorted(compile_expression(rule.when).fields):
            if not any(name in arguments for arguments in known):
                findings.append(Finding(WARNING, policy.loaded.origin("rules", index, "when"),
                                        f"rule {rule.name}: no tool it matches has an "
                                        f"argument {name!r}"))
    return findings


def _glob_covers(wide: str, narrow: str) -> bool:
    """Every tool name `narrow` matches, `wide` matches too (conservatively)."""
    if wide == "*" or wide == narrow:
        return True
    if not any(c in narrow for c in "*?"):
        return fnmatch.fnmatchcase(narrow, wide)
    prefix = wide[:-1]
    return wide.endswith("*") and not any(c in prefix for c in "*?") and narrow.startswith(prefix)


def _subset(narrow: list | None, wide: list | None) -> bool:
    return wide is None or (narrow is not None and set(narrow) <= set(wide))


def _covers(wide: Scope, narrow: Scope) -> bool:
    if not all(any(_glob_covers(w, n) for w in wide.tools) for n in narrow.tools):
        return False
    if not (_subset(narrow.risk, wide.risk) and _subset(narrow.data_class, wide.data_class)):
        return False
    wide_hints = wide.annotations.model_dump(exclude_none=True) if wide.annotations else {}
    narrow_hints = narrow.annotations.model_dump(exclude_none=True) if narrow.annotations else {}
    return all(narrow_hints.get(hint) == value for hint, value in wide_hints.items())


def _rule_covers(wide: Rule, narrow: Rule) -> bool:
    same_condition = wide.when is None or " ".join(wide.when.split()) == " ".join(
        (narrow.when or "").split())
    return (_covers(wide, narrow) and same_condition
            and (not wide.when_tainted or narrow.when_tainted)
            and _subset(narrow.tenants, wide.tenants) and _subset(narrow.roles, wide.roles)
            and _subset(narrow.channel, wide.channel))


def _unreachable_rules(policy: Policy) -> list[Finding]:
    rules, findings = policy.document.rules, []
    for index, rule in enumerate(rules):
        for other_index, other in enumerate(rules):
            if other_index == index:
                continue
            earlier_same = other_index < index and other.effect is rule.effect
            overriding = other.effect is Effect.DENY and rule.effect is Effect.REQUIRE_APPROVAL
            if (earlier_same or overriding) and _rule_covers(other, rule):
                findings.append(Finding(ERROR, policy.loaded.origin("rules", index),
                                        f"rule {rule.name} is unreachable: {other.name} "
                                        f"({policy.loaded.origin('rules', other_index)}) "
                                        "matches every call it matches and wins"))
                break
    return findings


def _shadowed_grants(policy: Policy) -> list[Finding]:
    findings = []
    for role_name, role in policy.document.roles.items():
        for index, grant in enumerate(role.allow):
            for earlier in role.allow[:index]:
                if _covers(earlier, grant):
                    findings.append(Finding(
                        WARNING, policy.loaded.origin("roles", role_name, "allow", index),
                        f"grant {_grant_name(grant, index)} of role {role_name} is covered "
                        "by an earlier grant of the same role"))
                    break
    return findings


def _grant_name(grant: Grant, index: int) -> str:
    return grant.name or str(index + 1)


def _approvers(policy: Policy, catalog: Mapping[str, ToolFacts] | None) -> list[Finding]:
    doc, findings = policy.document, []
    for index, rule in enumerate(doc.rules):
        if rule.approval is None:
            continue
        where = policy.loaded.origin("rules", index, "approval")
        for tenant_name in rule.tenants or sorted(doc.tenants):
            tenant = doc.tenants[tenant_name]
            if not set(rule.approval.approvers) & set(tenant.roles):
                findings.append(Finding(ERROR, where, f"rule {rule.name}: nobody in tenant "
                                        f"{tenant_name} can approve (it has none of the roles "
                                        f"{', '.join(rule.approval.approvers)})"))
        for approver in rule.approval.approvers:
            applies = rule.roles is None or approver in rule.roles
            grants = doc.roles[approver].allow
            if applies and any(_may_request(g, rule, catalog) for g in grants):
                findings.append(Finding(WARNING, where, f"rule {rule.name}: role {approver} "
                                        "may both make and approve these calls; a user never "
                                        "approves their own, but two holders of the role can "
                                        "approve each other's"))
    return findings


def _may_request(grant: Grant, rule: Rule, catalog: Mapping[str, ToolFacts] | None) -> bool:
    """Whether the grant lets its role make a call the rule holds for approval."""
    if catalog:
        return any(_in_scope(grant, tool) and _in_scope(rule, tool) for tool in catalog.values())
    risks = set(grant.risk or Risk) & set(rule.risk or (Risk.WRITE_LOW, Risk.WRITE_HIGH))
    return bool(risks) and any(_globs_overlap(a, b) for a in grant.tools for b in rule.tools)


def _in_scope(scope: Scope, tool: ToolFacts) -> bool:
    return (any(fnmatch.fnmatchcase(tool.name, glob) for glob in scope.tools)
            and CompiledScope(scope).mismatch(tool, tool.hints()) == "")


def _globs_overlap(a: str, b: str) -> bool:
    server_a, server_b = a.split(".", 1)[0], b.split(".", 1)[0]
    if "*" in (server_a, server_b):
        return True
    return server_a == server_b and (fnmatch.fnmatchcase(a, b) or fnmatch.fnmatchcase(b, a)
                                     or any(c in a + b for c in "*?"))


def _unused_roles(policy: Policy) -> list[Finding]:
    used = {role for tenant in policy.document.tenants.values() for role in tenant.roles}
    return [Finding(WARNING, policy.loaded.origin("roles", name), f"role {name} is in no "
                    "tenant's roles, so nobody holds it")
            for name in policy.document.roles if name not in used]
