"""Assembling the sql server: allow-list, store, guard, executor and tools."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp_servers.kit.server import ToolServer
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.store import Store
from mcp_servers.sql import specs
from mcp_servers.sql.allowlist import DEFAULT_FILE, AllowList
from mcp_servers.sql.service import SqlService
from mcp_servers.sql.settings import SqlSettings

VERSION = "0.1.0"
INSTRUCTIONS = (
    "Read-only SQL over the plant's database. Call sql.describe to see the tables and columns "
    "you may query, then sql.query with one PostgreSQL SELECT. A refused query says which rule "
    "it broke and how to fix it. Rows are those of the caller's tenant only."
)


def build(settings: Settings, sql_settings: SqlSettings | None) -> ToolServer:
    sql_settings = sql_settings or SqlSettings()
    # sqlglot warns, quoting the statement, whenever it falls back to an opaque
    # Command; the guard refuses those anyway, and statements stay out of the log.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    allowlist = AllowList.load(sql_settings.allowlist_file or DEFAULT_FILE)
    url = (sql_settings.database_url.get_secret_value() if sql_settings.database_url
           else settings.require_database_url())
    store = Store(url, application_name="tessera-sql", min_size=settings.database_pool_min,
                  max_size=settings.database_pool_max,
                  statement_timeout_ms=settings.database_statement_timeout_ms)
    service = SqlService(store, allowlist, sql_settings)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[dict[str, Any]]:
        async with store:
            await service.check_setup()
            yield {}

    server = ToolServer("sql", settings, version=VERSION, instructions=INSTRUCTIONS,
                        lifespan=lifespan)
    server.add(specs.DESCRIBE, service.describe)
    # sql.query can return whatever the allow-list holds, so that sets its data class.
    server.add(dataclasses.replace(specs.QUERY, data_class=allowlist.highest_class()),
               service.query)
    return server
