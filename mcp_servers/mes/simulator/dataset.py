"""The MES simulator's demo plant: a seeded, deterministic dataset, one partition per site.

Each site (a plant, e.g. 1000) has six lines of machines, a few hundred
production orders around `now`, a month of downtime events and quality
inspections. The same seed, site and `now` always give the same data; ids are
the same in every site (DT-000001 exists in each), contents differ.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

LINES = ("L1", "L2", "L3", "L4", "L5", "L6")
MACHINE_TYPES = ("CNC lathe", "Milling centre", "Injection moulder", "Press", "Assembly cell",
                 "Paint booth", "Test bench", "Laser cutter")
STATES = ("RUNNING", "RUNNING", "RUNNING", "IDLE", "SETUP", "DOWN", "MAINTENANCE")
ORDER_STATUSES = ("PLANNED", "RELEASED", "IN_PROGRESS", "ON_HOLD", "COMPLETED")
REASON_CODES = {
    "MECH_FAILURE": "Mechanical failure",
    "ELEC_FAILURE": "Electrical failure",
    "TOOL_CHANGE": "Tool change",
    "MATERIAL_SHORTAGE": "Material shortage",
    "SETUP": "Setup / changeover",
    "QUALITY_ISSUE": "Quality issue",
    "NO_OPERATOR": "No operator",
    "PLANNED_MAINTENANCE": "Planned maintenance",
}
DEFECT_CODES = ("SCRATCH", "DIMENSION", "POROSITY", "BURR", "CRACK", "LEAK", "COLOR")
MATERIALS = tuple(f"FG-{10001 + n}" for n in range(40)) + tuple(f"CP-{10001 + n}" for n in range(40))


@dataclass
class SiteData:
    site: str
    machines: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    downtime: dict[str, dict[str, Any]] = field(default_factory=dict)
    inspections: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotency: dict[str, tuple[str, int, Any]] = field(default_factory=dict)
    next_transaction: int = 1

    def transaction_id(self, kind: str) -> str:
        number = self.next_transaction
        self.next_transaction += 1
        return f"{kind}-{self.site}-{number:06d}"


def build_site(seed: int, site: str, now: datetime) -> SiteData:
    rng = random.Random(f"{seed}/{site}")
    data = SiteData(site=site)
    for line in LINES:
        for n in range(1, 11):
            machine = f"{line}-M{n:02d}"
            availability, performance = rng.uniform(0.7, 0.98), rng.uniform(0.75, 0.99)
            quality = rng.uniform(0.9, 0.999)
            data.machines[machine] = {
                "machine": machine, "name": f"{rng.choice(MACHINE_TYPES)} {n}", "line": line,
                "state": rng.choice(STATES),
                "state_since": now - timedelta(minutes=rng.randint(5, 600)),
                "current_order": None, "availability": round(availability, 3),
                "performance": round(performance, 3), "quality": round(quality, 3),
                "oee": round(availability * performance * quality, 3),
                "cycle_time_s": round(rng.uniform(12, 240), 1),
            }
    machines = sorted(data.machines)
    for n in range(300):
        order = f"{1000001 + n}"
        start = now + timedelta(hours=rng.randint(-24 * 20, 24 * 10))
        status = _status(rng, start, now)
        machine = rng.choice(machines)
        quantity = rng.choice([50, 100, 200, 250, 500, 1000])
        produced = {"PLANNED": 0, "RELEASED": 0, "COMPLETED": quantity}.get(
            status, rng.randint(0, quantity - 1))
        data.orders[order] = {
            "order": order, "material": rng.choice(MATERIALS), "quantity": quantity,
            "produced": produced, "scrap": rng.randint(0, max(1, produced // 40)), "unit": "PC",
            "status": status, "line": data.machines[machine]["line"], "machine": machine,
            "scheduled_start": start, "scheduled_end": start + timedelta(hours=rng.randint(4, 48)),
            "hold_reason": "Awaiting material certificate" if status == "ON_HOLD" else None,
        }
        if status == "IN_PROGRESS":
            data.machines[machine]["current_order"] = order
    for n in range(800):
        machine = rng.choice(machines)
        start = now - timedelta(minutes=rng.randint(30, 30 * 24 * 60))
        minutes = rng.choice([3, 5, 8, 12, 20, 35, 60, 90, 180])
        classified = rng.random() < 0.7
        reason = rng.choice(sorted(REASON_CODES)) if classified else None
        data.downtime[f"DT-{n + 1:06d}"] = {
            "event": f"DT-{n + 1:06d}", "machine": machine,
            "line": data.machines[machine]["line"], "start": start,
            "end": start + timedelta(minutes=minutes), "duration_min": minutes,
            "reason_code": reason, "reason_text": REASON_CODES.get(reason or ""),
            "comment": None, "recorded_by": "shiftlead" if classified else None,
        }
    orders = sorted(data.orders)
    for n in range(600):
        order = data.orders[rng.choice(orders)]
        inspected = rng.choice([20, 50, 80, 125])
        defects = {code: rng.randint(1, 4) for code in rng.sample(DEFECT_CODES, rng.randint(0, 3))
                   if rng.random() < 0.6}
        data.inspections[f"QR-{n + 1:06d}"] = {
            "report": f"QR-{n + 1:06d}", "order": order["order"], "material": order["material"],
            "machine": order["machine"], "line": order["line"],
            "inspected_at": now - timedelta(minutes=rng.randint(10, 30 * 24 * 60)),
            "inspected": inspected, "defective": min(inspected, sum(defects.values())),
            "defects": [{"code": code, "count": count} for code, count in sorted(defects.items())],
        }
    return data


def _status(rng: random.Random, start: datetime, now: datetime) -> str:
    if start > now + timedelta(days=2):
        return "PLANNED"
    if start > now:
        return "RELEASED"
    if start < now - timedelta(days=5):
        return "COMPLETED" if rng.random() < 0.9 else "ON_HOLD"
    return rng.choice(["IN_PROGRESS", "IN_PROGRESS", "ON_HOLD", "COMPLETED"])
