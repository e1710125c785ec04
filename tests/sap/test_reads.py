"""sap read tools against the simulator: results, typed filters, server-side paging, cursors."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


async def test_get_purchase_order_returns_header_and_items(sap):
    data = sap.simulator.clients["100"]
    number = "4500000007"
    order = await sap.ok("get_purchase_order", {"number": number})
    assert order["supplier"] == data.purchase_orders[number]["Supplier"]
    expected = sorted(item for po, item in data.po_items if po == number)
    assert [i["item"] for i in order["items"]] == expected


async def test_list_purchase_orders_filters_by_supplier_newest_first(sap):
    data = sap.simulator.clients["100"]
    found = await sap.ok("list_purchase_orders", {"supplier": "100003", "limit": 200})
    expected = {n for n, po in data.purchase_orders.items() if po["Supplier"] == "100003"}
    assert {o["number"] for o in found["purchase_orders"]} == expected
    assert found["total"] == len(expected) and found["next_page"] is None
    dates = [o["order_date"] for o in found["purchase_orders"]]
    assert dates == sorted(dates, reverse=True)
    assert all(o["items"] is None for o in found["purchase_orders"])


async def test_items_can_be_expanded(sap):
    found = await sap.ok("list_purchase_orders", {"include_items": True, "limit": 3})
    assert all(o["items"] for o in found["purchase_orders"])
    assert "$expand" in sap.simulator.requests[-1].query


async def test_open_items_of_a_material_at_a_plant(sap):
    data = sap.simulator.clients["100"]
    material, plant = next((i["Material"], i["Plant"]) for i in data.po_items.values()
                           if not i["IsCompletelyDelivered"])
    found = await sap.ok("list_purchase_order_items",
                         {"material": material, "plant": plant, "open_only": True})
    expected = {(i["PurchaseOrder"], i["PurchaseOrderItem"]) for i in data.po_items.values()
                if (i["Material"], i["Plant"]) == (material, plant)
                and not i["IsCompletelyDelivered"]}
    assert {(i["purchase_order"], i["item"]) for i in found["items"]} == expected
    assert all(i["open_quantity"] > 0 for i in found["items"])


async def test_materials_stock_and_cost_centers(sap):
    materials = await sap.ok("list_materials", {"materials": ["RM-10001", "SP-10003"]})
    assert [m["material"] for m in materials["materials"]] == ["RM-10001", "SP-10003"]
    master = sap.simulator.master.materials
    assert materials["materials"][0]["description"] == master["RM-10001"]["ProductDescription"]

    stock = await sap.ok("get_stock", {"plant": "1000", "limit": 200})
    data = sap.simulator.clients["100"]
    expected = [k for k, row in data.stock.items() if k[1] == "1000"
                and row["MatlWrhsStkQtyInMatlBaseUnit"] > 0]
    assert stock["total"] == len(expected)

    centers = await sap.ok("list_cost_centers", {"company_code": "2000"})
    assert centers["cost_centers"] and all(c["company_code"] == "2000"
                                           for c in centers["cost_centers"])


async def test_server_side_pages_are_followed_up_to_the_limit(sap):
    sap.simulator.requests.clear()  # the simulator serves at most 100 rows per page
    first = await sap.ok("list_purchase_order_items", {"limit": 150})
    assert len(first["items"]) == 150
    gets = [r for r in sap.simulator.requests if r.path.endswith("A_PurchaseOrderItem")]
    assert len(gets) == 2 and "$skiptoken" in gets[1].query

    second = await sap.ok("list_purchase_order_items", {"limit": 150, "page": first["next_page"]})
    keys = lambda page: [(i["purchase_order"], i["item"]) for i in page["items"]]  # noqa: E731
    assert not set(keys(first)) & set(keys(second))
    everything = await sap.ok("list_purchase_order_items", {"limit": 200})
    assert keys(everything)[:150] == keys(first)


async def test_a_cursor_only_continues_its_own_query(sap):
    first = await sap.ok("list_materials", {"limit": 5})
    other = await sap.call("list_materials", {"limit": 5, "material_type": "ROH",
                                              "page": first["next_page"]})
    garbage = await sap.call("list_materials", {"page": "not-a-cursor"})
    for result in (other, garbage):
        assert result.structured_content["error_category"] == "validation"


async def test_text_is_quoted_never_pasted_into_the_filter(sap):
    result = await sap.ok("list_purchase_order_items",
                          {"text_contains": "x') or (Plant ne '"})
    assert result["items"] == []
    sent = sap.simulator.requests[-1].query["$filter"]
    assert "substringof('x'') or (Plant ne ''',PurchaseOrderItemText)" in sent


async def test_each_tenant_reads_its_own_sap_client(sap):
    acme = await sap.ok("get_purchase_order", {"number": "4500000001"})
    globex = await sap.ok("get_purchase_order", {"number": "4500000001"}, tenant="globex")
    assert acme != globex
    assert {r.client for r in sap.simulator.requests} == {"100", "200"}


async def test_a_tenant_without_a_connection_is_forbidden(sap):
    result = await sap.call("list_materials", {}, tenant="initech")
    assert result.structured_content["error_category"] == "forbidden"
    assert sap.simulator.requests == []
