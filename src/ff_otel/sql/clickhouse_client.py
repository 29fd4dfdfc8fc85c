"""The connection to ClickHouse: chdb in-process or a server through clickhouse-connect.

Each statement gets the views it mentions (:func:`ff_otel.sql.clickhouse.with_views`)
and its parameters bound as ClickHouse query parameters (:func:`bind`). Read-only
twice: the statement check of :mod:`ff_otel.sql.safety`, then ClickHouse's own
``readonly`` setting on the session. ``query_timeout_seconds`` bounds every call:
chdb and the server stop a query at ``max_execution_time``, and a server call runs
on a worker thread the caller waits for at most that long (connecting included),
so an unreachable or silent server cannot hold the caller. Every failure is one
:class:`~ff_otel.QueryError` line: what failed, where, and what to check.
"""

from __future__ import annotations

import atexit
import logging
import math
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from ff_otel.settings.model import query_url_problem
from ff_otel.settings.resolution import resolve_settings
from ff_otel.settings.running import active_settings
from ff_otel.sql.clickhouse import with_views
from ff_otel.sql.safety import QueryError

if TYPE_CHECKING:
    import pyarrow  # type: ignore[import-untyped]

Params = Sequence[Any] | Mapping[str, Any] | None

# clickhouse-connect logs the failures it raises; the QueryError says it once.
logging.getLogger("clickhouse_connect").addHandler(logging.NullHandler())

_PLACEHOLDER = re.compile(
    r"'(?:[^'\\]|\\.|'')*'"  # a string literal ('' and backslash escapes)
    r'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`'  # quoted identifiers
    r"|--[^\n]*|/\*.*?\*/"  # comments
    r"|(\?)|\$([A-Za-z_][A-Za-z0-9_]*)",
    re.DOTALL,
)


def bind(
    statement: str, params: Sequence[Any] | Mapping[str, Any] | None
) -> tuple[str, dict[str, Any]]:
    """``statement`` with ``?`` and ``$name`` as ClickHouse query parameters (``{p0:Int64}``).

    The values travel apart from the SQL (ClickHouse binds them server-side),
    typed from the Python value: int, float, str, bool, datetime (naive = UTC),
    date; None is ``NULL``. A ``?`` or ``$name`` inside a literal or a comment is text.
    """
    if not params:
        return statement, {}
    named: Mapping[str, Any] = params if isinstance(params, Mapping) else {}
    positional = None if isinstance(params, Mapping) else list(params)
    bound: dict[str, Any] = {}
    used = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal used
        if match.group(1) is not None:
            if positional is None:
                raise QueryError("the query has a ? placeholder but the parameters are named")
            if used >= len(positional):
                raise QueryError(
                    f"the query has more ? placeholders than the {len(positional)} values given"
                )
            name, value = f"p{used}", positional[used]
            used += 1
        elif match.group(2) is not None:
            name = match.group(2)
            if name not in named:
                raise QueryError(f"no value for the parameter ${name}")
            value = named[name]
        else:
            return match.group(0)
        if value is None:
            return "NULL"
        kind, text = _parameter(name, value)
        bound[name] = text
        return f"{{{name}:{kind}}}"

    text = _PLACEHOLDER.sub(replace, statement)
    if positional is not None and used != len(positional):
        raise QueryError(f"the query has {used} ? placeholders but {len(positional)} values")
    return text, bound


def _parameter(name: str, value: Any) -> tuple[str, Any]:
    """The ClickHouse type of a parameter's value, and the value as it is sent."""
    if isinstance(value, bool):
        return "Bool", value
    if isinstance(value, int):
        return "Int64", value
    if isinstance(value, float):
        return "Float64", value
    if isinstance(value, str):
        return "String", value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return "DateTime64(6, 'UTC')", value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return "Date", value.isoformat()
    raise QueryError(
        f"parameter {name}: a {type(value).__name__} cannot be bound over ClickHouse "
        "(use a number, text, bool, datetime or date)"
    )


_HINTS = (
    (
        ("AUTHENTICATION_FAILED", "code: 516", "Code: 516"),
        "check the user name and password in the URL",
    ),
    (
        ("ACCESS_DENIED", "Code: 497", "code: 497"),
        "check that the user may SELECT from the exporter's tables",
    ),
    (
        ("READONLY", "readonly mode"),
        "ff-otel only reads; the statement asked ClickHouse to write or change a setting",
    ),
    (
        ("Connection refused", "Failed to establish a new connection", "Name or service not known"),
        "check the host and port in the URL, and that ClickHouse is up and reachable",
    ),
)


