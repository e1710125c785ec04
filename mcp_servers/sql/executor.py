"""Running a guarded statement: read-only, time-limited, as the reader role, for one tenant.

Each statement runs in its own transaction that

1. sets the tenant (`Store.tenant`), so row-level security shows only its rows,
2. is READ ONLY, with `statement_timeout`, an empty `search_path` and
   `standard_conforming_strings` on (so the database reads literals as the guard did),
3. switches to the reader role (`SET LOCAL ROLE`), which may SELECT the
   allow-listed columns and nothing else,
4. sends the statement alone over the extended query protocol, which PostgreSQL
   refuses to run as more than one statement.

So a statement the guard let through by mistake still cannot write, run long,
stack a second statement, or read outside the reader's grants. Database errors
are mapped to the taxonomy here, at the edge (`map_query_errors`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncRawCursor, errors, sql

from mcp_servers.kit.errors import Forbidden, UpstreamTimeout, ValidationFailed
from mcp_servers.kit.store import Store
from mcp_servers.sql.guard import GuardedQuery


class ReaderRoleUnusable(RuntimeError):
    """The configured reader role does not exist or the server's login may not become it."""


@dataclass(frozen=True)
class Result:
    columns: list[tuple[str, str]]  # (name, type)
    rows: list[list[Any]]
    truncated: bool


class QueryExecutor:
    def __init__(self, store: Store, *, reader_role: str, statement_timeout_ms: int,
                 max_cell_chars: int) -> None:
        self._store = store
        self._role = reader_role
        self._timeout_ms = statement_timeout_ms
        self._max_cell_chars = max_cell_chars

    async def check_setup(self) -> None:
        """Fail at start, with a clear message, when the reader role cannot be used."""
        async with self._store.tenant("-") as conn:
            await self._enter(conn)

    async def run(self, tenant: str, query: GuardedQuery) -> Result:
        async with self._store.tenant(tenant) as conn:
            await self._enter(conn)
            with map_query_errors(self._timeout_ms):
                cursor = AsyncRawCursor(conn)
                await cursor.execute(query.sql, binary=True)  # binary: extended protocol
                rows = await cursor.fetchmany(query.max_rows + 1)
                columns = [(c.name, c.type_display) for c in cursor.description or []]
        return Result(
            columns=columns,
            rows=[[self._cell(value) for value in row] for row in rows[: query.max_rows]],
            truncated=len(rows) > query.max_rows,
        )

    async def _enter(self, conn: AsyncConnection) -> None:
        """Make the transaction read-only, time-limited, and the reader role's."""
        # One round trip; every value is ours, none the caller's. standard_conforming_strings:
        # PostgreSQL then reads '\' in a literal exactly as sqlglot did.
        setup = sql.SQL(
            "SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {timeout}; "
            "SELECT set_config('search_path', '', true); "
            "SET LOCAL standard_conforming_strings = on; SET LOCAL ROLE {role}"
        ).format(timeout=sql.Literal(self._timeout_ms), role=sql.Identifier(self._role))
        try:
            await conn.execute(setup)
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise  # the database is away: the kit maps it (upstream_unavailable)
        except psycopg.Error as exc:  # the installation's fault, not the caller's: internal
            raise ReaderRoleUnusable(
                f"cannot run statements as role {self._role!r} ({type(exc).__name__}): apply the "
                "sql migration (tessera db migrate) and grant the role to the server's login"
            ) from exc

    def _cell(self, value: Any) -> Any:
        """A JSON-ready value: numbers stay numbers, dates become ISO text, long text is cut."""
        if value is None or isinstance(value, (bool, int)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value)  # JSON has no NaN/Infinity
        if isinstance(value, decimal.Decimal):
            if not value.is_finite():
                return str(value)
            return int(value) if value == value.to_integral_value() and abs(value) < 2**53 \
                else float(value)
        if isinstance(value, (dt.date, dt.datetime, dt.time)):
            return value.isoformat()
        if isinstance(value, (list, tuple)):
            return [self._cell(item) for item in value]
        text = bytes(value).hex() if isinstance(value, (bytes, bytearray, memoryview)) else str(value)
        return text if len(text) <= self._max_cell_chars else text[: self._max_cell_chars] + "…"


@contextlib.contextmanager
def map_query_errors(timeout_ms: int) -> Iterator[None]:
    """Translate what PostgreSQL says about a statement into the taxonomy.

    Names the SQLSTATE condition, never the server's message (which can quote
    data or SQL), so the caller learns what to fix. Connection-level failures
    are left to the kit's `map_database_errors`, which wraps every transaction.
    """
    try:
        yield
    except errors.QueryCanceled as exc:
        raise UpstreamTimeout(
            f"The statement ran longer than {timeout_ms} ms and was cancelled.",
            model_fix_hint="Narrow the query: filter on ids or dates, aggregate, join fewer tables.",
            details={"rule": "statement_timeout", **_condition(exc)},
        ) from None
    except (errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction) as exc:
        raise Forbidden(
            "The database refused to run this statement for the sql server's read-only role.",
            model_fix_hint="Read only the tables and columns sql.describe lists.",
            details={"rule": "database_privilege", **_condition(exc)},
        ) from None
    except (psycopg.OperationalError, psycopg.InterfaceError):
        raise  # the connection, not the statement: the kit maps it (upstream_unavailable)
    except psycopg.Error as exc:  # syntax, types, data, grouping, ...: the statement's fault
        raise ValidationFailed(
            f"PostgreSQL rejected the statement ({_condition(exc)['condition']}).",
            model_fix_hint="Fix the statement for that condition (e.g. add the column to GROUP "
            "BY, cast the value, check the types) and try again.",
            details={"rule": "database", **_condition(exc)},
        ) from None


def _condition(cause: psycopg.Error) -> dict[str, str]:
    sqlstate = getattr(cause, "sqlstate", None) or ""
    name = type(cause).__name__
    return {"sqlstate": sqlstate, "condition": name} if sqlstate else {"condition": name}
