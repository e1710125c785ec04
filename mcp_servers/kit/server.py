"""Building and running a capability server from tool specs.

`ToolServer` wraps a FastMCP server: it verifies call contexts for its own name,
serves each `ToolSpec` through a `SpecTool`, and answers unknown tools with a
structured `not_found`. `serve` runs it standalone over stdio (for an IDE) or
streamable HTTP (for a remote client), with DNS-rebinding protection on.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import uvicorn
from fastmcp import FastMCP
from starlette.requests import Request
from starlette.responses import JSONResponse

from mcp_servers.kit.context import ContextVerifier, load_verification_keys
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.spec import ToolSpec
from mcp_servers.kit.tool import Handler, SpecTool, UnknownToolIsNotFound

MCP_PATH = "/mcp"

Lifespan = Callable[[FastMCP], AbstractAsyncContextManager[Any]]


class Transport(enum.StrEnum):
    STDIO = "stdio"
    HTTP = "http"


class ToolServer:
    """One capability server: a name, its tools, and the verifier for its audience."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        version: str,
        instructions: str,
        lifespan: Lifespan | None = None,
        verifier: ContextVerifier | None = None,
    ) -> None:
        self.name = name
        self.verifier = verifier or ContextVerifier(
            load_verification_keys(settings.verification_keys_path),
            audience=name,
            issuers=settings.context_accepted_issuers,
            leeway_s=settings.context_leeway_s,
        )
        self.mcp = FastMCP(
            name,
            version=version,
            instructions=instructions,
            lifespan=lifespan,
            on_duplicate="error",
            mask_error_details=True,
        )
        self.mcp.add_middleware(UnknownToolIsNotFound())
        self.specs: dict[str, ToolSpec] = {}

        @self.mcp.custom_route("/healthz", methods=["GET"])
        async def healthz(request: Request) -> JSONResponse:
            return JSONResponse({"status": "ok", "server": name})

    def add(self, spec: ToolSpec, handler: Handler) -> None:
        if spec.server != self.name:
            raise ValueError(f"tool {spec.name} does not belong to server {self.name!r}")
        self.mcp.add_tool(SpecTool.create(spec, handler, self.verifier))
        self.specs[spec.name] = spec


def http_app(mcp: FastMCP, settings: Settings) -> Any:
    """The streamable-HTTP ASGI app, guarded against DNS rebinding."""
    return mcp.http_app(
        path=MCP_PATH,
        host_origin_protection=True,
        allowed_hosts=list(settings.http_allowed_hosts),
        allowed_origins=list(settings.http_allowed_origins),
    )


async def serve(
    mcp: FastMCP, settings: Settings, transport: Transport, *, host: str, port: int
) -> None:
    """Run a server until it is stopped."""
    if transport is Transport.STDIO:
        await mcp.run_stdio_async(show_banner=False)
        return
    config = uvicorn.Config(
        http_app(mcp, settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        lifespan="on",
    )
    await uvicorn.Server(config).serve()
