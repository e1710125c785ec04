"""The SQL guard: parse one statement, refuse it unless it is a safe SELECT, rewrite it.

`Guard.check(sql, allowlist, max_rows)` either returns a `GuardedQuery` (the SQL
that will run) or raises a taxonomy error naming the rule that failed, with a
`model_fix_hint` saying how to fix the query. The rules, in order:

    length            the statement is no longer than max_statement_chars
    parse             it is valid PostgreSQL (sqlglot, dialect postgres)
    single_statement  exactly one statement
    complexity        at most max_nodes syntax nodes and max_selects SELECTs
    select_only       a SELECT (or UNION/INTERSECT/EXCEPT of SELECTs)
    select_into       no SELECT INTO
    locking           no FOR UPDATE / FOR SHARE
    no_writes         no INSERT/UPDATE/DELETE/... anywhere, CTEs included
    function          only functions on the allow-list (rules.py)
    type              casts only to plain types (no regclass, oid, ...)
    syntax            only syntax on the allow-list (no parameters, FETCH, LATERAL, ...)
    system_catalog    no pg_catalog, information_schema or pg_* relations
    table             only allow-listed tables the caller may see
    table_count       at most max_tables table references
    column            only allow-listed columns the caller may see
    limit             LIMIT and OFFSET are whole numbers

Then the row limit is enforced by rewriting the outermost LIMIT to
min(requested, max_rows) + 1 (one more, to tell the caller the result was cut).
What runs is sqlglot's regeneration of the checked tree, without comments, and
it is parsed and checked once more before it is handed out, so the text the
database sees is the text that passed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema
from sqlglot.optimizer.scope import Scope, find_all_in_scope, traverse_scope

from mcp_servers.kit.errors import Forbidden, TesseraError, ValidationFailed
from mcp_servers.sql import rules
from mcp_servers.sql.allowlist import SYSTEM_SCHEMAS, AllowList

DIALECT = "postgres"
_GENERATED_ALIAS = re.compile(r"^_col_\d+$")
_KEYWORD = re.compile(r"^[A-Za-z_]{1,32}$")
_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62}){0,2}$")


@dataclass(frozen=True)
class GuardedQuery:
    sql: str  # the statement to run: checked, qualified, limited, without comments
    tables: tuple[str, ...]  # schema.table of every table it reads
    max_rows: int  # rows to return at most; the statement fetches one more


class Guard:
    def __init__(self, *, max_statement_chars: int, max_tables: int, max_nodes: int = 1500,
                 max_selects: int = 32) -> None:
        self._max_chars = max_statement_chars
        self._max_tables = max_tables
        self._max_nodes = max_nodes
        self._max_selects = max_selects

    def check(self, sql: str, allowlist: AllowList, max_rows: int) -> GuardedQuery:
        """The statement to run for `sql`, or a taxonomy error naming the failed rule."""
        if len(sql) > self._max_chars:
            raise _invalid("length", f"The statement is longer than {self._max_chars} characters.",
                           "Shorten the query: select fewer columns or split the question.")
        tree = _parse_one(sql)
        self._check_complexity(tree)
        tables = _check_structure(tree, allowlist, self._max_tables)
        named = [isinstance(e, exp.Alias) for e in _leftmost(tree).expressions]
        qualified = _qualify(tree, sql, allowlist)  # rewrites the tree in place
        _check_columns(qualified, allowlist)
        _restore_output_names(named, qualified)
        limited, row_cap = _limit(qualified, max_rows)
        final = limited.sql(dialect=DIALECT, comments=False)
        _recheck(final, allowlist, self._max_tables)
        return GuardedQuery(sql=final, tables=tables, max_rows=row_cap)

    def _check_complexity(self, tree: exp.Expr) -> None:
        """Bound the guard's own work: qualifying grows faster than linearly with size."""
        nodes = selects = 0
        for node in tree.walk():
            nodes += 1
            selects += isinstance(node, exp.Select)
        if nodes > self._max_nodes or selects > self._max_selects:
            raise _invalid("complexity", f"The statement is too complex ({nodes} syntax nodes, "
                           f"{selects} SELECTs; at most {self._max_nodes} and "
                           f"{self._max_selects}).", "Simplify the query: fewer UNIONs and "
                           "subqueries, IN (...) lists of at most a few hundred values, or ask "
                           "in steps.")


