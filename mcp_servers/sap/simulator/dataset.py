"""The SAP simulator's demo plant: a seeded, deterministic dataset, one partition per SAP client.

Master data (materials, suppliers, cost centers) comes from the seed alone, so
every client knows the same material numbers; transactional data (purchase
orders, stock) comes from the seed and the client, so two clients (two tenants)
hold different documents. Entities are plain dicts keyed by SAP property names,
the way the OData services name them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

PLANTS = ("1000", "1010", "2000")
STORAGE_LOCATIONS = ("0001", "0002", "FG01")
COMPANY_CODES = {"1000": "1000", "1010": "1000", "2000": "2000"}
CONTROLLING_AREA = "A000"

_KINDS = (  # prefix, SAP material type, unit, group, description parts
    ("RM", "ROH", "KG", "RAW01", ["Steel sheet", "Aluminium bar", "Copper wire", "Polymer granulate",
                                  "Brass rod", "Stainless tube"]),
    ("CP", "HALB", "PC", "SEMI01", ["Gear housing", "Drive shaft", "Pump impeller", "Valve body",
                                    "Motor bracket", "Cooling plate"]),
    ("SP", "ERSA", "PC", "SPARE01", ["Bearing 6204-2RS", "V-belt SPA", "Hydraulic seal",
                                     "Proximity sensor", "Contactor 24V", "Filter cartridge"]),
    ("FG", "FERT", "PC", "FIN01", ["Gear pump GP", "Control valve CV", "Drive unit DU",
                                   "Cooling module CM", "Servo axis SA", "Mixer MX"]),
)
_QUALIFIERS = ["DN25", "DN40", "2mm", "5mm", "M8", "M12", "type A", "type B", "series 3", "HD",
               "ECO", "rev 2"]
_SUPPLIER_NAMES = ["Nordstahl", "Rheinmetall Parts", "Alpen Bearings", "Kupfer & Co",
                   "Polytec", "Baltic Valves", "Iberia Castings", "Helvetic Sensors",
                   "Danube Drives", "Carpathia Seals"]
_COST_CENTER_AREAS = ["Production", "Maintenance", "Quality", "Logistics", "Purchasing",
                      "Engineering", "Tooling", "Energy"]


@dataclass
class ClientData:
    """One SAP client's partition: documents, stock, number ranges, idempotency records."""

    client: str
    purchase_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    po_items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    stock: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    material_documents: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    md_items: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    repeatability: dict[str, tuple[str, int, Any]] = field(default_factory=dict)
    next_po: int = 4500000001
    next_md: int = 5000000001


@dataclass
class MasterData:
    materials: dict[str, dict[str, Any]]
    suppliers: dict[str, dict[str, Any]]
    cost_centers: dict[tuple[str, str], dict[str, Any]]


def build_master(seed: int) -> MasterData:
    rng = random.Random(seed)
    materials: dict[str, dict[str, Any]] = {}
    for prefix, kind, unit, group, names in _KINDS:
        for n in range(75):
            number = f"{prefix}-{10001 + n}"
            materials[number] = {
                "Product": number,
                "ProductType": kind,
                "ProductGroup": group,
                "BaseUnit": unit,
                "ProductDescription": f"{rng.choice(names)} {rng.choice(_QUALIFIERS)}",
                "GrossWeight": Decimal(rng.randint(1, 5000)) / 100,
                "WeightUnit": "KG",
                "IsMarkedForDeletion": n >= 10 and rng.random() < 0.04,
            }
    suppliers = {
        f"{100001 + n}": {"Supplier": f"{100001 + n}",
                          "SupplierName": f"{_SUPPLIER_NAMES[n % 10]} {'GmbH AG SA'.split()[n % 3]}"}
        for n in range(30)
    }
    cost_centers = {}
    for n in range(40):
        plant = PLANTS[n % len(PLANTS)]
        number = f"{plant}{100 + n:03d}0"[:10]
        cost_centers[(CONTROLLING_AREA, number)] = {
            "ControllingArea": CONTROLLING_AREA,
            "CostCenter": number,
            "CostCenterName": f"{_COST_CENTER_AREAS[n % 8]} {plant}-{n // 8 + 1}",
            "CompanyCode": COMPANY_CODES[plant],
            "CostCenterCategory": "FHKLMV"[n % 6],
            "CostCtrResponsiblePersonName": f"Person {chr(65 + n % 26)}. {n + 1}",
            "ValidityStartDate": datetime(2020, 1, 1, tzinfo=UTC),
            "ValidityEndDate": datetime(9999, 12, 31, tzinfo=UTC),
        }
    return MasterData(materials, suppliers, cost_centers)


