"""The mes server's tool contracts."""

from __future__ import annotations

from mcp_servers.kit.errors import ErrorCategory as E
from mcp_servers.kit.spec import DataClass, Risk, ToolSpec
from mcp_servers.mes import models as m

_READ = frozenset({E.FORBIDDEN, E.POLICY_DENIED, E.NOT_FOUND, E.RATE_LIMITED,
                   E.UPSTREAM_TIMEOUT, E.UPSTREAM_UNAVAILABLE})
_WRITE = _READ | {E.CONFLICT}

LIST_PRODUCTION_ORDERS = ToolSpec(
    name="mes.list_production_orders",
    title="List production orders",
    description=(
        "List MES production orders of the caller's plant by status, line, material or "
        "scheduled start window, with planned, produced and scrap quantities."
    ),
    input_model=m.ListProductionOrdersInput,
    output_model=m.ListProductionOrdersOutput,
    examples=({"status": ["ON_HOLD"]},
              {"line": "L2", "scheduled_from": "2026-11-01T00:00:00Z", "limit": 50}),
    errors=_READ, risk=Risk.READ, data_class=DataClass.II, open_world=True,
)

GET_MACHINE_STATUS = ToolSpec(
    name="mes.get_machine_status",
    title="Machine status",
    description=(
        "Current state of the plant's machines (running, idle, setup, down, maintenance), "
        "since when, the order running, and today's OEE with its three factors."
    ),
    input_model=m.GetMachineStatusInput,
    output_model=m.GetMachineStatusOutput,
    examples=({"state": ["DOWN", "MAINTENANCE"]}, {"line": "L1"}, {"machines": ["L3-M05"]}),
    errors=_READ, risk=Risk.READ, data_class=DataClass.II, open_world=True,
)

LIST_DOWNTIME_EVENTS = ToolSpec(
    name="mes.list_downtime_events",
    title="List downtime events",
    description=(
        "Machine downtime events in a time window, newest first, by machine, line or reason; "
        "also the unclassified ones that still need a reason. Gives the minutes lost."
    ),
    input_model=m.ListDowntimeEventsInput,
    output_model=m.ListDowntimeEventsOutput,
    examples=({"unclassified_only": True, "limit": 10},
              {"line": "L4", "start_from": "2026-11-01T00:00:00Z", "reason_code": "MECH_FAILURE"}),
    errors=_READ, risk=Risk.READ, data_class=DataClass.II, open_world=True,
)

LIST_QUALITY_REPORTS = ToolSpec(
    name="mes.list_quality_reports",
    title="List quality inspection reports",
    description=(
        "Quality inspection reports in a time window, newest first, by machine, material or "
        "production order: pieces inspected, defective, and defects by code."
    ),
    input_model=m.ListQualityReportsInput,
    output_model=m.ListQualityReportsOutput,
    examples=({"machine": "L1-M01"}, {"material": "FG-10001", "limit": 5}),
    errors=_READ, risk=Risk.READ, data_class=DataClass.II, open_world=True,
)

GET_DEFECT_RATES = ToolSpec(
    name="mes.get_defect_rates",
    title="Defect rates",
    description=(
        "Defect rates over a time window grouped by machine, line, material or defect code, "
        "worst first, each with its most frequent defects."
    ),
    input_model=m.GetDefectRatesInput,
    output_model=m.GetDefectRatesOutput,
    examples=({"group_by": "line"}, {"group_by": "defect", "top": 3},
              {"group_by": "machine", "line": "L3", "inspected_from": "2026-11-01T00:00:00Z"}),
    errors=_READ, risk=Risk.READ, data_class=DataClass.II, open_world=True,
)

HOLD_PRODUCTION_ORDER = ToolSpec(
    name="mes.hold_production_order",
    title="Hold a production order",
    description=(
        "Put a production order on hold in the MES so the line stops working on it, with a "
        "reason. Returns the MES transaction number. Held or completed orders are a conflict."
    ),
    input_model=m.HoldProductionOrderInput,
    output_model=m.OrderChangeOutput,
    examples=({"idempotency_key": "example-hold-0001", "order": "1000001",
               "reason": "Suspected porosity in housing castings"},
              {"idempotency_key": "example-hold-0002", "order": "1000002",
               "reason": "Material certificate missing"}),
    errors=_WRITE, risk=Risk.WRITE_HIGH, idempotent=True, data_class=DataClass.II,
    open_world=True,
)

RELEASE_PRODUCTION_ORDER = ToolSpec(
    name="mes.release_production_order",
    title="Release a held production order",
    description=(
        "Release a production order that is on hold so production may continue. Returns the "
        "MES transaction number. An order not on hold is a conflict."
    ),
    input_model=m.ReleaseProductionOrderInput,
    output_model=m.OrderChangeOutput,
    examples=({"idempotency_key": "example-release-0001", "order": "1000001",
               "comment": "Certificate received"},
              {"idempotency_key": "example-release-0002", "order": "1000003"}),
    errors=_WRITE, risk=Risk.WRITE_HIGH, idempotent=True, data_class=DataClass.II,
    open_world=True,
)

RECORD_DOWNTIME_REASON = ToolSpec(
    name="mes.record_downtime_reason",
    title="Record a downtime reason",
    description=(
        "Record (or correct) the reason and a comment for a machine downtime event in the "
        "MES. Returns the MES transaction number."
    ),
    input_model=m.RecordDowntimeReasonInput,
    output_model=m.RecordDowntimeReasonOutput,
    examples=({"idempotency_key": "example-dtr-0001", "event": "DT-000001",
               "reason_code": "TOOL_CHANGE", "comment": "Insert worn, replaced"},
              {"idempotency_key": "example-dtr-0002", "event": "DT-000002",
               "reason_code": "MATERIAL_SHORTAGE"}),
    errors=_WRITE, risk=Risk.WRITE_HIGH, idempotent=True, data_class=DataClass.II,
    open_world=True,
)

ALL = (LIST_PRODUCTION_ORDERS, GET_MACHINE_STATUS, LIST_DOWNTIME_EVENTS, LIST_QUALITY_REPORTS,
       GET_DEFECT_RATES, HOLD_PRODUCTION_ORDER, RELEASE_PRODUCTION_ORDER, RECORD_DOWNTIME_REASON)
