"""What a query may be: one read-only statement, checked with DuckDB's own parser.

Two layers keep a query read-only. This one refuses every statement that is
not a query before it runs (DuckDB's parser names the statement type). The
engine's configuration is the other: external access is off except for the
store's own folder and the configuration is locked, so a table function
pointed at another file or a URL, ``INSTALL`` or ``SET`` fail inside DuckDB
even if something got past the parser.
"""

from __future__ import annotations

import duckdb

_ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
_READ_ONLY_PRAGMAS = frozenset(
    {"version", "platform", "table_info", "show", "show_tables", "show_tables_expanded"}
)
_NAMES = {
    duckdb.StatementType.CREATE: "CREATE (DDL)",
    duckdb.StatementType.DROP: "DROP (DDL)",
    duckdb.StatementType.ALTER: "ALTER (DDL)",
    duckdb.StatementType.INSERT: "INSERT (DML)",
    duckdb.StatementType.UPDATE: "UPDATE (DML)",
    duckdb.StatementType.DELETE: "DELETE (DML)",
    duckdb.StatementType.COPY: "COPY",
    duckdb.StatementType.ATTACH: "ATTACH",
    duckdb.StatementType.DETACH: "DETACH",
    duckdb.StatementType.LOAD: "INSTALL/LOAD",
    duckdb.StatementType.SET: "SET/RESET/USE",
    duckdb.StatementType.PRAGMA: "PRAGMA",
    duckdb.StatementType.EXPORT: "EXPORT",
    duckdb.StatementType.CALL: "CALL",
    duckdb.StatementType.TRANSACTION: "a transaction statement",
    duckdb.StatementType.VACUUM: "VACUUM",
}


class QueryError(ValueError):
    """A query was refused or failed: a statement that is not read-only, a syntax or
    binder error (DuckDB's message), or a backend that is not available."""


def check_read_only(query: str, connection: duckdb.DuckDBPyConnection) -> str:
    """The one statement in ``query`` (without its trailing ``;``); raises :class:`QueryError`.

    Refused, by DuckDB's statement type: DDL (CREATE, DROP, ALTER), DML
    (INSERT, UPDATE, DELETE), COPY, ATTACH/DETACH, INSTALL/LOAD, SET/RESET,
    PRAGMA other than the read-only ones, EXPORT, CALL, transactions, VACUUM,
    statements DuckDB expands into several (PIVOT without an IN list), and
    more than one statement. ``connection`` is the engine's (its parser).
    """
    try:
        # The connection's parser, not duckdb.extract_statements: that opens
        # DuckDB's module-wide default database, which nothing ever closes.
        statements = connection.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryError(error_message(exc)) from None
    if not statements:
        raise QueryError("the query is empty")
    if len(statements) > 1:
        raise QueryError(f"one statement per query; this has {len(statements)}")
    statement = statements[0]
    kind = statement.type
    if kind == duckdb.StatementType.PRAGMA and _pragma_name(statement.query) in _READ_ONLY_PRAGMAS:
        return statement.query
    if kind not in _ALLOWED:
        what = _NAMES.get(kind, kind.name)
        if kind == duckdb.StatementType.MULTI:
            what = "a statement DuckDB expands into several (PIVOT without an IN list?)"
        raise QueryError(f"refused: {what} is not allowed; queries are read-only (SELECT only)")
    return statement.query


def _pragma_name(text: str) -> str:
    words = text.strip().split(None, 1)
    rest = words[1] if len(words) > 1 else ""
    return rest.split("(", 1)[0].split("=", 1)[0].strip().strip(";").lower()


def error_message(exc: BaseException) -> str:
    """A query engine's error message on one line (DuckDB's span several)."""
    return " ".join(str(exc).split())
