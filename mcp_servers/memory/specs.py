"""The memory server's tool contracts."""

from __future__ import annotations

from mcp_servers.kit.errors import ErrorCategory as E
from mcp_servers.kit.spec import DataClass, Risk, ToolSpec
from mcp_servers.memory import models as m

REMEMBER = ToolSpec(
    name="memory.remember",
    title="Remember",
    description=(
        "Store one durable memory for the current user: a fact, a preference, a skill that "
        "worked, short-lived context, or what happened in a conversation. A near-duplicate of "
        "an existing memory is merged into it instead of stored twice."
    ),
    input_model=m.RememberInput,
    output_model=m.RememberOutput,
    examples=(
        {"content": "Plant 1000 reports scrap in kilograms, not pieces.", "kind": "FACT"},
        {
            "content": "Prefers purchase-order summaries as a table with net value last.",
            "kind": "PREFERENCE",
            "importance": 0.8,
            "tags": ["purchasing"],
        },
        {"content": "Working on the Q3 scrap-rate review for line 4.", "kind": "CONTEXT",
         "ttl_s": 86400},
    ),
    errors=frozenset({E.FORBIDDEN, E.BUDGET_EXCEEDED, E.CONFLICT, E.UPSTREAM_UNAVAILABLE,
                      E.UPSTREAM_TIMEOUT}),
    risk=Risk.WRITE_LOW,
    idempotent=True,
    data_class=DataClass.II,
)

RECALL = ToolSpec(
    name="memory.recall",
    title="Recall",
    description=(
        "Find the current user's memories most relevant to a query, ranked by meaning, "
        "recency and importance. Use it before answering to bring back what the user told "
        "you earlier."
    ),
    input_model=m.RecallInput,
    output_model=m.RecallOutput,
    examples=(
        {"query": "How does plant 1000 report scrap?"},
        {"query": "table formatting preferences", "k": 3, "kinds": ["PREFERENCE"]},
        {"query": "purchasing", "tags": ["purchasing"], "min_similarity": 0.2},
    ),
    errors=frozenset({E.UPSTREAM_UNAVAILABLE, E.UPSTREAM_TIMEOUT}),
    risk=Risk.READ,
    data_class=DataClass.III,
)

FORGET = ToolSpec(
    name="memory.forget",
    title="Forget",
    description=(
        "Delete some of the current user's memories by id, for good. Ids that do not "
        "exist (or belong to someone else) are reported as not found."
    ),
    input_model=m.ForgetInput,
    output_model=m.ForgetOutput,
    examples=(
        {"ids": ["0b9f6a52-3f55-4c4b-9d8e-2f1a7f0c1e11"]},
        {"ids": ["0b9f6a52-3f55-4c4b-9d8e-2f1a7f0c1e11", "5d0c2e8e-7b1e-4a57-a3c4-0f4f1d6b9e22"]},
    ),
    errors=frozenset({E.NOT_FOUND, E.UPSTREAM_UNAVAILABLE, E.UPSTREAM_TIMEOUT}),
    risk=Risk.WRITE_HIGH,
    idempotent=True,
    data_class=DataClass.I,
)

EXPORT_USER = ToolSpec(
    name="memory.export_user",
    title="Export a user's memories",
    description=(
        "Return every memory held about a user, page by page (GDPR right of access). "
        "Without `user` it exports the caller's own; another user's needs the admin role."
    ),
    input_model=m.ExportUserInput,
    output_model=m.ExportUserOutput,
    examples=(
        {},
        {"user": "j.doe@acme.example", "limit": 500},
    ),
    errors=frozenset({E.FORBIDDEN, E.UPSTREAM_UNAVAILABLE, E.UPSTREAM_TIMEOUT}),
    risk=Risk.READ,
    data_class=DataClass.III,
)

ERASE_USER = ToolSpec(
    name="memory.erase_user",
    title="Erase a user's memories",
    description=(
        "Delete every memory held about a user, rows and vectors, and record the erasure in "
        "the audit log (GDPR right to erasure). Cannot be undone; `confirm` must be true. "
        "Another user's memories need the admin role."
    ),
    input_model=m.EraseUserInput,
    output_model=m.EraseUserOutput,
    examples=(
        {"confirm": True},
        {"user": "j.doe@acme.example", "confirm": True},
    ),
    errors=frozenset({E.FORBIDDEN, E.UPSTREAM_UNAVAILABLE, E.UPSTREAM_TIMEOUT}),
    risk=Risk.WRITE_HIGH,
    idempotent=True,
    data_class=DataClass.I,
)

ALL = (REMEMBER, RECALL, FORGET, EXPORT_USER, ERASE_USER)
