"""Where each tenant's system is and how to log on: the connections file, and a client per tenant.

A connector subclasses `Connection` with its own fields (the SAP client, the
MES site, ...) and reads a file like::

    tenants:
      acme:
        base_url: https://host/api/v1
        auth: {kind: bearer, token_env: ACME_TOKEN}
        propagate_user: true            # send the end user's id in `user_header`

Credentials are named, never written in the file: `password_env`/`token_env`
name an environment variable, `password_file`/`token_file` a file (relative
paths are taken from the connections file's folder); `client_cert` uses
`cert_file` and `key_file`. Unknown keys (an inline `password`) are refused.
Secrets are read when a tenant's client is first built and never reach a log
or an error. `TenantClients` keeps one pooled egress client per tenant.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Generic, Literal, Protocol, TypeVar

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model

from mcp_servers.kit.connectors.backend import Backend
from mcp_servers.kit.egress import async_client
from mcp_servers.kit.errors import Forbidden


class Auth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["basic", "bearer", "client_cert", "none"] = Field(
        description="How to log on to the system.")
    username: str | None = Field(default=None, description="basic: the technical user.")
    password_env: str | None = Field(default=None, description="basic: variable with the password.")
    password_file: Path | None = Field(default=None, description="basic: file with the password.")
    token_env: str | None = Field(default=None, description="bearer: variable with the token.")
    token_file: Path | None = Field(default=None, description="bearer: file with the token.")
    cert_file: Path | None = Field(default=None, description="client_cert: PEM certificate.")
    key_file: Path | None = Field(default=None, description="client_cert: PEM private key.")


class Connection(BaseModel):
    """One tenant's connection; connectors subclass it with their own fields."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(pattern=r"^https?://", description="The API root.")
    auth: Auth = Field(description="How to log on.")
    propagate_user: bool = Field(default=False, description="Send the end user's id with each "
                                 "request, for the system's own authorisation and audit trail.")
    user_header: str = Field(default="X-Tessera-User", description="Header carrying the user.")
    ca_file: Path | None = Field(default=None, description="CA bundle to verify the system's "
                                 "TLS certificate; the system's when unset.")
    timeout_s: float | None = Field(default=None, gt=0, le=300, description="Request timeout; "
                                    "the server's TIMEOUT_S setting when unset.")


C = TypeVar("C", bound=Connection)


class TenantConnections(Generic[C]):
    """Each tenant's connection; a tenant without one may not use the system."""

    def __init__(self, backend: Backend, by_tenant: dict[str, C], folder: Path,
                 demo_secret: SecretStr | None = None) -> None:
        self.backend = backend
        self._by_tenant, self._folder, self._demo_secret = by_tenant, folder, demo_secret

    @classmethod
    def load(cls, backend: Backend, model: type[C], file: Path | None, *, demo: dict[str, C],
             demo_secret: SecretStr) -> TenantConnections[C]:
        """The file's tenants; without a file the `demo` ones, which alone use `demo_secret`."""
        if file is not None:
            return cls.from_file(backend, model, file)
        return cls(backend, demo, Path.cwd(), demo_secret=demo_secret)

    @classmethod
    def from_file(cls, backend: Backend, model: type[C], path: Path) -> TenantConnections[C]:
        """Read a YAML or JSON connections file (`.json` is JSON, anything else YAML)."""
        document = create_model("ConnectionsFile", __config__=ConfigDict(extra="forbid"),
                                tenants=(dict[str, model], Field(description="Per tenant.")))
        raw = path.read_text()
        parsed = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
        return cls(backend, document.model_validate(parsed).tenants, path.parent)

    def for_tenant(self, tenant: str) -> C:
        connection = self._by_tenant.get(tenant)
        if connection is None:
            raise Forbidden(f"Tenant {tenant!r} has no {self.backend.label} connection configured.",
                            model_fix_hint=f"{self.backend.subject} is not available for this "
                            "tenant; tell the user.")
        return connection

    def client_options(self, connection: C, default_timeout_s: float) -> dict:
        """Keyword arguments for the egress client: auth, TLS, timeout, headers."""
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
        label = self.backend.label
        if env:
            if env not in os.environ:
                raise ValueError(f"the {label} secret variable {env} is not set")
            return os.environ[env]
        if file:
            return self._path(file).read_text().strip()
        if self._demo_secret is not None:  # demo connections only; a file cannot reach this
            return self._demo_secret.get_secret_value()
        raise ValueError(f"the {label} connection names no secret (password/token env or file)")

    def _path(self, path: Path) -> Path:
        return path if path.is_absolute() else self._folder / path


class Closable(Protocol):
    async def aclose(self) -> None: ...


T = TypeVar("T", bound=Closable)


class TenantClients(Generic[C, T]):
    """One client per tenant, built on first use over a pooled egress client; closed together."""

    def __init__(self, connections: TenantConnections[C], default_timeout_s: float,
                 make: Callable[[C, httpx.AsyncClient], T]) -> None:
        self.connections, self._timeout_s, self._make = connections, default_timeout_s, make
        self._clients: dict[str, T] = {}
        self._lock = asyncio.Lock()

    async def for_tenant(self, tenant: str) -> T:
        connection = self.connections.for_tenant(tenant)
        async with self._lock:
            if tenant not in self._clients:
                options = self.connections.client_options(connection, self._timeout_s)
                self._clients[tenant] = self._make(connection, async_client(**options))
            return self._clients[tenant]

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
