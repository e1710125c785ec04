"""The per-user memory quota."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


@pytest.fixture
def memory_settings():
    from mcp_servers.memory.settings import MemorySettings

    return MemorySettings(_env_file=None, max_per_user=2)


async def test_the_per_user_quota_is_a_budget(call):
    for content in ("Pump P-101 needs a new seal.", "Valve V-7 leaks at night."):
        assert not (await call("remember", {"content": content}, user="quota")).is_error
    refused = await call("remember", {"content": "One memory too many about valves."},
                         user="quota")
    assert refused.structured_content["error_category"] == "budget_exceeded"
