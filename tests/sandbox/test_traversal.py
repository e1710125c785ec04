"""Path-traversal payloads from fuzzdb, opened from inside the sandbox's workspace, reach nothing.

Secrets are planted where a traversal would aim: the host's home, the data
directory right above the server's workspaces, and another tenant's workspace.
Every payload (with {FILE} set to each target) is opened raw, URL-decoded once
and twice, and with backslashes as slashes. Whatever opens must be inside the
sandbox's own view (its workspace and read-only system binds), never a secret.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

from policies.sandbox_profile import SandboxProfile

pytestmark = pytest.mark.usefixtures("bwrap_ready")
REPO = Path(__file__).resolve().parents[2]
PAYLOAD_FILES = ["attack/path-traversal/traversals-8-deep-exotic-encoding.txt",
                 "attack/lfi/JHADDIX_LFI.txt"]


def _fuzzdb() -> Path:
    shared = Path(os.environ.get("TESSERA_SHARED_DATA", REPO.parent / "shared" / "data"))
    fuzzdb = shared / "security" / "fuzzdb"
    if not all((fuzzdb / name).is_file() for name in PAYLOAD_FILES):
        pytest.skip(f"fuzzdb payloads not found under {fuzzdb} (set TESSERA_SHARED_DATA)")
    return fuzzdb


@pytest.mark.parametrize("payload_file", PAYLOAD_FILES)
def test_fuzzdb_traversals_from_the_workspace_read_no_secret(run_probe, tmp_path, payload_file):
    fuzzdb = _fuzzdb()
    marker = f"TESSERA-SECRET-{uuid.uuid4().hex}"
    home_secret = Path.home() / f".tessera-traversal-{uuid.uuid4().hex[:8]}"
    home_secret.write_text(marker)
    home_secret.chmod(0o600)
    (tmp_path / "secret.txt").write_text(marker)
    other = tmp_path / "sandbox" / "probe" / "tenants" / "globex"
    other.mkdir(parents=True)
    (other / "secret.txt").write_text(marker)
    targets = ["etc/shadow", "secret.txt", "tenants/globex/secret.txt",
               str(home_secret).lstrip("/"), str(tmp_path / "secret.txt").lstrip("/")]
    try:
        run = run_probe(["traverse", f"/fuzzdb/{payload_file}", *targets],
                        profile=SandboxProfile(workspace=True), tenant="acme", data_dir=tmp_path,
                        extra_binds=[(str(fuzzdb), "/fuzzdb")])
    finally:
        home_secret.unlink()
    assert run.returncode == 0, run.stderr
    assert run.result["payloads"] > 5
    assert marker not in str(run.result["reads"])
    allowed = ("/workspace", "/etc/", "/usr/", "/proc/", "/dev/", "/tmp", "/fuzzdb/", "/probes/",
               os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix), str(REPO))
    outside = [path for path in run.result["reads"] if not path.startswith(allowed)]
    assert outside == []
    # Traversals do reach the sandbox's root, and find only its own view there.
    assert "/etc/shadow" not in run.result["reads"]
    if "lfi" in payload_file:
        assert run.result["reads"]["/etc/passwd"].count("\n") == 3

