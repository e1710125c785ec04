"""Tessera's golden tool-selection set: what users ask, and which tool serves it.

Written by hand from each server's `specs.py`, phrased the way a plant engineer,
buyer or inspector would ask (not copied from the descriptions). Each query has
exactly one best tool. Queries for servers that are not installed are skipped
by the eval. `UNSERVABLE` are requests no Tessera tool can serve; the right
answer to them is "no suitable tool".
"""

from __future__ import annotations

GOLDEN: dict[str, tuple[str, ...]] = {
    # memory
    "memory.remember": (
        "remember that I prefer the weekly scrap report as a table",
        "note for later: plant 1000 counts downtime in minutes",
        "keep in mind that my approver is Jana from purchasing",
        "save this as a preference: always show net value last",
    ),
    "memory.recall": (
        "what did I tell you last week about the line 4 review",
        "do you remember how I like purchase order summaries formatted",
        "what do you know about my preferences",
        "bring back what I said earlier about supplier 100045",
    ),
    "memory.forget": (
        "forget that memory about the vault code",
        "delete the note you stored about my approver",
        "remove memory 0b9f6a52 from what you know about me",
    ),
    "memory.export_user": (
        "give me a copy of everything you have stored about me",
        "GDPR access request: export all memories of j.doe",
        "list all the personal data you keep on me",
    ),
    "memory.erase_user": (
        "erase everything you remember about me, permanently",
        "GDPR right to be forgotten: wipe all of j.doe's stored memories",
        "delete all my personal data held in memory",
    ),
    # kb
    "kb.ingest": (
        "add this PDF maintenance manual to the knowledge base",
        "upload the new version of the safety procedure document",
        "index these markdown work instructions so they can be searched",
    ),
    "kb.search": (
        "what does the maintenance manual say about torque settings for the spindle",
        "find the procedure for lockout tagout in our documents",
        "search the documentation for coolant change intervals",
        "which work instruction explains the calibration of the gauge",
    ),
    "kb.get_chunk": (
        "show me the full text of passage c-1234 from the last search",
        "read the neighbouring paragraphs around that chunk",
    ),
    "kb.get_document": (
        "who owns the document safety/lockout.md and when was it last updated",
        "show the metadata and version of the maintenance manual document",
    ),
    "kb.delete": (
        "remove the outdated safety procedure from the knowledge base",
        "delete document doc-42 and all its chunks",
    ),
    # sap
    "sap.list_purchase_orders": (
        "show the purchase orders we placed with supplier 100045 this month",
        "list recent POs for company code 1000",
    ),
    "sap.get_purchase_order": (
        "open purchase order 4500000123 with all its lines",
        "what is in PO 4500001234",
    ),
    "sap.list_purchase_order_items": (
        "which open order items are there for material RM-100 at plant 1000",
        "what deliveries of bearings are due next week",
    ),
    "sap.list_materials": (
        "look up the material number for stainless steel bolts M8",
        "find materials whose description mentions hydraulic pump",
    ),
    "sap.get_stock": (
        "how much of material RM-100 do we have in stock at plant 1000",
        "is there blocked or quality inspection inventory for part 4711",
        "current warehouse quantity by storage location for gaskets",
    ),
    "sap.list_cost_centers": (
        "which cost center belongs to maintenance in company code 1000",
        "list the cost centres with 'logistics' in the name",
    ),
    "sap.create_purchase_order": (
        "order 500 pieces of RM-100 from supplier 100045 for plant 1000",
        "raise a new purchase order for 20 hydraulic pumps",
    ),
    "sap.change_purchase_order_item": (
        "change the quantity of item 10 on PO 4500000123 to 800",
        "move the delivery date of that order line to next Friday",
    ),
    "sap.post_goods_receipt": (
        "the bearings from PO 4500000123 arrived, book the receipt",
        "post the goods receipt for the delivered items of that order",
    ),
    # mes
    "mes.list_production_orders": (
        "which production orders are scheduled on line 2 tomorrow",
        "show the running work orders for material 4711 and how much they produced",
    ),
    "mes.get_machine_status": (
        "is machine M-101 running right now",
        "what is the current OEE of the presses",
    ),
    "mes.list_downtime_events": (
        "how many minutes did line 4 stand still last week",
        "which stoppages are still missing a reason",
    ),
    "mes.list_quality_reports": (
        "show the inspection results for production order 1000234",
        "how many defective pieces did the last inspections find on M-205",
    ),
    "mes.get_defect_rates": (
        "which machine had the worst defect rate this month",
        "top defect codes per line over the last 30 days",
    ),
    "mes.hold_production_order": (
        "stop work on production order 1000234 because of a material problem",
        "put order 1000235 on hold until quality clears it",
    ),
    "mes.release_production_order": (
        "quality cleared it, let production continue on order 1000234",
        "take order 1000235 off hold",
    ),
    "mes.record_downtime_reason": (
        "the stop on M-101 at 10:00 was a tool change, log that as the cause",
        "classify yesterday's downtime event on the press as a material shortage",
    ),
    # sql
    "sql.describe": (
        "which tables and columns can I query in the plant database",
        "what fields does the shipments table have",
    ),
    "sql.query": (
        "run a SELECT counting shipments per customer in 2025",
        "query the database for the average cycle time per product",
    ),
    # citations
    "citations.attribute": (
        "check which sentences of my draft answer are backed by the cited passages",
        "find supporting evidence in the sources for each claim in this answer",
    ),
    "citations.verify_quote": (
        "does this exact sentence really appear in chunk c-981",
        "make sure the quotation I used matches the source text",
    ),
    "citations.add_source": (
        "register the SAP order text as a source so I can cite it later",
        "make this tool output citable under the id po-4500000123",
    ),
}

UNSERVABLE: tuple[str, ...] = (
    "book me a flight to Munich next Tuesday",
    "what will the weather be like tomorrow",
    "order a pizza to the office",
    "play some relaxing music",
    "translate this poem into Japanese",
    "what is the score of last night's football match",
    "write me a birthday poem for my colleague",
    "set an alarm for 6 am",
    "recommend a good movie for tonight",
    "what is the capital of Australia",
    "convert 30 euros to dollars",
    "tell me a joke",
    "find me a hotel in Berlin",
    "what's the latest news about the stock market",
    "how many calories are in a banana",
    "call a taxi to the train station",
    "generate an image of a sunset over mountains",
    "asdf qwerty zxcv",
    "what time does the bakery open",
    "help me plan a vacation in Italy",
)
