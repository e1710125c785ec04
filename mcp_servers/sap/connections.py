"""Where each tenant's SAP system is and how to log on: the connections file.

```yaml
tenants:
  acme:
    base_url: https://sap.acme.example/sap/opu/odata/sap   # the OData root
    sap_client: "100"
    auth: {kind: basic, username: TESSERA_SVC, password_env: ACME_SAP_PASSWORD}
    propagate_user: true            # send the end user's id in `user_header`
```

Credentials are named, never written here: `password_env`/`token_env` name an
environment variable, `password_file`/`token_file` a file (relative paths are
taken from the connections file's folder); `client_cert` uses `cert_file` and
`key_file`. Secrets are read when a tenant's client is first built and are held
as `SecretStr`, so they never reach a log or an error.
"""

from __future__ import annotations

import json
import os
import ssl
from pathlib import Path
from typing import Literal

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from mcp_servers.kit.errors import Forbidden
from mcp_servers.sap.settings import SapSettings


class Auth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["basic", "bearer", "client_cert", "none"] = Field(
        description="How to log on to SAP.")
    username: str | None = Field(default=None, description="basic: the technical user.")
    password_env: str | None = Field(default=None, description="basic: variable with the password.")
    password_file: Path | None = Field(default=None, description="basic: file with the password.")
    token_env: str | None = Field(default=None, description="bearer: variable with the token.")
    token_file: Path | None = Field(default=None, description="bearer: file with the token.")
    cert_file: Path | None = Field(default=None, description="client_cert: PEM certificate.")
    key_file: Path | None = Field(default=None, description="client_cert: PEM private key.")


class SapConnection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(pattern=r"^https?://", description="OData root, e.g. "
                          "https://host/sap/opu/odata/sap; services are below it.")
    sap_client: str = Field(pattern=r"^\d{3}$", description="The SAP client (Mandant).")
    auth: Auth = Field(description="How to log on.")
    propagate_user: bool = Field(default=False, description="Send the end user's id with each "
                                 "request, for SAP's own authorisation and change documents.")
    user_header: str = Field(default="X-Tessera-User", description="Header carrying the user.")
    ca_file: Path | None = Field(default=None, description="CA bundle to verify SAP's TLS "
                                 "certificate; the system's when unset.")
    timeout_s: float | None = Field(default=None, gt=0, le=300,
                                    description="Request timeout; TESSERA_SAP_TIMEOUT_S when unset.")


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenants: dict[str, SapConnection] = Field(description="Connection per tenant.")


class Connections:
    """Each tenant's connection; a tenant without one may not use SAP."""

    def __init__(self, by_tenant: dict[str, SapConnection], folder: Path,
                 demo_secret: SecretStr | None = None) -> None:
        self._by_tenant, self._folder, self._demo_secret = by_tenant, folder, demo_secret

    @classmethod
    def from_settings(cls, settings: SapSettings) -> Connections:
        if settings.connections_file is None:
            auth = Auth(kind="basic", username=settings.demo_user)
            return cls({tenant: SapConnection(base_url=settings.demo_url, sap_client=client,
                                              auth=auth, propagate_user=True)
                        for tenant, client in settings.demo_clients.items()}, Path.cwd(),
                       demo_secret=settings.demo_password)
        path = settings.connections_file
        raw = path.read_text()
        parsed = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
        return cls(_File.model_validate(parsed).tenants, path.parent)

    def for_tenant(self, tenant: str) -> SapConnection:
        connection = self._by_tenant.get(tenant)
        if connection is None:
            raise Forbidden(f"Tenant {tenant!r} has no SAP connection configured.",
                            model_fix_hint="SAP is not available for this tenant; tell the user.")
        return connection

    def client_options(self, connection: SapConnection, default_timeout_s: float) -> dict:
        """Keyword arguments for the egress client: base URL, auth, TLS, timeout."""
        auth = connection.auth
        options: dict = {"timeout": connection.timeout_s or default_timeout_s,
                         "headers": {"Accept": "application/json"}}
        context = ssl.create_default_context(
            cafile=str(self._path(connection.ca_file)) if connection.ca_file else None)
        if auth.kind == "basic":
            options["auth"] = httpx.BasicAuth(auth.username or "", self._secret(
                auth.password_env, auth.password_file))
        elif auth.kind == "bearer":
            token = self._secret(auth.token_env, auth.token_file)
            options["headers"]["Authorization"] = f"Bearer {token}"
        elif auth.kind == "client_cert":
            if not (auth.cert_file and auth.key_file):
                raise ValueError("client_cert auth needs cert_file and key_file")
            context.load_cert_chain(self._path(auth.cert_file), self._path(auth.key_file))
        options["verify"] = context
        return options

    def _secret(self, env: str | None, file: Path | None) -> str:
        if env:
            if env not in os.environ:
                raise ValueError(f"the SAP secret variable {env} is not set")
            return os.environ[env]
        if file:
            return self._path(file).read_text().strip()
        if self._demo_secret is not None:  # demo connections only; a file cannot reach this
            return self._demo_secret.get_secret_value()
        raise ValueError("the SAP connection names no secret (password/token env or file)")

    def _path(self, path: Path) -> Path:
        return path if path.is_absolute() else self._folder / path
