"""The mes server's wire models: what each tool takes and returns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
MachineId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
LineId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,16}$")]
EventId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
Material = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_/.-]{0,39}$")]
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{8,128}$")]
OrderStatus = Literal["PLANNED", "RELEASED", "IN_PROGRESS", "ON_HOLD", "COMPLETED"]
MachineState = Literal["RUNNING", "IDLE", "SETUP", "DOWN", "MAINTENANCE"]
ReasonCode = Literal["MECH_FAILURE", "ELEC_FAILURE", "TOOL_CHANGE", "MATERIAL_SHORTAGE", "SETUP",
                     "QUALITY_ISSUE", "NO_OPERATOR", "PLANNED_MAINTENANCE"]

_LIMIT = Field(default=20, ge=1, le=200, description="Most rows to return (the server may cap it).")
_PAGE = Field(default=None, max_length=300,
              description="next_page from the previous call with the same filters.")
_FROM = Field(default=None, description="Start of the time window (ISO 8601, UTC if no zone).")
_TO = Field(default=None, description="End of the time window (ISO 8601, UTC if no zone).")
_KEY = Field(description="Unique key of this write (the host supplies it); a retry with the "
             "same key is applied once.")


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListProductionOrdersInput(_Input):
    status: list[OrderStatus] | None = Field(default=None, max_length=5,
                                             description="Only orders in these statuses.")
    line: LineId | None = Field(default=None, description="Only this production line.")
    material: Material | None = Field(default=None, description="Only orders for this material.")
    orders: list[OrderId] | None = Field(default=None, max_length=50,
                                         description="Only these order numbers.")
    scheduled_from: datetime | None = _FROM
    scheduled_to: datetime | None = _TO
    limit: int = _LIMIT
    page: str | None = _PAGE


class ProductionOrder(BaseModel):
    order: str = Field(description="Production order number.")
    material: str = Field(description="Material produced.")
    status: str = Field(description="PLANNED, RELEASED, IN_PROGRESS, ON_HOLD or COMPLETED.")
    quantity: float = Field(description="Planned quantity.")
    produced: float = Field(description="Good quantity produced so far.")
    scrap: float = Field(description="Scrap so far.")
    unit: str = Field(description="Unit of the quantities.")
    line: str = Field(description="Production line.")
    machine: str = Field(description="Machine it runs on.")
    scheduled_start: datetime = Field(description="Planned start.")
    scheduled_end: datetime = Field(description="Planned end.")
    hold_reason: str | None = Field(description="Why it is on hold, when it is.")


class ListProductionOrdersOutput(BaseModel):
    orders: list[ProductionOrder] = Field(description="Matching orders, by scheduled start.")
    total: int | None = Field(description="How many match in all.")
    next_page: str | None = Field(description="Pass as `page` for more; null at the end.")


class GetMachineStatusInput(_Input):
    machines: list[MachineId] | None = Field(default=None, max_length=50,
                                             description="Only these machines.")
    line: LineId | None = Field(default=None, description="Only this line's machines.")
    state: list[MachineState] | None = Field(default=None, max_length=5,
                                             description="Only machines in these states.")
    limit: int = _LIMIT
    page: str | None = _PAGE


class MachineStatus(BaseModel):
    machine: str = Field(description="Machine id.")
    name: str = Field(description="Machine name.")
    line: str = Field(description="Production line.")
    state: str = Field(description="RUNNING, IDLE, SETUP, DOWN or MAINTENANCE.")
    state_since: datetime = Field(description="When the current state began.")
    current_order: str | None = Field(description="Order running now, if any.")
    oee: float = Field(description="Overall equipment effectiveness today (0-1).")
    availability: float = Field(description="Availability today (0-1).")
    performance: float = Field(description="Performance today (0-1).")
    quality: float = Field(description="Quality rate today (0-1).")


class GetMachineStatusOutput(BaseModel):
    machines: list[MachineStatus] = Field(description="Matching machines, by id.")
    total: int | None = Field(description="How many match in all.")
    next_page: str | None = Field(description="Pass as `page` for more; null at the end.")


class ListDowntimeEventsInput(_Input):
    start_from: datetime | None = _FROM
    start_to: datetime | None = _TO
    machine: MachineId | None = Field(default=None, description="Only this machine.")
    line: LineId | None = Field(default=None, description="Only this line.")
    reason_code: ReasonCode | None = Field(default=None, description="Only this reason.")
    unclassified_only: bool = Field(default=False, description="Only events without a reason.")
    text_contains: Annotated[str, StringConstraints(min_length=2, max_length=60)] | None = Field(
        default=None, description="Reason text or comment contains this (any case).")
    limit: int = _LIMIT
    page: str | None = _PAGE


class DowntimeEvent(BaseModel):
    event: str = Field(description="Downtime event id.")
    machine: str = Field(description="Machine that stopped.")
    line: str = Field(description="Its line.")
    start: datetime = Field(description="When it stopped.")
    end: datetime | None = Field(description="When it ran again.")
    duration_min: float = Field(description="Minutes down.")
    reason_code: str | None = Field(description="Reason code; null when unclassified.")
    reason_text: str | None = Field(description="Reason in words.")
    comment: str | None = Field(description="Comment recorded with the reason.")


class ListDowntimeEventsOutput(BaseModel):
    events: list[DowntimeEvent] = Field(description="Matching events, newest first.")
    total: int | None = Field(description="How many match in all.")
    total_minutes: float = Field(description="Minutes down over the returned events.")
    next_page: str | None = Field(description="Pass as `page` for more; null at the end.")


class ListQualityReportsInput(_Input):
    inspected_from: datetime | None = _FROM
    inspected_to: datetime | None = _TO
    machine: MachineId | None = Field(default=None, description="Only this machine.")
    material: Material | None = Field(default=None, description="Only this material.")
    order: OrderId | None = Field(default=None, description="Only this production order.")
    limit: int = _LIMIT
    page: str | None = _PAGE


class DefectCount(BaseModel):
    code: str = Field(description="Defect code, e.g. SCRATCH, DIMENSION.")
    count: int = Field(description="Pieces with this defect.")


class QualityReport(BaseModel):
    report: str = Field(description="Inspection report id.")
    order: str = Field(description="Production order inspected.")
    material: str = Field(description="Material.")
    machine: str = Field(description="Machine that made it.")
    inspected_at: datetime = Field(description="When it was inspected.")
    inspected: int = Field(description="Pieces inspected.")
    defective: int = Field(description="Pieces found defective.")
    defects: list[DefectCount] = Field(description="Defects by code.")


class ListQualityReportsOutput(BaseModel):
    reports: list[QualityReport] = Field(description="Matching reports, newest first.")
    total: int | None = Field(description="How many match in all.")
    next_page: str | None = Field(description="Pass as `page` for more; null at the end.")


class GetDefectRatesInput(_Input):
    group_by: Literal["machine", "line", "material", "defect"] = Field(
        default="machine", description="What to compute a defect rate for.")
    inspected_from: datetime | None = _FROM
    inspected_to: datetime | None = _TO
    line: LineId | None = Field(default=None, description="Only this line.")
    material: Material | None = Field(default=None, description="Only this material.")
    top: int = Field(default=10, ge=1, le=100, description="Return the worst this many groups.")


class DefectRate(BaseModel):
    key: str = Field(description="The machine, line, material or defect code.")
    inspected: int = Field(description="Pieces inspected.")
    defective: int = Field(description="Pieces defective.")
    defect_rate: float = Field(description="defective / inspected.")
    top_defects: list[DefectCount] = Field(description="Most frequent defects of the group.")


class GetDefectRatesOutput(BaseModel):
    group_by: str = Field(description="What the rates are for.")
    inspections: int = Field(description="Inspections in the window.")
    groups: list[DefectRate] = Field(description="Worst first.")


class HoldProductionOrderInput(_Input):
    idempotency_key: IdempotencyKey = _KEY
    order: OrderId = Field(description="Production order to put on hold.")
    reason: str = Field(min_length=3, max_length=200, description="Why it is held.")


class ReleaseProductionOrderInput(_Input):
    idempotency_key: IdempotencyKey = _KEY
    order: OrderId = Field(description="Held production order to release.")
    comment: str | None = Field(default=None, max_length=200, description="Why it may run again.")


class OrderChangeOutput(BaseModel):
    transaction_id: str = Field(description="The MES transaction (document) number.")
    order: ProductionOrder = Field(description="The order after the change.")


class RecordDowntimeReasonInput(_Input):
    idempotency_key: IdempotencyKey = _KEY
    event: EventId = Field(description="Downtime event id.")
    reason_code: ReasonCode = Field(description="The reason.")
    comment: str | None = Field(default=None, max_length=500, description="What happened.")


class RecordDowntimeReasonOutput(BaseModel):
    transaction_id: str = Field(description="The MES transaction (document) number.")
    event: DowntimeEvent = Field(description="The event after the change.")
