"""The web console: static files for chat and approvals, served at `/console/` by the host.

The console is plain HTML, one CSS file and two ES modules (`model.js`: the SSE
parser and the pure view-model functions; `app.js`: the page), shipped inside
this package, so an air-gapped site needs no CDN and no build step. It talks to
the same `/v1/*` API as any client, with the bearer token the user pastes.

Only files with a known static suffix are served (never this module's source),
each with a strict Content-Security-Policy: scripts from this origin only, no
inline script, no eval, no framing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")

SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    # Revalidate every load (ETag makes that cheap), so an upgrade is never half-applied.
    "cache-control": "no-cache",
}


class ConsoleFiles:
    """StaticFiles for this package, limited to known suffixes, with fixed types and headers."""

    def __init__(self) -> None:
        # Located through the installed package, never a path relative to the repository.
        self._files = StaticFiles(packages=[("host.console", ".")], html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        name = path.rsplit("/", 1)[-1]
        suffix = name[name.rfind("."):] if "." in name else ""
        if name and suffix not in CONTENT_TYPES:
            await Response("Not Found", status_code=404, headers=SECURITY_HEADERS)(scope, receive, send)
            return
        content_type = CONTENT_TYPES.get(suffix, CONTENT_TYPES[".html"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                served = message["status"] < 300 or message["status"] == 304
                replaced = {*SECURITY_HEADERS, *(("content-type",) if served else ())}
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode("latin-1").lower() not in replaced]
                if served:
                    headers.append((b"content-type", content_type.encode()))
                headers.extend((k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items())
                message = {**message, "headers": headers}
            await send(message)

        await self._files(scope, receive, with_headers)


async def to_console(request: Request) -> Response:
    # Relative, so it still lands right behind a proxy that serves the host under a prefix:
    # "console/" from "/" and from "/console" both resolve to "/console/".
    return RedirectResponse("console/", status_code=302)


def console_routes() -> list[BaseRoute]:
    """`GET /` and `/console` → `/console/`, and the console's files under `/console/`."""
    return [Route("/", to_console, methods=["GET", "HEAD"]),
            Route("/console", to_console, methods=["GET", "HEAD"]),
            Mount("/console", app=ConsoleFiles())]