# --- parsing ---------------------------------------------------------------------------------

def _parse_one(sql: str) -> exp.Expr:
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except (SqlglotError, RecursionError, ValueError, KeyError, IndexError, TypeError):
        raise _invalid("parse", "The statement is not valid PostgreSQL syntax.",
                       "Write one plain PostgreSQL SELECT statement; check quotes and parentheses.")
    if len(statements) != 1:
        raise _invalid("single_statement", f"Expected exactly one statement, got {len(statements)}.",
                       "Send a single SELECT statement with no semicolon-separated parts.")
    return normalize_identifiers(statements[0], dialect=DIALECT)


# --- structure: statement kind, syntax, functions, tables ------------------------------------

def _check_structure(tree: exp.Expr, allowlist: AllowList, max_tables: int) -> tuple[str, ...]:
    if not isinstance(tree, (exp.Select, exp.SetOperation)):
        kind = type(tree).__name__.upper()
        raise _forbidden("select_only", f"Only SELECT statements may run; this is a {kind} "
                         "statement.", "Rewrite the request as a single SELECT that reads data.")
    for node in tree.walk():
        _check_node(node)
    return _check_tables(tree, allowlist, max_tables)


def _check_node(node: exp.Expr) -> None:
    if isinstance(node, exp.Into):
        raise _forbidden("select_into", "SELECT INTO creates a table and is not allowed.",
                         "Remove the INTO clause; the rows are returned to you.")
    if isinstance(node, exp.Lock):
        raise _forbidden("locking", "Locking clauses (FOR UPDATE, FOR SHARE, ...) are not allowed.",
                         "Remove the FOR UPDATE / FOR SHARE clause; reads need no locks.")
    if isinstance(node, exp.With) and node.args.get("recursive"):
        raise _invalid("syntax", "WITH RECURSIVE is not allowed (it can run without end).",
                       "Use a plain WITH, joins or window functions instead.")
    if isinstance(node, rules.WRITES):
        raise _forbidden("no_writes", f"The statement contains {type(node).__name__.upper()}, "
                         "which changes data; only reads are allowed, CTEs included.",
                         "Remove the data-changing part; query with SELECT only.")
    if isinstance(node, exp.Anonymous):
        name = str(node.this).lower()
        if name not in rules.ALLOWED_ANONYMOUS:
            raise _forbidden("function", f"The function {_name(name)} is not on the allow-list.",
                             _FUNCTION_HINT, function=name)
        return
    kind = type(node)
    if kind in rules.ALLOWED_FUNCTIONS:
        return
    if kind in rules.ALLOWED_NODES:
        if isinstance(node, exp.DataType) and node.this not in rules.ALLOWED_TYPES:
            raise _forbidden("type", f"Casting to {_name(node.this.value.lower())} is not allowed.",
                             "Cast only to text, varchar, integer types, numeric, real, double "
                             "precision, boolean, date, time, timestamp(tz) or interval.")
        return
    if isinstance(node, exp.Var) and isinstance(node.parent, rules.VAR_PARENTS) \
            and _KEYWORD.match(node.name):
        return
    if isinstance(node, exp.Func):
        name = _function_name(node)
        raise _forbidden("function", f"The function {_name(name)} is not on the allow-list.",
                         _FUNCTION_HINT, function=name)
    raise _invalid("syntax", f"The statement uses {_SYNTAX_NAMES.get(kind, kind.__name__)}, which "
                   "the guard does not allow.", _SYNTAX_HINTS.get(kind, _SYNTAX_HINT))


def _function_name(node: exp.Expr) -> str:
    """The name PostgreSQL knows the function by (sqlglot's node names differ)."""
    try:
        match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", node.sql(dialect=DIALECT))
    except SqlglotError:
        match = None
    return match.group(1).lower() if match else type(node).__name__.lower()


