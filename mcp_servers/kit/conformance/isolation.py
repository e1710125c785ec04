"""Tenant isolation, tried the way an attacker would: write as A, read as B.

Each probe a server declares (`ServerDefinition.isolation_probes`) writes a
unique marker as tenant A, reads it back as A (which must show it, or the probe
proves nothing), then makes the same read as tenant B with the same user name
(which must not show it).
"""

from __future__ import annotations

import json
import uuid

from fastmcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult

from mcp_servers.kit.conformance.checks import CheckResult, Outcome, TokenFactory, call
from mcp_servers.kit.definition import IsolationProbe

TENANT_A, TENANT_B = "conformance-a", "conformance-b"


async def isolation_checks(
    client: Client, probes: tuple[IsolationProbe, ...], tokens: TokenFactory
) -> list[CheckResult]:
    results = []
    for probe in probes:
        marker = f"mk{uuid.uuid4().hex[:12]}"
        subject = f"{probe.write.tool} -> {probe.read.tool}"
        written = await call(client, probe.write.tool, probe.write.with_marker(marker), tokens(TENANT_A))
        if _failed(written):
            results.append(CheckResult("isolation", subject, Outcome.FAIL, "the write as tenant A failed"))
            continue
        own = await call(client, probe.read.tool, probe.read.with_marker(marker), tokens(TENANT_A))
        if _failed(own) or marker not in _text(own):
            results.append(CheckResult("isolation", subject, Outcome.FAIL,
                                       "tenant A cannot read back its own marker"))
            continue
        other = await call(client, probe.read.tool, probe.read.with_marker(marker), tokens(TENANT_B))
        if marker in _text(other):
            results.append(CheckResult("isolation", subject, Outcome.FAIL,
                                       "tenant B can see tenant A's data"))
            continue
        results.append(CheckResult("isolation", subject, Outcome.PASS))
    return results


def _failed(result: CallToolResult | MCPError) -> bool:
    return isinstance(result, MCPError) or bool(result.is_error)


def _text(result: CallToolResult | MCPError) -> str:
    if isinstance(result, MCPError):
        return result.error.message
    parts = [json.dumps(result.structured_content or {})]
    parts.extend(getattr(block, "text", "") for block in result.content)
    return "\n".join(parts)
