"""MES connections: a tenant's REST API root and site, read by the kit's `TenantConnections`.

```yaml
tenants:
  acme:
    base_url: https://mes.acme.example/api/v1   # the REST API root
    site: "1000"
    auth: {kind: bearer, token_env: ACME_MES_TOKEN}
```

How credentials are named and read: `mcp_servers/kit/connectors/connections.py`.
Without `TESSERA_MES_CONNECTIONS_FILE` the demo tenants reach the simulator.
"""

from __future__ import annotations

from pydantic import Field

from mcp_servers.kit.connectors.backend import Backend
from mcp_servers.kit.connectors.connections import Auth, Connection, TenantConnections
from mcp_servers.mes.settings import MesSettings

MES = Backend(label="MES", name="the MES")


class MesConnection(Connection):
    base_url: str = Field(pattern=r"^https?://", description="The REST API root, e.g. "
                          "https://host/api/v1; sites are below it.")
    site: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="The MES site (plant).")


def connections_from_settings(settings: MesSettings) -> TenantConnections[MesConnection]:
    demo = {tenant: MesConnection(base_url=settings.demo_url, site=site,
                                  auth=Auth(kind="bearer"), propagate_user=True)
            for tenant, site in settings.demo_sites.items()}
    return TenantConnections.load(MES, MesConnection, settings.connections_file, demo=demo,
                                  demo_secret=settings.demo_token)
