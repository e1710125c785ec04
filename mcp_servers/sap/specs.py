"""The sap server's tool contracts."""

from __future__ import annotations

from mcp_servers.kit.errors import ErrorCategory as E
from mcp_servers.kit.spec import DataClass, Risk, ToolSpec
from mcp_servers.sap import models as m

_UPSTREAM = frozenset({E.FORBIDDEN, E.POLICY_DENIED, E.RATE_LIMITED, E.UPSTREAM_TIMEOUT,
                       E.UPSTREAM_UNAVAILABLE})
_READ = _UPSTREAM | {E.NOT_FOUND}
_WRITE = _UPSTREAM | {E.NOT_FOUND, E.CONFLICT}

LIST_PURCHASE_ORDERS = ToolSpec(
    name="sap.list_purchase_orders",
    title="List purchase orders",
    description=(
        "List SAP purchase orders (header, optionally with items), filtered by supplier, "
        "company code and order date, newest first. Pages with next_page."
    ),
    input_model=m.ListPurchaseOrdersInput,
    output_model=m.ListPurchaseOrdersOutput,
    examples=({"supplier": "100001", "limit": 5},
              {"created_from": "2026-01-01", "include_items": True, "order_by": "oldest",
               "limit": 3}),
    errors=_READ, risk=Risk.READ, data_class=DataClass.III, open_world=True,
)

GET_PURCHASE_ORDER = ToolSpec(
    name="sap.get_purchase_order",
    title="Get a purchase order",
    description="Read one SAP purchase order with all its items, by its 10-digit number.",
    input_model=m.GetPurchaseOrderInput,
    output_model=m.PurchaseOrder,
    examples=({"number": "4500000001"}, {"number": "4500000002"}),
    errors=_READ, risk=Risk.READ, data_class=DataClass.III, open_world=True,
)

LIST_PURCHASE_ORDER_ITEMS = ToolSpec(
    name="sap.list_purchase_order_items",
    title="List purchase order items",
    description=(
        "Find SAP purchase order items by material, plant, order, item text or delivery "
        "date, e.g. the open orders for a material at a plant. Ordered by delivery date."
    ),
    input_model=m.ListPurchaseOrderItemsInput,
    output_model=m.ListPurchaseOrderItemsOutput,
    examples=({"material": "RM-10001", "plant": "1000", "open_only": True},
              {"text_contains": "bearing", "limit": 10}),
    errors=_READ, risk=Risk.READ, data_class=DataClass.III, open_world=True,
)

LIST_MATERIALS = ToolSpec(
    name="sap.list_materials",
    title="Search the material master",
    description=(
        "Search SAP's material master by number, description text or material type; "
        "returns description, type, group and base unit."
    ),
    input_model=m.ListMaterialsInput,
    output_model=m.ListMaterialsOutput,
    examples=({"description_contains": "bearing"},
              {"materials": ["RM-10001", "SP-10001"]},
              {"material_type": "FERT", "limit": 50}),
    errors=_READ, risk=Risk.READ, data_class=DataClass.II, open_world=True,
)

GET_STOCK = ToolSpec(
    name="sap.get_stock",
    title="Stock by plant and storage location",
    description=(
        "Current SAP inventory by material, plant and storage location (unrestricted, "
        "quality inspection, blocked stock). Zero rows are left out unless asked for."
    ),
    input_model=m.GetStockInput,
    output_model=m.GetStockOutput,
    examples=({"materials": ["RM-10001"]}, {"plant": "1000", "storage_location": "0001"}),
    errors=_READ, risk=Risk.READ, data_class=DataClass.II, open_world=True,
)

LIST_COST_CENTERS = ToolSpec(
    name="sap.list_cost_centers",
    title="List cost centers",
    description="List SAP cost centers by company code, name text or number.",
    input_model=m.ListCostCentersInput,
    output_model=m.ListCostCentersOutput,
    examples=({"company_code": "1000"}, {"name_contains": "Maintenance"}),
    errors=_READ, risk=Risk.READ, data_class=DataClass.II, open_world=True,
)

CREATE_PURCHASE_ORDER = ToolSpec(
    name="sap.create_purchase_order",
    title="Create a purchase order",
    description=(
        "Create a standard purchase order (type NB) in SAP for a supplier, with one or more "
        "items (material, quantity, plant). Returns the new PO number. Repeating the call with "
        "the same idempotency_key returns the same order instead of creating another."
    ),
    input_model=m.CreatePurchaseOrderInput,
    output_model=m.CreatePurchaseOrderOutput,
    examples=({"idempotency_key": "example-po-0001", "supplier": "100001",
               "items": [{"material": "RM-10001", "quantity": 50, "plant": "1000"}]},
              {"idempotency_key": "example-po-0002", "supplier": "100002",
               "items": [{"material": "SP-10002", "quantity": 4, "plant": "1010",
                          "storage_location": "0002", "delivery_date": "2026-12-15"}]}),
    errors=_WRITE | {E.VALIDATION}, risk=Risk.WRITE_HIGH, idempotent=True,
    data_class=DataClass.III, open_world=True,
)

CHANGE_PURCHASE_ORDER_ITEM = ToolSpec(
    name="sap.change_purchase_order_item",
    title="Change a purchase order item",
    description=(
        "Change the quantity and/or delivery date of one SAP purchase order item. Guarded by "
        "SAP's ETag, so a concurrent change is reported as a conflict, not overwritten."
    ),
    input_model=m.ChangePurchaseOrderItemInput,
    output_model=m.ChangePurchaseOrderItemOutput,
    examples=({"idempotency_key": "example-chg-0001", "purchase_order": "4500000001",
               "item": "10", "quantity": 300},
              {"idempotency_key": "example-chg-0002", "purchase_order": "4500000002",
               "item": "00010", "delivery_date": "2026-12-20"}),
    errors=_WRITE | {E.VALIDATION}, risk=Risk.WRITE_HIGH, idempotent=True,
    data_class=DataClass.III, open_world=True,
)

POST_GOODS_RECEIPT = ToolSpec(
    name="sap.post_goods_receipt",
    title="Post a goods receipt",
    description=(
        "Post a goods receipt (movement type 101) against purchase order items in SAP; "
        "stock rises and the items' open quantity falls. Returns the material document number."
    ),
    input_model=m.PostGoodsReceiptInput,
    output_model=m.PostGoodsReceiptOutput,
    examples=({"idempotency_key": "example-gr-0001", "purchase_order": "4500000003",
               "items": [{"item": "10", "quantity": 1}]},
              {"idempotency_key": "example-gr-0002", "purchase_order": "4500000004",
               "items": [{"item": "10", "quantity": 2, "storage_location": "0002"}]}),
    errors=_WRITE | {E.VALIDATION}, risk=Risk.WRITE_HIGH, idempotent=True,
    data_class=DataClass.III, open_world=True,
)

ALL = (LIST_PURCHASE_ORDERS, GET_PURCHASE_ORDER, LIST_PURCHASE_ORDER_ITEMS, LIST_MATERIALS,
       GET_STOCK, LIST_COST_CENTERS, CREATE_PURCHASE_ORDER, CHANGE_PURCHASE_ORDER_ITEM,
       POST_GOODS_RECEIPT)
