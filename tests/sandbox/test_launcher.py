"""The launcher's decisions: the exact bwrap command, the environment, names, modes, the probe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from mcp_servers.kit.settings import Settings
from policies.sandbox_profile import SandboxProfile
from sandbox import Confinement, SandboxError, launch
from sandbox.bwrap import CONFINING_FLAGS, bwrap_argv
from sandbox.environment import settings_environment
from sandbox.layout import SandboxPlan, workspace_dir

SECRET = "s3cr3t-value-never-on-the-command-line"


def test_the_command_line_confines_and_binds_no_root():
    plan = SandboxPlan(server="memory", tenant=None, command=("python", "-m", "x"),
                       ro_binds=(("/usr", "/usr"),), rw_binds=(("/data/ws", "/workspace"),),
                       data_files=((b"x", "/etc/passwd"),))
    argv = bwrap_argv(plan, [7], SandboxProfile().limits)
    assert argv[1:1 + len(CONFINING_FLAGS)] == list(CONFINING_FLAGS)
    sources = [argv[i + 1] for i, word in enumerate(argv) if word in ("--bind", "--ro-bind")]
    assert "/" not in sources
    assert argv[argv.index("--remount-ro") + 1] == "/"
    assert argv[argv.index("--tmpfs") - 1] == str(64 << 20)  # --size before --tmpfs
    # the private /tmp is mounted before any bind, so an installation under /tmp stays visible
    assert argv.index("--tmpfs") < argv.index("--ro-bind") < argv.index("--bind")
    assert argv[argv.index("--ro-bind-data") + 1:][:2] == ["7", "/etc/passwd"]
    tail = argv[argv.index("--") + 1:]
    assert tail[0].endswith("prlimit") and tail[-3:] == ["python", "-m", "x"]


def test_secrets_reach_the_environment_only_when_listed_and_never_argv(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path,
                        database_url=SecretStr(f"postgresql://app:{SECRET}@/db?host=/run/pg"),
                        database_admin_url=SecretStr("postgresql://postgres:admin@/db"),
                        embedding_api_key=SecretStr("key-1"),
                        context_signing_key_file=tmp_path / "signing.pem")
    unlisted = settings_environment(settings, SandboxProfile())
    listed = settings_environment(settings, SandboxProfile(database_socket=True,
                                                           secrets=("TESSERA_EMBEDDING_API_KEY",)))
    for env in (unlisted, listed):
        assert {"TESSERA_DATABASE_ADMIN_URL", "TESSERA_CONTEXT_SIGNING_KEY_FILE",
                "TESSERA_DATA_DIR"}.isdisjoint(env)
        assert env["TESSERA_LOG_LEVEL"] == "INFO"
        assert env["TESSERA_CONTEXT_ACCEPTED_ISSUERS"] == '["tessera-host"]'
    assert "TESSERA_DATABASE_URL" not in unlisted and "TESSERA_EMBEDDING_API_KEY" not in unlisted
    assert SECRET in listed["TESSERA_DATABASE_URL"] and listed["TESSERA_EMBEDDING_API_KEY"] == "key-1"

    with launch("probe", SandboxProfile(), [sys.executable, "-c", "pass"], data_dir=tmp_path,
                env={"TESSERA_DATABASE_URL": SECRET}, stdin=subprocess.DEVNULL) as process:
        assert SECRET not in " ".join(process.process.args)
        process.wait(60)


@pytest.mark.parametrize("tenant", ["../globex", "a/b", ".", "..", "", "x" * 65, "-rf"])
def test_unsafe_tenant_names_are_refused(tmp_path, tenant):
    with pytest.raises(SandboxError, match="not a safe name"):
        workspace_dir(tmp_path, "memory", tenant)


def test_mode_off_runs_unconfined_and_says_so(tmp_path):
    with launch("probe", SandboxProfile(mode="off"), [sys.executable, "-c", "pass"],
                data_dir=tmp_path, stdin=subprocess.DEVNULL) as process:
        assert process.wait(60) == 0
    assert process.report.confinement is Confinement.NONE and process.report.degraded
    assert process.report.reason == "the policy profile sets mode off"


@pytest.mark.usefixtures("bwrap_ready")
def test_where_user_namespaces_are_forbidden_the_probe_quotes_bwrap_and_the_fix(tmp_path):
    """Inside our own sandbox nested user namespaces are disabled: the container case."""
    code = ("import json; from sandbox.layout import current_user; "
            "from sandbox.probe import probe_bwrap; p = probe_bwrap(current_user()); "
            "print(json.dumps({'ok': p.ok, 'message': p.message, 'fix': p.fix}))")
    with launch("probe", SandboxProfile(), [sys.executable, "-c", code], data_dir=tmp_path,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE) as process:
        out, err = process.process.communicate(timeout=60)
    probe = json.loads(out)
    assert probe["ok"] is False, err
    assert "namespace" in probe["message"].lower()  # bubblewrap's own words
    assert "user namespaces" in probe["fix"] and "degraded-ok" in probe["fix"]


def test_the_workspace_belongs_to_the_sandbox_user(tmp_path):
    with launch("probe", SandboxProfile(workspace=True), [sys.executable, "-c", "pass"],
                data_dir=tmp_path, tenant="acme", stdin=subprocess.DEVNULL) as process:
        process.wait(60)
    workspace = Path(process.report.workspace)
    assert workspace == tmp_path / "sandbox" / "probe" / "tenants" / "acme"
    assert workspace.stat().st_mode & 0o777 == 0o700
    if os.geteuid() == 0:
        assert workspace.owner() == "tessera-sbx"


def test_without_mounts_copied_in_files_are_written_privately(tmp_path):
    """Modes without bubblewrap still give the server the files it would have had copied in."""
    code = "import os; print(open(os.environ['KEYS']).read() + '|' + os.environ['TMPDIR'])"
    with launch("probe", SandboxProfile(mode="off"), [sys.executable, "-c", code],
                data_dir=tmp_path, env={"KEYS": "/run/tessera/keys.json"},
                data_files=[(b'{"keys": []}', "/run/tessera/keys.json")],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE) as process:
        out, _ = process.process.communicate(timeout=60)
    content, tmpdir = out.decode().strip().split("|")
    assert content == '{"keys": []}'
    assert Path(tmpdir).name.startswith("tessera-sbx-tmp-") and not Path(tmpdir).exists()


ECHO_SERVER = """
from fastmcp import FastMCP
mcp = FastMCP("echo")

@mcp.tool
def echo(text: str) -> str:
    return text

mcp.run(show_banner=False, log_level="WARNING")
"""


@pytest.mark.anyio
@pytest.mark.usefixtures("bwrap_ready")
async def test_a_reconnecting_client_gets_a_fresh_sandbox_per_connection(tmp_path, anyio_backend):
    import anyio
    from fastmcp import Client

    from sandbox.stdio import SandboxedServerTransport

    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "echo.py").write_text(ECHO_SERVER)
    reports = []
    transport = SandboxedServerTransport(
        lambda: launch("echo", SandboxProfile(), [sys.executable, "/code/echo.py"],
                       data_dir=tmp_path, ro_binds=[(str(tmp_path / "code"), "/code")]),
        on_launch=reports.append)
    for attempt in range(2):
        with anyio.fail_after(60):
            async with Client(transport) as client:
                result = await client.call_tool("echo", {"text": f"hello {attempt}"})
        assert result.data == f"hello {attempt}"
    assert [r.confinement for r in reports] == [Confinement.BUBBLEWRAP] * 2
    assert reports[0].pid != reports[1].pid
    for report in reports:  # each sandbox was stopped when its session ended
        with pytest.raises(ProcessLookupError):
            os.kill(report.pid, 0)
