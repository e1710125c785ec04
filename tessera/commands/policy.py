"""`tessera policy lint|explain|test|schema`: the security team's tools for `policies/`.

The policy directory is `--dir`, else `TESSERA_POLICY_DIR`, else the installation's
`policies/`. Lint and test read the installed servers' tool specs (their risk,
data class and arguments) as the catalog; a server that cannot be built here is
reported and skipped, never a reason to fail.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from policies import (
    DEFAULT_DIRECTORY,
    DecisionRequest,
    PolicyError,
    PolicySettings,
    ToolFacts,
    load_policy,
)
from policies.lint import ERROR, lint
from policies.model import Channel, DataClass, Risk, json_schema
from policies.testcases import case_files, fact_mismatches, run_case_files

SCHEMA_FILE = DEFAULT_DIRECTORY / "schema.json"
log = logging.getLogger("tessera.policy")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "policy", help="lint, explain and test the policy files",
        description="Check the policy files in policies/ (or TESSERA_POLICY_DIR), explain a "
        "decision, run the policy test cases, regenerate the JSON Schema.")
    commands = parser.add_subparsers(dest="policy_command", metavar="ACTION", required=True)

    lint_parser = commands.add_parser("lint", help="schema and semantic checks")
    _directory(lint_parser)
    _catalog_switch(lint_parser)
    lint_parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    lint_parser.set_defaults(run=_lint)

    explain = commands.add_parser("explain", help="decide one call and show the rule chain")
    _directory(explain)
    _catalog_switch(explain)
    explain.add_argument("--tenant", required=True, help="tenant of the caller")
    explain.add_argument("--role", action="append", required=True,
                         help="a role of the caller (repeat, or comma-separate)")
    explain.add_argument("--user", default="someone@example.com", help="the calling user")
    explain.add_argument("--tool", required=True, help="tool name, server.tool")
    explain.add_argument("--args", default="{}", help="the call's arguments as JSON")
    explain.add_argument("--tainted", action="store_true",
                         help="the run has read untrusted content")
    explain.add_argument("--channel", choices=[c.value for c in Channel], default="model",
                         help="model (the host's loop, default) or direct (an MCP client)")
    explain.add_argument("--risk", choices=[r.value for r in Risk],
                         help="the tool's risk, if the catalog does not know it")
    explain.add_argument("--data-class", choices=[d.value for d in DataClass],
                         help="the tool's data class, if the catalog does not know it")
    explain.add_argument("--json", action="store_true", help="print the decision as JSON")
    explain.set_defaults(run=_explain)

    test = commands.add_parser("test", help="run the policy test cases (tests/*.yaml)")
    _directory(test)
    _catalog_switch(test)
    test.add_argument("files", nargs="*", type=Path,
                      help="test files (default: DIR/tests/*.yaml)")
    test.set_defaults(run=_test)

    schema = commands.add_parser("schema", help="write policies/schema.json from the model")
    schema.add_argument("--output", type=Path, default=SCHEMA_FILE,
                        help=f"where to write it (default {SCHEMA_FILE})")
    schema.add_argument("--check", action="store_true",
                        help="only check that the file is up to date; exit 1 if not")
    schema.set_defaults(run=_schema)


def _directory(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, default=None,
                        help="policy directory (default: TESSERA_POLICY_DIR or policies/)")


def _catalog_switch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-catalog", action="store_true",
                        help="do not read the installed servers' tool specs")


def _policy_dir(args: argparse.Namespace) -> Path:
    return args.dir if args.dir is not None else PolicySettings().dir


def _load(args: argparse.Namespace) -> Any:
    try:
        return load_policy(_policy_dir(args))
    except PolicyError as exc:
        for problem in exc.problems:
            print(f"{problem}")
        print(f"policy: {len(exc.problems)} error(s); the policy cannot go into force")
        return None


def collect_catalog() -> tuple[dict[str, ToolFacts], list[str]]:
    """Facts of every tool of every installed server, and the servers that could not be read."""
    from pydantic import SecretStr

    from tessera import runtime

    settings = runtime.load_settings()
    runtime.ensure_dev_keys(settings)
    if settings.database_url is None:
        # Building a server opens no connection (pools open in its lifespan); the
        # catalog only reads the specs, so no database needs to run for lint.
        settings = settings.model_copy(
            update={"database_url": SecretStr("postgresql://catalog@catalog.invalid/none")})
    catalog: dict[str, ToolFacts] = {}
    skipped: list[str] = []
    for name, definition in _installed_servers(skipped).items():
        try:
            server = definition.create(settings)
        except Exception as exc:  # any server's failure is reported, not fatal
            log.debug("cannot build %s for its catalog", name, exc_info=True)
            skipped.append(f"server {name}: cannot read its tools here "
                           f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]})")
            continue
        for spec in server.specs.values():
            catalog[spec.name] = ToolFacts(
                name=spec.name, risk=spec.risk.value, data_class=spec.data_class.value,
                idempotent=spec.idempotent, open_world=spec.open_world,
                arguments=frozenset(spec.input_schema.get("properties", {})))
    return catalog, skipped


def _installed_servers(skipped: list[str]) -> dict[str, Any]:
    """Each installed server's definition; one that cannot be loaded is skipped, not fatal."""
    from importlib.metadata import entry_points

    from mcp_servers.kit.definition import ENTRY_POINT_GROUP, ServerDefinition

    found = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            definition = entry.load()
        except Exception as exc:  # a half-installed server must not break lint
            skipped.append(f"server {entry.name}: cannot load {entry.value} ({exc})")
            continue
        if isinstance(definition, ServerDefinition):
            found[entry.name] = definition
        else:
            skipped.append(f"server {entry.name}: {entry.value} is not a ServerDefinition")
    return dict(sorted(found.items()))


