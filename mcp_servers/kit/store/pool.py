"""Application access to PostgreSQL: a connection pool and tenant-scoped transactions.

Every tenant-scoped table has row-level security keyed by the transaction-local
setting `tessera.tenant`. `Store.tenant(t)` opens a transaction, sets it to `t`
and hands out the connection; when the transaction ends the setting goes with it,
so a pooled connection never carries one tenant's scope into another's call.
Database exceptions are mapped to the error taxonomy here, at the edge
(`map_database_errors`), so servers never see a psycopg exception.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator

import psycopg
from pgvector.psycopg import register_vector_async
from psycopg import AsyncConnection, errors
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from mcp_servers.kit.errors import (
    Conflict,
    Forbidden,
    TesseraError,
    UpstreamTimeout,
    UpstreamUnavailable,
    ValidationFailed,
)
from mcp_servers.kit.settings import Settings

logger = logging.getLogger("tessera.store")

TENANT_SETTING = "tessera.tenant"


class Store:
    """A pool of application connections (a role that cannot bypass RLS)."""

    def __init__(
        self,
        url: str,
        *,
        application_name: str,
        min_size: int = 1,
        max_size: int = 10,
        statement_timeout_ms: int = 5000,
        open_timeout_s: float = 10.0,
    ) -> None:
        self._open_timeout_s = open_timeout_s
        self._statement_timeout_ms = statement_timeout_ms
        self._pool = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            timeout=open_timeout_s,
            kwargs={"application_name": application_name, "autocommit": True},
            configure=self._configure,
            name=application_name,
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, application_name: str) -> Store:
        return cls(
            settings.require_database_url(),
            application_name=application_name,
            min_size=settings.database_pool_min,
            max_size=settings.database_pool_max,
            statement_timeout_ms=settings.database_statement_timeout_ms,
        )

    async def open(self) -> None:
        try:
            await self._pool.open(wait=True, timeout=self._open_timeout_s)
        except PoolTimeout:
            raise UpstreamUnavailable(
                "Cannot connect to the database.", retry_after_s=2.0
            ) from None

    async def close(self) -> None:
        await self._pool.close()

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def tenant(self, tenant: str) -> AsyncIterator[AsyncConnection]:
        """A transaction in which row-level security shows only `tenant`'s rows."""
        if not tenant:
            raise ValueError("a tenant transaction needs a tenant")
        with map_database_errors():
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT set_config(%s, %s, true)", (TENANT_SETTING, tenant))
                yield conn

    @contextlib.asynccontextmanager
    async def unscoped(self) -> AsyncIterator[AsyncConnection]:
        """A transaction with no tenant: tenant-scoped tables show nothing in it."""
        with map_database_errors():
            async with self._pool.connection() as conn, conn.transaction():
                yield conn

    async def _configure(self, conn: AsyncConnection) -> None:
        await register_vector_async(conn)
        await conn.execute(f"SET statement_timeout = {int(self._statement_timeout_ms)}")


@contextlib.contextmanager
def map_database_errors() -> Iterator[None]:
    """Translate psycopg and pool exceptions into the taxonomy (see the tests for the full map)."""
    try:
        yield
    except TesseraError:
        raise
    except PoolTimeout:
        raise UpstreamUnavailable(
            "The database is busy: no connection became free in time.", retry_after_s=1.0
        ) from None
    except errors.QueryCanceled:
        raise UpstreamTimeout("The database query took too long and was cancelled.") from None
    except (errors.UniqueViolation, errors.ExclusionViolation):
        raise Conflict("The record already exists or overlaps another.") from None
    except errors.TransactionRollback:  # serialization failures, deadlocks
        raise Conflict(
            "A concurrent change conflicted with this one.",
            model_fix_hint="Repeat the call; the data changed while it ran.",
        ) from None
    except errors.InsufficientPrivilege:
        raise Forbidden("The database refused this operation for the caller's tenant.") from None
    except (psycopg.IntegrityError, psycopg.DataError):  # SQLSTATE classes 23 and 22
        raise ValidationFailed(
            "The database rejected a value as out of range, malformed or inconsistent."
        ) from None
    except (psycopg.OperationalError, psycopg.InterfaceError):
        logger.warning("database unavailable", exc_info=True)
        raise UpstreamUnavailable("The database is unavailable.", retry_after_s=2.0) from None
