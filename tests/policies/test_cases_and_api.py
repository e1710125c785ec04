"""The shipped policy test cases pass, failures are reported, and the package's example runs."""

from __future__ import annotations

import doctest

import pytest

import policies
from policies import DEFAULT_DIRECTORY, PolicyError
from policies.testcases import case_files, run_case_files


def test_the_shipped_policy_test_cases_pass(shipped):
    results = run_case_files(shipped, case_files(DEFAULT_DIRECTORY))
    assert len(results) >= 30
    assert [r for r in results if not r.passed] == []


def test_a_failing_case_says_what_happened_and_where(shipped, tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text("""
tools:
  kb.search: {risk: read, data_class: III}
cases:
  - {name: wrong, tenant: acme, roles: [viewer], tool: kb.search, expect: deny}
  - name: wrong rule
    tenant: acme
    roles: [viewer]
    tool: kb.search
    expect: allow
    rule: something-else
approvals:
  - {name: self, tenant: acme, rule: sap-purchase-order-over-10000, requester: a,
     approver: a, approver_roles: [approver], expect: true}
""")
    results = run_case_files(shipped, [cases])
    assert [(r.where, r.passed) for r in results] == [
        ("cases.yaml:5", False), ("cases.yaml:6", False), ("cases.yaml:13", False)]
    assert results[0].detail == ("allow by grant:viewer:read-everything (clearance II): "
                                 "expected deny")
    assert results[1].detail.endswith("expected rule something-else")
    assert results[2].detail == "may approve: false, expected true"


def test_a_malformed_case_file_is_reported_with_its_line(shipped, tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases:\n  - name: x\n    tenant: acme\n    expect: maybe\n")
    with pytest.raises(PolicyError) as error:
        run_case_files(shipped, [cases])
    assert any(p.startswith("cases.yaml:4: cases.0.expect") for p in error.value.problems)


def test_the_api_example_at_the_top_of_the_package_runs():
    result = doctest.testmod(policies, raise_on_error=False)
    assert result.attempted >= 5 and result.failed == 0
