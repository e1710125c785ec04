"""Settings that change who may write: class IV pre-approval and ingest roles."""

from __future__ import annotations

import pytest

from mcp_servers.kb.settings import KbSettings
from mcp_servers.kit.spec import DataClass

pytestmark = pytest.mark.anyio


@pytest.fixture
def kb_settings() -> KbSettings:
    return KbSettings(_env_file=None, class_iv_preapproved=True, ingest_roles=["kb_admin"])


async def test_preapproved_class_iv_is_accepted_and_shown_only_to_class_iv(call):
    doc = {"source_uri": "wiki://iv2/plan.md", "content": "The merger plan is codenamed Kestrel.",
           "data_class": "IV"}
    created = await call("ingest", {"documents": [doc]}, tenant="iv2", clearance=DataClass.IV,
                         roles=("kb_admin",))
    assert created.structured_content["results"][0]["status"] == "created"

    seen = await call("search", {"query": "merger codename"}, tenant="iv2", clearance=DataClass.IV)
    hidden = await call("search", {"query": "merger codename"}, tenant="iv2",
                        clearance=DataClass.III)
    assert [h["data_class"] for h in seen.structured_content["hits"]] == ["IV"]
    assert hidden.structured_content["hits"] == []


async def test_ingest_roles_restrict_writers(call):
    doc = {"source_uri": "wiki://iv2/note.md", "content": "A note."}
    refused = await call("ingest", {"documents": [doc]}, tenant="iv2")
    deleted = await call("delete", {"source_uris": ["wiki://iv2/note.md"]}, tenant="iv2")
    assert refused.structured_content["error_category"] == "forbidden"
    assert deleted.structured_content["error_category"] == "forbidden"
