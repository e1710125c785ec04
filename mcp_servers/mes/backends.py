"""The MES backend a test run needs: the simulator on loopback, one site per tenant.

`simulated_backends(tenants)` is the mes server's `ServerDefinition.test_backends`:
the conformance suite enters it and gets the server-settings overrides that
point the server at the simulator, each tenant at its own site with its own
token (a token allowed for that site only), as separate plants would be.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp_servers.kit.connectors.simulator import in_background
from mcp_servers.mes.simulator import API_ROOT, build_app


def connections_for(base_url: str, tenants: dict[str, str], folder: Path) -> dict[str, Any]:
    """A connections document: each tenant -> its site, with a token file per tenant."""
    entries = {}
    for tenant, site in tenants.items():
        token_file = folder / f"mes-token-{site}"
        token_file.write_text(f"token-for-site-{site}")
        entries[tenant] = {"base_url": f"{base_url}{API_ROOT}", "site": site,
                           "auth": {"kind": "bearer", "token_file": str(token_file)},
                           "propagate_user": True}
    return {"tenants": entries}


@asynccontextmanager
async def simulated_backends(tenants: Sequence[str], *, seed: int = 1000
                             ) -> AsyncIterator[dict[str, Any]]:
    sites = ("1000", "2000", "3000", "4000", "5000")[:len(tenants)]
    app = build_app(seed, sites=sites,
                    tokens={f"token-for-site-{site}": (site,) for site in sites})
    with tempfile.TemporaryDirectory(prefix="tessera-mes-") as folder:
        async with in_background(app) as url:
            path = Path(folder) / "connections.json"
            path.write_text(json.dumps(connections_for(
                url, dict(zip(tenants, sites, strict=True)), Path(folder))))
            yield {"connections_file": path}
