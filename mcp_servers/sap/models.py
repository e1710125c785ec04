"""The sap server's wire models: what each tool takes and returns.

Inputs are typed and bounded (material numbers, plants, dates, enumerations),
because the OData query is built from them and nothing else. Outputs keep the
high-signal fields of each SAP entity under plain names.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Material = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_/.-]{0,39}$")]
Plant = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{4}$")]
StorageLocation = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{4}$")]
PurchaseOrderNumber = Annotated[str, StringConstraints(pattern=r"^\d{10}$")]
ItemNumber = Annotated[str, StringConstraints(pattern=r"^\d{1,5}$")]
Supplier = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,10}$")]
CompanyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{4}$")]
SearchText = Annotated[str, StringConstraints(min_length=2, max_length=40)]
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{8,128}$")]

_LIMIT = Field(default=20, ge=1, le=200, description="Most rows to return (the server may cap it).")
_PAGE = Field(default=None, max_length=200,
              description="next_page from the previous call with the same filters.")
_KEY = Field(description="Unique key of this write (the host supplies it); a retry with the "
             "same key never creates a second document.")


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- purchase orders ---------------------------------------------------------------------

class ListPurchaseOrdersInput(_Input):
    supplier: Supplier | None = Field(default=None, description="Only this supplier's orders.")
    company_code: CompanyCode | None = Field(default=None, description="Only this company code.")
    created_from: date | None = Field(default=None, description="Ordered on or after this day.")
    created_to: date | None = Field(default=None, description="Ordered on or before this day.")
    order_by: Literal["newest", "oldest", "number"] = Field(default="newest",
                                                            description="Sort order.")
    include_items: bool = Field(default=False, description="Also return each order's items.")
    limit: int = _LIMIT
    page: str | None = _PAGE


class PurchaseOrderItem(BaseModel):
    purchase_order: str = Field(description="Purchase order number.")
    item: str = Field(description="Item number, e.g. 00010.")
    material: str = Field(description="Material number.")
    text: str = Field(description="Short text of the item.")
    plant: str = Field(description="Receiving plant.")
    storage_location: str = Field(description="Receiving storage location.")
    quantity: float = Field(description="Ordered quantity.")
    unit: str = Field(description="Unit of the quantities.")
    net_price: float = Field(description="Net price per unit in the order's currency.")
    delivery_date: date | None = Field(description="Scheduled delivery date.")
    received_quantity: float = Field(description="Quantity received so far.")
    open_quantity: float = Field(description="Ordered minus received.")
    completely_delivered: bool = Field(description="True when nothing more is expected.")


class PurchaseOrder(BaseModel):
    number: str = Field(description="Purchase order number.")
    supplier: str = Field(description="Supplier number.")
    company_code: str = Field(description="Company code.")
    document_type: str = Field(description="Order type, e.g. NB (standard).")
    purchasing_group: str = Field(description="Purchasing group.")
    currency: str = Field(description="Document currency.")
    order_date: date | None = Field(description="Date of the order.")
    created_by: str = Field(description="SAP user who created it.")
    items: list[PurchaseOrderItem] | None = Field(description="Items, when asked for.")


class ListPurchaseOrdersOutput(BaseModel):
    purchase_orders: list[PurchaseOrder] = Field(description="Matching orders.")
    total: int | None = Field(description="How many orders match in all.")
    next_page: str | None = Field(description="Pass as `page` for more; null at the end.")


class GetPurchaseOrderInput(_Input):
    number: PurchaseOrderNumber = Field(description="Purchase order number, 10 digits.")


class ListPurchaseOrderItemsInput(_Input):
    material: Material | None = Field(default=None, description="Only this material.")
    plant: Plant | None = Field(default=None, description="Only this receiving plant.")
    purchase_order: PurchaseOrderNumber | None = Field(default=None,
                                                       description="Only this order's items.")
    text_contains: SearchText | None = Field(default=None,
                                             description="Item text contains this (any case).")
    open_only: bool = Field(default=False, description="Only items still awaiting delivery.")
    delivery_from: date | None = Field(default=None, description="Delivery on or after this day.")
    delivery_to: date | None = Field(default=None, description="Delivery on or before this day.")
    limit: int = _LIMIT
    page: str | None = _PAGE


class ListPurchaseOrderItemsOutput(BaseModel):
    items: list[PurchaseOrderItem] = Field(description="Matching items, by delivery date.")
    total: int | None = Field(description="How many items match in all.")
    next_page: str | None = Field(description="Pass as `page` for more; null at the end.")


# --- materials, stock, cost centers --------------------------------------------------------

class ListMaterialsInput(_Input):
    materials: list[Material] | None = Field(default=None, max_length=50,
                                             description="Only these material numbers.")
    description_contains: SearchText | None = Field(
        default=None, description="Description contains this (any case).")
    material_type: Literal["ROH", "HALB", "FERT", "ERSA"] | None = Field(
        default=None, description="ROH raw, HALB semi-finished, FERT finished, ERSA spare part.")
    include_deleted: bool = Field(default=False, description="Also materials flagged for deletion.")
    limit: int = _LIMIT
    page: str | None = _PAGE


class MaterialRecord(BaseModel):
    material: str = Field(description="Material number.")
    description: str = Field(description="Material description.")
    material_type: str = Field(description="Material type (ROH, HALB, FERT, ERSA).")
    material_group: str = Field(description="Material group.")
    base_unit: str = Field(description="Base unit of measure.")
    marked_for_deletion: bool = Field(description="Flagged for deletion.")


class ListMaterialsOutput(BaseModel):
    materials: list[MaterialRecord] = Field(description="Matching materials, by number.")
    total: int | None = Field(description="How many match in all.")
    next_page: str | None = Field(description="Pass as `page` for more; null at the end.")


class GetStockInput(_Input):
    materials: list[Material] | None = Field(default=None, max_length=50,
                                             description="Only these materials.")
    plant: Plant | None = Field(default=None, description="Only this plant.")
    storage_location: StorageLocation | None = Field(default=None,
                                                     description="Only this storage location.")
    include_zero: bool = Field(default=False, description="Also rows with zero stock.")
    limit: int = _LIMIT
    page: str | None = _PAGE


class StockRow(BaseModel):
    material: str = Field(description="Material number.")
    plant: str = Field(description="Plant.")
    storage_location: str = Field(description="Storage location.")
    batch: str = Field(description="Batch, empty when not batch-managed.")
    stock_type: str = Field(description="01 unrestricted, 02 quality inspection, 07 blocked.")
    quantity: float = Field(description="Quantity in the base unit.")
    unit: str = Field(description="Base unit.")


class GetStockOutput(BaseModel):
    stock: list[StockRow] = Field(description="Stock rows by material, plant, location.")
    total: int | None = Field(description="How many rows match in all.")
    next_page: str | None = Field(description="Pass as `page` for more; null at the end.")


class ListCostCentersInput(_Input):
    company_code: CompanyCode | None = Field(default=None, description="Only this company code.")
    name_contains: SearchText | None = Field(default=None, description="Name contains this.")
    cost_centers: list[Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,10}$")]] | None = \
        Field(default=None, max_length=50, description="Only these cost center numbers.")
    limit: int = _LIMIT
    page: str | None = _PAGE


class CostCenter(BaseModel):
    cost_center: str = Field(description="Cost center number.")
    controlling_area: str = Field(description="Controlling area.")
    name: str = Field(description="Name.")
    company_code: str = Field(description="Company code.")
    category: str = Field(description="Cost center category.")
    responsible: str = Field(description="Person responsible.")


class ListCostCentersOutput(BaseModel):
    cost_centers: list[CostCenter] = Field(description="Matching cost centers.")
    total: int | None = Field(description="How many match in all.")
    next_page: str | None = Field(description="Pass as `page` for more; null at the end.")


# --- writes ------------------------------------------------------------------------------

class NewItem(_Input):
    material: Material = Field(description="Material number.")
    quantity: float = Field(gt=0, le=1e9, description="Quantity in the material's base unit.")
    plant: Plant = Field(description="Receiving plant, e.g. 1000.")
    storage_location: StorageLocation | None = Field(default=None,
                                                     description="Receiving storage location.")
    delivery_date: date | None = Field(default=None, description="Wanted delivery date.")
    net_price: float | None = Field(default=None, gt=0, le=1e9,
                                    description="Net price per unit; SAP's when omitted.")
    text: str | None = Field(default=None, min_length=1, max_length=40,
                             description="Item short text; the material description when omitted.")


class CreatePurchaseOrderInput(_Input):
    idempotency_key: IdempotencyKey = _KEY
    supplier: Supplier = Field(description="Supplier number.")
    company_code: CompanyCode = Field(default="1000", description="Company code.")
    purchasing_group: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3}$")] = Field(
        default="001", description="Purchasing group.")
    items: list[NewItem] = Field(min_length=1, max_length=50, description="The order's items.")


class CreatePurchaseOrderOutput(BaseModel):
    purchase_order: str = Field(description="Number of the created purchase order.")
    supplier: str = Field(description="Supplier number.")
    created_by: str = Field(description="SAP user recorded as creator.")
    items: list[PurchaseOrderItem] = Field(description="The created items.")


class ChangePurchaseOrderItemInput(_Input):
    idempotency_key: IdempotencyKey = _KEY
    purchase_order: PurchaseOrderNumber = Field(description="Purchase order number.")
    item: ItemNumber = Field(description="Item number, e.g. 10 or 00010.")
    quantity: float | None = Field(default=None, gt=0, le=1e9, description="New quantity.")
    delivery_date: date | None = Field(default=None, description="New delivery date.")

    @model_validator(mode="after")
    def _something_changes(self) -> ChangePurchaseOrderItemInput:
        if self.quantity is None and self.delivery_date is None:
            raise ValueError("give quantity, delivery_date or both")
        return self


class ChangePurchaseOrderItemOutput(BaseModel):
    purchase_order: str = Field(description="The changed purchase order's number.")
    item: PurchaseOrderItem = Field(description="The item as SAP holds it after the change.")


class ReceiptLine(_Input):
    item: ItemNumber = Field(description="Purchase order item number.")
    quantity: float = Field(gt=0, le=1e9, description="Quantity received, in the order unit.")
    storage_location: StorageLocation | None = Field(
        default=None, description="Where it was put; the item's when omitted.")


class PostGoodsReceiptInput(_Input):
    idempotency_key: IdempotencyKey = _KEY
    purchase_order: PurchaseOrderNumber = Field(description="Purchase order received against.")
    items: list[ReceiptLine] = Field(min_length=1, max_length=50, description="Received items.")


class PostGoodsReceiptOutput(BaseModel):
    material_document: str = Field(description="Number of the posted material document.")
    year: str = Field(description="Material document year.")
    purchase_order: str = Field(description="The purchase order received against.")
    items: list[PurchaseOrderItem] = Field(description="The order's items after the receipt.")
