"""The README's story, end to end: a buyer asks for a PO, it stops for approval, an approver
approves, the run finishes with the PO number. Real sap server, real SAP simulator, real policy."""

from __future__ import annotations

import json

import anyio
import pytest

from host.federation.endpoints import in_process
from mcp_servers.sap import definition as sap
from mcp_servers.sap.settings import SapSettings
from mcp_servers.sap.simulator import build_app
from tests.helpers import serving
from tests.host.harness import policy_copy, running_host
from tests.sap.conftest import TENANTS, write_connections
from tests.scripted_llm import Reply

pytestmark = pytest.mark.anyio

ORDER = {"supplier": "100001", "items": [{"material": "RM-10001", "quantity": 50, "plant": "1000"}]}


async def test_a_purchase_order_waits_for_an_approver_and_is_created_once(settings, tokens, tmp_path):
    buyer = tokens("acme", "olga@acme.example", audience="tessera", roles=("operator",))
    approver = tokens("acme", "anna@acme.example", audience="tessera", roles=("approver",))
    async with serving(build_app(1000, clients=tuple(TENANTS.values()))) as sap_url:
        sap_settings = SapSettings(_env_file=None,
                                   connections_file=write_connections(tmp_path, sap_url))
        endpoint = in_process("sap", lambda: sap.create(settings, sap_settings).mcp)
        async with running_host(settings, policy_copy(tmp_path / "policies"), endpoints=[endpoint],
                                core_tools=["memory.recall"]) as host:
            host.llm.script = [
                Reply(tool_calls=[("search_tools", {"query": "create a purchase order in SAP"})]),
                Reply(content="I will create the purchase order.",
                      tool_calls=[("sap__create_purchase_order", ORDER)]),
            ]
            events = dict(await host.chat(buyer, "Order 50 RM-10001 for plant 1000 from 100001"))
            held = events["approval_required"]
            assert held["tool"] == "sap.create_purchase_order"
            run_id = events["run_started"]["run_id"]

            host.llm.script = [lambda request: Reply(
                content="Created purchase order " + json.loads(
                    request["messages"][-1]["content"])["purchase_order"] + ".")]
            approved = await host.http.post(f"/v1/approvals/{held['approval_id']}/approve",
                                            json={"note": "fine"}, headers=host.headers(approver))
            assert approved.status_code == 200
            with anyio.fail_after(30):
                while (run := (await host.http.get(f"/v1/runs/{run_id}",
                                                   headers=host.headers(buyer))).json())["status"] != "finished":
                    await anyio.sleep(0.05)
            approval = await host.services.approvals.get("acme", held["approval_id"])
    answer = next(e for e in run["events"] if e["kind"] == "answer")["payload"]["text"]
    assert answer.startswith("Created purchase order 45")
    assert approval.status.value == "EXECUTED"
    assert approval.result["content"]["purchase_order"] in answer
