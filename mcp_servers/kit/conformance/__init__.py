"""Conformance checks for MCP servers: protocol-level (any server) and tenant isolation."""

from mcp_servers.kit.conformance.checks import (
    CheckOptions,
    CheckResult,
    Outcome,
    protocol_checks,
)
from mcp_servers.kit.conformance.isolation import TENANT_A, TENANT_B, isolation_checks

__all__ = [
    "TENANT_A",
    "TENANT_B",
    "CheckOptions",
    "CheckResult",
    "Outcome",
    "isolation_checks",
    "protocol_checks",
]
