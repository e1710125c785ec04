"""The decision point: an allow/deny/require_approval matrix, precedence, and the host's helpers."""

from __future__ import annotations

import pytest

from policies import (
    Channel,
    DataClass,
    DecisionRequest,
    Outcome,
    ToolFacts,
    Trust,
    UnknownTenant,
    load_policy,
)
from tests.policies.helpers import MINIMAL, tool

READ_KB = tool("kb.search", "read", "IV")
DELETE_DOC = tool("kb.delete", "write_high", "I")
CITE = tool("citations.add_source", "write_low", "I")
REMEMBER = tool("memory.remember", "write_low", "II", idempotent=True)
ERASE = tool("memory.erase_user", "write_high", "I")
PO = tool("sap.create_purchase_order", "write_high", "III", open_world=True)
CHANGE = tool("sap.change_purchase_order_item", "write_high", "III", open_world=True)
RECEIPT = tool("sap.post_goods_receipt", "write_high", "III", open_world=True)
HOLD = tool("mes.hold_production_order", "write_high", "II", open_world=True)
DOWNTIME = tool("mes.record_downtime_reason", "write_high", "II", open_world=True)

SMALL_PO = {"items": [{"material": "RM-1", "quantity": 10, "plant": "1000", "net_price": 50}]}
BIG_PO = {"items": [{"material": "RM-1", "quantity": 500, "plant": "1000", "net_price": 50}]}
PLANT_1010 = {"items": [{"material": "RM-1", "quantity": 1, "plant": "1010", "net_price": 5}]}
A, D, R = Outcome.ALLOW, Outcome.DENY, Outcome.REQUIRE_APPROVAL

MATRIX = [
    # tenant, role, tool, arguments, tainted, expected outcome, expected rule
    ("acme", "viewer", READ_KB, {}, False, A, "grant:viewer:read-everything"),
    ("acme", "viewer", REMEMBER, {}, False, A, "grant:viewer:own-memories"),
    ("acme", "viewer", CITE, {}, False, A, "grant:viewer:cite-sources"),
    ("acme", "viewer", ERASE, {}, False, D, "default:not-granted"),
    ("acme", "viewer", PO, SMALL_PO, False, D, "default:not-granted"),
    ("acme", "viewer", HOLD, {}, False, D, "default:not-granted"),
    ("acme", "viewer", REMEMBER, {}, True, R, "writes-when-tainted-need-approval"),
    ("acme", "viewer", READ_KB, {}, True, A, "grant:viewer:read-everything"),
    ("acme", "operator", READ_KB, {}, False, A, "grant:operator:read-everything"),
    ("acme", "operator", PO, SMALL_PO, False, A, "grant:operator:sap-purchasing"),
    ("acme", "operator", PO, BIG_PO, False, R, "sap-purchase-order-over-10000"),
    ("acme", "operator", PO, PLANT_1010, False, R, "sap-orders-for-plant-1010-need-approval"),
    ("acme", "operator", PO, {}, False, R, "sap-purchase-order-over-10000"),  # fails closed
    ("acme", "operator", PO, SMALL_PO, True, D, "no-destructive-writes-when-tainted"),
    ("acme", "operator", PO, BIG_PO, True, D, "no-destructive-writes-when-tainted"),
    ("acme", "operator", CHANGE, {"quantity": 5}, False, A, "grant:operator:sap-purchasing"),
    ("acme", "operator", CHANGE, {"quantity": 5000}, False, R,
     "sap-large-quantity-changes-need-approval"),
    ("acme", "operator", CHANGE, {"delivery_date": "2026-12-01"}, False, A,
     "grant:operator:sap-purchasing"),
    ("acme", "operator", RECEIPT, {}, False, A, "grant:operator:sap-purchasing"),
    ("acme", "operator", HOLD, {}, False, R, "mes-holds-need-approval"),
    ("acme", "operator", DOWNTIME, {}, False, A, "grant:operator:mes-shop-floor"),
    ("acme", "operator", ERASE, {}, False, R, "erasing-a-users-memories-needs-approval"),
    ("acme", "operator", DELETE_DOC, {}, False, D, "default:not-granted"),
    ("acme", "approver", READ_KB, {}, False, A, "grant:approver:read-everything"),
    ("acme", "approver", PO, SMALL_PO, False, D, "default:not-granted"),
    ("acme", "approver", DOWNTIME, {}, False, D, "default:not-granted"),
    ("acme", "admin", PO, SMALL_PO, False, A, "grant:admin:everything"),
    ("acme", "admin", PO, BIG_PO, False, R, "sap-purchase-order-over-10000"),
    ("acme", "admin", ERASE, {}, False, R, "erasing-a-users-memories-needs-approval"),
    ("acme", "admin", DELETE_DOC, {}, False, R, "kb-deletions-need-approval"),
    ("acme", "admin", DELETE_DOC, {}, True, D, "no-destructive-writes-when-tainted"),
    ("globex", "operator", PO, SMALL_PO, False, R, "sap-writes-in-globex-need-approval"),
    ("globex", "operator", PO, BIG_PO, False, R, "sap-purchase-order-over-10000"),
    ("globex", "operator", RECEIPT, {}, False, R, "sap-writes-in-globex-need-approval"),
    ("globex", "viewer", READ_KB, {}, False, A, "grant:viewer:read-everything"),
    ("initech", "admin", READ_KB, {}, False, D, "default:unknown-tenant"),
    ("acme", "root", READ_KB, {}, False, D, "default:no-role"),
    ("acme", "admin", tool("web.fetch"), {}, False, D, "default:unknown-server"),
]


