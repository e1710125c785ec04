"""Policy test cases the security team writes next to the policy (`policies/tests/*.yaml`).

A test file declares the facts of the tools it uses (`tools:`), then `cases:`,
each a call and the expected outcome (optionally the rule that must fire and the
clearance), and `approvals:`, each an approver and whether they may approve a
rule's held requests. `run_case_files` runs them against a policy and returns
one `CaseResult` per case; `tessera policy test` prints them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from policies.decision import Policy
from policies.loader import PolicyError, read_yaml_with_lines
from policies.model import Channel, DataClass, Risk
from policies.request import DecisionRequest, Outcome, ToolFacts


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DeclaredTool(_Strict):
    """Facts of a tool, as a test file states them."""

    risk: Risk = Field(description="read, write_low or write_high.")
    data_class: DataClass = Field(description="Highest data class the tool returns.")
    idempotent: bool = Field(default=False, description="Repeating the call is harmless.")
    open_world: bool = Field(default=False, description="The tool reaches outside Tessera.")


class Case(_Strict):
    """One call and what the policy must answer."""

    name: str = Field(description="What the case shows.")
    tenant: str = Field(description="Tenant of the caller.")
    user: str = Field(default="someone@example.com", description="The calling user.")
    roles: list[str] = Field(description="The caller's roles.")
    tool: str = Field(description="Tool name, server.tool.")
    arguments: dict[str, Any] = Field(default_factory=dict, description="The call's arguments.")
    tainted: bool = Field(default=False, description="The run has read untrusted content.")
    channel: Channel = Field(default=Channel.MODEL, description="model or direct.")
    expect: Outcome = Field(description="allow, deny or require_approval.")
    rule: str | None = Field(default=None, description="The rule that must decide.")
    clearance: DataClass | None = Field(default=None, description="The clearance the "
                                        "decision must carry.")


class ApprovalCase(_Strict):
    """Whether an approver may approve a rule's held requests."""

    name: str = Field(description="What the case shows.")
    tenant: str = Field(description="Tenant of both users.")
    rule: str = Field(description="The approval rule.")
    requester: str = Field(description="The user who asked.")
    approver: str = Field(description="The user who would approve.")
    approver_roles: list[str] = Field(description="The approver's roles.")
    expect: bool = Field(description="true: may approve; false: may not.")


class CaseFile(_Strict):
    """One test file."""

    tools: dict[str, DeclaredTool] = Field(default_factory=dict,
                                           description="Facts of the tools the cases call.")
    cases: list[Case] = Field(default_factory=list, description="Decision cases.")
    approvals: list[ApprovalCase] = Field(default_factory=list, description="Approver cases.")


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case: where it is written, whether it passed, and what happened."""

    where: str
    name: str
    passed: bool
    detail: str


def read_case_file(path: Path) -> tuple[CaseFile, dict[tuple[Any, ...], int]]:
    data, lines = read_yaml_with_lines(path)
    try:
        return CaseFile.model_validate_json(json.dumps(data, default=str)), lines
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            location = tuple(error["loc"])
            line = next((lines[location[:end]] for end in range(len(location), -1, -1)
                         if location[:end] in lines), 1)
            where = ".".join(str(p) for p in location)
            problems.append(f"{path.name}:{line}: {where}: {error['msg']}")
        raise PolicyError(problems) from None


def run_case_files(policy: Policy, paths: list[Path],
                   catalog: Mapping[str, ToolFacts] | None = None) -> list[CaseResult]:
    """Run every case of `paths` against `policy`. Tool facts: the file's, else the catalog's."""
    results: list[CaseResult] = []
    for path in paths:
        case_file, lines = read_case_file(path)
        for index, case in enumerate(case_file.cases):
            where = f"{path.name}:{lines.get(('cases', index), 1)}"
            facts = _facts(case.tool, case_file, catalog or {})
            results.append(_run_case(policy, case, facts, where))
        for index, approval in enumerate(case_file.approvals):
            where = f"{path.name}:{lines.get(('approvals', index), 1)}"
            allowed = policy.can_approve(approval.approver, approval.approver_roles,
                                         approval.requester, approval.tenant, approval.rule)
            passed = allowed is approval.expect
            detail = f"may approve: {str(allowed).lower()}"
            if not passed:
                detail += f", expected {str(approval.expect).lower()}"
            results.append(CaseResult(where, approval.name, passed, detail))
    return results


def fact_mismatches(paths: list[Path], catalog: Mapping[str, ToolFacts]) -> list[str]:
    """Tools a test file declares differently from what the installed server publishes."""
    found = []
    for path in paths:
        case_file, lines = read_case_file(path)
        for name, declared in case_file.tools.items():
            published = catalog.get(name)
            if published is None:
                continue
            for fact, value in declared.model_dump().items():
                actual = getattr(published, fact)
                if actual is not None and actual != value:
                    found.append(f"{path.name}:{lines.get(('tools', name), 1)}: {name} is "
                                 f"declared with {fact} {value}, but its server publishes {actual}")
    return found


def _facts(name: str, case_file: CaseFile, catalog: Mapping[str, ToolFacts]) -> ToolFacts:
    declared = case_file.tools.get(name)
    if declared is not None:
        return ToolFacts(name=name, **declared.model_dump())
    return catalog.get(name) or ToolFacts(name=name)


def _run_case(policy: Policy, case: Case, facts: ToolFacts, where: str) -> CaseResult:
    request = DecisionRequest(tenant=case.tenant, user=case.user, roles=tuple(case.roles),
                              tool=facts, arguments=case.arguments, tainted=case.tainted,
                              channel=case.channel)
    decision = policy.decide(request)
    failures = []
    if decision.outcome is not case.expect:
        failures.append(f"expected {case.expect}")
    if case.rule is not None and decision.rule != case.rule:
        failures.append(f"expected rule {case.rule}")
    if case.clearance is not None and decision.clearance is not case.clearance:
        failures.append(f"expected clearance {case.clearance}")
    detail = f"{decision.outcome} by {decision.rule} (clearance {decision.clearance})"
    if failures:
        detail += ": " + ", ".join(failures)
    return CaseResult(where, case.name, not failures, detail)


def case_files(directory: Path) -> list[Path]:
    """The test files of a policy directory: `tests/*.yaml` under it."""
    return sorted((directory / "tests").glob("*.yaml"))

