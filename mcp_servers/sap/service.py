"""The sap server's tools: build a typed OData query, call SAP for the caller's tenant, trim.

Every handler gets its tenant's `SapClient` from `SapClients` (one pooled HTTP
client per tenant, built from that tenant's connection only), wraps its SAP
calls in `map_odata_errors`, and maps SAP's entities to the wire models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from mcp_servers.kit.connectors.connections import TenantClients
from mcp_servers.kit.context import CallContext
from mcp_servers.kit.errors import NotFound
from mcp_servers.sap import models as m
from mcp_servers.sap.connections import SapConnection, connections_from_settings
from mcp_servers.sap.errors import MalformedResponse, map_odata_errors
from mcp_servers.sap.odata import (
    Query,
    SapClient,
    any_of,
    as_date,
    as_number,
    compare,
    contains,
    decode_cursor,
    encode_cursor,
    entity_path,
    sap_date,
    sap_decimal,
)
from mcp_servers.sap.settings import SapSettings

PO_SRV = "API_PURCHASEORDER_PROCESS_SRV"
PRODUCT_SRV = "API_PRODUCT_SRV"
STOCK_SRV = "API_MATERIAL_STOCK_SRV"
COSTCENTER_SRV = "API_COSTCENTER_SRV"
MATDOC_SRV = "API_MATERIAL_DOCUMENT_SRV"

HEADER_FIELDS = ("PurchaseOrder", "Supplier", "CompanyCode", "PurchaseOrderType",
                 "PurchasingGroup", "DocumentCurrency", "PurchaseOrderDate", "CreatedByUser")
ITEM_FIELDS = ("PurchaseOrder", "PurchaseOrderItem", "Material", "PurchaseOrderItemText", "Plant",
               "StorageLocation", "OrderQuantity", "PurchaseOrderQuantityUnit", "NetPriceAmount",
               "ScheduleLineDeliveryDate", "GoodsReceiptQuantity", "IsCompletelyDelivered")
ITEMS = "to_PurchaseOrderItem"
Row = dict[str, Any]
T = TypeVar("T")


class SapClients(TenantClients[SapConnection, SapClient]):
    """One `SapClient` per tenant, built on first use and closed with the server."""

    def __init__(self, settings: SapSettings) -> None:
        super().__init__(connections_from_settings(settings), settings.timeout_s, SapClient)
        self.settings = settings


class SapService:
    def __init__(self, clients: SapClients) -> None:
        self.clients = clients

    async def _page(self, ctx: CallContext, service: str, query: Query, limit: int,
                    page: str | None, convert: Callable[[Row], T]
                    ) -> tuple[list[T], int | None, str | None]:
        skip = decode_cursor(page, query)
        limit = min(limit, self.clients.settings.max_rows)
        client = await self.clients.for_tenant(ctx.tenant)
        with map_odata_errors():
            result = await client.query(service, query, skip=skip, limit=limit, user=ctx.user)
            next_page = encode_cursor(result.next_skip, query) if result.next_skip else None
            return [entity(convert, row) for row in result.rows], result.total, next_page

    # --- reads ------------------------------------------------------------------------------

    async def list_purchase_orders(self, ctx: CallContext, args: m.ListPurchaseOrdersInput
                                   ) -> m.ListPurchaseOrdersOutput:
        where = []
        if args.supplier:
            where.append(compare("Supplier", "eq", args.supplier))
        if args.company_code:
            where.append(compare("CompanyCode", "eq", args.company_code))
        if args.created_from:
            where.append(compare("PurchaseOrderDate", "ge", args.created_from))
        if args.created_to:
            where.append(compare("PurchaseOrderDate", "le", args.created_to))
        order = {"newest": (("PurchaseOrderDate", True), ("PurchaseOrder", True)),
                 "oldest": (("PurchaseOrderDate", False), ("PurchaseOrder", False)),
                 "number": (("PurchaseOrder", False),)}[args.order_by]
        query = Query("A_PurchaseOrder", HEADER_FIELDS, tuple(where), order,
                      (ITEMS,) if args.include_items else ())
        orders, total, next_page = await self._page(ctx, PO_SRV, query, args.limit, args.page,
                                                    _order)
        return m.ListPurchaseOrdersOutput(purchase_orders=orders, total=total,
                                          next_page=next_page)

    async def get_purchase_order(self, ctx: CallContext, args: m.GetPurchaseOrderInput
                                 ) -> m.PurchaseOrder:
        client = await self.clients.for_tenant(ctx.tenant)
        with map_odata_errors():
            row, _ = await client.read(PO_SRV, entity_path("A_PurchaseOrder",
                                                           PurchaseOrder=args.number),
                                       expand=(ITEMS,), user=ctx.user)
            return entity(_order, row)

    async def list_purchase_order_items(self, ctx: CallContext,
                                        args: m.ListPurchaseOrderItemsInput
                                        ) -> m.ListPurchaseOrderItemsOutput:
        where = []
        for name, value in (("Material", args.material), ("Plant", args.plant),
                            ("PurchaseOrder", args.purchase_order)):
            if value:
                where.append(compare(name, "eq", value))
        if args.text_contains:
            where.append(contains("PurchaseOrderItemText", args.text_contains))
        if args.open_only:
            where.append(compare("IsCompletelyDelivered", "eq", False))
        if args.delivery_from:
            where.append(compare("ScheduleLineDeliveryDate", "ge", args.delivery_from))
        if args.delivery_to:
            where.append(compare("ScheduleLineDeliveryDate", "le", args.delivery_to))
        query = Query("A_PurchaseOrderItem", ITEM_FIELDS, tuple(where),
                      (("ScheduleLineDeliveryDate", False), ("PurchaseOrder", False),
                       ("PurchaseOrderItem", False)))
        items, total, next_page = await self._page(ctx, PO_SRV, query, args.limit, args.page,
                                                   _item)
        return m.ListPurchaseOrderItemsOutput(items=items, total=total, next_page=next_page)

    async def list_materials(self, ctx: CallContext, args: m.ListMaterialsInput
                             ) -> m.ListMaterialsOutput:
        where = []
        if args.materials:
            where.append(any_of([compare("Product", "eq", n) for n in args.materials]))
        if args.description_contains:
            where.append(contains("ProductDescription", args.description_contains))
        if args.material_type:
            where.append(compare("ProductType", "eq", args.material_type))
        if not args.include_deleted:
            where.append(compare("IsMarkedForDeletion", "eq", False))
        query = Query("A_Product", ("Product", "ProductDescription", "ProductType",
                                    "ProductGroup", "BaseUnit", "IsMarkedForDeletion"),
                      tuple(where), (("Product", False),))
        materials, total, next_page = await self._page(
            ctx, PRODUCT_SRV, query, args.limit, args.page, lambda r: m.MaterialRecord(
                material=r["Product"], description=r.get("ProductDescription") or "",
                material_type=r["ProductType"], material_group=r.get("ProductGroup") or "",
                base_unit=r["BaseUnit"], marked_for_deletion=bool(r.get("IsMarkedForDeletion"))))
        return m.ListMaterialsOutput(materials=materials, total=total, next_page=next_page)

    async def get_stock(self, ctx: CallContext, args: m.GetStockInput) -> m.GetStockOutput:
        where = []
        if args.materials:
            where.append(any_of([compare("Material", "eq", n) for n in args.materials]))
        if args.plant:
            where.append(compare("Plant", "eq", args.plant))
        if args.storage_location:
            where.append(compare("StorageLocation", "eq", args.storage_location))
        if not args.include_zero:
            where.append(compare("MatlWrhsStkQtyInMatlBaseUnit", "gt", 0))
        query = Query("A_MatlStkInAcctMod", ("Material", "Plant", "StorageLocation", "Batch",
                                             "InventoryStockType", "MatlWrhsStkQtyInMatlBaseUnit",
                                             "MaterialBaseUnit"), tuple(where),
                      (("Material", False), ("Plant", False), ("StorageLocation", False)))
        stock, total, next_page = await self._page(
            ctx, STOCK_SRV, query, args.limit, args.page, lambda r: m.StockRow(
                material=r["Material"], plant=r["Plant"], storage_location=r["StorageLocation"],
                batch=r.get("Batch") or "", stock_type=r.get("InventoryStockType") or "",
                quantity=as_number(r["MatlWrhsStkQtyInMatlBaseUnit"]),
                unit=r["MaterialBaseUnit"]))
        return m.GetStockOutput(stock=stock, total=total, next_page=next_page)

    async def list_cost_centers(self, ctx: CallContext, args: m.ListCostCentersInput
                                ) -> m.ListCostCentersOutput:
        where = []
        if args.company_code:
            where.append(compare("CompanyCode", "eq", args.company_code))
        if args.name_contains:
            where.append(contains("CostCenterName", args.name_contains))
        if args.cost_centers:
            where.append(any_of([compare("CostCenter", "eq", n) for n in args.cost_centers]))
        query = Query("A_CostCenter", ("CostCenter", "ControllingArea", "CostCenterName",
                                       "CompanyCode", "CostCenterCategory",
                                       "CostCtrResponsiblePersonName"), tuple(where),
                      (("CostCenter", False),))
        centers, total, next_page = await self._page(
            ctx, COSTCENTER_SRV, query, args.limit, args.page, lambda r: m.CostCenter(
                cost_center=r["CostCenter"], controlling_area=r["ControllingArea"],
                name=r.get("CostCenterName") or "", company_code=r.get("CompanyCode") or "",
                category=r.get("CostCenterCategory") or "",
                responsible=r.get("CostCtrResponsiblePersonName") or ""))
        return m.ListCostCentersOutput(cost_centers=centers, total=total, next_page=next_page)

    # --- writes -----------------------------------------------------------------------------

    async def create_purchase_order(self, ctx: CallContext, args: m.CreatePurchaseOrderInput
                                    ) -> m.CreatePurchaseOrderOutput:
        body = {
            "CompanyCode": args.company_code, "PurchaseOrderType": "NB",
            "Supplier": args.supplier, "PurchasingOrganization": args.company_code,
            "PurchasingGroup": args.purchasing_group,
            ITEMS: [_new_item(line) for line in args.items],
        }
        client = await self.clients.for_tenant(ctx.tenant)
        with map_odata_errors():
            created = await client.write(PO_SRV, "POST", "A_PurchaseOrder", body,
                                         idempotency_key=args.idempotency_key, user=ctx.user)
            order = entity(_order, created or {})
        return m.CreatePurchaseOrderOutput(purchase_order=order.number, supplier=order.supplier,
                                           created_by=order.created_by, items=order.items or [])

    async def change_purchase_order_item(self, ctx: CallContext,
                                         args: m.ChangePurchaseOrderItemInput
                                         ) -> m.ChangePurchaseOrderItemOutput:
        path = entity_path("A_PurchaseOrderItem", PurchaseOrder=args.purchase_order,
                           PurchaseOrderItem=f"{int(args.item):05d}")
        change: dict[str, Any] = {}
        if args.quantity is not None:
            change["OrderQuantity"] = sap_decimal(args.quantity)
        if args.delivery_date is not None:
            change["ScheduleLineDeliveryDate"] = sap_date(args.delivery_date)
        client = await self.clients.for_tenant(ctx.tenant)
        with map_odata_errors():
            _, etag = await client.read(PO_SRV, path, user=ctx.user)
            await client.write(PO_SRV, "PATCH", path, change, if_match=etag,
                               idempotency_key=args.idempotency_key, user=ctx.user)
            row, _ = await client.read(PO_SRV, path, user=ctx.user)
            item = entity(_item, row)
        return m.ChangePurchaseOrderItemOutput(purchase_order=args.purchase_order, item=item)

    async def post_goods_receipt(self, ctx: CallContext, args: m.PostGoodsReceiptInput
                                 ) -> m.PostGoodsReceiptOutput:
        client = await self.clients.for_tenant(ctx.tenant)
        with map_odata_errors():
            order, _ = await client.read(PO_SRV, entity_path(
                "A_PurchaseOrder", PurchaseOrder=args.purchase_order), expand=(ITEMS,),
                user=ctx.user)
            items = {row["PurchaseOrderItem"]: row for row in _expanded(order)}
            lines = []
            for line in args.items:
                item = items.get(f"{int(line.item):05d}")
                if item is None:
                    raise NotFound(f"Purchase order {args.purchase_order} has no item {line.item}.",
                                   model_fix_hint="Read the order with sap.get_purchase_order "
                                   "and use one of its item numbers.")
                lines.append({
                    "Material": item["Material"], "Plant": item["Plant"],
                    "StorageLocation": line.storage_location or item["StorageLocation"],
                    "GoodsMovementType": "101", "PurchaseOrder": args.purchase_order,
                    "PurchaseOrderItem": item["PurchaseOrderItem"],
                    "QuantityInEntryUnit": sap_decimal(line.quantity),
                    "EntryUnit": item["PurchaseOrderQuantityUnit"]})
            posted = await client.write(MATDOC_SRV, "POST", "A_MaterialDocumentHeader",
                                        {"GoodsMovementCode": "01",
                                         "to_MaterialDocumentItem": lines},
                                        idempotency_key=args.idempotency_key, user=ctx.user)
            after, _ = await client.read(PO_SRV, entity_path(
                "A_PurchaseOrder", PurchaseOrder=args.purchase_order), expand=(ITEMS,),
                user=ctx.user)
            posted = posted or {}
            return m.PostGoodsReceiptOutput(
                material_document=str(posted.get("MaterialDocument", "")),
                year=str(posted.get("MaterialDocumentYear", "")),
                purchase_order=args.purchase_order,
                items=[entity(_item, r) for r in _expanded(after)])


def entity(convert: Callable[[Row], T], row: Row) -> T:
    """One SAP entity as a wire model; an entity without the documented properties is malformed."""
    try:
        return convert(row)
    except (KeyError, TypeError, ValidationError) as exc:
        raise MalformedResponse(f"an entity lacks a documented property: {exc!r:.80}") from None


def _new_item(line: m.NewItem) -> dict[str, Any]:
    item: dict[str, Any] = {"Material": line.material, "Plant": line.plant,
                            "OrderQuantity": sap_decimal(line.quantity)}
    if line.storage_location:
        item["StorageLocation"] = line.storage_location
    if line.delivery_date:
        item["ScheduleLineDeliveryDate"] = sap_date(line.delivery_date)
    if line.net_price:
        item["NetPriceAmount"] = sap_decimal(line.net_price)
    if line.text:
        item["PurchaseOrderItemText"] = line.text
    return item


def _expanded(row: dict[str, Any]) -> list[dict[str, Any]]:
    nested = row.get(ITEMS)
    return list(nested.get("results") or []) if isinstance(nested, dict) else []


def _order(row: dict[str, Any]) -> m.PurchaseOrder:
    nested = row.get(ITEMS)
    items = [_item(r) for r in _expanded(row)] if isinstance(nested, dict) and \
        "results" in nested else None
    return m.PurchaseOrder(
        number=row["PurchaseOrder"], supplier=row.get("Supplier") or "",
        company_code=row.get("CompanyCode") or "", document_type=row.get("PurchaseOrderType") or "",
        purchasing_group=row.get("PurchasingGroup") or "",
        currency=row.get("DocumentCurrency") or "", order_date=as_date(row.get("PurchaseOrderDate")),
        created_by=row.get("CreatedByUser") or "", items=items)


def _item(row: dict[str, Any]) -> m.PurchaseOrderItem:
    quantity, received = as_number(row["OrderQuantity"]), as_number(row["GoodsReceiptQuantity"])
    return m.PurchaseOrderItem(
        purchase_order=row["PurchaseOrder"], item=row["PurchaseOrderItem"],
        material=row.get("Material") or "", text=row.get("PurchaseOrderItemText") or "",
        plant=row.get("Plant") or "", storage_location=row.get("StorageLocation") or "",
        quantity=quantity, unit=row.get("PurchaseOrderQuantityUnit") or "",
        net_price=as_number(row.get("NetPriceAmount") or 0),
        delivery_date=as_date(row.get("ScheduleLineDeliveryDate")),
        received_quantity=received, open_quantity=max(0.0, quantity - received),
        completely_delivered=bool(row.get("IsCompletelyDelivered")))