def _check_tables(tree: exp.Expr, allowlist: AllowList, max_tables: int) -> tuple[str, ...]:
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    seen: list[str] = []
    count = 0
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise _invalid("syntax", "Only tables can follow FROM or JOIN (no table functions).",
                           "Read from allow-listed tables only; see sql.describe.")
        count += 1
        schema = table.db or ""
        if table.args.get("catalog") is not None:
            raise _forbidden("table", "Tables may not name a database (db.schema.table).",
                             "Name tables as schema.table; see sql.describe.")
        if not schema and table.name in cte_names:
            continue
        if schema.lower() in SYSTEM_SCHEMAS or schema.lower().startswith("pg_") \
                or table.name.lower().startswith("pg_"):
            written = f"{schema}.{table.name}" if schema else table.name
            raise _forbidden("system_catalog", f"The system catalog {_name(written)} is not "
                             "readable.", "Query only the allow-listed tables that sql.describe "
                             "lists.", table=written)
        full = f"{schema or allowlist.default_schema or ''}.{table.name}"
        if allowlist.table(full) is None:
            raise _forbidden("table", f"The table {_name(full)} is not on the allow-list for you.",
                             "Use only the tables sql.describe lists, named schema.table.",
                             table=full)
        if full not in seen:
            seen.append(full)
    if count > max_tables:
        raise _forbidden("table_count", f"The statement reads {count} tables; at most "
                         f"{max_tables} are allowed.", "Join fewer tables, or ask in steps.")
    return tuple(seen)


# --- columns ---------------------------------------------------------------------------------

def _qualify(tree: exp.Expr, sql: str, allowlist: AllowList) -> exp.Expr:
    try:
        return qualify(tree, dialect=DIALECT, schema=_schema(allowlist),
                       db=allowlist.default_schema, validate_qualify_columns=True,
                       expand_stars=True, quote_identifiers=True, identify=True)
    except (OptimizeError, SqlglotError, KeyError, ValueError, TypeError, RecursionError):
        raise _unknown_column(_parse_one(sql), allowlist) from None  # the tree is half-rewritten


@functools.lru_cache(maxsize=256)
def _schema(allowlist: AllowList) -> MappingSchema:
    """sqlglot's schema of an allow-list, built once per distinct (narrowed) allow-list."""
    return MappingSchema(allowlist.sqlglot_schema(), dialect=DIALECT)


def _unknown_column(tree: exp.Expr, allowlist: AllowList) -> TesseraError:
    known = {c.name for t in allowlist.tables for c in t.columns}
    known |= {a.alias.lower() for a in tree.find_all(exp.Alias) if a.alias}
    known |= {c.name.lower() for ta in tree.find_all(exp.TableAlias) for c in ta.columns}
    for column in tree.find_all(exp.Column):
        if column.name and column.name not in known:
            return _forbidden("column", f"The column {_name(column.name)} is not on the allow-list "
                              "(or does not exist) for the tables you read.",
                              "Use only the columns sql.describe lists for each table, and "
                              "qualify columns as table.column when two tables share a name.",
                              column=column.name)
    return _forbidden("column", "A column reference could not be resolved to an allow-listed "
                      "column of the tables in FROM (ambiguous, misplaced or not allowed).",
                      "Qualify every column as table_alias.column, use only the columns "
                      "sql.describe lists, and do not select a table alias as a value.")


