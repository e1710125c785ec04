"""Running each capability server under bubblewrap, as its policy profile says.

The host (or `tessera serve NAME --sandboxed`) starts a server with
`launch_server`, talks MCP to it over stdio, and shows its `report` in health
checks and the audit log::

    from fastmcp import Client
    from policies.sandbox_profile import SandboxProfile
    from sandbox import launch_server

    entry = policy_store.current().server("memory")   # policies: trust + sandbox profile
    profile = entry.sandbox if entry else SandboxProfile()
    server = launch_server("memory", profile, settings, tenant=None,
                           server_settings=definition.server_settings(),
                           audit=write_egress_event)  # EgressEvent -> audit log
    try:
        print(server.report.confinement)              # bubblewrap | landlock+... | none
        async with Client(server.transport()) as client:
            await client.call_tool_mcp("memory.recall", {...}, meta={...})
    finally:
        server.close()                                # EOF, then SIGKILL; stops its proxy

A supervisor that reconnects (the host's federation) wants a transport factory
instead: `lambda: server_transport("memory", profile, settings,
server_settings=..., audit=..., on_launch=record_report)` launches a fresh
sandbox on every connect and stops it when the session ends.

`launch_server` raises `SandboxUnavailable` (bubblewrap's own message and the
fix) when a `strict` server cannot be sandboxed here; `degraded-ok` falls back
to Landlock + seccomp + rlimits + a separate user; `off` runs unconfined. Call it
from any thread: processes are forked by one long-lived spawner thread, so
`--die-with-parent` holds for as long as the host lives. `launch` is the same
for any command. See docs/sandbox.md.
"""

from sandbox.launcher import (
    Confinement,
    SandboxedProcess,
    SandboxReport,
    SandboxUnavailable,
    launch,
    launch_server,
    server_transport,
)
from sandbox.layout import SandboxError
from sandbox.probe import BwrapProbe, probe_bwrap
from sandbox.proxy import EgressEvent, EgressProxy

__all__ = [
    "BwrapProbe",
    "Confinement",
    "EgressEvent",
    "EgressProxy",
    "SandboxError",
    "SandboxReport",
    "SandboxUnavailable",
    "SandboxedProcess",
    "launch",
    "launch_server",
    "probe_bwrap",
    "server_transport",
]
