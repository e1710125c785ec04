"""The OData services the SAP simulator serves: entity sets, their keys, rows and navigation.

The names follow SAP's published APIs (API_PURCHASEORDER_PROCESS_SRV,
API_PRODUCT_SRV, API_MATERIAL_STOCK_SRV, API_COSTCENTER_SRV,
API_MATERIAL_DOCUMENT_SRV). Two simplifications, both documented in
docs/servers/sap.md: a product's description and a cost center's name are plain
properties (SAP keeps them in text entities), and a PO item carries its delivery
date (SAP keeps it in the schedule line).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mcp_servers.sap.simulator.dataset import ClientData, MasterData

Row = dict[str, Any]
Rows = Callable[[MasterData, ClientData], list[Row]]


@dataclass(frozen=True)
class Navigation:
    target: str  # entity set
    rows: Callable[[MasterData, ClientData, Row], list[Row]]


@dataclass(frozen=True)
class EntitySet:
    service: str
    name: str
    type_name: str
    keys: tuple[str, ...]
    rows: Rows
    navigation: dict[str, Navigation] = field(default_factory=dict)
    etag: bool = False
    hidden: frozenset[str] = frozenset({"ETagVersion"})

    def key_predicate(self, row: Row) -> str:
        if len(self.keys) == 1:
            return f"('{row[self.keys[0]]}')"
        return "(" + ",".join(f"{k}='{row[k]}'" for k in self.keys) + ")"


def _items_of(master: MasterData, data: ClientData, row: Row) -> list[Row]:
    return [item for (po, _), item in sorted(data.po_items.items()) if po == row["PurchaseOrder"]]


def _md_items_of(master: MasterData, data: ClientData, row: Row) -> list[Row]:
    key = (row["MaterialDocumentYear"], row["MaterialDocument"])
    return [item for (year, doc, _), item in sorted(data.md_items.items()) if (year, doc) == key]


PO_SRV = "API_PURCHASEORDER_PROCESS_SRV"
PRODUCT_SRV = "API_PRODUCT_SRV"
STOCK_SRV = "API_MATERIAL_STOCK_SRV"
COSTCENTER_SRV = "API_COSTCENTER_SRV"
MATDOC_SRV = "API_MATERIAL_DOCUMENT_SRV"

ENTITY_SETS: dict[tuple[str, str], EntitySet] = {
    (s.service, s.name): s
    for s in (
        EntitySet(PO_SRV, "A_PurchaseOrder", "A_PurchaseOrderType", ("PurchaseOrder",),
                  lambda m, d: list(d.purchase_orders.values()),
                  {"to_PurchaseOrderItem": Navigation("A_PurchaseOrderItem", _items_of)}),
        EntitySet(PO_SRV, "A_PurchaseOrderItem", "A_PurchaseOrderItemType",
                  ("PurchaseOrder", "PurchaseOrderItem"),
                  lambda m, d: [d.po_items[k] for k in sorted(d.po_items)], etag=True),
        EntitySet(PRODUCT_SRV, "A_Product", "A_ProductType", ("Product",),
                  lambda m, d: list(m.materials.values())),
        EntitySet(STOCK_SRV, "A_MatlStkInAcctMod", "A_MatlStkInAcctModType",
                  ("Material", "Plant", "StorageLocation", "Batch", "InventoryStockType"),
                  lambda m, d: [d.stock[k] for k in sorted(d.stock)]),
        EntitySet(COSTCENTER_SRV, "A_CostCenter", "A_CostCenterType",
                  ("ControllingArea", "CostCenter"),
                  lambda m, d: [m.cost_centers[k] for k in sorted(m.cost_centers)]),
        EntitySet(MATDOC_SRV, "A_MaterialDocumentHeader", "A_MaterialDocumentHeaderType",
                  ("MaterialDocumentYear", "MaterialDocument"),
                  lambda m, d: list(d.material_documents.values()),
                  {"to_MaterialDocumentItem": Navigation("A_MaterialDocumentItem", _md_items_of)}),
        EntitySet(MATDOC_SRV, "A_MaterialDocumentItem", "A_MaterialDocumentItemType",
                  ("MaterialDocumentYear", "MaterialDocument", "MaterialDocumentItem"),
                  lambda m, d: [d.md_items[k] for k in sorted(d.md_items)]),
    )
}
SERVICES = sorted({service for service, _ in ENTITY_SETS})


def etag_of(row: Row) -> str:
    return f"W/\"'{row['PurchaseOrder']}-{row['PurchaseOrderItem']}-{row['ETagVersion']}'\""
