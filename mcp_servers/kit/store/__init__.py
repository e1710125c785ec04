"""Shared PostgreSQL access: pool and tenant transactions, migrations, audit log, vectors."""

from mcp_servers.kit.store.audit import AuditEvent, append_audit, verify_chain
from mcp_servers.kit.store.migrate import MigrationSet, core_migrations, migrate
from mcp_servers.kit.store.pool import Store, map_database_errors

__all__ = [
    "AuditEvent",
    "MigrationSet",
    "Store",
    "append_audit",
    "core_migrations",
    "map_database_errors",
    "migrate",
    "verify_chain",
]
