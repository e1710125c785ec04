"""`tessera audit verify` finds an edited or deleted audit row, whoever made the edit."""

from __future__ import annotations

import anyio
import psycopg
import pytest

from mcp_servers.kit.store.audit import AuditEvent, append_audit
from mcp_servers.kit.store.pool import Store
from tessera.cli import main
from tests.cli.test_cli import env  # noqa: F401  (the installation's environment)


def write_events(settings, tenant: str, count: int) -> None:
    async def write() -> None:
        async with Store.from_settings(settings, application_name="test") as store:
            for index in range(count):
                async with store.tenant(tenant) as conn:
                    await append_audit(conn, AuditEvent("tester", "test.event", None, {"i": index}))

    anyio.run(write)


@pytest.mark.parametrize("tamper", ["edit", "delete"])
def test_audit_verify_detects_tampering(settings, database, env, capsys, tamper):  # noqa: F811
    tenant = f"audit-{tamper}"
    write_events(settings, tenant, 3)
    assert main(["audit", "verify", "--tenant", tenant]) == 0
    assert "intact" in capsys.readouterr().out
    with psycopg.connect(database.admin_url, autocommit=True) as conn:  # a superuser, going around
        conn.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")
        try:
            if tamper == "edit":
                conn.execute("UPDATE audit_events SET details = '{\"i\": 99}' "
                             "WHERE tenant_id = %s AND seq = 2", (tenant,))
            else:
                conn.execute("DELETE FROM audit_events WHERE tenant_id = %s AND seq = 2", (tenant,))
        finally:
            conn.execute("ALTER TABLE audit_events ENABLE TRIGGER USER")
    assert main(["audit", "verify", "--tenant", tenant]) == 1
    assert "BROKEN at event 2" in capsys.readouterr().out
