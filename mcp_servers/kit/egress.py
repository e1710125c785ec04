"""Outbound HTTP for capability servers: every connector builds its httpx client here.

Inside the sandbox a server has no network; its only way out is the egress proxy
the launcher gives it on a Unix socket, named by `TESSERA_EGRESS_PROXY_SOCKET`.
Connectors call `async_client(...)` and never build `httpx.AsyncClient` themselves,
so the same code works sandboxed (through the proxy) and unsandboxed (direct).
"""

from __future__ import annotations

import os
from typing import Any

import httpx

PROXY_SOCKET_ENV = "TESSERA_EGRESS_PROXY_SOCKET"


def async_client(**kwargs: Any) -> httpx.AsyncClient:
    """An httpx.AsyncClient that goes through the egress proxy when one is configured."""
    socket = os.environ.get(PROXY_SOCKET_ENV)
    if not socket:
        return httpx.AsyncClient(**kwargs)
    raise NotImplementedError("egress through the proxy arrives with the sandbox issue")
