"""Small things the policy tests share: a minimal policy and tool facts."""

from __future__ import annotations

from policies import ToolFacts

MINIMAL = """
version: 1
servers:
  sap: {trust: internal}
  kb: {trust: trusted}
  web: {trust: untrusted}
tenants:
  acme: {roles: [viewer, operator, approver]}
roles:
  viewer:
    max_data_class: II
    allow: [{tools: ["*"], risk: [read]}]
  operator:
    max_data_class: III
    allow: [{name: everything, tools: ["*"]}]
  approver:
    allow: [{tools: ["kb.*"], risk: [read]}]
"""


def tool(name: str, risk: str = "read", data_class: str = "II", open_world: bool = False,
         **facts) -> ToolFacts:
    return ToolFacts(name=name, risk=risk, data_class=data_class, open_world=open_world, **facts)
