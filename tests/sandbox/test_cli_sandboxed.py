"""`tessera serve NAME --sandboxed`: what an IDE spawns, passing our conformance suite."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.usefixtures("bwrap_ready")


@pytest.fixture
def env(monkeypatch, settings, tmp_path):
    values = {
        "TESSERA_DATA_DIR": str(tmp_path),
        "TESSERA_DATABASE_URL": settings.database_url.get_secret_value(),
        "TESSERA_DATABASE_ADMIN_URL": settings.database_admin_url.get_secret_value(),
        "TESSERA_CONTEXT_SIGNING_KEY_FILE": str(settings.signing_key_path),
        "TESSERA_CONTEXT_VERIFICATION_KEYS_FILE": str(settings.verification_keys_path),
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    return {**clean, **values}


def test_conformance_passes_against_the_sandboxed_memory_server(env, tmp_path):
    command = f"{sys.executable} -m tessera serve memory --sandboxed"
    result = subprocess.run(
        [sys.executable, "-m", "tessera", "conformance", "--stdio", command, "--allow-writes"],
        capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("0 failed, 0 skipped")
    assert "under bubblewrap" in result.stderr, result.stderr  # the launcher says what it got
