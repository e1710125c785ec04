"""The mes server's own settings (environment prefix `TESSERA_MES_`).

Per-tenant MES systems live in a connections file (`TESSERA_MES_CONNECTIONS_FILE`,
see `connections.py`). Without one, the server runs the demo: each tenant in
`demo_sites` reaches its own site of the MES simulator at `demo_url`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from mcp_servers.kit.settings import ServerSettings


class MesSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="TESSERA_MES_")

    connections_file: Path | None = Field(
        default=None,
        description="YAML or JSON file with each tenant's MES connection (base URL, site, "
        "auth, user propagation). Unset: the demo connections to the simulator.",
    )
    demo_url: str = Field(default="http://127.0.0.1:8792/api/v1",
                          description="Demo only (no connections file): the simulator's API root.")
    demo_sites: dict[str, str] = Field(
        default={"acme": "1000", "globex": "2000"},
        description="Demo only: tenant -> MES site of the simulator, as a JSON object. Other "
        "tenants have no MES connection.",
    )
    demo_token: SecretStr = Field(default=SecretStr("demo-token"),
                                  description="Demo only: the simulator's bearer token.")
    timeout_s: float = Field(default=15.0, gt=0, le=300,
                             description="Timeout of one HTTP request to the MES, unless a "
                             "connection sets its own.")
    max_rows: int = Field(default=200, ge=1, le=5000,
                          description="Most rows one read call returns; a call's `limit` is "
                          "capped to it. The MES's pages are followed until the limit.")
