"""The mes server's tools: typed parameters to the MES for the caller's tenant, rows trimmed.

Every handler gets its tenant's `MesClient` from `MesClients` (one pooled HTTP
client per tenant, built from that tenant's connection only), wraps its MES
calls in `map_mes_errors`, and maps the MES's JSON to the wire models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from mcp_servers.kit.connectors.connections import TenantClients
from mcp_servers.kit.context import CallContext
from mcp_servers.mes import models as m
from mcp_servers.mes.client import MesClient, Page, Params, segment
from mcp_servers.mes.connections import MesConnection, connections_from_settings
from mcp_servers.mes.errors import MalformedResponse, map_mes_errors
from mcp_servers.mes.settings import MesSettings


class MesClients(TenantClients[MesConnection, MesClient]):
    """One `MesClient` per tenant, built on first use and closed with the server."""

    def __init__(self, settings: MesSettings) -> None:
        super().__init__(connections_from_settings(settings), settings.timeout_s, MesClient)
        self.settings = settings


class MesService:
    def __init__(self, clients: MesClients) -> None:
        self.clients = clients

    async def _list(self, ctx: CallContext, path: str, params: Params, limit: int,
                    page: str | None) -> Page:
        client = await self.clients.for_tenant(ctx.tenant)
        with map_mes_errors():
            return await client.list(path, params, limit=min(limit, self.clients.settings.max_rows),
                                     cursor=page, user=ctx.user)

    async def list_production_orders(self, ctx: CallContext, args: m.ListProductionOrdersInput
                                     ) -> m.ListProductionOrdersOutput:
        params = _params(status=args.status, line=args.line, material=args.material,
                         order=args.orders, **{"from": args.scheduled_from,
                                               "to": args.scheduled_to})
        result = await self._list(ctx, "/production-orders", params, args.limit, args.page)
        return m.ListProductionOrdersOutput(orders=_all(m.ProductionOrder, result.rows),
                                            total=result.total, next_page=result.next_page)

    async def get_machine_status(self, ctx: CallContext, args: m.GetMachineStatusInput
                                 ) -> m.GetMachineStatusOutput:
        params = _params(machine=args.machines, line=args.line, state=args.state)
        result = await self._list(ctx, "/machines", params, args.limit, args.page)
        return m.GetMachineStatusOutput(machines=_all(m.MachineStatus, result.rows),
                                        total=result.total, next_page=result.next_page)

    async def list_downtime_events(self, ctx: CallContext, args: m.ListDowntimeEventsInput
                                   ) -> m.ListDowntimeEventsOutput:
        params = _params(machine=args.machine, line=args.line, reason=args.reason_code,
                         q=args.text_contains,
                         unclassified="true" if args.unclassified_only else None,
                         **{"from": args.start_from, "to": args.start_to})
        result = await self._list(ctx, "/downtime-events", params, args.limit, args.page)
        events = _all(m.DowntimeEvent, result.rows)
        return m.ListDowntimeEventsOutput(events=events, total=result.total,
                                          total_minutes=sum(e.duration_min for e in events),
                                          next_page=result.next_page)

    async def list_quality_reports(self, ctx: CallContext, args: m.ListQualityReportsInput
                                   ) -> m.ListQualityReportsOutput:
        params = _params(machine=args.machine, material=args.material, order=args.order,
                         **{"from": args.inspected_from, "to": args.inspected_to})
        result = await self._list(ctx, "/quality/inspections", params, args.limit, args.page)
        return m.ListQualityReportsOutput(reports=_all(m.QualityReport, result.rows),
                                          total=result.total, next_page=result.next_page)

    async def get_defect_rates(self, ctx: CallContext, args: m.GetDefectRatesInput
                               ) -> m.GetDefectRatesOutput:
        params = _params(group_by=args.group_by, line=args.line, material=args.material,
                         **{"from": args.inspected_from, "to": args.inspected_to})
        client = await self.clients.for_tenant(ctx.tenant)
        with map_mes_errors():
            body = await client.get("/quality/defect-rates", params, user=ctx.user)
            groups = body.get("groups")
            if not isinstance(groups, list):
                raise MalformedResponse("'groups' is not a list")
            return m.GetDefectRatesOutput(group_by=args.group_by,
                                          inspections=int(body.get("inspections") or 0),
                                          groups=_all(m.DefectRate, groups[:args.top]))

    async def hold_production_order(self, ctx: CallContext, args: m.HoldProductionOrderInput
                                    ) -> m.OrderChangeOutput:
        body = await self._post(ctx, f"/production-orders/{segment(args.order)}/hold",
                                {"reason": args.reason}, args.idempotency_key)
        return m.OrderChangeOutput(transaction_id=str(body.get("transaction_id", "")),
                                   order=_one(m.ProductionOrder, body.get("order")))

    async def release_production_order(self, ctx: CallContext,
                                       args: m.ReleaseProductionOrderInput) -> m.OrderChangeOutput:
        body = await self._post(ctx, f"/production-orders/{segment(args.order)}/release",
                                {"comment": args.comment}, args.idempotency_key)
        return m.OrderChangeOutput(transaction_id=str(body.get("transaction_id", "")),
                                   order=_one(m.ProductionOrder, body.get("order")))

    async def record_downtime_reason(self, ctx: CallContext, args: m.RecordDowntimeReasonInput
                                     ) -> m.RecordDowntimeReasonOutput:
        body = await self._post(ctx, f"/downtime-events/{segment(args.event)}/reason",
                                {"reason_code": args.reason_code, "comment": args.comment},
                                args.idempotency_key)
        return m.RecordDowntimeReasonOutput(transaction_id=str(body.get("transaction_id", "")),
                                            event=_one(m.DowntimeEvent, body.get("event")))

    async def _post(self, ctx: CallContext, path: str, body: dict[str, Any], key: str
                    ) -> dict[str, Any]:
        client = await self.clients.for_tenant(ctx.tenant)
        with map_mes_errors():
            answer = await client.post(path, body, idempotency_key=key, user=ctx.user)
            if not answer.get("transaction_id"):
                raise MalformedResponse("the MES returned no transaction id")
            return answer


def _params(**values: Any) -> Params:
    """Query parameters from typed values; lists repeat the parameter; None is left out."""
    params: Params = []
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, datetime):
                item = (item if item.tzinfo else item.replace(tzinfo=UTC)).isoformat()
            params.append((name, str(item)))
    return params


def _one(model: type[Any], row: Any) -> Any:
    with map_mes_errors():
        try:
            return model.model_validate(row, strict=False)
        except ValidationError:
            raise MalformedResponse(f"a {model.__name__} does not have the documented "
                                    "fields") from None


def _all(model: type[Any], rows: list[Any]) -> list[Any]:
    return [_one(model, row) for row in rows]
