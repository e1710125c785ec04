"""The embedded PostgreSQL: created, started, reused and stopped by Tessera itself."""

from __future__ import annotations

import psycopg
import pytest

from tessera.embedded_db import EmbeddedDatabase, EmbeddedDatabaseError
from tests.helpers import free_port


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    database = EmbeddedDatabase(tmp_path_factory.mktemp("embedded") / "postgres", free_port(),
                                shared_buffers="160MB")
    yield database
    database.stop()


def test_a_new_cluster_starts_with_pgvector_and_a_restricted_app_role(cluster):
    urls = cluster.ensure_running()

    with psycopg.connect(urls.admin, autocommit=True) as admin:
        available = admin.execute(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'").fetchone()
        listen = admin.execute("SHOW listen_addresses").fetchone()
        buffers = admin.execute("SHOW shared_buffers").fetchone()
    with psycopg.connect(urls.app, autocommit=True) as app:
        role = app.execute("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb "
                           "FROM pg_roles WHERE rolname = current_user").fetchone()

    assert available is not None and available[0].startswith("0.8")
    assert listen == ("127.0.0.1",)
    assert buffers == ("160MB",)  # the setting, applied at start
    assert role == (False, False, False, False)
    assert oct(cluster.secrets_file.stat().st_mode & 0o777) == "0o600"


def test_it_requires_passwords(cluster):
    urls = cluster.ensure_running()
    wrong = urls.app.replace(urls.app.split(":")[2].split("@")[0], "wrong-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=5)


def test_ensure_running_is_idempotent_and_survives_a_restart(cluster):
    first = cluster.ensure_running()
    assert cluster.ensure_running() == first
    assert cluster.stop() is True
    assert cluster.is_running() is False
    assert cluster.stop() is False
    assert cluster.ensure_running() == first
    with psycopg.connect(first.app, connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_running_cluster_on_another_port_is_reported_not_reused(cluster):
    cluster.ensure_running()
    moved = EmbeddedDatabase(cluster.root, free_port())
    with pytest.raises(EmbeddedDatabaseError, match="stop it with `tessera db down`"):
        moved.ensure_running()


def test_a_taken_port_is_a_clear_error(tmp_path, database):
    from psycopg.conninfo import conninfo_to_dict

    taken = int(conninfo_to_dict(database.admin_url).get("port", 5432))
    other = EmbeddedDatabase(tmp_path / "postgres", taken)
    with pytest.raises(EmbeddedDatabaseError, match=f"Port {taken} on 127.0.0.1 is taken"):
        other.ensure_running()