def _catalog(args: argparse.Namespace) -> dict[str, ToolFacts] | None:
    if args.no_catalog:
        return None
    catalog, skipped = collect_catalog()
    for line in skipped:
        print(f"policy: warning: {line}")
    return catalog


def _lint(args: argparse.Namespace) -> int:
    policy = _load(args)
    if policy is None:
        return 1
    findings = lint(policy, _catalog(args))
    for finding in findings:
        print(finding)
    errors = sum(f.level == ERROR for f in findings)
    warnings = len(findings) - errors
    files = ", ".join(p.name for p in policy.loaded.files)
    print(f"policy {policy.digest} ({files}): {errors} error(s), {warnings} warning(s)")
    return 1 if errors or (args.strict and warnings) else 0


def _explain(args: argparse.Namespace) -> int:
    policy = _load(args)
    if policy is None:
        return 1
    try:
        arguments = json.loads(args.args)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--args is not JSON: {exc}") from None
    if not isinstance(arguments, dict):
        raise ValueError("--args must be a JSON object")
    facts = _facts(args)
    roles = tuple(r.strip() for value in args.role for r in value.split(",") if r.strip())
    request = DecisionRequest(tenant=args.tenant, user=args.user, roles=roles, tool=facts,
                              arguments=arguments, tainted=args.tainted,
                              channel=Channel(args.channel))
    decision = policy.decide(request, explain=True)
    if args.json:
        print(decision.model_dump_json(indent=2))
        return 0
    print(f"outcome:   {decision.outcome}")
    print(f"rule:      {decision.rule}")
    print(f"reason:    {decision.reason}")
    print(f"clearance: {decision.clearance}")
    print(f"tool:      {facts.name} (risk {facts.effective_risk}, data class "
          f"{facts.effective_data_class}{'' if facts.risk else ', facts unknown: worst assumed'})")
    if decision.approval is not None:
        needs = "; ".join(f"{rule}: {' or '.join(roles)}" for rule, roles
                          in zip(decision.approval.rules, decision.approval.approvers,
                                 strict=True))
        print(f"approval:  {needs}; expires after {decision.approval.expires_after_s} s")
    print("chain:")
    for step in decision.chain:
        mark = "match" if step.matched else "  -  "
        print(f"  {mark}  {step.effect:<16} {step.rule}" + (f"  ({step.detail})"
                                                            if step.detail else ""))
    return 0


def _facts(args: argparse.Namespace) -> ToolFacts:
    known = (_catalog(args) or {}).get(args.tool)
    if known is None:
        return ToolFacts(name=args.tool, risk=args.risk, data_class=args.data_class)
    update = {k: v for k, v in (("risk", args.risk), ("data_class", args.data_class)) if v}
    return known.model_copy(update={k: Risk(v) if k == "risk" else DataClass(v)
                                    for k, v in update.items()})


def _test(args: argparse.Namespace) -> int:
    policy = _load(args)
    if policy is None:
        return 1
    files = args.files or case_files(_policy_dir(args))
    if not files:
        print(f"policy: no test files in {_policy_dir(args) / 'tests'}")
        return 1
    catalog = _catalog(args)
    try:
        for mismatch in fact_mismatches(files, catalog or {}):
            print(f"policy: warning: {mismatch}")
        results = run_case_files(policy, files, catalog)
    except PolicyError as exc:
        for problem in exc.problems:
            print(problem)
        return 1
    for result in results:
        print(f"{'PASS' if result.passed else 'FAIL'}  {result.where}  {result.name}: "
              f"{result.detail}")
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _schema(args: argparse.Namespace) -> int:
    text = schema_text()
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run `tessera policy schema`")
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


def schema_text() -> str:
    """The published schema, exactly as `policies/schema.json` must hold it."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
