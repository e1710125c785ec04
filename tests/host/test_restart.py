"""A run survives its host process: kill the host mid-run, and another process finishes the run.
And `tessera host --workers 2` serves from two processes, replacing one that dies.

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


def start_host(settings, llm_url: str, port: int, *options: str) -> subprocess.Popen:
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
    return subprocess.Popen([sys.executable, "-m", "tessera", "host", "--port", str(port), *options], env=env,
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


def workers_of(pid: int) -> set[int]:
    """The uvicorn worker processes under a `tessera host --workers N` process."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat, open(f"/proc/{entry}/cmdline", "rb") as cmd:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                cmdline = cmd.read()
        except (OSError, ValueError):
            continue
        if parent == pid and b"spawn_main" in cmdline:
            found.add(int(entry))
    return found


async def test_two_workers_serve_one_port_and_a_dead_one_is_replaced(settings, tokens):
    token = tokens("acme", "wim@acme.example", audience="tessera", roles=("operator",))
    headers = {"Authorization": f"Bearer {token}"}
    llm = ScriptedLLM()
    llm.default_reply = Reply(content="Done.")
    async with serving(llm.app) as llm_url:
        port = free_port()
        host = start_host(settings, llm_url, port, "--workers", "2")
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_ready(base)
            workers = workers_of(host.pid)
            assert len(workers) == 2

            async def answers(count: int) -> list[str]:
                texts: list[str] = []

                async def one() -> None:
                    async with httpx.AsyncClient(timeout=60) as client:
                        response = await client.post(f"{base}/v1/chat/completions", headers=headers,
                                                     json={"messages": [{"role": "user", "content": "hi"}]})
                    assert response.status_code == 200, response.text
                    texts.append(response.json()["choices"][0]["message"]["content"])

                async with anyio.create_task_group() as group:
                    for _ in range(count):
                        group.start_soon(one)
                return texts

            assert await answers(6) == ["Done."] * 6
            victim = sorted(workers)[0]
            os.kill(victim, signal.SIGKILL)
            with anyio.fail_after(120):
                while True:
                    now = workers_of(host.pid)
                    if len(now) == 2 and victim not in now:
                        break
                    await anyio.sleep(0.2)
            await wait_ready(base)
            assert await answers(4) == ["Done."] * 4
        finally:
            os.killpg(host.pid, signal.SIGTERM)
            try:
                host.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(host.pid, signal.SIGKILL)
                host.wait(10)
