"""SAP connections: a tenant's OData root and SAP client, read by the kit's `TenantConnections`.

```yaml
tenants:
  acme:
    base_url: https://sap.acme.example/sap/opu/odata/sap   # the OData root
    sap_client: "100"
    auth: {kind: basic, username: TESSERA_SVC, password_env: ACME_SAP_PASSWORD}
    propagate_user: true            # send the end user's id in `user_header`
```

How credentials are named and read: `mcp_servers/kit/connectors/connections.py`.
Without `TESSERA_SAP_CONNECTIONS_FILE` the demo tenants reach the simulator.
"""

from __future__ import annotations

from pydantic import Field

from mcp_servers.kit.connectors.backend import Backend
from mcp_servers.kit.connectors.connections import Auth, Connection, TenantConnections
from mcp_servers.sap.settings import SapSettings

SAP = Backend(label="SAP", name="SAP")


class SapConnection(Connection):
    base_url: str = Field(pattern=r"^https?://", description="OData root, e.g. "
                          "https://host/sap/opu/odata/sap; services are below it.")
    sap_client: str = Field(pattern=r"^\d{3}$", description="The SAP client (Mandant).")


def connections_from_settings(settings: SapSettings) -> TenantConnections[SapConnection]:
    logon = Auth(kind="basic", username=settings.demo_user)
    demo = {tenant: SapConnection(base_url=settings.demo_url, sap_client=client, auth=logon,
                                  propagate_user=True)
            for tenant, client in settings.demo_clients.items()}
    return TenantConnections.load(SAP, SapConnection, settings.connections_file, demo=demo,
                                  demo_secret=settings.demo_password)
