"""map_database_errors: real PostgreSQL failures become the error taxonomy, and none escapes.

The failures are provoked for real, as the app role inside `Store.tenant`; only the
completeness check constructs psycopg exceptions directly, to cover every SQLSTATE
of the classes a tool call can meet.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import anyio
import psycopg
import psycopg.errors
import pytest
from psycopg_pool import PoolTimeout

from mcp_servers.kit.errors import (
    Conflict,
    Forbidden,
    TesseraError,
    UpstreamTimeout,
    UpstreamUnavailable,
    ValidationFailed,
)
from mcp_servers.kit.store import Store, map_database_errors
from tests.helpers import free_port

pytestmark = pytest.mark.anyio

BOUND_S = 15.0
VECTOR_256 = "[" + ",".join(["1"] + ["0"] * 255) + "]"
INSERT_MEMORY = (
    "INSERT INTO memories (id, tenant_id, user_id, kind, content, importance, embedding, "
    "embedding_model, embedding_dim) VALUES (%(id)s, %(tenant)s, %(user)s, 'FACT', 'text', "
    "%(importance)s, %(vector)s::vector, 'test', 256)"
)


def memory(tenant: str, **overrides: object) -> dict[str, object]:
    return {"id": uuid.uuid4(), "tenant": tenant, "user": "u", "importance": 0.5,
            "vector": VECTOR_256, **overrides}


@pytest.fixture
async def store(database, anyio_backend) -> AsyncIterator[Store]:
    async with Store(database.app_url, application_name="test-db-errors", min_size=1,
                     max_size=2, open_timeout_s=5) as opened:
        yield opened


def same_id_twice(tenant: str) -> list[tuple[str, dict]]:
    row = memory(tenant)
    return [(INSERT_MEMORY, row), (INSERT_MEMORY, row)]


# (statements for tenant `t`, the error the caller must see)
PROVOKED = [
    pytest.param(lambda t: [("SET LOCAL statement_timeout = 50", {}), ("SELECT pg_sleep(1)", {})],
                 UpstreamTimeout, id="statement-timeout"),
    pytest.param(same_id_twice, Conflict, id="unique-violation"),
    pytest.param(lambda t: [(INSERT_MEMORY, memory(t + "-other"))], Forbidden,
                 id="rls-violation"),
    pytest.param(lambda t: [("UPDATE audit_events SET actor = 'x'", {})], Forbidden,
                 id="privilege"),
    pytest.param(lambda t: [(INSERT_MEMORY, memory(t, importance=7))], ValidationFailed,
                 id="check-violation"),
    pytest.param(lambda t: [(INSERT_MEMORY, memory(t, user=None))], ValidationFailed,
                 id="not-null-violation"),
    pytest.param(lambda t: [("SELECT 'x'::int", {})], ValidationFailed, id="invalid-text"),
    pytest.param(lambda t: [("SELECT 1 / 0", {})], ValidationFailed, id="division-by-zero"),
]


@pytest.mark.parametrize(("statements", "expected"), PROVOKED)
async def test_a_real_failure_is_mapped(store, statements, expected):
    tenant = f"dberr-{uuid.uuid4().hex[:8]}"
    with anyio.fail_after(BOUND_S), pytest.raises(TesseraError) as caught:
        async with store.tenant(tenant) as conn:
            for statement, params in statements(tenant):
                await conn.execute(statement, params)
    assert type(caught.value) is expected
    assert caught.value.__cause__ is None  # the psycopg error stays out of the tool result
    assert "memories" not in caught.value.human_message  # no schema detail for the model


async def test_the_store_stays_usable_after_a_mapped_failure(store):
    tenant = f"dberr-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ValidationFailed):
        async with store.tenant(tenant) as conn:
            await conn.execute("SELECT 'x'::int")
    async with store.tenant(tenant) as conn:
        cursor = await conn.execute("SELECT 1")
        assert await cursor.fetchone() == (1,)


async def test_an_exhausted_pool_is_upstream_unavailable_and_retryable(database, anyio_backend):
    tenant = f"dberr-{uuid.uuid4().hex[:8]}"
    async with Store(database.app_url, application_name="test-db-errors-pool", min_size=1,
                     max_size=1, open_timeout_s=1.0) as store:
        with anyio.fail_after(BOUND_S):
            async with store.tenant(tenant) as held:
                with pytest.raises(UpstreamUnavailable) as busy:
                    async with store.tenant(tenant):
                        pass
                cursor = await held.execute("SELECT 1")  # the held connection is unharmed
                assert await cursor.fetchone() == (1,)
    assert busy.value.retryable and busy.value.retry_after_s


async def test_an_unreachable_server_is_upstream_unavailable(anyio_backend):
    store = Store(f"postgresql://tessera@127.0.0.1:{free_port()}/nowhere",
                  application_name="test-db-errors-down", min_size=1, max_size=1,
                  open_timeout_s=0.5)
    try:
        with anyio.fail_after(BOUND_S), pytest.raises(UpstreamUnavailable) as down:
            await store.open()
    finally:
        await store.close()
    assert down.value.retryable
    assert "127.0.0.1" not in down.value.human_message  # no connection details for the model


# --- completeness ---------------------------------------------------------------------------

# SQLSTATE class (or code) -> the categories its errors may become
EXPECTED_CATEGORIES: dict[str, tuple[type[TesseraError], ...]] = {
    "08": (UpstreamUnavailable,),
    "22": (ValidationFailed,),
    "23": (Conflict, ValidationFailed),
    "40": (Conflict, UpstreamUnavailable),
    "42501": (Forbidden,),
    "57014": (UpstreamTimeout,),
}


def psycopg_errors_with_sqlstate(prefix: str) -> list[type[psycopg.Error]]:
    return sorted(
        (cls for cls in vars(psycopg.errors).values()
         if isinstance(cls, type) and issubclass(cls, psycopg.Error)
         and isinstance(getattr(cls, "sqlstate", None), str) and cls.sqlstate.startswith(prefix)),
        key=lambda cls: cls.sqlstate)


def mapped(exc: BaseException) -> BaseException:
    try:
        with map_database_errors():
            raise exc
    except BaseException as out:  # noqa: BLE001 - the point is to see what comes out
        return out
    raise AssertionError("map_database_errors swallowed the exception")


@pytest.mark.parametrize("prefix", [
    "08",
    "22",
    "23",
    "40",
    "42501",
    "57014",
])
def test_no_error_of_this_sqlstate_class_escapes_unmapped(prefix):
    classes = psycopg_errors_with_sqlstate(prefix)
    assert classes, f"psycopg has no errors for SQLSTATE {prefix}"
    allowed = EXPECTED_CATEGORIES[prefix]
    wrong = {f"{cls.sqlstate} {cls.__name__}": type(out).__name__
             for cls in classes
             if not isinstance(out := mapped(cls("provoked")), allowed)}
    assert wrong == {}, f"{len(wrong)} of {len(classes)} escape or map wrongly"


@pytest.mark.parametrize(("exc", "expected"), [
    (PoolTimeout("no connection"), UpstreamUnavailable),
    (psycopg.OperationalError("server closed the connection unexpectedly"), UpstreamUnavailable),
    (psycopg.InterfaceError("the connection is closed"), UpstreamUnavailable),
])
def test_failures_without_a_sqlstate_are_mapped(exc, expected):
    assert type(mapped(exc)) is expected


def test_taxonomy_errors_pass_through_unchanged():
    original = Conflict("already mapped")
    assert mapped(original) is original
