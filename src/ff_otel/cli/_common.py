"""What every ``ff-otel`` command shares: the store option, JSON output and one-line errors.

Exit codes: 0 ok, 1 the answer is bad news (unhealthy, verification failed,
something could not be delivered), 2 the command could not run as asked
(usage, a missing store, a bad time range, an unknown id).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import orjson
from rich.console import Console

from ff_otel import environment_variables as env
from ff_otel.store.layout import StoreError, StoreLayout

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_BAD_NEWS = 1
EXIT_USAGE = 2

console = Console(highlight=False)
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


def store_errors_as_one_line(func: F) -> F:
    """Turn the library's own errors (bad store, bad value) into one-line exits."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (StoreError, ValueError) as exc:
            fail(str(exc))

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper  # type: ignore[return-value]
