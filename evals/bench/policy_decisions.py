"""Benchmark: policy decisions per second, with the shipped demo-plant policy.

Run:  .venv/bin/python -m evals.bench.policy_decisions [--seconds 2] [--dir policies/]

It loads the policy as the host does (`PolicyStore`) and decides a mix of calls
the demo plant makes: reads, writes under a grant, purchase orders whose value
condition (`sum(items[*].quantity * items[*].net_price) > 10000`) is evaluated,
tainted runs, and default denies. It prints, for each of:

- `decide`: the decision alone, on prebuilt requests (the host's hot path);
- `decide + request`: building the `DecisionRequest` from plain dicts too;
- `store.current + decide`: through the store's reload check (as every call does);
- `explain`: the slow path `tessera policy explain` uses;
- `visible_tools`: filtering a 32-tool catalog for one caller,

operations per second of CPU time and the mean CPU time of one (one core), and
operations per second of wall-clock time, which also counts waiting for a core
when the machine is busy.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from policies import DEFAULT_DIRECTORY, DecisionRequest, PolicyStore, ToolFacts

TOOLS = {
    "kb.search": ("read", "IV"), "kb.get_document": ("read", "IV"),
    "memory.recall": ("read", "III"), "memory.remember": ("write_low", "II"),
    "sql.query": ("read", "III"), "sap.get_purchase_order": ("read", "III"),
    "sap.create_purchase_order": ("write_high", "III"),
    "sap.post_goods_receipt": ("write_high", "III"),
    "mes.hold_production_order": ("write_high", "II"),
    "mes.list_production_orders": ("read", "II"),
}


def facts(name: str) -> dict:
    risk, data_class = TOOLS[name]
    return {"name": name, "risk": risk, "data_class": data_class}


def order(value_per_line: float, lines: int = 3) -> dict:
    return {"supplier": "100001", "items": [
        {"material": f"RM-{n}", "quantity": 10, "plant": "1000", "net_price": value_per_line / 10}
        for n in range(lines)]}


CALLS: list[dict] = [
    {"tenant": "acme", "user": "v", "roles": ["viewer"], "tool": facts("kb.search"),
     "arguments": {"query": "torque M8"}},
    {"tenant": "acme", "user": "v", "roles": ["viewer"], "tool": facts("memory.remember"),
     "arguments": {"content": "prefers tables"}},
    {"tenant": "acme", "user": "o", "roles": ["operator"], "tool": facts("sap.create_purchase_order"),
     "arguments": order(500)},
    {"tenant": "acme", "user": "o", "roles": ["operator"], "tool": facts("sap.create_purchase_order"),
     "arguments": order(5000)},
    {"tenant": "globex", "user": "o", "roles": ["operator"], "tool": facts("sap.post_goods_receipt"),
     "arguments": {"purchase_order": "4500000001", "items": [{"item": "10", "quantity": 1}]}},
    {"tenant": "acme", "user": "o", "roles": ["operator"], "tool": facts("mes.hold_production_order"),
     "arguments": {"order": "1000123", "reason": "porosity"}},
    {"tenant": "acme", "user": "o", "roles": ["operator"], "tool": facts("sap.create_purchase_order"),
     "arguments": order(500), "tainted": True},
    {"tenant": "acme", "user": "a", "roles": ["approver"], "tool": facts("sap.post_goods_receipt"),
     "arguments": {}},
    {"tenant": "acme", "user": "x", "roles": ["viewer", "operator"], "tool": facts("sql.query"),
     "arguments": {"sql": "select 1"}},
    {"tenant": "initech", "user": "x", "roles": ["admin"], "tool": facts("kb.search"),
     "arguments": {}},
]


def rate(label: str, operation: Callable[[int], object], count: int, seconds: float) -> None:
    for index in range(min(count, 200)):  # warm caches
        operation(index)
    done, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - start) < seconds:
        for index in range(1000):
            operation(index)
        done += 1000
    cpu = time.process_time() - cpu_start
    # CPU time is what one decision costs; wall time also counts waiting for a core on a
    # busy machine. Both are printed so a loaded machine is visible in the figures.
    print(f"{label:<24} {done / cpu:>10,.0f} /s  {cpu / done * 1e6:7.1f} µs CPU each   "
          f"(wall clock: {done / elapsed:>9,.0f} /s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIRECTORY, help="policy directory")
    args = parser.parse_args()

    store = PolicyStore(args.dir, reload_interval_s=2.0)
    policy = store.current()
    requests = [DecisionRequest.model_validate(call) for call in CALLS]
    catalog = [ToolFacts(name=name, risk=risk, data_class=data_class)
               for name, (risk, data_class) in TOOLS.items()] * 3
    catalog += catalog[:2]
    n = len(requests)
    outcomes = sorted({f"{policy.decide(r).outcome}" for r in requests})
    print(f"policy {policy.digest}: {len(policy.document.rules)} rules, "
          f"{sum(len(r.allow) for r in policy.document.roles.values())} grants; "
          f"{n} calls in the mix ({', '.join(outcomes)})")
    rate("decide", lambda i: policy.decide(requests[i % n]), n, args.seconds)
    rate("decide + request", lambda i: policy.decide(DecisionRequest.model_validate(CALLS[i % n])),
         n, args.seconds)
    rate("store.current + decide", lambda i: store.current().decide(requests[i % n]), n,
         args.seconds)
    rate("explain", lambda i: policy.decide(requests[i % n], explain=True), n, args.seconds)
    rate("visible_tools (32)", lambda i: policy.visible_tools("acme", ["operator"], catalog), 1,
         args.seconds)


if __name__ == "__main__":
    main()
