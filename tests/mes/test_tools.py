"""mes tools against the simulator: reads with windows and paging, idempotent writes."""

from __future__ import annotations

from datetime import timedelta

import pytest

pytestmark = pytest.mark.anyio


def site(mes, name="1000"):
    return mes.simulator.sites[name]


async def test_production_orders_by_status_and_window(mes):
    data, now = site(mes), mes.simulator.now
    held = await mes.ok("list_production_orders", {"status": ["ON_HOLD"], "limit": 200})
    assert {o["order"] for o in held["orders"]} == {
        k for k, o in data.orders.items() if o["status"] == "ON_HOLD"}
    start = now - timedelta(days=3)
    window = await mes.ok("list_production_orders", {
        "scheduled_from": start.isoformat(), "scheduled_to": now.isoformat(), "limit": 200})
    assert window["total"] == sum(1 for o in data.orders.values()
                                  if start <= o["scheduled_start"] <= now)


async def test_machine_status_and_defect_rates(mes):
    down = await mes.ok("get_machine_status", {"state": ["DOWN"], "limit": 200})
    assert {m["machine"] for m in down["machines"]} == {
        k for k, m in site(mes).machines.items() if m["state"] == "DOWN"}
    rates = await mes.ok("get_defect_rates", {"group_by": "line", "top": 3})
    assert len(rates["groups"]) == 3 and rates["inspections"] == 600
    assert [g["defect_rate"] for g in rates["groups"]] == sorted(
        (g["defect_rate"] for g in rates["groups"]), reverse=True)
    reports = await mes.ok("list_quality_reports", {"machine": "L1-M01", "limit": 200})
    assert reports["total"] == sum(1 for r in site(mes).inspections.values()
                                   if r["machine"] == "L1-M01")


async def test_downtime_pages_are_followed_and_cursors_continue(mes):
    mes.simulator.requests.clear()  # the simulator serves at most 100 rows per page
    first = await mes.ok("list_downtime_events", {"limit": 150})
    assert len(first["events"]) == 150 and len(mes.simulator.requests) == 2
    second = await mes.ok("list_downtime_events", {"limit": 150, "page": first["next_page"]})
    everything = await mes.ok("list_downtime_events", {"limit": 200})
    ids = [e["event"] for e in first["events"] + second["events"]]
    assert ids[:200] == [e["event"] for e in everything["events"]]
    assert first["total_minutes"] == sum(e["duration_min"] for e in first["events"])
    other = await mes.call("list_downtime_events", {"machine": "L1-M01",
                                                    "page": first["next_page"]})
    assert other.structured_content["error_category"] == "validation"


async def test_record_downtime_reason_once_per_key(mes):
    event = next(k for k, e in site(mes).downtime.items() if e["reason_code"] is None)
    args = {"idempotency_key": "dtr-key-0001", "event": event, "reason_code": "TOOL_CHANGE",
            "comment": "insert worn"}
    first = await mes.ok("record_downtime_reason", args, user="lea@acme.example")
    again = await mes.ok("record_downtime_reason", args)
    assert first == again and first["transaction_id"].startswith("DTR-1000-")
    assert site(mes).next_transaction == 2
    assert site(mes).downtime[event]["recorded_by"] == "lea@acme.example"
    found = await mes.ok("list_downtime_events", {"text_contains": "insert worn"})
    assert [e["event"] for e in found["events"]] == [event]
    reused = await mes.call("record_downtime_reason", {**args, "reason_code": "SETUP"})
    assert reused.structured_content["error_category"] == "validation"


async def test_hold_and_release_a_production_order(mes):
    order = next(k for k, o in site(mes).orders.items() if o["status"] == "IN_PROGRESS")
    held = await mes.ok("hold_production_order", {"idempotency_key": "hold-key-01",
                                                  "order": order, "reason": "porosity"})
    assert held["order"]["status"] == "ON_HOLD" and held["transaction_id"].startswith("HLD-")
    twice = await mes.call("hold_production_order", {"idempotency_key": "hold-key-02",
                                                     "order": order, "reason": "again"})
    assert twice.structured_content["error_category"] == "conflict"
    released = await mes.ok("release_production_order", {"idempotency_key": "rel-key-01",
                                                          "order": order})
    assert released["order"]["status"] == "IN_PROGRESS"
    missing = await mes.call("release_production_order", {"idempotency_key": "rel-key-02",
                                                           "order": "999"})
    assert missing.structured_content["error_category"] == "not_found"


async def test_tenants_reach_only_their_own_site(mes):
    await mes.ok("get_machine_status", {"limit": 1})
    await mes.ok("get_machine_status", {"limit": 1}, tenant="globex")
    assert [r.site for r in mes.simulator.requests] == ["1000", "2000"]
    none = await mes.call("get_machine_status", {}, tenant="initech")
    assert none.structured_content["error_category"] == "forbidden"
