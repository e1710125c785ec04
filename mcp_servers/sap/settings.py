"""The sap server's own settings (environment prefix `TESSERA_SAP_`).

Per-tenant SAP systems live in a connections file (`TESSERA_SAP_CONNECTIONS_FILE`,
see `connections.py`). Without one, the server runs the demo: each tenant in
`demo_clients` reaches the SAP simulator at `demo_url` in its own SAP client.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from mcp_servers.kit.settings import ServerSettings


class SapSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="TESSERA_SAP_")

    connections_file: Path | None = Field(
        default=None,
        description="YAML or JSON file with each tenant's SAP connection (base URL, client, "
        "auth, user propagation). Unset: the demo connections to the simulator.",
    )
    demo_url: str = Field(
        default="http://127.0.0.1:8791/sap/opu/odata/sap",
        description="Demo only (no connections file): OData root of the SAP simulator.",
    )
    demo_clients: dict[str, str] = Field(
        default={"acme": "100", "globex": "200"},
        description="Demo only: tenant -> SAP client of the simulator, as a JSON object. "
        "Other tenants have no SAP connection.",
    )
    demo_user: str = Field(default="TESSERA", description="Demo only: the simulator's user.")
    demo_password: SecretStr = Field(
        default=SecretStr("demo"), description="Demo only: the simulator user's password."
    )
    timeout_s: float = Field(
        default=15.0, gt=0, le=300,
        description="Timeout of one HTTP request to SAP, unless a connection sets its own.",
    )
    max_rows: int = Field(
        default=200, ge=1, le=5000,
        description="Most rows one read call returns; a call's `limit` is capped to it. SAP's "
        "server-side pages (`__next`) are followed until the limit is reached.",
    )
