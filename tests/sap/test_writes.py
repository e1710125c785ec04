"""sap write tools: document numbers, the CSRF handshake, idempotent retries, ETags."""

from __future__ import annotations

import httpx
import pytest

from mcp_servers.kit.connectors.simulator import Fault, FaultKind

pytestmark = pytest.mark.anyio

ORDER = {"supplier": "100001",
         "items": [{"material": "RM-10001", "quantity": 40, "plant": "1000"}]}


async def test_the_buyer_demo_creates_a_po_and_gets_its_number(sap):
    data = sap.simulator.clients["100"]
    before = set(data.purchase_orders)
    created = await sap.ok("create_purchase_order", {"idempotency_key": "demo-po-0001", **ORDER},
                           user="buyer@acme.example")
    number = created["purchase_order"]
    assert set(data.purchase_orders) - before == {number}
    assert created["created_by"] == "buyer@acme.example"  # the user was propagated
    assert created["items"][0]["quantity"] == 40 and created["items"][0]["plant"] == "1000"
    order = await sap.ok("get_purchase_order", {"number": number})
    assert order["items"][0]["material"] == "RM-10001"


async def test_a_retried_create_never_makes_a_second_order(sap):
    data = sap.simulator.clients["100"]
    before = len(data.purchase_orders)
    first = await sap.ok("create_purchase_order", {"idempotency_key": "retry-po-0001", **ORDER})
    again = await sap.ok("create_purchase_order", {"idempotency_key": "retry-po-0001", **ORDER})
    assert again["purchase_order"] == first["purchase_order"]
    assert len(data.purchase_orders) == before + 1


async def test_a_retry_after_a_lost_answer_returns_the_first_document(sap):
    data = sap.simulator.clients["100"]
    before = len(data.purchase_orders)
    # The first answer is lost: SAP created the order but the client saw a 502 from a proxy.
    sap.simulator.faults.add(Fault(FaultKind.STATUS, status=502, path_contains="A_PurchaseOrder",
                                   method="POST"))
    lost = await sap.call("create_purchase_order", {"idempotency_key": "lost-po-0001", **ORDER})
    assert lost.structured_content["error_category"] == "upstream_unavailable"
    assert lost.structured_content["retryable"] is True
    first = await sap.ok("create_purchase_order", {"idempotency_key": "lost-po-0001", **ORDER})
    again = await sap.ok("create_purchase_order", {"idempotency_key": "lost-po-0001", **ORDER})
    assert first == again and len(data.purchase_orders) == before + 1


async def test_a_reused_key_with_other_arguments_is_a_conflict(sap):
    await sap.ok("create_purchase_order", {"idempotency_key": "reuse-po-0001", **ORDER})
    other = {**ORDER, "supplier": "100002"}
    result = await sap.call("create_purchase_order", {"idempotency_key": "reuse-po-0001", **other})
    assert result.structured_content["error_category"] == "conflict"


async def test_csrf_token_is_fetched_once_and_renewed_when_it_expires(sap):
    sap.simulator.requests.clear()
    await sap.ok("create_purchase_order", {"idempotency_key": "csrf-po-0001", **ORDER})
    await sap.ok("create_purchase_order", {"idempotency_key": "csrf-po-0002", **ORDER})
    fetches = [r for r in sap.simulator.requests if r.headers.get("x-csrf-token") == "Fetch"]
    posts = [r for r in sap.simulator.requests if r.method == "POST"]
    assert len(fetches) == 1 and len(posts) == 2
    assert posts[0].headers["x-csrf-token"] not in ("", "Fetch")

    sap.simulator.expire_csrf_tokens()
    sap.simulator.requests.clear()
    created = await sap.ok("create_purchase_order", {"idempotency_key": "csrf-po-0003", **ORDER})
    methods = [(r.method, r.headers.get("x-csrf-token") == "Fetch") for r in sap.simulator.requests]
    assert methods == [("POST", False), ("GET", True), ("POST", False)]
    assert created["purchase_order"]


async def test_a_write_without_a_csrf_token_is_refused_by_sap(sap_url):
    async with httpx.AsyncClient(auth=("TESSERA", "demo")) as client:
        response = await client.post(
            f"{sap_url}/sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV/A_PurchaseOrder",
            json={"Supplier": "100001"})
    assert response.status_code == 403
    assert response.headers["x-csrf-token"] == "Required"
    assert response.json()["error"]["message"]["value"] == "CSRF token validation failed"


