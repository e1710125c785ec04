"""What each sql tool does: the handlers behind the specs.

`query` narrows the allow-list to the caller (roles, clearance), runs the guard
(parse, check, rewrite), then the executor (read-only transaction, reader role,
row-level security for the caller's tenant). `describe` shows the same narrowed
allow-list, with types and comments read from the database catalog.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio

from mcp_servers.kit.context import CallContext
from mcp_servers.kit.store import Store
from mcp_servers.sql import models as m
from mcp_servers.sql.allowlist import AllowList, TableRule
from mcp_servers.sql.executor import QueryExecutor
from mcp_servers.sql.guard import Guard
from mcp_servers.sql.settings import SqlSettings

logger = logging.getLogger("tessera.sql")

RULES = [
    "One SELECT statement (WITH, UNION, subqueries and window functions are fine).",
    "Only the tables and columns listed here; name tables schema.table or just table.",
    "No writes, SELECT INTO, FOR UPDATE, system catalogs or server functions; "
    "common aggregate, text, number and date functions are allowed.",
    "The outermost LIMIT is capped at max_rows; page with ORDER BY ... LIMIT ... OFFSET.",
    "Rows are those of your tenant only.",
]

CATALOG_SQL = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
       col_description(c.oid, a.attnum), obj_description(c.oid, 'pg_class')
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE (n.nspname || '.' || c.relname) = ANY(%s)
"""


class SqlService:
    def __init__(self, store: Store, allowlist: AllowList, settings: SqlSettings) -> None:
        self._store = store
        self._allowlist = allowlist
        self._settings = settings
        self._guard = Guard(max_statement_chars=settings.max_statement_chars,
                            max_tables=settings.max_tables, max_nodes=settings.max_nodes,
                            max_selects=settings.max_selects)
        self._executor = QueryExecutor(store, reader_role=settings.reader_role,
                                       statement_timeout_ms=settings.statement_timeout_ms,
                                       max_cell_chars=settings.max_cell_chars)
        self._catalog: dict[tuple[str, str], dict[str, Any]] | None = None

    async def check_setup(self) -> None:
        await self._executor.check_setup()

    async def query(self, ctx: CallContext, args: m.QueryInput) -> m.QueryOutput:
        cap = min(args.max_rows or self._settings.max_rows, self._settings.max_rows)
        started = time.perf_counter()
        # The guard is CPU work (pure Python parsing): off the event loop, so one
        # large statement does not stall every other call of this server.
        guarded = await anyio.to_thread.run_sync(
            self._guard.check, args.sql, self._allowlist.visible_to(ctx), cap)
        result = await self._executor.run(ctx.tenant, guarded)
        logger.info("sql.query tenant=%s user=%s tables=%s rows=%d truncated=%s ms=%.1f",
                    ctx.tenant, ctx.user, ",".join(guarded.tables), len(result.rows),
                    result.truncated, (time.perf_counter() - started) * 1000)
        return m.QueryOutput(
            columns=[m.ResultColumn(name=name, type=kind) for name, kind in result.columns],
            rows=result.rows,
            row_count=len(result.rows),
            truncated=result.truncated,
            max_rows=guarded.max_rows,
            tables=list(guarded.tables),
        )

    async def describe(self, ctx: CallContext, args: m.DescribeInput) -> m.DescribeOutput:
        visible = self._allowlist.visible_to(ctx)
        wanted = {self._full_name(name) for name in args.tables} if args.tables else None
        catalog = await self._load_catalog()
        tables = [self._table_info(table, catalog) for table in visible.tables
                  if wanted is None or table.name in wanted]
        return m.DescribeOutput(tables=sorted(tables, key=lambda t: t.name),
                                default_schema=visible.default_schema,
                                max_rows=self._settings.max_rows, rules=RULES)

    def _full_name(self, name: str) -> str:
        name = name.strip().lower()
        return name if "." in name else f"{self._allowlist.default_schema}.{name}"

    async def _load_catalog(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Types and comments of the allow-listed tables, read once from the catalog."""
        if self._catalog is None:
            names = [table.name for table in self._allowlist.tables]
            catalog: dict[tuple[str, str], dict[str, Any]] = {}
            async with self._store.unscoped() as conn:
                cursor = await conn.execute(CATALOG_SQL, (names,))
                for schema, table, column, kind, comment, table_comment in await cursor.fetchall():
                    entry = catalog.setdefault((schema, table), {"comment": table_comment,
                                                                 "columns": {}})
                    entry["columns"][column] = (kind, comment)
            self._catalog = catalog
        return self._catalog

    @staticmethod
    def _table_info(table: TableRule, catalog: dict[tuple[str, str], dict[str, Any]]
                    ) -> m.TableInfo:
        found = catalog.get((table.schema_name, table.table_name), {"comment": None, "columns": {}})
        columns = []
        for column in table.columns:
            kind, comment = found["columns"].get(column.name, (None, None))
            columns.append(m.ColumnInfo(name=column.name, type=kind,
                                        description=column.description or comment,
                                        data_class=table.column_class(column)))
        return m.TableInfo(name=table.name, description=table.description or found["comment"],
                           data_class=table.data_class, columns=columns)
