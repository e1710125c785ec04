"""A PostgreSQL server without pgvector gets a clear instruction, not a stack trace.

Debian 12's own PostgreSQL 15 has no pgvector package, which makes it the real
thing to test against; the test skips where that server is not installed.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest

from mcp_servers.kit.store.migrate import MigrationError, core_migrations, migrate
from tessera.cli import main
from tests.helpers import free_port

DEBIAN_PG = Path("/usr/lib/postgresql/15/bin")


@pytest.fixture(scope="module")
def plain_postgres(tmp_path_factory):
    if not (DEBIAN_PG / "postgres").exists():
        pytest.skip("Debian's PostgreSQL 15 server is not installed here")
    root = tmp_path_factory.mktemp("plain-pg")
    owner = pwd.getpwnam("tessera-pg") if os.geteuid() == 0 else None
    if owner:
        root.chmod(0o777)
        for parent in root.parents:
            parent.chmod(parent.stat().st_mode | 0o001)
    as_owner = {"user": owner.pw_uid, "group": owner.pw_gid} if owner else {}
    data, port = root / "data", free_port()
    subprocess.run([DEBIAN_PG / "initdb", "-D", data, "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True, timeout=60, **as_owner)
    subprocess.run([DEBIAN_PG / "pg_ctl", "-D", data, "-w", "-t", "30", "-l", root / "log",
                    "-o", f"-p {port} -k {root} -c listen_addresses=''", "start"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60, **as_owner)
    yield f"postgresql://postgres@/postgres?host={root}&port={port}"
    subprocess.run([DEBIAN_PG / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
                   capture_output=True, timeout=60, **as_owner)


def test_migrate_says_to_install_pgvector_or_use_the_embedded_database(plain_postgres):
    with pytest.raises(MigrationError) as refused:
        migrate(plain_postgres, [core_migrations()])
    message = refused.value.human_message
    assert "lacks the pgvector extension" in message
    assert "Install pgvector" in message and "unset TESSERA_DATABASE_URL" in message


def test_the_cli_says_it_in_one_line(plain_postgres, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESSERA_DATABASE_URL", plain_postgres)
    monkeypatch.delenv("TESSERA_DATABASE_ADMIN_URL", raising=False)
    assert main(["db", "migrate"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lacks the pgvector extension" in err