def _check_columns(tree: exp.Expr, allowlist: AllowList) -> None:
    for whole_row in tree.find_all(exp.TableColumn):
        raise _forbidden("column", f"{_name(whole_row.name)} names a table, not a column: a whole "
                         "row cannot be selected as a value.", "Select the columns sql.describe "
                         "lists, as alias.column, or alias.* for all of them.",
                         column=whole_row.name)
    for node in tree.walk():  # the qualifier's own additions obey the same rules
        _check_node(node)
    for scope in traverse_scope(tree):
        for name, source in scope.sources.items():
            # Qualified, every real table has its schema; one without is a name that only a
            # CTE of another scope could have explained, which PostgreSQL would look up in
            # pg_catalog instead.
            if isinstance(source, exp.Table) and not source.db:
                raise _forbidden("table", f"The table {_name(name)} is neither allow-listed nor "
                                 "a WITH query in scope.", "Use only the tables sql.describe "
                                 "lists, and refer to a WITH query only where it is defined.")
        outputs = set(scope.expression.named_selects) \
            if isinstance(scope.expression, (exp.Select, exp.SetOperation)) else set()
        for column in find_all_in_scope(scope.expression, exp.Column):
            if not column.table:
                if column.name in outputs and _source(scope, column.name) is None:
                    continue  # ORDER BY / GROUP BY an output column's alias
                raise _forbidden("column", f"{_name(column.name)} is neither an allow-listed "
                                 "column of the tables you read nor an output column.",
                                 "Use the columns sql.describe lists, as alias.column.",
                                 column=column.name)
            source = _source(scope, column.table)
            if source is None:
                raise _forbidden("column", f"The column {_name(column.name)} refers to an unknown "
                                 "table alias.", "Qualify columns with an alias defined in FROM.",
                                 column=column.name)
            if isinstance(source, exp.Table):
                rule = allowlist.table(f"{source.db}.{source.name}")
                if rule is None or column.name not in {c.name for c in rule.columns}:
                    raise _forbidden("column", f"The column {_name(column.name)} is not on the "
                                     "allow-list for you.", "Use only the columns sql.describe "
                                     "lists.", column=column.name)
        for star in scope.expression.find_all(exp.Star):
            if not isinstance(star.parent, exp.Count):
                raise _invalid("column", "A * could not be expanded to allow-listed columns.",
                               "Name the columns you want instead of *.")


def _restore_output_names(named: list[bool], qualified: exp.Expr) -> None:
    """Undo the `_col_N` names the qualifier gave unnamed outputs: name them as PostgreSQL would.

    An unreferenced one loses its alias; one that ORDER BY refers to is renamed
    (and the reference with it) to PostgreSQL's own name, e.g. `count`, when
    that name is free.
    """
    after = _leftmost(qualified)
    if len(named) != len(after.expressions):
        return
    references: dict[str, list[exp.Column]] = {}
    clauses = {id(c): c for c in (qualified.args.get("order"), after.args.get("order"),
                                  after.args.get("group"), after.args.get("having")) if c}
    for clause in clauses.values():
        for column in clause.find_all(exp.Column):
            if not column.table and not column.find_ancestor(exp.Subquery):
                references.setdefault(column.name, []).append(column)
    taken = {select.alias_or_name for select in after.expressions}
    for had_name, theirs in zip(named, after.expressions):
        if had_name or not isinstance(theirs, exp.Alias) \
                or not _GENERATED_ALIAS.match(theirs.alias):
            continue
        generated = theirs.alias
        if generated not in references:
            theirs.replace(theirs.this)
            continue
        name = _default_name(theirs.this)
        if name and name not in taken:
            taken.add(name)
            theirs.set("alias", exp.to_identifier(name, quoted=True))
            for column in references[generated]:
                column.set("this", exp.to_identifier(name, quoted=True))


def _default_name(value: exp.Expr) -> str | None:
    """The output name PostgreSQL gives an unnamed expression that is a function call."""
    if isinstance(value, exp.Func) and not isinstance(value, (exp.Case, exp.If, exp.Cast)):
        name = _function_name(value)
        return name if _SAFE_NAME.match(name) else None
    return None


def _leftmost(tree: exp.Expr) -> exp.Expr:
    while isinstance(tree, exp.SetOperation):
        tree = tree.this
    return tree


def _source(scope: Scope | None, alias: str) -> exp.Expr | Scope | None:
    while scope is not None:
        if alias in scope.sources:
            return scope.sources[alias]
        scope = scope.parent
    return None


# --- the row limit ---------------------------------------------------------------------------

