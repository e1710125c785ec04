"""Preparing an installation: development fills gaps, production refuses to guess."""

from __future__ import annotations

import os

import psycopg
import pytest
from psycopg import sql

from mcp_servers.kit.store.migrate import MigrationError
from tessera import runtime


@pytest.fixture
def environment(monkeypatch, settings, tmp_path):
    for name in [n for n in os.environ if n.startswith("TESSERA_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESSERA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TESSERA_DATABASE_URL", settings.database_url.get_secret_value())
    monkeypatch.setenv("TESSERA_DATABASE_ADMIN_URL", settings.database_admin_url.get_secret_value())
    return monkeypatch


@pytest.fixture
def empty_database(database):
    name = "tessera_test_unmigrated"
    with database.admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield runtime.with_dbname(database.admin_url, name)
    with database.admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_development_generates_keys_once(environment, tmp_path):
    settings = runtime.prepared_settings()
    key = settings.signing_key_path.read_bytes()
    assert settings.verification_keys_path.exists()
    assert runtime.prepared_settings().signing_key_path.read_bytes() == key


def test_production_accepts_a_current_database_with_configured_keys(environment, settings):
    environment.setenv("TESSERA_ENV", "production")
    environment.setenv("TESSERA_CONTEXT_VERIFICATION_KEYS_FILE", str(settings.verification_keys_path))
    prepared = runtime.prepared_settings()
    assert prepared.database_url.get_secret_value() == settings.database_url.get_secret_value()


def test_production_never_generates_keys(environment):
    environment.setenv("TESSERA_ENV", "production")
    with pytest.raises(runtime.SetupError, match="production does not generate keys"):
        runtime.prepared_settings()


def test_production_refuses_pending_migrations_and_does_not_apply_them(
    environment, settings, empty_database
):
    environment.setenv("TESSERA_ENV", "production")
    environment.setenv("TESSERA_CONTEXT_VERIFICATION_KEYS_FILE", str(settings.verification_keys_path))
    environment.setenv("TESSERA_DATABASE_URL", empty_database)
    environment.setenv("TESSERA_DATABASE_ADMIN_URL", empty_database)

    with pytest.raises(MigrationError, match="Run `tessera db migrate` first"):
        runtime.prepared_settings()
    with psycopg.connect(empty_database) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'memories'").fetchone()
    assert tables == (0,)


def test_development_migrates_on_start(environment, empty_database):
    environment.setenv("TESSERA_DATABASE_URL", empty_database)
    environment.setenv("TESSERA_DATABASE_ADMIN_URL", empty_database)
    runtime.prepared_settings()
    with psycopg.connect(empty_database) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'memories'").fetchone()
    assert tables == (1,)


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://app:s3cret@db.example:5433/tessera", "postgresql://app:****@db.example:5433/tessera"),
    ("postgresql://app:s3cret@/tessera?host=/run/pg&port=5432",
     "postgresql://app:****@/tessera?host=/run/pg&port=5432"),
    ("host=db user=app password=s3cret dbname=tessera", "user=app password=**** dbname=tessera host=db"),
    ("postgresql://app@db/tessera", "postgresql://app@db/tessera"),
])
def test_database_urls_are_shown_without_their_password(url, shown):
    assert runtime.masked_url(url) == shown
