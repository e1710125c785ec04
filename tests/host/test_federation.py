"""Federation over real transports: a sandboxed stdio server that crashes comes back by itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import anyio
import pytest

from host.federation import Federation
from host.federation.endpoints import in_process, remote, sandboxed
from mcp_servers.kit.context import CallContext, ContextSigner
from mcp_servers.kit.definition import registered_servers
from policies.sandbox_profile import SandboxProfile
from sandbox import launch_server
from tests.helpers import free_port
from tests.kit.toy_server import build as build_toy

pytestmark = pytest.mark.anyio


async def test_a_crashed_sandboxed_server_is_restarted_and_serves_again(settings):
    launched = []
    memory = registered_servers()["memory"]

    def launch():
        process = launch_server("memory", SandboxProfile(database_socket=True), settings,
                                server_settings=memory.server_settings())
        launched.append(process)
        return process

    federation = Federation([sandboxed("memory", launch)], ContextSigner.from_settings(settings),
                            max_backoff_s=0.5, health_interval_s=0.2)
    context = CallContext(tenant="acme", user="fed@acme.example")
    async with anyio.create_task_group() as group:
        await federation.run(group)
        assert (await federation.wait_ready(90)) == {"memory": True}
        [health] = federation.health()
        assert health.confinement == "bubblewrap" and health.tools == 5
        result = await federation.call("memory.remember", {"content": "federated"}, context)
        assert not result.is_error

        os.killpg(launched[0].process.pid, signal.SIGKILL)
        with anyio.fail_after(90):
            while federation.health()[0].restarts < 1 or not federation.health()[0].ready:
                await anyio.sleep(0.1)
        result = await federation.call("memory.recall", {"query": "federated"}, context)
        assert not result.is_error and result.structured_content["memories"]
        group.cancel_scope.cancel()
    assert len(launched) == 2


async def test_tools_outside_a_servers_namespace_are_refused_and_errors_pass_through(settings):
    # the toy server's tools are named toy.*; federated under another name they must not appear
    federation = Federation([in_process("toy", lambda: build_toy(settings).mcp),
                             in_process("impostor", lambda: build_toy(settings).mcp)],
                            ContextSigner.from_settings(settings))
    async with anyio.create_task_group() as group:
        await federation.run(group)
        await federation.wait_ready(20)
        assert sorted(federation.tools) == ["toy.fail"]
        result = await federation.call("toy.fail", {"category": "rate_limited"},
                                       CallContext(tenant="acme", user="u"))
        assert result.is_error  # upstream isError passes through unchanged
        assert result.structured_content["error_category"] == "rate_limited"
        assert result.structured_content["retry_after_s"] == 3.0
        group.cancel_scope.cancel()


async def test_a_remote_server_over_streamable_http_is_federated_and_reconnected_after_a_restart(settings):
    """`TESSERA_HOST_REMOTE_SERVERS`: a server another machine runs (`tessera serve NAME --transport http`)."""
    port = free_port()
    env = {**os.environ, "TESSERA_DATA_DIR": str(settings.data_dir),
           "TESSERA_DATABASE_URL": settings.database_url.get_secret_value(),
           "TESSERA_DATABASE_ADMIN_URL": settings.database_admin_url.get_secret_value(),
           "TESSERA_CONTEXT_SIGNING_KEY_FILE": str(settings.signing_key_path),
           "TESSERA_CONTEXT_VERIFICATION_KEYS_FILE": str(settings.verification_keys_path)}

    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "tessera", "serve", "memory", "--transport", "http",
                                 "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)

    server = None
    federation = Federation([remote("memory", f"http://127.0.0.1:{port}/mcp")],
                            ContextSigner.from_settings(settings), max_backoff_s=0.5, health_interval_s=0.2)
    context = CallContext(tenant="acme", user="remote@acme.example")
    try:
        async with anyio.create_task_group() as group:
            await federation.run(group)
            with anyio.fail_after(30):  # nothing listens yet: the first attempts fail
                while federation.health()[0].last_error is None:
                    await anyio.sleep(0.05)
            server = start()
            with anyio.fail_after(60):  # waiting across failed attempts, not out to its timeout
                assert (await federation.wait_ready(120)) == {"memory": True}
            [health] = federation.health()
            assert health.confinement == "remote" and health.tools == 5
            result = await federation.call("memory.remember", {"content": "reached over http"}, context)
            assert not result.is_error

            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
            with anyio.fail_after(30):  # the federation notices the server is gone
                while federation.health()[0].ready:
                    await anyio.sleep(0.1)
            server = start()
            with anyio.fail_after(90):
                while not federation.health()[0].ready:
                    await anyio.sleep(0.1)
            result = await federation.call("memory.recall", {"query": "reached over http"}, context)
            assert not result.is_error and result.structured_content["memories"]
            group.cancel_scope.cancel()
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
