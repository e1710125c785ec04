"""`policies.lint`: unknown tools, unreachable rules, missing approvers, self-approval."""

from __future__ import annotations

from policies import load_policy
from policies.lint import ERROR, WARNING, lint
from tests.policies.helpers import MINIMAL, tool

CATALOG = {t.name: t for t in [
    tool("kb.search", "read", "III", arguments=frozenset({"query"})),
    tool("sap.create_purchase_order", "write_high", "II",
         arguments=frozenset({"supplier", "items"})),
    tool("sap.get_purchase_order", "read", "II"),
    tool("memory.remember", "write_low", "II"),
]}


def findings(policy_dir, rules: str = "", catalog=CATALOG, **more):
    policy = load_policy(policy_dir(main=MINIMAL, rules=rules, **more))
    return [(f.level, f.message) for f in lint(policy, catalog)]


def messages(found, level):
    return " | ".join(message for lvl, message in found if lvl == level)


def test_the_shipped_policy_has_no_errors(shipped):
    assert [f for f in lint(shipped) if f.level == ERROR] == []


def test_a_glob_matching_no_tool_of_an_installed_server_is_an_error(policy_dir):
    found = findings(policy_dir, "rules:\n  - {name: r, effect: deny, tools: [sap.create_po]}\n")
    assert "rule r: 'sap.create_po' matches no tool of server sap" in messages(found, ERROR)


def test_a_server_that_is_not_installed_is_only_a_warning(policy_dir):
    found = findings(policy_dir, "rules:\n  - {name: r, effect: deny, tools: [web.fetch]}\n")
    assert messages(found, ERROR) == ""
    assert "server web is not installed here, so web.fetch cannot be checked" in messages(
        found, WARNING)
    assert "server memory is installed but not under servers:" in messages(found, WARNING)


def test_without_a_catalog_tools_are_not_checked(policy_dir):
    found = findings(policy_dir, "rules:\n  - {name: r, effect: deny, tools: [sap.nope]}\n",
                     catalog=None)
    assert "nope" not in messages(found, ERROR) + messages(found, WARNING)


def test_a_rule_covered_by_an_earlier_rule_of_the_same_effect_is_unreachable(policy_dir):
    found = findings(policy_dir, """
rules:
  - {name: all-sap, effect: deny, tools: ["sap.*"]}
  - {name: one-sap, effect: deny, tools: [sap.create_purchase_order], when: "x > 1"}
  - {name: other-tenant-only, effect: deny, tools: [kb.search], tenants: [acme]}
  - {name: broader-later, effect: deny, tools: ["kb.*"]}
""")
    errors = messages(found, ERROR)
    assert "rule one-sap is unreachable: all-sap" in errors
    assert "broader-later" not in errors and "other-tenant-only" not in errors


def test_an_approval_rule_covered_by_any_deny_rule_is_unreachable(policy_dir):
    found = findings(policy_dir, """
rules:
  - name: po-approval
    effect: require_approval
    tools: [sap.create_purchase_order]
    approval: {approvers: [approver]}
  - {name: no-sap-writes, effect: deny, tools: ["sap.*"], risk: [write_low, write_high]}
""")
    assert messages(found, ERROR) == ""  # the approval rule has no risk limit, so not covered
    found = findings(policy_dir, """
rules:
  - name: po-approval
    effect: require_approval
    tools: [sap.create_purchase_order]
    when_tainted: true
    approval: {approvers: [approver]}
  - {name: no-sap-when-tainted, effect: deny, tools: ["sap.*"], when_tainted: true}
""")
    assert "rule po-approval is unreachable: no-sap-when-tainted" in messages(found, ERROR)


def test_an_approval_rule_nobody_in_a_tenant_can_approve_is_an_error(policy_dir):
    found = findings(policy_dir, """
rules:
  - name: needs-admin
    effect: require_approval
    tools: ["sap.*"]
    approval: {approvers: [admin]}
""", extra="roles:\n  admin: {}\ntenants:\n  globex: {roles: [viewer, admin]}\n")
    assert "rule needs-admin: nobody in tenant acme can approve" in messages(found, ERROR)
    assert "globex" not in messages(found, ERROR)


def test_an_approver_role_that_can_make_the_calls_it_approves_is_a_warning(policy_dir):
    found = findings(policy_dir, """
rules:
  - name: po
    effect: require_approval
    tools: [sap.create_purchase_order]
    approval: {approvers: [operator]}
  - name: po-by-approver
    effect: require_approval
    tools: [sap.create_purchase_order]
    roles: [viewer]
    approval: {approvers: [approver]}
""")
    warnings = messages(found, WARNING)
    assert "rule po: role operator may both make and approve" in warnings
    assert "po-by-approver" not in warnings


def test_a_condition_reading_an_argument_no_tool_has_is_a_warning(policy_dir):
    found = findings(policy_dir, """
rules:
  - name: typo
    effect: require_approval
    tools: [sap.create_purchase_order]
    when: sum(itmes[*].quantity) > 10
    approval: {approvers: [approver]}
""")
    assert "rule typo: no tool it matches has an argument 'itmes'" in messages(found, WARNING)


def test_roles_nobody_holds_and_covered_grants_are_warnings(policy_dir):
    found = findings(policy_dir, extra="""
roles:
  orphan:
    allow:
      - {tools: ["kb.*"]}
      - {tools: [kb.search], risk: [read]}
""")
    warnings = messages(found, WARNING)
    assert "role orphan is in no tenant's roles" in warnings
    assert "grant 2 of role orphan is covered by an earlier grant" in warnings