@pytest.mark.parametrize(("tenant", "role", "facts", "arguments", "tainted", "outcome", "rule"),
                         MATRIX, ids=lambda v: getattr(v, "name", None))
def test_the_shipped_policy_decides(shipped, tenant, role, facts, arguments, tainted, outcome,
                                    rule):
    request = DecisionRequest(tenant=tenant, user="u@example.com", roles=(role,), tool=facts,
                              arguments=arguments, tainted=tainted)
    decision = shipped.decide(request)
    assert (decision.outcome, decision.rule) == (outcome, rule)
    assert decision.policy_digest == shipped.digest
    assert decision.chain and decision.chain[-1].matched
    explained = shipped.decide(request, explain=True)  # the slow path agrees with the fast one
    assert (explained.outcome, explained.rule) == (outcome, rule)


PRECEDENCE = MINIMAL + """
rules:
  - name: big-needs-approval
    effect: require_approval
    tools: ["sap.*"]
    when: amount > 100
    approval: {approvers: [approver]}
  - name: plant-9-denied
    effect: deny
    tools: ["sap.*"]
    when: plant == "9"
  - name: second-approval
    effect: require_approval
    tools: ["sap.post_*"]
    approval: {approvers: [operator], expires_after: 30m}
"""


@pytest.mark.parametrize(("name", "arguments", "outcome", "rule"), [
    ("sap.create_order", {"amount": 5, "plant": "1"}, A, "grant:operator:everything"),
    ("sap.create_order", {"amount": 500, "plant": "1"}, R, "big-needs-approval"),
    ("sap.create_order", {"amount": 5, "plant": "9"}, D, "plant-9-denied"),
    ("sap.create_order", {"amount": 500, "plant": "9"}, D, "plant-9-denied"),  # deny wins
    ("sap.post_receipt", {"amount": 5, "plant": "1"}, R, "second-approval"),
    ("sap.post_receipt", {"amount": 500, "plant": "1"}, R, "big-needs-approval"),  # first named
])
def test_deny_overrides_approval_which_overrides_allow(policy_dir, name, arguments, outcome,
                                                       rule):
    policy = load_policy(policy_dir(main=PRECEDENCE))
    decision = policy.decide(DecisionRequest(tenant="acme", user="o", roles=("operator",),
                                             tool=tool(name, "write_low"), arguments=arguments))
    assert (decision.outcome, decision.rule) == (outcome, rule)


def test_every_matched_approval_rule_binds_the_approver(policy_dir):
    policy = load_policy(policy_dir(main=PRECEDENCE))
    decision = policy.decide(DecisionRequest(
        tenant="acme", user="olga", roles=("operator",), tool=tool("sap.post_receipt", "write_low"),
        arguments={"amount": 500, "plant": "1"}))
    assert decision.approval.rules == ("big-needs-approval", "second-approval")
    assert decision.approval.expires_after_s == 1800  # the shorter expiry
    assert not policy.can_approve("ann", ["approver"], "olga", "acme", decision)
    assert not policy.can_approve("otto", ["operator"], "olga", "acme", decision)
    assert policy.can_approve("ann", ["approver", "operator"], "olga", "acme", decision)
    assert not policy.can_approve("olga", ["approver", "operator"], "olga", "acme", decision)


