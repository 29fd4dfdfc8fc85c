"""What every ``ff-otel`` command shares: the store option, JSON output and one-line errors.

Exit codes: 0 ok, 1 the answer is bad news (unhealthy, verification failed,
something could not be delivered), 2 the command could not run as asked
(usage, a missing store, a bad time range, an unknown id).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import orjson
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from ff_otel import environment_variables as env
from ff_otel.core import clock
from ff_otel.settings.model import FFOtelSettings, query_url_problem
from ff_otel.settings.resolution import resolve_settings
from ff_otel.store.layout import StoreError, StoreLayout

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_BAD_NEWS = 1
EXIT_USAGE = 2

_PIPE_WIDTH = 200

# Piped output has no colours (rich only styles a terminal) and is not cut to
# 80 columns, so tables stay whole for grep and less.
console = Console(
    highlight=False,
    width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else _PIPE_WIDTH,
)
"""Human output; colours and styles only when stdout is a terminal."""


class CommandError(click.ClickException):
    """A one-line error naming what was wrong; never a traceback."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"ff-otel: error: {self.format_message()}", err=True)


class BadNewsError(CommandError):
    """The command ran, and its answer is a failure (unhealthy, chain broken, undelivered)."""

    exit_code = EXIT_BAD_NEWS


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    raise (BadNewsError if code == EXIT_BAD_NEWS else CommandError)(message)


def base_path_option(func: F) -> F:
    """``--base-path`` (default ``./ff_data``, or ``FF_OTEL_BASE_PATH``)."""
    return click.option(
        "--base-path",
        type=click.Path(path_type=Path, file_okay=False),
        envvar=env.FF_OTEL_BASE_PATH,
        default=Path("./ff_data"),
        show_default=True,
        show_envvar=True,
        help="Store root (the folder holding analytics/).",
    )(func)


def _query_url_value(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    problem = query_url_problem(value)
    if problem is not None:
        raise click.BadParameter(f"{value!r} is not a query backend URL: {problem}", ctx, param)
    return "" if value == "local" else value


def query_url_option(func: F) -> F:
    """``--query-url`` (or ``FF_OTEL_QUERY_URL``): query ClickHouse instead of the local store."""
    return click.option(
        "--query-url",
        metavar="URL",
        envvar=env.FF_OTEL_QUERY_URL,
        show_envvar=True,
        callback=_query_url_value,
        help="Query this backend instead of the local store: chdb:///path?database=otel, "
        "clickhouse://user:password@host:8123/database or clickhouses://... "
        "(the fleet's telemetry as the Collector's clickhouse exporter stores it); "
        "local for the store.",
    )(func)


def json_option(func: F) -> F:
    """``--json``: machine-readable output on stdout instead of tables."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON for scripts instead of tables."
    )(func)


def open_store(base_path: Path) -> StoreLayout:
    """The store at ``base_path``; a one-line error when there is none."""
    layout = StoreLayout(base_path)
    if not layout.analytics_path.is_dir():
        fail(f"no ff-otel store at {base_path} (run `ff-otel init` or pass --base-path)")
    return layout


def print_json(data: Any) -> None:
    """One JSON document on stdout (datetimes as ISO strings, pydantic models as dicts)."""
    sys.stdout.buffer.write(
        orjson.dumps(data, default=_jsonable, option=orjson.OPT_INDENT_2) + b"\n"
    )
    sys.stdout.buffer.flush()


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot print {type(value).__name__} as JSON")


class CommandGroup(click.Group):
    """The ``ff-otel`` group: every error, usage errors included, is one line on stderr.

    Click's own usage errors print the usage block; here they print one
    ``ff-otel: error: ...`` line naming the help to read. The library's errors
    (a bad store, a bad value, an unreadable file) become one line too.
    """

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "ff-otel"
            code = _error_line(f"{exc.format_message()} (see `{where} --help`)", EXIT_USAGE)
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        except click.Abort:
            code = _error_line("aborted", EXIT_BAD_NEWS)
        except (StoreError, ValueError, OSError) as exc:
            code = _error_line(str(exc), EXIT_USAGE)
        sys.exit(code if isinstance(code, int) else EXIT_OK)


def _error_line(message: str, code: int) -> int:
    click.echo(f"ff-otel: error: {' '.join(message.split())}", err=True)
    return code


def examples(*lines: str) -> str:
    """A click epilog listing example invocations, kept as written (no rewrapping)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``7d``, ``1w`` as a timedelta; ``ValueError`` otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration like 15m, 2h, 7d or 1w: {text!r}")
    return timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])


