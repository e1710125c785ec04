"""Every PostgreSQL error a statement can raise maps to the taxonomy, with its condition named."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from mcp_servers.kit.errors import ErrorCategory, TesseraError
from mcp_servers.kit.store import map_database_errors
from mcp_servers.sql.executor import map_query_errors

ALL_ERRORS = sorted(
    {value for value in vars(errors).values()
     if isinstance(value, type) and issubclass(value, psycopg.Error)},
    key=lambda cls: cls.__name__,
)


def mapped(exc: Exception) -> TesseraError:
    with pytest.raises(TesseraError) as caught, map_database_errors(), map_query_errors(1000):
        raise exc
    return caught.value


def test_the_check_is_not_vacuous():
    assert len(ALL_ERRORS) > 200


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_every_psycopg_error_is_mapped(cls):
    error = mapped(cls("server text that must not leak: SELECT secret"))
    assert "secret" not in error.human_message and "secret" not in str(error.details)


@pytest.mark.parametrize(("cls", "category", "rule"), [
    (errors.QueryCanceled, ErrorCategory.UPSTREAM_TIMEOUT, "statement_timeout"),
    (errors.InsufficientPrivilege, ErrorCategory.FORBIDDEN, "database_privilege"),
    (errors.ReadOnlySqlTransaction, ErrorCategory.FORBIDDEN, "database_privilege"),
    (errors.UndefinedColumn, ErrorCategory.VALIDATION, "database"),
    (errors.DivisionByZero, ErrorCategory.VALIDATION, "database"),
    (errors.SyntaxError, ErrorCategory.VALIDATION, "database"),
])
def test_query_errors_name_their_rule(cls, category, rule):
    error = mapped(cls("x"))
    assert (error.category, error.details["rule"]) == (category, rule)


def test_connection_failures_stay_retryable_unavailability():
    error = mapped(psycopg.OperationalError("connection refused"))
    assert error.category is ErrorCategory.UPSTREAM_UNAVAILABLE and error.retryable