def test_unknown_tool_facts_are_assumed_at_their_worst(shipped):
    unknown = shipped.decide(DecisionRequest(tenant="acme", user="v", roles=("viewer",),
                                             tool={"name": "kb.search"}))
    assert (unknown.outcome, unknown.rule) == (D, "default:not-granted")  # risk: write_high
    tainted = shipped.decide(DecisionRequest(tenant="acme", user="a", roles=("admin",),
                                             tool={"name": "kb.search"}, tainted=True))
    assert tainted.rule == "no-destructive-writes-when-tainted"


def test_data_class_conditions_match_the_tools_data_class(policy_dir):
    policy = load_policy(policy_dir(main=MINIMAL + """
rules:
  - {name: no-class-iv-on-the-model-path, effect: deny, channel: [model], data_class: [IV]}
"""))
    ask = dict(tenant="acme", user="o", roles=("operator",))
    payroll = tool("sap.payroll", "read", "IV")
    assert policy.decide(DecisionRequest(**ask, tool=payroll)).rule == "no-class-iv-on-the-model-path"
    assert policy.decide(DecisionRequest(**ask, tool=payroll, channel="direct")).outcome is A
    unknown = policy.decide(DecisionRequest(**ask, tool={"name": "sap.other", "risk": "read"}))
    assert unknown.outcome is D  # data class unknown: IV


def test_an_untrusted_servers_claims_are_not_believed(policy_dir):
    policy = load_policy(policy_dir(main=MINIMAL))
    fetch = tool("web.fetch", "read", "I")  # it claims to be a closed-world read
    viewer = dict(tenant="acme", user="v", roles=("viewer",))
    decision = policy.decide(DecisionRequest(**viewer, tool=fetch), explain=True)
    assert decision.rule == "default:not-granted"  # judged write_high: viewers read only
    assert "risk is write_high" in decision.chain[0].detail
    assert not policy.may_call("acme", ["viewer"], fetch)
    operator = policy.decide(DecisionRequest(tenant="acme", user="o", roles=("operator",),
                                             tool=fetch))
    assert operator.outcome is A and operator.taints_session


def test_reading_an_untrusted_server_taints_the_run(policy_dir):
    policy = load_policy(policy_dir(main=MINIMAL))
    ask = dict(tenant="acme", user="o", roles=("operator",))
    assert policy.decide(DecisionRequest(**ask, tool=tool("web.fetch"))).taints_session
    # an internal system reached over the network (openWorldHint) does not taint
    assert not policy.decide(DecisionRequest(**ask, tool=tool("sap.x", open_world=True))).taints_session
    assert not policy.decide(DecisionRequest(**ask, tool=tool("kb.x"))).taints_session
    assert policy.taints(tool("web.fetch")) and not policy.taints(tool("kb.search"))
    assert policy.taints(tool("unknown.tool"))


def test_explain_lists_rules_that_did_not_match_and_why(shipped):
    decision = shipped.decide(DecisionRequest(
        tenant="acme", user="o", roles=("operator",), tool=PO, arguments=SMALL_PO),
        explain=True)
    details = {step.rule: step.detail for step in decision.chain}
    assert details["grant:operator:read-everything"] == "risk is write_high"
    assert details["no-destructive-writes-when-tainted"] == "the run is not tainted"
    assert "is false" in details["sap-purchase-order-over-10000"]
    assert details["mes-holds-need-approval"] == "tool not listed"


def test_a_condition_that_cannot_be_evaluated_applies_and_says_so(shipped):
    decision = shipped.decide(DecisionRequest(
        tenant="acme", user="o", roles=("operator",), tool=PO,
        arguments={"items": [{"quantity": "lots", "plant": "1000", "net_price": 1}]}))
    assert decision.outcome is R
    assert "could not be evaluated" in decision.chain[-1].detail


def test_visible_tools_filters_the_catalog_before_ranking(shipped):
    catalog = [READ_KB, REMEMBER, ERASE, PO, HOLD, DELETE_DOC, tool("web.fetch")]
    names = lambda role, **kw: [t.name for t in shipped.visible_tools("acme", [role], catalog, **kw)]  # noqa: E731
    assert names("viewer") == ["kb.search", "memory.remember"]
    # calls that may need approval stay visible; unconditional denies do not
    assert names("operator") == ["kb.search", "memory.remember", "memory.erase_user",
                                 "sap.create_purchase_order", "mes.hold_production_order"]
    assert names("operator", tainted=True) == ["kb.search", "memory.remember"]
    assert "kb.delete" in names("admin", channel=Channel.DIRECT)
    assert shipped.visible_tools("initech", ["admin"], catalog) == []
    assert shipped.may_call("acme", ["viewer"], READ_KB)


