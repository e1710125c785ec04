"""The sql server's wire models: what each tool takes and returns."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mcp_servers.kit.spec import DataClass


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DescribeInput(_Input):
    tables: list[str] | None = Field(
        default=None, max_length=50,
        description="Only these tables (schema.table or table); every visible table when omitted.",
    )


class ColumnInfo(BaseModel):
    name: str = Field(description="Column name, as it is written in a query.")
    type: str | None = Field(description="PostgreSQL type, e.g. text, numeric(12,2), date.")
    description: str | None = Field(description="What the column holds.")
    data_class: DataClass = Field(description="Classification of the column's values.")


class TableInfo(BaseModel):
    name: str = Field(description="schema.table, as it is written in a query.")
    description: str | None = Field(description="What the table holds.")
    data_class: DataClass = Field(description="Classification of the table.")
    columns: list[ColumnInfo] = Field(description="The columns the caller may read.")


class DescribeOutput(BaseModel):
    tables: list[TableInfo] = Field(description="Tables the caller may query, by name.")
    default_schema: str | None = Field(description="Schema assumed for a table named alone.")
    max_rows: int = Field(description="Most rows one sql.query returns.")
    rules: list[str] = Field(description="What sql.query accepts, in short.")


class QueryInput(_Input):
    sql: str = Field(
        min_length=1, max_length=1_000_000,
        description="One PostgreSQL SELECT statement over the tables sql.describe lists.",
    )
    max_rows: int | None = Field(
        default=None, ge=1, le=10_000,
        description="Return at most this many rows (never more than the server's maximum).",
    )


class ResultColumn(BaseModel):
    name: str = Field(description="Output column name.")
    type: str = Field(description="PostgreSQL type of the values.")


class QueryOutput(BaseModel):
    columns: list[ResultColumn] = Field(description="The result's columns, in order.")
    rows: list[list[Any]] = Field(
        description="The rows, each a list of values in column order (numbers, text, ISO dates, "
        "null)."
    )
    row_count: int = Field(description="How many rows are returned.")
    truncated: bool = Field(
        description="True when more rows matched than max_rows: add filters, aggregate, or page "
        "with ORDER BY ... LIMIT ... OFFSET."
    )
    max_rows: int = Field(description="The row limit that applied to this statement.")
    tables: list[str] = Field(description="The tables the statement read.")