def build_client(master: MasterData, seed: int, client: str, today: date) -> ClientData:
    rng = random.Random(f"{seed}/{client}")
    data = ClientData(client=client)
    numbers = sorted(master.materials)
    suppliers = sorted(master.suppliers)
    for _ in range(250):
        created = today - timedelta(days=rng.randint(0, 180))
        number = str(data.next_po)
        data.next_po += 1
        plant = rng.choice(PLANTS[:2])
        data.purchase_orders[number] = {
            "PurchaseOrder": number,
            "CompanyCode": COMPANY_CODES[plant],
            "PurchaseOrderType": rng.choice(["NB", "NB", "NB", "FO"]),
            "Supplier": rng.choice(suppliers),
            "PurchasingOrganization": "1000",
            "PurchasingGroup": rng.choice(["001", "002", "003"]),
            "DocumentCurrency": "EUR",
            "PurchaseOrderDate": _midnight(created),
            "CreatedByUser": rng.choice(["MBUYER", "JSMITH", "AKLEIN"]),
            "CreationDate": _midnight(created),
        }
        for position in range(1, rng.randint(1, 5) + 1):
            material = master.materials[rng.choice(numbers)]
            quantity = Decimal(rng.choice([5, 10, 20, 25, 50, 100, 200, 500]))
            received = quantity if rng.random() < 0.4 else Decimal(0)
            item = f"{position * 10:05d}"
            data.po_items[(number, item)] = {
                "PurchaseOrder": number,
                "PurchaseOrderItem": item,
                "Material": material["Product"],
                "PurchaseOrderItemText": material["ProductDescription"],
                "Plant": plant,
                "StorageLocation": rng.choice(STORAGE_LOCATIONS[:2]),
                "OrderQuantity": quantity,
                "PurchaseOrderQuantityUnit": material["BaseUnit"],
                "NetPriceAmount": Decimal(rng.randint(50, 50000)) / 100,
                "DocumentCurrency": "EUR",
                "ScheduleLineDeliveryDate": _midnight(created + timedelta(days=rng.randint(7, 60))),
                "GoodsReceiptQuantity": received,
                "IsCompletelyDelivered": received >= quantity,
                "ETagVersion": 1,
            }
    for number in numbers:
        for plant in PLANTS:
            if rng.random() < 0.45:
                location = rng.choice(STORAGE_LOCATIONS)
                data.stock[(number, plant, location)] = _stock_row(
                    number, plant, location, master.materials[number]["BaseUnit"],
                    Decimal(rng.randint(0, 4000)))
    return data


def _stock_row(material: str, plant: str, location: str, unit: str, quantity: Decimal
               ) -> dict[str, Any]:
    return {
        "Material": material,
        "Plant": plant,
        "StorageLocation": location,
        "Batch": "",
        "InventoryStockType": "01",
        "MatlWrhsStkQtyInMatlBaseUnit": quantity,
        "MaterialBaseUnit": unit,
    }


def add_stock(data: ClientData, material: str, plant: str, location: str, unit: str,
              quantity: Decimal) -> None:
    key = (material, plant, location)
    row = data.stock.setdefault(key, _stock_row(material, plant, location, unit, Decimal(0)))
    row["MatlWrhsStkQtyInMatlBaseUnit"] += quantity


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
