"""Escape attempts from inside a real bubblewrap sandbox: reads, writes, environment, network.

Each test plants something the sandbox must not reach, runs a probe inside, and
checks both that the probe ran (it reports) and that what it reached is nothing.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

from policies.sandbox_profile import SandboxProfile

pytestmark = pytest.mark.usefixtures("bwrap_ready")


@pytest.fixture
def marker() -> str:
    return f"TESSERA-SECRET-{uuid.uuid4().hex}"


@pytest.fixture
def home_secret(marker: str):
    path = Path.home() / f".tessera-escape-test-{uuid.uuid4().hex[:8]}"
    path.write_text(marker)
    path.chmod(0o600)
    yield path
    path.unlink()


def _errors(result: dict) -> dict:
    return {key: value for key, value in result.items() if not value.startswith("error:")}


def test_the_probe_runs_confined_as_the_sandbox_user(run_probe):
    run = run_probe(["read", "/etc/passwd", "/workspace"])
    assert run.returncode == 0, run.stderr
    assert run.report.confinement == "bubblewrap"
    passwd = run.result["/etc/passwd"]
    assert passwd.startswith("ok:")
    if os.geteuid() == 0:
        assert run.report.user == "tessera-sbx" and "tessera-sbx" in passwd
    assert "/home" not in passwd  # only the synthesised entries, not the host's passwd


def test_system_secrets_and_the_hosts_home_are_unreadable(run_probe, home_secret, marker):
    paths = ["/etc/shadow", "/etc/gshadow", "/etc/ssl/private", str(home_secret),
             str(home_secret.parent), "/root/.bashrc", "/home", "/work/main/.tessera",
             "/var/lib", "/proc/1/root/etc/shadow", f"/proc/1/root{home_secret}"]
    run = run_probe(["read", *paths])
    assert run.returncode == 0, run.stderr
    reached = _errors(run.result)
    assert marker not in str(run.result)
    # The home directory may exist only as the mount point of the interpreter's prefix.
    assert set(reached) <= {str(home_secret.parent)}, reached
    if reached:
        assert reached[str(home_secret.parent)] in ("ok:.pyenv", "ok:")


def test_another_tenants_workspace_is_out_of_reach(run_probe, tmp_path, marker):
    written = run_probe(["write", "/workspace/secret.txt"], tenant="globex", data_dir=tmp_path)
    assert written.result["/workspace/secret.txt"] == "ok:written"
    globex = Path(written.report.workspace)
    (globex / "secret.txt").write_text(marker)

    run = run_probe(["read", "/workspace", "/workspace/../globex/secret.txt",
                     "/workspace/../tenants/globex/secret.txt", str(globex / "secret.txt"),
                     str(globex)], tenant="acme", data_dir=tmp_path)

    assert run.result["/workspace"] == "ok:"  # its own, empty workspace
    assert set(_errors(run.result)) == {"/workspace"}
    assert marker not in str(run.result)
    assert Path(run.report.workspace).name == "acme"


def test_the_hosts_environment_is_invisible(run_probe, monkeypatch, marker):
    monkeypatch.setenv("TESSERA_HOST_ONLY_SECRET", marker)
    monkeypatch.setenv("TESSERA_DATABASE_ADMIN_URL", f"postgresql://postgres:{marker}@/x")
    run = run_probe(["env"], env={"TESSERA_LISTED": "for-the-server"})
    assert run.returncode == 0, run.stderr
    assert marker not in str(run.result)
    assert run.result["own"]["TESSERA_LISTED"] == "for-the-server"
    assert "TESSERA_HOST_ONLY_SECRET" not in run.result["own"]
    # Only the sandbox's own processes are visible (bwrap's init and the probe).
    assert len(run.result["proc"]) <= 3


def test_nothing_outside_the_workspace_and_tmp_is_writable(run_probe, tmp_path):
    targets = ["/escape.txt", "/usr/escape.txt", "/etc/escape.txt", "/etc/passwd",
               "/probes/escape.txt", f"{os.path.realpath(os.sys.prefix)}/escape.txt",
               "/proc/sys/kernel/hostname", "/workspace/ok.txt", "/tmp/ok.txt",
               f"{tmp_path}/escape.txt"]
    run = run_probe(["write", *targets])
    assert set(_errors(run.result)) == {"/workspace/ok.txt", "/tmp/ok.txt"}, run.result
    assert not (tmp_path / "escape.txt").exists()


def test_tmp_and_file_sizes_are_capped(run_probe):
    limits = {"tmp_size_mb": 2, "file_size_mb": 3}
    profile = SandboxProfile(workspace=True, limits=limits)
    tmp = run_probe(["fill", "/tmp/big", "8"], profile=profile)
    assert tmp.result["written_mb"] < 3 and "No space left" in tmp.result["stopped_by"]
    workspace = run_probe(["fill", "/workspace/big", "8"], profile=profile)
    assert workspace.result["written_mb"] == 3  # RLIMIT_FSIZE: SIGXFSZ is ignored by Python
    assert "File too large" in workspace.result["stopped_by"]


@pytest.fixture
def host_listeners():
    """TCP, UDP and abstract Unix sockets on the host, which nothing inside may reach."""
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    abstract = socket.socket(socket.AF_UNIX)
    name = f"tessera-escape-{uuid.uuid4().hex[:8]}"
    abstract.bind("\0" + name)
    abstract.listen()
    yield tcp.getsockname()[1], udp, name
    for sock in (tcp, udp, abstract):
        sock.close()


def test_no_network_reaches_the_host(run_probe, host_listeners):
    port, udp, abstract = host_listeners
    udp_port = udp.getsockname()[1]
    # Loopback only: even a broken sandbox must never send traffic off this machine.
    specs = [f"tcp:127.0.0.1:{port}", f"tcp:localhost:{port}", "dns:debian.org",
             f"abstract:{abstract}", "abstract:/tmp/.X11-unix/X0",
             f"udp:127.0.0.1:{udp_port}", "udp:127.0.0.1:53"]
    run = run_probe(["net", *specs])
    assert run.returncode == 0, run.stderr
    tcp_and_unix = {k: v for k, v in run.result.items() if not k.startswith("udp:")}
    assert _errors(tcp_and_unix) == {}, run.result
    # seccomp refuses the socket itself; behind it, the empty network namespace.
    assert "PermissionError" in run.result[f"tcp:127.0.0.1:{port}"]
    assert _errors(run.result) == {}, run.result
    # Had a datagram gone out, loopback delivery is synchronous: it would be queued by now.
    with pytest.raises(BlockingIOError):
        udp.recv(16)


def test_dangerous_kernel_interfaces_are_closed(run_probe):
    run = run_probe(["syscalls"])
    assert run.returncode == 0, run.stderr
    assert run.result.pop("AF_UNIX") == "ok:None"  # what servers do use still works
    assert all(v.startswith(("errno:Permission denied", "error:PermissionError"))
               for v in run.result.values()), run.result


def test_degraded_ok_falls_back_to_landlock_and_still_confines(run_probe, monkeypatch,
                                                               host_listeners, home_secret,
                                                               marker, tmp_path):
    from sandbox.confine import landlock_abi

    if landlock_abi() < 6:
        pytest.skip(f"this kernel's Landlock ABI is {landlock_abi()}; the fallback test needs 6")
    port, udp, abstract = host_listeners
    monkeypatch.setenv("PATH", "/nonexistent")  # bubblewrap "is not installed" here
    profile = SandboxProfile(mode="degraded-ok", workspace=True)
    run = run_probe(["net", f"tcp:127.0.0.1:{port}", f"udp:127.0.0.1:{udp.getsockname()[1]}",
                     f"abstract:{abstract}"], profile=profile, mounted=False)
    assert run.report.confinement == "landlock+seccomp+rlimits+user"
    assert "bwrap is not installed" in run.report.reason
    assert _errors(run.result) == {}, run.result
    reads = run_probe(["read", "/etc/shadow", str(home_secret), str(tmp_path), "/etc/hostname",
                       "/proc/1/environ"], profile=profile, mounted=False)
    assert _errors(reads.result) == {} and marker not in str(reads.result)
    writes = run_probe(["write", f"{tmp_path}/escape.txt", "/tmp/escape.txt"], profile=profile,
                       mounted=False)
    assert _errors(writes.result) == {}