@pytest.mark.parametrize(("tenant", "roles", "channel", "clearance"), [
    ("acme", ["viewer"], Channel.MODEL, DataClass.II),
    ("acme", ["viewer", "operator"], Channel.MODEL, DataClass.III),
    ("acme", ["admin"], Channel.MODEL, DataClass.III),
    ("acme", ["admin"], Channel.DIRECT, DataClass.IV),
    ("globex", ["admin"], Channel.DIRECT, DataClass.III),
    ("acme", ["nobody"], Channel.DIRECT, DataClass.I),
    ("initech", ["admin"], Channel.DIRECT, DataClass.I),
])
def test_max_data_class(shipped, tenant, roles, channel, clearance):
    assert shipped.max_data_class(tenant, roles, channel) is clearance


def test_budgets_take_the_most_generous_role_capped_by_the_tenant(shipped):
    viewer = shipped.budgets_for("acme", ["viewer"])
    assert (viewer.tool_calls_per_run, viewer.tokens_per_run, viewer.cost_per_run) == (15, 60000, 1.0)
    assert viewer.wall_time_s_per_run == 300 and viewer.tokens_per_day == 5_000_000
    both = shipped.budgets_for("acme", ["viewer", "operator"])
    assert (both.tool_calls_per_run, both.tokens_per_run) == (30, 150000)
    admin_in_globex = shipped.budgets_for("globex", ["admin"])
    assert admin_in_globex.tool_calls_per_run == 25  # the tenant caps the role's 50
    assert admin_in_globex.retries_per_run == 2
    with pytest.raises(UnknownTenant):
        shipped.budgets_for("initech", ["admin"])


def test_rate_limits(shipped):
    assert shipped.rate_limit_for("acme", ["viewer"]).user_requests_per_minute == 30
    assert shipped.rate_limit_for("acme", ["viewer", "admin"]).user_requests_per_minute == 120
    assert shipped.rate_limit_for("acme", []).user_requests_per_minute == 30  # tenant default
    limits = shipped.rate_limit_for("globex", ["admin"])
    assert (limits.tenant_requests_per_minute, limits.user_requests_per_minute) == (200, 120)


def test_server_gives_trust_and_sandbox_profile(shipped):
    sap = shipped.server("sap")
    assert sap.trust is Trust.INTERNAL
    assert sap.sandbox.egress == ("127.0.0.1:8791",)
    assert shipped.server("mes").sandbox.egress == ("127.0.0.1:8792",)
    assert shipped.server("sql").sandbox.database_socket
    assert shipped.server("nonexistent") is None
    assert shipped.sandbox_profile("sap") == sap.sandbox
    assert shipped.sandbox_profile("nonexistent").mode == "strict"
    assert shipped.sandbox_profile("nonexistent").egress == ()
    for name in ("memory", "kb", "citations", "sql", "sap", "mes"):
        assert shipped.server(name).sandbox.mode == "strict", name


def test_can_approve_by_rule_name(shipped):
    rule = "mes-holds-need-approval"
    assert shipped.can_approve("q@acme", ["approver"], "o@acme", "acme", rule)
    assert not shipped.can_approve("q@acme", ["approver"], " Q@ACME ", "acme", rule)
    assert not shipped.can_approve("q@acme", ["approver"], "o@acme", "acme", "no-such-rule")
    assert not shipped.can_approve("q@acme", ["approver"], "o@acme", "acme",
                                   "no-destructive-writes-when-tainted")  # a deny rule
    allowed = shipped.decide(DecisionRequest(tenant="acme", user="o", roles=("viewer",),
                                             tool=READ_KB))
    assert not shipped.can_approve("q@acme", ["approver"], "o@acme", "acme", allowed)


@pytest.mark.parametrize(("annotations", "risk", "open_world"), [
    ({"readOnlyHint": True, "openWorldHint": False}, "read", False),
    ({"destructiveHint": False}, "write_low", True),
    ({"readOnlyHint": False}, "write_high", True),  # MCP: destructive unless it says not
    (None, "write_high", True),
])
def test_facts_from_mcp_annotations_use_mcps_defaults(annotations, risk, open_world):
    facts = ToolFacts.from_annotations("web.fetch", annotations)
    assert (facts.risk, facts.open_world, facts.data_class) == (risk, open_world, None)
    assert facts.effective_data_class is DataClass.IV


def test_every_installed_server_has_a_strict_sandbox_in_the_shipped_policy(shipped):
    from importlib.metadata import entry_points

    installed = {entry.name for entry in entry_points(group="tessera.servers")}
    assert installed <= set(shipped.document.servers)
    for name in installed:
        assert shipped.sandbox_profile(name).mode == "strict", name