class ClickHouseBackend:
    """One ClickHouse (chdb in-process or a server) queried read-only through the views."""

    def __init__(self, url: str, timeout_seconds: float = 10.0) -> None:
        parts = urlsplit(url)
        self.url = url
        self.scheme = parts.scheme
        self.timeout = timeout_seconds
        self._lock = threading.Lock()
        self._session: Any = None
        self._client: Any = None
        query = parse_qs(parts.query)
        if self.scheme == "chdb":
            self.where = parts.path
            self.database = query.get("database", ["otel"])[0]
            from chdb import session

            factory: Any = session.Session
            try:
                # chdb runs one embedded server per process, on one path.
                self._session = factory(parts.path)
                self._session.query(f"SET max_execution_time = {self._seconds}")
                # A column keeps its name where an alias repeats it (SELECT max(x) AS x ...
                # HAVING x > 1 means the column), as in standard SQL and DuckDB.
                self._session.query("SET prefer_column_name_to_alias = 1")
                # The CHDB dialect's MATERIALIZED CTEs (BI reads the events once, not ten times).
                self._session.query("SET enable_materialized_cte = 1")
                self._session.query("SET readonly = 1")
            except Exception as exc:  # chdb raises RuntimeError and its own ChdbError
                raise QueryError(self._failure(exc)) from None
        else:
            self.where = f"{parts.hostname}:{parts.port or 8123}"
            self.database = parts.path.strip("/") or "default"
            self._connect_arguments: dict[str, Any] = {
                "host": parts.hostname or "localhost",
                "port": parts.port or (8443 if self.scheme == "clickhouses" else 8123),
                "username": unquote(parts.username or "default"),
                "password": unquote(parts.password or ""),
                "database": self.database,
                "secure": self.scheme == "clickhouses",
                "connect_timeout": self.timeout,
                "send_receive_timeout": self.timeout,
                "query_retries": 0,
                "settings": {
                    "readonly": 2,
                    "max_execution_time": self._seconds,
                    "prefer_column_name_to_alias": 1,
                },
            }

    @property
    def _seconds(self) -> int:
        return max(1, math.ceil(self.timeout))

    def close(self) -> None:
        """Close the chdb session (a server needs nothing); the backend is unusable after."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    def arrow(self, statement: str, params: Params = None) -> pyarrow.Table:
        text, bound = bind(statement, params)
        text = with_views(text, self.database)
        if self._session is not None:
            try:
                with self._lock:  # a chdb session is one thread's at a time
                    result = self._session.query(text, "Arrow", params=bound or None)
                return _arrow_table(result)
            except Exception as exc:  # chdb raises RuntimeError and its own ChdbError
                raise QueryError(self._failure(exc)) from None
        return self._remote(text, bound)

    def _remote(self, text: str, bound: dict[str, Any]) -> pyarrow.Table:
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["table"] = self._connected().query_arrow(text, parameters=bound or None)
            except Exception as exc:  # clickhouse-connect's errors share no base class
                outcome["error"] = exc

        worker = threading.Thread(target=call, name="ff-otel-clickhouse", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            raise QueryError(self._failure(TimeoutError(f"no answer within {self.timeout:g} s")))
        if "error" in outcome:
            raise QueryError(self._failure(outcome["error"]))
        return outcome["table"]

    def _connected(self) -> Any:
        with self._lock:
            if self._client is None:
                import clickhouse_connect

                self._client = clickhouse_connect.get_client(**self._connect_arguments)
            return self._client

    def _failure(self, exc: BaseException) -> str:
        message = " ".join(str(exc).split())
        if len(message) > 300:
            message = message[:300] + "..."
        hint = "check the URL, that ClickHouse is up, the user's password and grants"
        if "UNKNOWN_TABLE" in message or "UNKNOWN_DATABASE" in message:
            hint = (
                f"check the database ({self.database}) and that the Collector's clickhouse "
                "exporter created its tables there"
            )
        elif isinstance(exc, TimeoutError) or any(
            word in message for word in ("TIMEOUT_EXCEEDED", "timed out", "Timeout exceeded")
        ):
            hint = (
                f"it took longer than query_timeout_seconds ({self.timeout:g} s, "
                "FF_OTEL_QUERY_TIMEOUT_SECONDS): check that ClickHouse is reachable and not "
                "overloaded, or narrow the query"
            )
        else:
            for words, text in _HINTS:
                if any(word in message for word in words):
                    hint = text
                    break
        return f"ClickHouse query at {self.scheme}://{self.where} failed: {message} ({hint})"


def _arrow_table(result: Any) -> pyarrow.Table:
    """chdb's Arrow answer as a table (read here: chdb's own "ArrowTable" imports pandas,
    0.2 s on the first query of every process, the CLI's included)."""
    import pyarrow

    if len(result) == 0:
        return pyarrow.Table.from_batches([], schema=pyarrow.schema([]))
    return pyarrow.RecordBatchFileReader(result.get_memview().view()).read_all()


_backends: dict[tuple[str, float], ClickHouseBackend] = {}
_backends_lock = threading.Lock()


def configured_timeout() -> float:
    """``query_timeout_seconds`` of the configured handle, else of the environment."""
    settings = active_settings() or resolve_settings({})
    return settings.query_timeout_seconds


def backend_for(url: str) -> ClickHouseBackend:
    """The backend for ``url`` (one per URL, timeout and process)."""
    problem = query_url_problem(url)
    if problem is not None:
        raise QueryError(f"query URL {redacted(url)} is not usable: {problem}")
    timeout = configured_timeout()
    with _backends_lock:
        backend = _backends.get((url, timeout))
        if backend is None:
            if not _backends:
                atexit.register(_close_backends)
            backend = _backends[(url, timeout)] = ClickHouseBackend(url, timeout)
        return backend


def _close_backends() -> None:
    # chdb's engine shuts down when its last session closes; left to the
    # interpreter's teardown, that raced chdb's own static teardown and crashed
    # the exiting process now and then (SIGSEGV after "ShutdownTablesThreadPool
    # is not initialized"), mostly on a busy machine.
    with _backends_lock:
        backends = list(_backends.values())
        _backends.clear()
    for backend in backends:
        backend.close()


def redacted(url: str) -> str:
    """``url`` with its password (if any) shown as ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