def _limit(tree: exp.Expr, max_rows: int) -> tuple[exp.Expr, int]:
    requested = _whole_number(tree.args.get("limit"), "LIMIT")
    _whole_number(tree.args.get("offset"), "OFFSET")
    cap = max_rows if requested is None else min(requested, max_rows)
    fetch = cap + 1 if requested is None or requested > cap else cap
    tree.set("limit", exp.Limit(expression=exp.Literal.number(fetch)))
    return tree, cap


def _whole_number(clause: exp.Expr | None, keyword: str) -> int | None:
    if clause is None:
        return None
    value = clause.expression
    if keyword == "LIMIT" and isinstance(value, exp.Var) and value.name.upper() == "ALL":
        return None
    if isinstance(value, exp.Literal) and value.is_int and int(value.this) >= 0:
        return int(value.this)
    raise _invalid("limit", f"{keyword} must be a whole number.",
                   f"Write {keyword} as a plain number, e.g. {keyword} 50, or leave it out.")


# --- the final text --------------------------------------------------------------------------

def _recheck(final: str, allowlist: AllowList, max_tables: int) -> None:
    """Parse and check what will run, so it is exactly what passed."""
    try:
        tree = _parse_one(final)
    except TesseraError:
        raise _invalid("parse", "The statement could not be rewritten safely.",
                       "Simplify the query: plain SELECT, FROM, WHERE, GROUP BY, ORDER BY.") from None
    _check_structure(tree, allowlist, max_tables)  # its refusal names the rule


# --- errors ----------------------------------------------------------------------------------

_FUNCTION_HINT = ("Use only allow-listed functions: aggregates (count, sum, avg, min, max, ...), "
                  "window functions, coalesce, nullif, greatest, least, round, abs, ceil, floor, "
                  "lower, upper, length, substring, trim, concat, replace, left, right, "
                  "extract, date_trunc, date_part, age, to_char, current_date, now().")
_SYNTAX_HINT = ("Use plain SELECT syntax: SELECT, FROM, JOIN ... ON, WHERE, GROUP BY, HAVING, "
                "ORDER BY, LIMIT, WITH (read-only CTEs) and UNION.")
_SYNTAX_NAMES: dict[type[exp.Expr], str] = {
    exp.Parameter: "a parameter placeholder", exp.Placeholder: "a parameter placeholder",
    exp.Fetch: "FETCH FIRST", exp.Lateral: "LATERAL", exp.Values: "VALUES",
    exp.Dot: "a qualified name in a value (schema.function(), (row).field)",
    exp.ByteString: "an E'...' string", exp.RawString: "a $$...$$ string",
    exp.UnicodeString: "a U&'...' string",
}
_SYNTAX_HINTS: dict[type[exp.Expr], str] = {
    exp.Parameter: "Write the values into the statement as literals ('text', 42).",
    exp.Placeholder: "Write the values into the statement as literals ('text', 42).",
    exp.Fetch: "Use LIMIT n instead of FETCH FIRST n ROWS ONLY.",
    exp.Dot: "Call functions by their plain name and select columns as alias.column.",
    exp.ByteString: "Write text as a plain '...' literal (double a quote to escape it: 'it''s').",
    exp.RawString: "Write text as a plain '...' literal (double a quote to escape it: 'it''s').",
    exp.UnicodeString: "Write text as a plain '...' literal.",
}


def _name(text: str) -> str:
    """An identifier for a message, or a neutral word when it is not a plain name."""
    return repr(text) if _SAFE_NAME.match(text) else "(not a plain name)"


def _details(rule: str, **named: str) -> dict[str, str]:
    safe = {key: value for key, value in named.items() if _SAFE_NAME.match(value)}
    return {"rule": rule, **safe}


def _invalid(rule: str, message: str, hint: str, **named: str) -> ValidationFailed:
    return ValidationFailed(message, model_fix_hint=hint, details=_details(rule, **named))


def _forbidden(rule: str, message: str, hint: str, **named: str) -> Forbidden:
    return Forbidden(message, model_fix_hint=hint, details=_details(rule, **named))
