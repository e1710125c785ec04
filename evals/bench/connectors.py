"""Benchmark: what the sap and mes connectors add over calling their simulators directly.

Run:  .venv/bin/python -m evals.bench.connectors [--calls 50] [--only sap|mes]

Both simulators are served by uvicorn on loopback (in this process). For each
tool it times:

- **tool**: a whole MCP tool call through a real client (in-memory transport):
  call-context verification, argument validation, building the query, the HTTP
  request(s) to the simulator, mapping and trimming the answer, serialisation;
- **direct**: the same HTTP request(s) made with a plain httpx client (for reads
  the exact requests the tool made, replayed; for writes the same requests by
  hand, CSRF token already fetched, a fresh idempotency key each time).

It prints median and p95 of both and the difference (the connector's added
latency), in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
from fastmcp import Client

from mcp_servers.kit.context import (
    CONTEXT_META_KEY,
    CallContext,
    ContextSigner,
    generate_key_pair,
    load_signing_key,
)
from mcp_servers.kit.settings import Settings
from mcp_servers.mes import definition as mes_definition
from mcp_servers.mes.backends import connections_for as mes_connections
from mcp_servers.mes.settings import MesSettings
from mcp_servers.mes.simulator import build_app as build_mes
from mcp_servers.sap import definition as sap_definition
from mcp_servers.sap.backends import connections_for as sap_connections
from mcp_servers.sap.settings import SapSettings
from mcp_servers.sap.simulator import build_app as build_sap
from mcp_servers.kit.connectors.simulator import in_background

SAP_ROOT = "/sap/opu/odata/sap"
SAP_READS = {
    "list_purchase_orders": {"supplier": "100001", "limit": 20},
    "get_purchase_order": {"number": "4500000010"},
    "list_purchase_order_items": {"plant": "1000", "open_only": True, "limit": 50},
    "list_materials": {"description_contains": "bearing", "limit": 20},
    "get_stock": {"plant": "1000", "limit": 50},
    "list_cost_centers": {"company_code": "1000"},
}
MES_READS = {
    "list_production_orders": {"status": ["IN_PROGRESS", "ON_HOLD"], "limit": 50},
    "get_machine_status": {"line": "L2"},
    "list_downtime_events": {"unclassified_only": True, "limit": 50},
    "list_quality_reports": {"machine": "L1-M01", "limit": 20},
    "get_defect_rates": {"group_by": "machine", "top": 10},
}
Timed = Callable[[], Awaitable[Any]]


def _key() -> str:
    return f"bench-{uuid.uuid4().hex}"


async def _time(fn: Timed, calls: int) -> list[float]:
    for _ in range(3):
        await fn()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _row(name: str, tool: list[float], direct: list[float]) -> str:
    def stats(s: list[float]) -> tuple[float, float]:
        return statistics.median(s), statistics.quantiles(s, n=20)[18]

    (tm, tp), (dm, dp) = stats(tool), stats(direct)
    return (f"| `{name}` | {dm:.2f} | {dp:.2f} | {tm:.2f} | {tp:.2f} | {tm - dm:+.2f} | "
            f"{tp - dp:+.2f} |")


class Caller:
    def __init__(self, client: Client, signer: ContextSigner, server: str, tenant: str) -> None:
        self.client, self.signer, self.server, self.tenant = client, signer, server, tenant

    async def __call__(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        token = self.signer.sign(CallContext(tenant=self.tenant, user="bench@acme.example"),
                                 audience=self.server)
        result = await self.client.call_tool_mcp(f"{self.server}.{tool}", arguments,
                                                 meta={CONTEXT_META_KEY: token})
        if result.is_error:
            raise RuntimeError(f"{tool}: {result.structured_content}")
        return result.structured_content


async def _replay(http: httpx.AsyncClient, requests: list[Any]) -> None:
    for request in requests:
        (await http.get(request.path, params=request.query)).raise_for_status()


async def bench_sap(settings: Settings, signer: ContextSigner, folder: Path, calls: int
                    ) -> list[str]:
    app = build_sap(1000, clients=("100",))
    simulator = app.state.simulator
    rows = []
    async with in_background(app) as url:
        secret = folder / "sap-password"
        secret.write_text("demo")
        path = folder / "sap.json"
        path.write_text(json.dumps(sap_connections(url, {"bench": "100"}, secret)))
        server = sap_definition.create(settings, SapSettings(_env_file=None,
                                                             connections_file=path))
        async with Client(server.mcp) as client, httpx.AsyncClient(
                base_url=url, auth=("TESSERA", "demo"),
                headers={"Accept": "application/json"}) as http:
            call = Caller(client, signer, "sap", "bench")
            for tool, arguments in SAP_READS.items():
                simulator.requests.clear()
                await call(tool, arguments)
                made = list(simulator.requests)
                rows.append(_row(f"sap.{tool}",
                                 await _time(lambda t=tool, a=arguments: call(t, a), calls),
                                 await _time(lambda m=made: _replay(http, m), calls)))
            rows.extend(await _sap_writes(call, http, calls))
    return rows


async def _sap_writes(call: Caller, http: httpx.AsyncClient, calls: int) -> list[str]:
    po_root = f"{SAP_ROOT}/API_PURCHASEORDER_PROCESS_SRV"
    token = (await http.get(f"{po_root}/", headers={"x-csrf-token": "Fetch"},
                            params={"sap-client": "100"})).headers["x-csrf-token"]
    client = {"sap-client": "100"}
    line = {"material": "RM-10001", "quantity": 1, "plant": "1000"}
    body = {"CompanyCode": "1000", "PurchaseOrderType": "NB", "Supplier": "100001",
            "PurchasingOrganization": "1000", "PurchasingGroup": "001",
            "to_PurchaseOrderItem": [{"Material": "RM-10001", "Plant": "1000",
                                      "OrderQuantity": "1.000"}]}

    async def post(path: str, payload: dict[str, Any]) -> httpx.Response:
        response = await http.post(path, json=payload, params=client, headers={
            "x-csrf-token": token, "Repeatability-Request-ID": _key()})
        response.raise_for_status()
        return response

    created = await call("create_purchase_order", {"idempotency_key": _key(),
                                                    "supplier": "100001", "items": [line]})
    number = created["purchase_order"]
    item = f"{po_root}/A_PurchaseOrderItem(PurchaseOrder='{number}',PurchaseOrderItem='00010')"
    quantities = iter(range(2, 10_000))

    async def change_direct() -> None:
        etag = (await http.get(item, params=client)).headers["etag"]
        response = await http.patch(item, params=client, json={
            "OrderQuantity": f"{next(quantities)}.000"}, headers={
            "x-csrf-token": token, "If-Match": etag, "Repeatability-Request-ID": _key()})
        response.raise_for_status()
        await http.get(item, params=client)

    order = f"{po_root}/A_PurchaseOrder('{number}')"

    async def receipt_direct() -> None:
        await http.get(order, params={**client, "$expand": "to_PurchaseOrderItem"})
        await post(f"{SAP_ROOT}/API_MATERIAL_DOCUMENT_SRV/A_MaterialDocumentHeader", {
            "GoodsMovementCode": "01", "to_MaterialDocumentItem": [{
                "Material": "RM-10001", "Plant": "1000", "StorageLocation": "0001",
                "GoodsMovementType": "101", "PurchaseOrder": number,
                "PurchaseOrderItem": "00010", "QuantityInEntryUnit": "0.001",
                "EntryUnit": "KG"}]})
        await http.get(order, params={**client, "$expand": "to_PurchaseOrderItem"})

    # Receipts of 0.001 against a large order never exhaust its open quantity.
    await call("change_purchase_order_item", {"idempotency_key": _key(), "purchase_order": number,
                                              "item": "10", "quantity": 1_000_000})
    return [
        _row("sap.create_purchase_order",
             await _time(lambda: call("create_purchase_order", {
                 "idempotency_key": _key(), "supplier": "100001", "items": [line]}), calls),
             await _time(lambda: post(f"{po_root}/A_PurchaseOrder", body), calls)),
        _row("sap.change_purchase_order_item",
             await _time(lambda: call("change_purchase_order_item", {
                 "idempotency_key": _key(), "purchase_order": number, "item": "10",
                 "quantity": 1_000_000 + next(quantities)}), calls),
             await _time(change_direct, calls)),
        _row("sap.post_goods_receipt",
             await _time(lambda: call("post_goods_receipt", {
                 "idempotency_key": _key(), "purchase_order": number,
                 "items": [{"item": "10", "quantity": 0.001}]}), calls),
             await _time(receipt_direct, calls)),
    ]


async def bench_mes(settings: Settings, signer: ContextSigner, folder: Path, calls: int
                    ) -> list[str]:
    app = build_mes(1000, sites=("1000",), tokens={"token-for-site-1000": ("1000",)})
    simulator = app.state.simulator
    rows = []
    async with in_background(app) as url:
        path = folder / "mes.json"
        path.write_text(json.dumps(mes_connections(url, {"bench": "1000"}, folder)))
        server = mes_definition.create(settings, MesSettings(_env_file=None,
                                                             connections_file=path))
        async with Client(server.mcp) as client, httpx.AsyncClient(
                base_url=url, headers={"Authorization": "Bearer token-for-site-1000"}) as http:
            call = Caller(client, signer, "mes", "bench")
            for tool, arguments in MES_READS.items():
                simulator.requests.clear()
                await call(tool, arguments)
                made = list(simulator.requests)
                rows.append(_row(f"mes.{tool}",
                                 await _time(lambda t=tool, a=arguments: call(t, a), calls),
                                 await _time(lambda m=made: _replay(http, m), calls)))
            site = "/api/v1/sites/1000"

            async def post(path: str, payload: dict[str, Any]) -> None:
                response = await http.post(f"{site}{path}", json=payload,
                                           headers={"Idempotency-Key": _key()})
                response.raise_for_status()

            rows.append(_row(
                "mes.record_downtime_reason",
                await _time(lambda: call("record_downtime_reason", {
                    "idempotency_key": _key(), "event": "DT-000001",
                    "reason_code": "SETUP"}), calls),
                await _time(lambda: post("/downtime-events/DT-000002/reason",
                                         {"reason_code": "SETUP"}), calls)))
            orders = [o for o, row in simulator.sites["1000"].orders.items()
                      if row["status"] == "IN_PROGRESS"][:2]

            async def hold_release_tool() -> None:
                await call("hold_production_order", {"idempotency_key": _key(),
                                                     "order": orders[0], "reason": "bench"})
                await call("release_production_order", {"idempotency_key": _key(),
                                                        "order": orders[0]})

            async def hold_release_direct() -> None:
                await post(f"/production-orders/{orders[1]}/hold", {"reason": "bench"})
                await post(f"/production-orders/{orders[1]}/release", {"comment": None})

            rows.append(_row("mes.hold + release (pair)",
                             await _time(hold_release_tool, calls),
                             await _time(hold_release_direct, calls)))
    return rows


async def run(calls: int, only: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as raw:
        folder = Path(raw)
        generate_key_pair(folder)
        settings = Settings(_env_file=None, data_dir=folder,
                            context_signing_key_file=folder / "context-signing-key.pem",
                            context_verification_keys_file=folder / "context-verification.jwks.json")
        signer = ContextSigner(load_signing_key(settings.signing_key_path),
                               issuer=settings.context_issuer, ttl_s=60)
        print(f"{calls} calls per row after 3 warm-up calls; milliseconds\n")
        print("| tool | direct median | direct p95 | tool median | tool p95 | added median | "
              "added p95 |")
        print("|---|---|---|---|---|---|---|")
        if only in (None, "sap"):
            for row in await bench_sap(settings, signer, folder, calls):
                print(row, flush=True)
        if only in (None, "mes"):
            for row in await bench_mes(settings, signer, folder, calls):
                print(row, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50, help="timed calls per tool")
    parser.add_argument("--only", choices=["sap", "mes"], default=None)
    args = parser.parse_args()
    anyio.run(run, args.calls, args.only)


if __name__ == "__main__":
    main()