def parse_time(text: str) -> datetime:
    """An instant: ``now``, a duration ago (``15m``, ``2h``, ``7d``) or ISO-8601 (naive = UTC)."""
    if text.strip().lower() == "now":
        return clock.now()
    if _DURATION.match(text):
        return clock.now() - parse_duration(text)
    return clock.parse_instant(text.strip())


def _time_value(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither an ISO-8601 time (2026-11-29T08:00) "
            "nor a duration ago (15m, 2h, 7d, 1w)",
            ctx,
            param,
        ) from None


def _duration_value(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> timedelta | None:
    if value is None:
        return None
    try:
        duration = parse_duration(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a duration like 30m, 2h, 7d or 1w", ctx, param
        ) from None
    if duration <= timedelta(0):
        raise click.BadParameter(f"{value!r} must be longer than zero", ctx, param)
    return duration


def time_option(*names: str, help: str) -> Callable[[F], F]:
    """An option taking an instant: ISO-8601 (UTC when naive), ``now``, or a duration ago."""
    return click.option(*names, metavar="TIME", callback=_time_value, help=help)


def duration_option(*names: str, help: str) -> Callable[[F], F]:
    """An option taking a length of time: ``90s``, ``30m``, ``2h``, ``7d``, ``1w``."""
    return click.option(*names, metavar="DURATION", callback=_duration_value, help=help)


def check_range(since: datetime | None, until: datetime | None) -> None:
    """A one-line error when ``--since`` is not before ``--until``."""
    if since is not None and until is not None and since >= until:
        fail(
            f"bad time range: --since {clock.format_iso(since)} is not before "
            f"--until {clock.format_iso(until)}"
        )


def load_settings(base_path: Path) -> FFOtelSettings:
    """The settings a service on this store resolves (``FF_OTEL_*`` variables, ``FF_OTEL_CONFIG``).

    So thresholds, retention periods and report formats are the service's own,
    not the defaults. A bad value is a one-line ``ConfigError``.
    """
    return resolve_settings({"base_path": base_path})


_STYLES = {
    "healthy": "green",
    "ok": "green",
    "resolved": "green",
    "degraded": "yellow",
    "warning": "yellow",
    "pending": "yellow",
    "acknowledged": "cyan",
    "info": "cyan",
    "error": "red",
    "firing": "red",
    "unhealthy": "bold red",
    "critical": "bold red",
    "broken": "bold red",
    "unknown": "magenta",
}


def styled(value: object) -> Text:
    """``value`` as text, coloured by what it means (statuses, severities, states)."""
    text = str(value)
    return Text(text, style=_STYLES.get(text.lower(), ""))


def table(*columns: str) -> Table:
    """A table in the CLI's one style: bold header, a rule under it, no outer frame."""
    return Table(
        *columns, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold"
    )


def plain(value: object) -> Text:
    """Data as text, never read as rich markup (a ``[`` in a detail stays a ``[``)."""
    return Text("-" if value is None else str(value))


def number(value: object, digits: int = 1) -> str:
    """A figure for a table: thousands separated, ``-`` when absent."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


@contextmanager
def progress_bar(description: str, unit: str) -> Iterator[Callable[[int, str], None]]:
    """A progress bar on stderr, on a terminal only; yields ``advance(done, detail)``.

    The work's total is not known up front, so the bar pulses and counts
    ``done`` ``unit``; it disappears when the work ends.
    """
    stderr = Console(stderr=True, highlight=False)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} " + unit),
        TextColumn("[dim]{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    )
    task: TaskID = progress.add_task(description, total=None, detail="")

    def advance(done: int, detail: str = "") -> None:
        progress.update(task, completed=done, detail=detail)

    with progress:
        yield advance
