"""A real host for tests: the app on loopback, real servers behind it, a scripted model.

`running_host` starts the host's Starlette app with uvicorn, federating the real
memory server and the test shop (in-memory MCP transport, for speed) under a copy
of the shipped policies plus the shop's, and points LiteLLM at a `ScriptedLLM`
served over loopback HTTP. `read_sse` parses an event stream into (event, data).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from host.app import HostConfig, build_app
from host.discovery.settings import DiscoverySettings
from host.federation.endpoints import in_process
from host.services import HostServices
from host.settings import HostSettings
from mcp_servers.kit.definition import registered_servers
from mcp_servers.kit.settings import Settings
from policies.store import PolicyStore
from tests.helpers import serving
from tests.host.shop_server import SHOP_POLICY, Shop
from tests.scripted_llm import ScriptedLLM

REPO = Path(__file__).resolve().parents[2]


def policy_copy(directory: Path, extra: str = SHOP_POLICY) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for source in (REPO / "policies").glob("*.yaml"):
        shutil.copy(source, directory / source.name)
    roles = directory / "roles.yaml"  # operators may also use the test shop
    text = roles.read_text()
    marker = "      - name: mes-shop-floor"
    assert marker in text, "the shipped operator role changed; adjust the test policy"
    roles.write_text(text.replace(marker, '      - name: test-shop\n        tools: ["shop.*"]\n' + marker, 1))
    (directory / "zz-tests.yaml").write_text(extra)
    return directory


@dataclass
class RunningHost:
    url: str
    app: Any
    services: HostServices
    llm: ScriptedLLM
    shop: Shop
    http: httpx.AsyncClient

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def chat(self, token: str, message: str, conversation_id: str | None = None
                   ) -> list[tuple[str, dict[str, Any]]]:
        body: dict[str, Any] = {"message": message}
        if conversation_id:
            body["conversation_id"] = conversation_id
        response = await self.http.post("/v1/chat", json=body, headers=self.headers(token))
        assert response.status_code == 200, response.text
        return read_sse(response.text)


def read_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


@asynccontextmanager
async def running_host(settings: Settings, policy_dir: Path, *, llm: ScriptedLLM | None = None,
                       shop: Shop | None = None, model: bool = True, core_tools: list[str] | None = None,
                       endpoints: list[Any] = (), fresh_rate_limits: bool = True,
                       **host_settings: Any) -> AsyncIterator[RunningHost]:
    if fresh_rate_limits:
        forget_rate_limits(settings)
    llm = llm or ScriptedLLM()
    shop = shop or Shop()
    memory = registered_servers()["memory"]
    endpoints = [
        in_process("memory", lambda: memory.create(settings).mcp),
        in_process("shop", lambda: shop.build(settings).mcp),
        *endpoints,
    ]
    async with serving(llm.app) as llm_url:
        options: dict[str, Any] = {"llm_api_base": f"{llm_url}/v1", "llm_model": "hosted_vllm/scripted"}
        config = HostConfig(
            settings=settings,
            host_settings=HostSettings(_env_file=None, **(options if model else {}), **host_settings),
            endpoints=endpoints,
            policies=PolicyStore(policy_dir, reload_interval_s=0.0),
            discovery=DiscoverySettings(_env_file=None,
                                        core_tools=core_tools or ["memory.recall", "shop.quote"]),
        )
        app = build_app(config)
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            services: HostServices = app.state.host
            await services.federation.wait_ready(20)
            await _catalog_ready(services)
            yield RunningHost(url=url, app=app, services=services, llm=llm, shop=shop, http=http)


def forget_rate_limits(settings: Settings) -> None:
    """Start with nobody rate-limited: the counts live in the session's one database."""
    assert settings.database_admin_url is not None
    with psycopg.connect(settings.database_admin_url.get_secret_value(), autocommit=True) as conn:
        conn.execute("DELETE FROM host_rate_limits")


async def _catalog_ready(services: HostServices) -> None:
    import anyio

    with anyio.fail_after(20):
        while len(services.catalog.tools) < len(services.federation.tools):
            await anyio.sleep(0.05)
