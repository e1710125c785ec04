"""Resource limits and lifetime: fork bombs, memory hogs and spinners stop; nothing outlives the host."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from policies.sandbox_profile import SandboxProfile

pytestmark = pytest.mark.usefixtures("bwrap_ready")
REPO = Path(__file__).resolve().parents[2]


def _host_still_forks() -> bool:
    return subprocess.run(["true"], timeout=10).returncode == 0


def test_a_fork_bomb_hits_the_process_limit(run_probe):
    run = run_probe(["forkbomb"], profile=SandboxProfile(limits={"processes": 24}))
    assert run.result is not None, run.stderr
    assert run.result["children"] < 24
    assert "Resource temporarily unavailable" in run.result["stopped_by"]
    assert _host_still_forks()


def test_a_memory_hog_hits_the_address_space_limit(run_probe):
    run = run_probe(["memhog"], profile=SandboxProfile(limits={"memory_mb": 256}))
    assert run.result == {"allocated_mb": run.result["allocated_mb"], "stopped_by": "MemoryError"}
    assert run.result["allocated_mb"] < 256


def test_a_cpu_spinner_is_killed_at_its_cpu_limit(run_probe):
    run = run_probe(["spin"], profile=SandboxProfile(limits={"cpu_seconds": 1}), timeout=30)
    assert run.result is None  # it never got to report
    assert run.returncode != 0


def test_the_wall_clock_kills_a_server_that_runs_too_long(run_probe):
    run = run_probe(["sleep"], profile=SandboxProfile(limits={"wall_clock_s": 1}), timeout=30)
    assert run.returncode == -signal.SIGKILL
    assert "pid" in run.result  # it had started


def _pids_with(marker: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def _is_python(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"python")
    except OSError:
        return False


def test_killing_the_host_leaves_no_sandboxed_process(tmp_path):
    marker = f"marker-{uuid.uuid4().hex}"
    host = textwrap.dedent(f"""
        import subprocess, sys, threading
        from pathlib import Path
        from policies.sandbox_profile import SandboxProfile
        from sandbox import launch
        probes = {str(Path(__file__).parent / "probes")!r}
        # Launched from a short-lived thread: the spawner thread must keep it alive anyway.
        def start():
            global server
            server = launch("probe", SandboxProfile(), [sys.executable, "/probes/escape.py",
                            "sleep", {marker!r}], data_dir=Path({str(tmp_path)!r}),
                            ro_binds=[(probes, "/probes")], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL)
        worker = threading.Thread(target=start)
        worker.start(); worker.join()
        print("ready", flush=True)
        sys.stdin.read()
    """)
    process = subprocess.Popen([sys.executable, "-c", host], cwd=REPO, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready and process.stdout.readline().strip() == b"ready"
        # The probe itself prints its pid once it runs: wait for its cmdline to show.
        pidfds = []
        for _ in range(400):  # bounded: at most ~20 s
            pids = [pid for pid in _pids_with(marker) if pid != process.pid]
            if any(_is_python(pid) for pid in pids):
                break
            select.select([], [], [], 0.05)
        assert any(_is_python(pid) for pid in pids), "the sandboxed process never appeared"
        pidfds = [os.pidfd_open(pid) for pid in pids]
    finally:
        process.kill()
        process.wait(10)
    for fd in pidfds:
        readable, _, _ = select.select([fd], [], [], 10)
        os.close(fd)
        assert readable, "a sandboxed process outlived the host that launched it"
    assert [pid for pid in _pids_with(marker) if pid != process.pid] == []
