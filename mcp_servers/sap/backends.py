"""The SAP backend a test run needs: the simulator on loopback, one SAP client per tenant.

`simulated_backends(tenants)` is the sap server's `ServerDefinition.test_backends`:
the conformance suite enters it, gets the server-settings overrides that point
the server at the simulator, and each tenant reaches its own SAP client (its own
data), the way separate tenants reach separate SAP clients in production.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp_servers.kit.connectors.simulator import in_background
from mcp_servers.sap.simulator import DEMO_PASSWORD, DEMO_USER, SERVICE_ROOT, build_app


def connections_for(base_url: str, tenants: dict[str, str], password_file: Path) -> dict[str, Any]:
    """A connections document: each tenant -> its SAP client on the simulator at `base_url`."""
    return {"tenants": {tenant: {
        "base_url": f"{base_url}{SERVICE_ROOT}", "sap_client": client,
        "auth": {"kind": "basic", "username": DEMO_USER, "password_file": str(password_file)},
        "propagate_user": True,
    } for tenant, client in tenants.items()}}


@asynccontextmanager
async def simulated_backends(tenants: Sequence[str], *, seed: int = 1000
                             ) -> AsyncIterator[dict[str, Any]]:
    clients = ("100", "200", "300", "400", "500")[:len(tenants)]
    app = build_app(seed, clients=clients)
    with tempfile.TemporaryDirectory(prefix="tessera-sap-") as folder:
        secret = Path(folder) / "sap-password"
        secret.write_text(DEMO_PASSWORD)
        async with in_background(app) as url:
            path = Path(folder) / "connections.json"
            path.write_text(json.dumps(connections_for(url, dict(zip(tenants, clients,
                                                                       strict=True)), secret)))
            yield {"connections_file": path}
