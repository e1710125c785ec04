"""`tessera policy lint|explain|test|schema`, run through the real command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tessera.cli import main
from tessera.commands.policy import collect_catalog


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(["policy", *argv])
    return code, capsys.readouterr().out


def test_lint_passes_on_the_shipped_policy(capsys):
    code, out = run(capsys, "lint", "--no-catalog")
    assert code == 0
    assert "0 error(s)" in out and "rules.yaml" in out


def test_lint_reports_a_broken_file_with_its_line_and_fails(capsys, shipped_copy):
    (shipped_copy / "roles.yaml").write_text(
        (shipped_copy / "roles.yaml").read_text().replace("max_data_class: II", "max_data_class: 2"))
    code, out = run(capsys, "lint", "--no-catalog", "--dir", str(shipped_copy))
    assert code == 1
    assert "roles.yaml:9: roles.viewer.max_data_class" in out
    assert "cannot go into force" in out


def test_lint_fails_on_an_unreachable_rule(capsys, shipped_copy):
    rules = shipped_copy / "rules.yaml"
    rules.write_text(rules.read_text() + "\n  - {name: shadowed, effect: deny, risk: [write_high],"
                     " when_tainted: true, tools: [sap.create_purchase_order]}\n")
    code, out = run(capsys, "lint", "--no-catalog", "--dir", str(shipped_copy))
    assert code == 1
    assert "error: rule shadowed is unreachable: no-destructive-writes-when-tainted" in out


def test_lint_strict_fails_on_warnings(capsys, shipped_copy):
    roles = shipped_copy / "roles.yaml"
    roles.write_text(roles.read_text() + "\n  auditor: {description: nobody has it yet}\n")
    assert run(capsys, "lint", "--no-catalog", "--dir", str(shipped_copy))[0] == 0
    code, out = run(capsys, "lint", "--no-catalog", "--strict", "--dir", str(shipped_copy))
    assert code == 1 and "role auditor is in no tenant's roles" in out


def test_lint_reads_the_installed_servers_without_failing_on_any(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TESSERA_DATA_DIR", str(tmp_path))  # development keys go here
    for name in ("TESSERA_CONTEXT_SIGNING_KEY_FILE", "TESSERA_CONTEXT_VERIFICATION_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    catalog, skipped = collect_catalog()
    assert catalog["memory.recall"].risk == "read"
    assert "query" in catalog["memory.recall"].arguments
    assert all(line.startswith("server ") for line in skipped)
    code, out = run(capsys, "lint")
    assert code == 0, out
    assert "0 error(s)" in out


def test_explain_prints_the_outcome_and_the_chain(capsys):
    code, out = run(capsys, "explain", "--no-catalog", "--tenant", "acme", "--role", "operator",
                    "--tool", "sap.create_purchase_order", "--risk", "write_high",
                    "--data-class", "II", "--args",
                    '{"items": [{"material": "RM-100", "quantity": 300, "plant": "1000",'
                    ' "net_price": 50}]}')
    assert code == 0
    assert "outcome:   require_approval" in out
    assert "rule:      sap-purchase-order-over-10000" in out
    assert "approval:  sap-purchase-order-over-10000: approver; expires after 86400 s" in out
    assert "match  allow            grant:operator:sap-purchasing" in out
    assert "(the run is not tainted)" in out


def test_explain_json_and_several_roles(capsys):
    code, out = run(capsys, "explain", "--no-catalog", "--tenant", "acme", "--role",
                    "viewer,operator", "--role", "approver", "--tool", "kb.search",
                    "--risk", "read", "--data-class", "III", "--channel", "direct", "--json")
    decision = json.loads(out)
    assert code == 0 and decision["outcome"] == "allow" and decision["clearance"] == "III"
    assert decision["rule"] == "grant:viewer:read-everything"


def test_explain_without_facts_assumes_the_worst_and_says_so(capsys):
    code, out = run(capsys, "explain", "--no-catalog", "--tenant", "acme", "--role", "viewer",
                    "--tool", "kb.search")
    assert code == 0 and "outcome:   deny" in out and "facts unknown: worst assumed" in out


@pytest.mark.parametrize("args", ["[1, 2]", "{not json"])
def test_explain_refuses_bad_arguments_in_one_line(capsys, args):
    code = main(["policy", "explain", "--no-catalog", "--tenant", "acme", "--role", "viewer",
                 "--tool", "kb.search", "--args", args])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("tessera: error: --args") and err.count("\n") == 1


def test_test_runs_the_shipped_cases(capsys):
    code, out = run(capsys, "test", "--no-catalog")
    assert code == 0
    assert "PASS  plant.yaml:" in out and "FAIL" not in out and " 0 failed" in out


def test_test_fails_when_a_case_fails(capsys, shipped_copy):
    rules = shipped_copy / "rules.yaml"
    rules.write_text(rules.read_text().replace("> 10000", "> 20000"))
    code, out = run(capsys, "test", "--no-catalog", "--dir", str(shipped_copy))
    assert code == 1
    assert "FAIL  plant.yaml:" in out and "expected require_approval" in out


def test_test_with_no_case_files_fails(capsys, shipped_copy):
    shutil.rmtree(shipped_copy / "tests")
    assert run(capsys, "test", "--no-catalog", "--dir", str(shipped_copy))[0] == 1


def test_schema_check_and_regenerate(capsys, tmp_path):
    target = tmp_path / "schema.json"
    assert run(capsys, "schema", "--check", "--output", str(target))[0] == 1
    assert run(capsys, "schema", "--output", str(target))[0] == 0
    assert run(capsys, "schema", "--check", "--output", str(target))[0] == 0
    assert run(capsys, "schema", "--check")[0] == 0  # the committed one is current


def test_the_policy_directory_setting_is_used(capsys, monkeypatch, shipped_copy):
    (shipped_copy / "tenants.yaml").write_text("version: 9\n")
    monkeypatch.setenv("TESSERA_POLICY_DIR", str(shipped_copy))
    assert run(capsys, "lint", "--no-catalog")[0] == 1


def test_the_installed_command_runs_policy_test():
    result = subprocess.run([sys.executable, "-m", "tessera", "policy", "test", "--no-catalog"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("action", [[], ["lint"], ["explain"], ["test"], ["schema"]])
def test_every_policy_command_has_help(capsys, action):
    with pytest.raises(SystemExit) as exit_:
        main(["policy", *action, "--help"])
    assert exit_.value.code == 0 and "usage: tessera policy" in capsys.readouterr().out


def test_a_missing_required_option_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["policy", "explain", "--tenant", "acme"])
    assert exit_.value.code == 2
