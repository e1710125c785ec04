"""The real memory server under bubblewrap over stdio, on the real database through its socket."""

from __future__ import annotations

import os

import anyio
import pytest
from fastmcp import Client

from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.memory import definition
from policies.sandbox_profile import SandboxProfile
from sandbox import Confinement, launch_server

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("bwrap_ready")]


async def test_memory_remembers_and_recalls_from_inside_the_sandbox(settings, tokens):
    profile = SandboxProfile(database_socket=True)
    server = await anyio.to_thread.run_sync(lambda: launch_server(
        "memory", profile, settings, server_settings=definition.server_settings()))
    try:
        assert server.report.confinement is Confinement.BUBBLEWRAP
        if os.geteuid() == 0:
            assert server.report.user == "tessera-sbx"
        meta = {CONTEXT_META_KEY: tokens(tenant="acme", user="sandboxed@acme.example")}
        with anyio.fail_after(120):
            async with Client(server.transport()) as client:
                stored = await client.call_tool_mcp(
                    "memory.remember", {"content": "Press 7 is serviced on Fridays."}, meta=meta)
                found = await client.call_tool_mcp(
                    "memory.recall", {"query": "when is press 7 serviced", "k": 1}, meta=meta)
                unsigned = await client.call_tool_mcp("memory.recall", {"query": "press"})
    finally:
        await anyio.to_thread.run_sync(server.close)
    assert not stored.is_error, stored.structured_content
    assert [m["id"] for m in found.structured_content["memories"]] == [
        stored.structured_content["id"]]
    assert unsigned.is_error and unsigned.structured_content["error_category"] == "auth"


async def test_a_strict_server_does_not_start_without_bubblewrap(settings, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # bwrap is "not installed"
    from sandbox import SandboxUnavailable

    with pytest.raises(SandboxUnavailable, match="bwrap is not installed.*apt-get install"):
        launch_server("memory", SandboxProfile(database_socket=True), settings)
