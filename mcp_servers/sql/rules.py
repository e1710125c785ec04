"""What a guarded statement may contain: allow-lists of syntax, functions and types.

Everything is allowed by listing it; whatever sqlglot parses into a node that is
not listed here is refused. So a new sqlglot node type, a PostgreSQL function
nobody thought of (`pg_sleep`, `lo_import`, `dblink`, `set_config`,
`current_setting`, `pg_read_file`, ...) or a cast to a catalog type
(`'pg_authid'::regclass`) is refused by default, never let through by a
deny-list that forgot it.
"""

from __future__ import annotations

from sqlglot import exp

# Syntax: query structure, predicates, arithmetic, literals.
ALLOWED_NODES: frozenset[type[exp.Expr]] = frozenset({
    # structure
    exp.Select, exp.Union, exp.Intersect, exp.Except, exp.With, exp.CTE, exp.Subquery,
    exp.From, exp.Join, exp.Where, exp.Group, exp.Having, exp.Order, exp.Ordered, exp.Limit,
    exp.Offset, exp.Distinct, exp.Table, exp.TableAlias, exp.Alias, exp.Column, exp.Identifier,
    exp.Star, exp.Window, exp.WindowSpec, exp.Filter, exp.WithinGroup, exp.Rollup, exp.Cube,
    exp.GroupingSets, exp.Tuple, exp.Paren,
    # predicates and operators
    exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is,
    exp.NullSafeEQ, exp.NullSafeNEQ, exp.In, exp.Between, exp.Like, exp.ILike, exp.Escape,
    exp.SimilarTo, exp.RegexpLike, exp.RegexpILike, exp.Exists, exp.Any, exp.All,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg, exp.DPipe, exp.Case, exp.If,
    # literals and types
    exp.Literal, exp.Null, exp.Boolean, exp.Interval, exp.DataType, exp.DataTypeParam, exp.Array,
    exp.Cast,
})

# Functions, by the node sqlglot parses them into.
ALLOWED_FUNCTIONS: frozenset[type[exp.Expr]] = frozenset({
    # aggregates
    exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Stddev, exp.StddevSamp, exp.StddevPop,
    exp.Variance, exp.VariancePop, exp.LogicalAnd, exp.LogicalOr, exp.PercentileCont,
    exp.PercentileDisc, exp.Mode,
    # window functions
    exp.RowNumber, exp.Rank, exp.DenseRank, exp.PercentRank, exp.CumeDist, exp.Ntile, exp.Lag,
    exp.Lead, exp.FirstValue, exp.LastValue, exp.NthValue,
    # conditional
    exp.Coalesce, exp.Nullif, exp.Greatest, exp.Least,
    # numbers
    exp.Round, exp.Abs, exp.Ceil, exp.Floor, exp.Sqrt, exp.Pow, exp.Sign, exp.Trunc,
    # text
    exp.Lower, exp.Upper, exp.Length, exp.Substring, exp.Trim, exp.Concat, exp.ConcatWs,
    exp.Left, exp.Right, exp.Replace, exp.StrPosition, exp.SplitPart, exp.Initcap,
    # dates and times
    exp.Extract, exp.TimestampTrunc, exp.DateTrunc, exp.CurrentDate, exp.CurrentTimestamp,
    exp.TimeToStr, exp.StrToDate, exp.StrToTime,
})

# Functions sqlglot does not know (`exp.Anonymous`), by their PostgreSQL name.
ALLOWED_ANONYMOUS: frozenset[str] = frozenset({
    "date_part", "age", "make_date", "every", "btrim", "ltrim", "rtrim", "justify_days",
    "justify_hours", "date_bin", "isfinite", "width_bucket", "regr_slope", "corr",
})

# `Var` is raw text in sqlglot's tree; allowed only where it is a keyword argument.
VAR_PARENTS: tuple[type[exp.Expr], ...] = (
    exp.Extract, exp.Interval, exp.TimestampTrunc, exp.DateTrunc, exp.Limit,
)

# Types a value may be cast to. Not reg* (catalog lookups), oid, xml, json, bytea.
T = exp.DataType.Type
ALLOWED_TYPES: frozenset[exp.DataType.Type] = frozenset({
    T.TEXT, T.VARCHAR, T.CHAR, T.NCHAR, T.NVARCHAR, T.BPCHAR, T.SMALLINT, T.INT, T.BIGINT,
    T.DECIMAL, T.FLOAT, T.DOUBLE, T.BOOLEAN, T.DATE, T.TIME, T.TIMETZ, T.TIMESTAMP,
    T.TIMESTAMPTZ, T.INTERVAL,
})

# Statements and clauses that change data or state, wherever they appear (a CTE too).
WRITES: tuple[type[exp.Expr], ...] = tuple(
    getattr(exp, name) for name in (
        "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Command", "Copy",
        "Set", "Transaction", "Commit", "Rollback", "TruncateTable", "Grant", "Revoke", "Use",
        "Analyze", "Comment", "LoadData", "Returning",
    ) if hasattr(exp, name)
)
