"""The security team's policy files (`policies/*.yaml`) and the policy decision point.

The YAML files say who may call what, what needs an approver, budgets, rate
limits, redaction patterns, each server's trust level and sandbox profile
(`docs/policies.md` explains every key; `policies/schema.json` validates them).
This package reads them and answers questions about them; it imports nothing
else of Tessera's, so the host and the sandbox launcher can both use it.

The host's side, in short (this example runs as a test, `tests/policies/test_api.py`):

>>> from policies import DecisionRequest, PolicyStore, ToolFacts
>>> store = PolicyStore(DEFAULT_DIRECTORY)      # or PolicyStore.from_settings(PolicySettings())
>>> policy = store.current()                    # cheap; reloads changed files when due
>>> order = ToolFacts(name="sap.create_purchase_order", risk="write_high", data_class="III")
>>> decision = policy.decide(DecisionRequest(
...     tenant="acme", user="olga@acme.example", roles=("operator",), tool=order,
...     arguments={"supplier": "100001", "items": [
...         {"material": "RM-10001", "quantity": 500, "plant": "1000", "net_price": 42.5}]}))
>>> decision.outcome, decision.rule             # the rule name goes to traces and audit
(<Outcome.REQUIRE_APPROVAL: 'require_approval'>, 'sap-purchase-order-over-10000')
>>> policy.can_approve("ann@acme.example", ["approver"], "olga@acme.example", "acme", decision)
True
>>> policy.can_approve("olga@acme.example", ["approver"], "olga@acme.example", "acme", decision)
False

Before ranking tools, filter the catalog: `policy.visible_tools(tenant, roles,
tools)`. Per run: `budgets_for(tenant, roles)`, `rate_limit_for(tenant, roles)`,
`max_data_class(tenant, roles, channel)` (the clearance to sign into the call
context; `decision.clearance` carries it too). Before persisting anything:
`redactor(tenant).redact_obj(value)`. For the sandbox: `sandbox_profile(name)`
(the strictest default for a server the policy does not list) and
`server(name).trust`. Keep the `Decision` (outcome, rule, chain,
`policy_digest`) with the run's trace and audit record; set
`DecisionRequest.tainted` once a decision said `taints_session` and the run read
that result. `store.health()` gives the policy digest in force and the last
failed reload (a broken edit keeps the previous policy; see `docs/policies.md`).
"""

from policies.decision import Budgets, Policy, RateLimits, UnknownTenant
from policies.loader import PolicyError
from policies.model import Channel, DataClass, Effect, PolicyFile, Risk, Trust, json_schema
from policies.redaction import Redactor
from policies.request import (
    ApprovalRequirement,
    Decision,
    DecisionRequest,
    Outcome,
    RuleTrace,
    ToolFacts,
)
from policies.sandbox_profile import Limits, SandboxMode, SandboxProfile
from policies.store import DEFAULT_DIRECTORY, PolicySettings, PolicyStore, load_policy

__all__ = [
    "DEFAULT_DIRECTORY", "ApprovalRequirement", "Budgets", "Channel", "DataClass", "Decision",
    "DecisionRequest", "Effect", "Limits", "Outcome", "Policy", "PolicyError", "PolicyFile",
    "PolicySettings", "PolicyStore", "RateLimits", "Redactor", "Risk", "RuleTrace",
    "SandboxMode", "SandboxProfile", "ToolFacts", "Trust", "UnknownTenant", "json_schema",
    "load_policy",
]