async def test_change_quantity_and_delivery_date(sap):
    data = sap.simulator.clients["100"]
    po, item = next(k for k, i in data.po_items.items() if i["GoodsReceiptQuantity"] == 0)
    changed = await sap.ok("change_purchase_order_item", {
        "idempotency_key": "chg-0001", "purchase_order": po, "item": str(int(item)),
        "quantity": 77, "delivery_date": "2027-01-15"})
    assert changed["item"]["quantity"] == 77 and changed["item"]["delivery_date"] == "2027-01-15"
    assert data.po_items[(po, item)]["OrderQuantity"] == 77
    patch = next(r for r in sap.simulator.requests if r.method == "PATCH")
    assert patch.headers["if-match"].startswith('W/"')

    version = data.po_items[(po, item)]["ETagVersion"]
    again = await sap.ok("change_purchase_order_item", {
        "idempotency_key": "chg-0001", "purchase_order": po, "item": item,
        "quantity": 77, "delivery_date": "2027-01-15"})
    assert again == changed and data.po_items[(po, item)]["ETagVersion"] == version


async def test_a_concurrent_change_is_a_conflict_not_an_overwrite(sap):
    sap.simulator.faults.add(Fault(FaultKind.STATUS, status=412, method="PATCH"))
    result = await sap.call("change_purchase_order_item", {
        "idempotency_key": "chg-0412", "purchase_order": "4500000001", "item": "10",
        "quantity": 5})
    assert result.structured_content["error_category"] == "conflict"


async def test_a_stale_etag_is_refused_by_the_simulator(sap_url):
    path = ("/sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV/"
            "A_PurchaseOrderItem(PurchaseOrder='4500000001',PurchaseOrderItem='00010')")
    async with httpx.AsyncClient(base_url=sap_url, auth=("TESSERA", "demo")) as client:
        token = (await client.get("/sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV/",
                                  headers={"x-csrf-token": "Fetch"})).headers["x-csrf-token"]
        stale = await client.patch(path, json={"OrderQuantity": "999"},
                                   headers={"x-csrf-token": token, "If-Match": 'W/"old"'})
        missing = await client.patch(path, json={"OrderQuantity": "999"},
                                     headers={"x-csrf-token": token})
    assert (stale.status_code, missing.status_code) == (412, 428)


async def test_goods_receipt_posts_a_material_document(sap):
    data = sap.simulator.clients["100"]
    po, item = next(k for k, i in data.po_items.items() if i["GoodsReceiptQuantity"] == 0
                    and i["OrderQuantity"] >= 5)
    row = data.po_items[(po, item)]
    stock_key = (row["Material"], row["Plant"], row["StorageLocation"])
    stock_before = data.stock[stock_key]["MatlWrhsStkQtyInMatlBaseUnit"] \
        if stock_key in data.stock else 0
    args = {"idempotency_key": "gr-receipt-0001", "purchase_order": po,
            "items": [{"item": item, "quantity": 3}]}
    posted = await sap.ok("post_goods_receipt", args)
    assert posted["material_document"].startswith("5") and posted["year"]
    received = next(i for i in posted["items"] if i["item"] == item)
    assert received["received_quantity"] == 3
    assert data.stock[stock_key]["MatlWrhsStkQtyInMatlBaseUnit"] == stock_before + 3

    again = await sap.ok("post_goods_receipt", args)
    assert again["material_document"] == posted["material_document"]
    assert len(data.material_documents) == 1


async def test_receiving_more_than_is_open_is_refused_with_sap_s_reason(sap):
    data = sap.simulator.clients["100"]
    po, item = next(k for k, i in data.po_items.items() if i["IsCompletelyDelivered"])
    result = await sap.call("post_goods_receipt", {"idempotency_key": "gr-over-1",
                                                   "purchase_order": po,
                                                   "items": [{"item": item, "quantity": 1}]})
    assert result.structured_content["error_category"] == "validation"
    assert "exceeds the open quantity" in result.structured_content["human_message"]
    missing = await sap.call("post_goods_receipt", {"idempotency_key": "gr-over-2",
                                                    "purchase_order": po,
                                                    "items": [{"item": "990", "quantity": 1}]})
    assert missing.structured_content["error_category"] == "not_found"


async def test_sap_business_errors_are_validation_with_the_reason(sap):
    result = await sap.call("create_purchase_order", {
        "idempotency_key": "bad-po-0001", "supplier": "999999",
        "items": [{"material": "RM-10001", "quantity": 1, "plant": "1000"}]})
    assert result.structured_content["error_category"] == "validation"
    assert "Vendor 999999 does not exist" in result.structured_content["human_message"]
