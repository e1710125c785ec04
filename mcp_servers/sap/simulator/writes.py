"""The SAP simulator's writes: create a purchase order, change a PO item, post a goods receipt.

Each checks what SAP would check (existing supplier and material, valid plant,
positive quantities, ETag on changes, open quantity on receipts) and answers
with SAP-style messages, so the connector's error mapping sees realistic 400,
404, 412 and 428 answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from mcp_servers.sap.simulator.dataset import PLANTS, STORAGE_LOCATIONS, ClientData, MasterData, add_stock
from mcp_servers.sap.simulator.odata import ODataError, from_json_value
from mcp_servers.sap.simulator.services import MATDOC_SRV, PO_SRV, Row, etag_of

Result = tuple[int, str | None, Row | None]  # status, entity set of the answer, the entity
_ITEM_PATH = re.compile(
    r"^A_PurchaseOrderItem\(PurchaseOrder='(?P<po>\d+)',PurchaseOrderItem='(?P<item>\d+)'\)$")
_CHANGEABLE = {"OrderQuantity", "ScheduleLineDeliveryDate"}


def execute(master: MasterData, data: ClientData, service: str, path: str, method: str,
            body: Any, headers: Mapping[str, str], actor: str) -> Result:
    if not isinstance(body, dict):
        raise ODataError(400, "The request body must be a JSON object")
    if service == PO_SRV and path == "A_PurchaseOrder" and method == "POST":
        return create_purchase_order(master, data, body, actor)
    item = _ITEM_PATH.match(path)
    if service == PO_SRV and item and method in ("PATCH", "MERGE"):
        return change_item(data, item.group("po"), item.group("item"), body,
                           headers.get("if-match"))
    if service == MATDOC_SRV and path == "A_MaterialDocumentHeader" and method == "POST":
        return post_goods_receipt(master, data, body, actor)
    raise ODataError(405, f"{method} is not supported on '{path}'")


def create_purchase_order(master: MasterData, data: ClientData, body: dict[str, Any],
                          actor: str) -> Result:
    supplier = str(body.get("Supplier", ""))
    if supplier not in master.suppliers:
        raise ODataError(400, f"Vendor {supplier} does not exist", "ME/065")
    lines = _deep(body, "to_PurchaseOrderItem")
    if not lines:
        raise ODataError(400, "Purchase order contains no items", "ME/083")
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    number = str(data.next_po)
    items = [_new_item(master, number, position, line, now)
             for position, line in enumerate(lines, start=1)]
    data.next_po += 1
    header = {
        "PurchaseOrder": number,
        "CompanyCode": str(body.get("CompanyCode") or "1000"),
        "PurchaseOrderType": str(body.get("PurchaseOrderType") or "NB"),
        "Supplier": supplier,
        "PurchasingOrganization": str(body.get("PurchasingOrganization") or "1000"),
        "PurchasingGroup": str(body.get("PurchasingGroup") or "001"),
        "DocumentCurrency": str(body.get("DocumentCurrency") or "EUR"),
        "PurchaseOrderDate": now,
        "CreatedByUser": actor,
        "CreationDate": now,
    }
    data.purchase_orders[number] = header
    for item in items:
        data.po_items[(number, item["PurchaseOrderItem"])] = item
    return 201, "A_PurchaseOrder", header


def _new_item(master: MasterData, number: str, position: int, line: Any, now: datetime) -> Row:
    if not isinstance(line, dict):
        raise ODataError(400, "Each purchase order item must be a JSON object")
    material = master.materials.get(str(line.get("Material", "")))
    if material is None:
        raise ODataError(400, f"Material {line.get('Material')} does not exist", "M3/305")
    if material["IsMarkedForDeletion"]:
        raise ODataError(400, f"Material {material['Product']} is marked for deletion", "ME/046")
    plant = str(line.get("Plant", ""))
    if plant not in PLANTS:
        raise ODataError(400, f"Plant {plant} does not exist", "ME/026")
    quantity = _quantity(line.get("OrderQuantity"))
    delivery = line.get("ScheduleLineDeliveryDate")
    return {
        "PurchaseOrder": number,
        "PurchaseOrderItem": f"{position * 10:05d}",
        "Material": material["Product"],
        "PurchaseOrderItemText": str(line.get("PurchaseOrderItemText")
                                     or material["ProductDescription"])[:40],
        "Plant": plant,
        "StorageLocation": str(line.get("StorageLocation") or STORAGE_LOCATIONS[0]),
        "OrderQuantity": quantity,
        "PurchaseOrderQuantityUnit": material["BaseUnit"],
        "NetPriceAmount": _quantity(line.get("NetPriceAmount") or "1"),
        "DocumentCurrency": "EUR",
        "ScheduleLineDeliveryDate": from_json_value(delivery, now) if delivery else now,
        "GoodsReceiptQuantity": Decimal(0),
        "IsCompletelyDelivered": False,
        "ETagVersion": 1,
    }


def change_item(data: ClientData, po: str, position: str, body: dict[str, Any],
                if_match: str | None) -> Result:
    item = data.po_items.get((po, position))
    if item is None:
        raise ODataError(404, f"Purchase order item {po}/{position} does not exist", "ME/010")
    if not if_match:
        raise ODataError(428, "Precondition required: send If-Match with the entity's ETag")
    if if_match != "*" and if_match != etag_of(item):
        raise ODataError(412, f"Purchase order item {po}/{position} was changed by another "
                         "user; read it again", "/IWBEP/CM_MGW_RT/035")
    unknown = sorted(set(body) - _CHANGEABLE - {"__metadata"})
    if unknown:
        raise ODataError(400, f"Property {unknown[0]} cannot be changed", "ME/664")
    if "OrderQuantity" in body:
        quantity = _quantity(body["OrderQuantity"])
        if quantity < item["GoodsReceiptQuantity"]:
            raise ODataError(400, f"Quantity {quantity} is less than the quantity already "
                             f"received ({item['GoodsReceiptQuantity']})", "ME/407")
        item["OrderQuantity"] = quantity
        item["IsCompletelyDelivered"] = item["GoodsReceiptQuantity"] >= quantity
    if "ScheduleLineDeliveryDate" in body:
        item["ScheduleLineDeliveryDate"] = from_json_value(body["ScheduleLineDeliveryDate"],
                                                           item["ScheduleLineDeliveryDate"])
    item["ETagVersion"] += 1
    return 204, None, None


def post_goods_receipt(master: MasterData, data: ClientData, body: dict[str, Any],
                       actor: str) -> Result:
    if body.get("GoodsMovementCode") != "01":
        raise ODataError(400, "GoodsMovementCode must be 01 (goods receipt for purchase order)")
    lines = _deep(body, "to_MaterialDocumentItem")
    if not lines:
        raise ODataError(400, "Material document contains no items", "M7/021")
    checked = [_receipt_line(data, line) for line in lines]
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    number, year = str(data.next_md), str(now.year)
    data.next_md += 1
    header = {"MaterialDocumentYear": year, "MaterialDocument": number,
              "GoodsMovementCode": "01", "PostingDate": now, "DocumentDate": now,
              "CreatedByUser": actor}
    data.material_documents[(year, number)] = header
    for position, (item, quantity, location) in enumerate(checked, start=1):
        item["GoodsReceiptQuantity"] += quantity
        item["IsCompletelyDelivered"] = item["GoodsReceiptQuantity"] >= item["OrderQuantity"]
        item["ETagVersion"] += 1
        add_stock(data, item["Material"], item["Plant"], location,
                  item["PurchaseOrderQuantityUnit"], quantity)
        data.md_items[(year, number, f"{position:04d}")] = {
            "MaterialDocumentYear": year, "MaterialDocument": number,
            "MaterialDocumentItem": f"{position:04d}", "Material": item["Material"],
            "Plant": item["Plant"], "StorageLocation": location, "GoodsMovementType": "101",
            "PurchaseOrder": item["PurchaseOrder"], "PurchaseOrderItem": item["PurchaseOrderItem"],
            "QuantityInEntryUnit": quantity, "EntryUnit": item["PurchaseOrderQuantityUnit"],
        }
    return 201, "A_MaterialDocumentHeader", header


def _receipt_line(data: ClientData, line: Any) -> tuple[Row, Decimal, str]:
    if not isinstance(line, dict):
        raise ODataError(400, "Each material document item must be a JSON object")
    if line.get("GoodsMovementType") != "101":
        raise ODataError(400, "GoodsMovementType must be 101", "M7/162")
    key = (str(line.get("PurchaseOrder", "")), str(line.get("PurchaseOrderItem", "")))
    item = data.po_items.get(key)
    if item is None:
        raise ODataError(400, f"Purchase order item {key[0]}/{key[1]} does not exist", "ME/010")
    quantity = _quantity(line.get("QuantityInEntryUnit"))
    open_quantity = item["OrderQuantity"] - item["GoodsReceiptQuantity"]
    if quantity > open_quantity:
        raise ODataError(400, f"Quantity {quantity} exceeds the open quantity {open_quantity} "
                         f"of item {key[0]}/{key[1]}", "M7/022")
    location = str(line.get("StorageLocation") or item["StorageLocation"])
    if location not in STORAGE_LOCATIONS:
        raise ODataError(400, f"Storage location {location} does not exist", "M7/001")
    return item, quantity, location


def _deep(body: dict[str, Any], navigation: str) -> list[Any]:
    value = body.get(navigation) or []
    if isinstance(value, dict):
        value = value.get("results") or []
    return value if isinstance(value, list) else []


def _quantity(value: Any) -> Decimal:
    try:
        quantity = Decimal(str(value))
    except ArithmeticError:
        raise ODataError(400, f"Invalid quantity '{value}'") from None
    if not quantity.is_finite() or quantity <= 0:
        raise ODataError(400, "Quantity must be greater than zero", "ME/083")
    return quantity
