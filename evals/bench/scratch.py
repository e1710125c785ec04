"""A scratch database for a benchmark or an eval: created fresh, migrated, with its own keys, dropped after.

Benchmarks run on the embedded PostgreSQL (or the server TESSERA_DATABASE_ADMIN_URL
names) but never touch its data: each gets a database of its own name.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from pydantic import SecretStr

from mcp_servers.kit.context import generate_key_pair
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.store.migrate import migrate
from tessera import runtime


@contextmanager
def scratch_database(name: str) -> Iterator[Settings]:
    """Settings pointing at a fresh, fully migrated database `name` and new keys."""
    base = runtime.with_database(runtime.load_settings())
    admin_base = base.database_admin_url.get_secret_value()
    _recreate(admin_base, name, create=True)
    admin_url = runtime.with_dbname(admin_base, name)
    try:
        with tempfile.TemporaryDirectory(prefix="tessera-bench-keys-") as folder:
            keys = Path(folder)
            generate_key_pair(keys)
            migrate(admin_url, runtime.migration_sets())
            yield base.model_copy(update={
                "database_url": SecretStr(runtime.with_dbname(base.require_database_url(), name)),
                "database_admin_url": SecretStr(admin_url),
                "context_signing_key_file": keys / "context-signing-key.pem",
                "context_verification_keys_file": keys / "context-verification.jwks.json",
            })
    finally:
        _recreate(admin_base, name, create=False)


def _recreate(admin_url: str, name: str, *, create: bool) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
