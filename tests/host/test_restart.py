"""A run survives its host process: kill the host mid-run, and another process finishes the run.

Real processes: `tessera host` twice, each spawning the memory server inside its
bubblewrap sandbox, against the test database and a scripted model on loopback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import anyio
import httpx
import psycopg
import pytest

from tests.helpers import free_port, serving
from tests.scripted_llm import Reply, ScriptedLLM

pytestmark = pytest.mark.anyio


def start_host(settings, llm_url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "TESSERA_DATA_DIR": str(settings.data_dir),
        "TESSERA_DATABASE_URL": settings.database_url.get_secret_value(),
        "TESSERA_DATABASE_ADMIN_URL": settings.database_admin_url.get_secret_value(),
        "TESSERA_CONTEXT_SIGNING_KEY_FILE": str(settings.signing_key_path),
        "TESSERA_CONTEXT_VERIFICATION_KEYS_FILE": str(settings.verification_keys_path),
        "TESSERA_HOST_LLM_API_BASE": f"{llm_url}/v1",
        "TESSERA_HOST_LLM_MODEL": "openai/scripted",
        "TESSERA_HOST_SERVERS": '["memory"]',
        "TESSERA_HOST_RUN_LEASE_S": "2",
        "TESSERA_DISCOVERY_CORE_TOOLS": '["memory.remember", "memory.recall"]',
    }
    return subprocess.Popen([sys.executable, "-m", "tessera", "host", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


async def wait_ready(base: str) -> None:
    with anyio.fail_after(120):
        async with httpx.AsyncClient() as client:
            while True:
                try:
                    if (await client.get(f"{base}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await anyio.sleep(0.2)


async def test_a_run_whose_host_was_killed_is_finished_by_another_host(settings, tokens, database):
    token = tokens("acme", "olga@acme.example", audience="tessera", roles=("operator",))
    headers = {"Authorization": f"Bearer {token}"}
    llm = ScriptedLLM()
    llm.script = [Reply(tool_calls=[("memory__remember", {"content": "Olga's plant is 1100",
                                                          "kind": "FACT"})]),
                  Reply(content="never delivered", delay_s=60)]
    async with serving(llm.app) as llm_url:
        first_port, second_port = free_port(), free_port()
        first = start_host(settings, llm_url, first_port)
        second = None
        try:
            await wait_ready(f"http://127.0.0.1:{first_port}")
            run_id = None

            async def chat() -> None:
                nonlocal run_id
                async with httpx.AsyncClient(timeout=120) as client, client.stream(
                        "POST", f"http://127.0.0.1:{first_port}/v1/chat",
                        json={"message": "Remember that my plant is 1100"}, headers=headers) as stream:
                    async for line in stream.aiter_lines():
                        if line.startswith("data:") and run_id is None:
                            run_id = json.loads(line[5:])["run_id"]

            async with anyio.create_task_group() as group:
                group.start_soon(chat)
                with anyio.fail_after(60):
                    while len(llm.chat_requests) < 2:  # the remember call is done, the model is thinking
                        await anyio.sleep(0.05)
                os.killpg(first.pid, signal.SIGKILL)  # the host and its sandboxed server, mid-run
                first.wait(10)
                group.cancel_scope.cancel()
            assert run_id

            llm.script = [Reply(content="I will remember that your plant is 1100.")]
            second = start_host(settings, llm_url, second_port)
            base = f"http://127.0.0.1:{second_port}"
            await wait_ready(base)
            async with httpx.AsyncClient(timeout=10) as client:
                with anyio.fail_after(60):
                    while True:
                        run = (await client.get(f"{base}/v1/runs/{run_id}", headers=headers)).json()
                        if run["status"] != "running":
                            break
                        await anyio.sleep(0.2)
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)
    assert run["status"] == "finished"
    answer = next(e for e in run["events"] if e["kind"] == "answer")
    assert answer["payload"]["text"] == "I will remember that your plant is 1100."
    assert [e["payload"]["tool"] for e in run["events"] if e["kind"] == "tool_call"] == ["memory.remember"]
    # each start of the sandboxed server is in the system tenant's audit log, with its confinement
    with psycopg.connect(database.admin_url) as conn:
        started = conn.execute(
            "SELECT target, details->>'confinement' FROM audit_events "
            "WHERE tenant_id = 'tessera-system' AND action = 'sandbox.started'").fetchall()
    assert started.count(("memory", "bubblewrap")) >= 2
