"""Fixtures every test may use: a fresh real PostgreSQL database, keys, settings, tokens.

The database is the embedded PostgreSQL (started if needed) or the server at
TESSERA_DATABASE_URL/TESSERA_DATABASE_ADMIN_URL. Each test session gets its own
freshly migrated database, dropped at the end, so tests never touch dev data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from pydantic import SecretStr

from mcp_servers.kit.context import ContextSigner, generate_key_pair, load_signing_key
from mcp_servers.kit.settings import Settings
from tessera import runtime
from tests.helpers import Tokens

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class TestDatabase:
    app_url: str
    admin_url: str
    name: str

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.admin_url, autocommit=True)

    def app(self) -> psycopg.Connection:
        return psycopg.connect(self.app_url, autocommit=True)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def database() -> Iterator[TestDatabase]:
    base = runtime.with_database(Settings(_env_file=None, data_dir=REPO / ".tessera"))
    assert base.database_url and base.database_admin_url
    name = f"tessera_test_{uuid.uuid4().hex[:10]}"
    admin_base = base.database_admin_url.get_secret_value()
    with psycopg.connect(admin_base, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    test_db = TestDatabase(
        app_url=runtime.with_dbname(base.database_url.get_secret_value(), name),
        admin_url=runtime.with_dbname(admin_base, name),
        name=name,
    )
    try:
        from mcp_servers.kit.store.migrate import migrate

        migrate(test_db.admin_url, runtime.migration_sets())
        yield test_db
    finally:
        with psycopg.connect(admin_base, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("keys")
    generate_key_pair(directory)
    return directory


@pytest.fixture(scope="session")
def settings(database: TestDatabase, keys_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("data"),
        database_url=SecretStr(database.app_url),
        database_admin_url=SecretStr(database.admin_url),
        context_signing_key_file=keys_dir / "context-signing-key.pem",
        context_verification_keys_file=keys_dir / "context-verification.jwks.json",
        database_pool_max=4,
    )


@pytest.fixture(scope="session")
def tokens(settings: Settings) -> Tokens:
    return Tokens(ContextSigner(load_signing_key(settings.signing_key_path),
                                issuer=settings.context_issuer, ttl_s=60))

