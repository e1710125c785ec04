"""Running escape probes inside real bubblewrap sandboxes, as the launcher runs servers.

As root (CI), the launcher drops to the `tessera-sbx` user; as anyone else, it
runs the sandbox as that user. Every wait is bounded by `communicate(timeout=)`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from policies.sandbox_profile import SandboxProfile
from sandbox import launch, probe_bwrap
from sandbox.layout import sandbox_user

PROBES = Path(__file__).parent / "probes"
PROBE_TIMEOUT_S = 90.0


@dataclass
class ProbeRun:
    returncode: int
    result: Any
    stderr: str
    report: Any


@pytest.fixture(scope="session")
def bwrap_ready() -> None:
    probe = probe_bwrap(sandbox_user())
    if not probe.ok:
        pytest.fail(probe.explain())


@pytest.fixture
def run_probe(tmp_path: Path, bwrap_ready: None):
    """run_probe(args, profile=..., tenant=..., env=..., audit=...) -> ProbeRun."""

    def run(args: Sequence[str], *, profile: SandboxProfile | None = None,
            tenant: str | None = None, env: dict[str, str] | None = None,
            audit: Any = None, data_dir: Path | None = None,
            timeout: float = PROBE_TIMEOUT_S, mounted: bool = True,
            extra_binds: Sequence[tuple[str, str]] = ()) -> ProbeRun:
        # Without bubblewrap (degraded modes) there are no mounts: use the host path.
        script = "/probes/escape.py" if mounted else str(PROBES / "escape.py")
        command = [sys.executable, script, *args]
        with launch("probe", profile or SandboxProfile(workspace=True), command,
                    data_dir=data_dir or tmp_path, tenant=tenant, env=env,
                    ro_binds=[(str(PROBES), "/probes"), *extra_binds], audit=audit,
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE) as process:
            out, err = process.process.communicate(timeout=timeout)
            report = process.report
        last = out.decode().strip().splitlines()[-1:] if out.strip() else []
        return ProbeRun(process.process.returncode, json.loads(last[0]) if last else None,
                        err.decode(errors="replace"), report)

    return run
