"""``ff-otel-instrument``: run an unmodified program with ff-otel as its OpenTelemetry distro.

It does what ``opentelemetry-instrument`` does (the contrib package's
``sitecustomize`` first on ``PYTHONPATH``, then an exec of the program), after
turning its flags into ``FF_OTEL_*`` variables and selecting the ``ff_otel``
distro and configurator. The program replaces this process, so its exit code
and the signals it receives are its own; every Python process it starts
(gunicorn's and uvicorn's workers, multiprocessing children) is instrumented too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import opentelemetry.instrumentation.auto_instrumentation as auto_instrumentation
from opentelemetry.instrumentation.environment_variables import (
    OTEL_PYTHON_CONFIGURATOR,
    OTEL_PYTHON_DISTRO,
)

from ff_otel import environment_variables as env
from ff_otel.sdk.distro import DISTRO_NAME
from ff_otel.settings.model import ConfigError
from ff_otel.settings.resolution import resolve_settings
from ff_otel.spec.enums import AnalyticsLevel
from ff_otel.store.layout import StoreError, StoreLayout

PROG = "ff-otel-instrument"
EXIT_USAGE = 2
"""Exit code when the program could not be started as asked; otherwise the code is the program's."""

FF_OTEL_ANALYTICS_LEVEL = "FF_OTEL_ANALYTICS_LEVEL"

_FLAGS = {
    "--base-path": env.FF_OTEL_BASE_PATH,
    "--service-name": env.FF_OTEL_SERVICE_NAME,
    "--otlp-endpoint": env.FF_OTEL_OTLP_ENDPOINT,
    "--analytics-level": FF_OTEL_ANALYTICS_LEVEL,
}
_LEVELS = [level.value for level in AnalyticsLevel]

USAGE = f"""usage: {PROG} [--base-path P] [--service-name N] [--otlp-endpoint URL]
                          [--analytics-level L] [--] program [args ...]"""

HELP = f"""{USAGE}

Run PROGRAM with every installed opentelemetry-instrumentation-* package active
and its spans, metrics and logs written to the ff-otel store (and sent to an
OTLP collector when one is given). PROGRAM replaces this process: its exit code
and signals are its own. Flags come before PROGRAM; everything from PROGRAM on
is passed to it unchanged ("--" ends the flags explicitly).

options:
  --base-path P        store root, created if missing ({env.FF_OTEL_BASE_PATH}; default ./ff_data)
  --service-name N     service.name of everything recorded ({env.FF_OTEL_SERVICE_NAME})
  --otlp-endpoint URL  also send to this collector, e.g. http://localhost:4317
                       ({env.FF_OTEL_OTLP_ENDPOINT}; the protocol is OTEL_EXPORTER_OTLP_PROTOCOL)
  --analytics-level L  {", ".join(_LEVELS)} ({FF_OTEL_ANALYTICS_LEVEL})
  -h, --help           show this message and exit

Every other setting is read from the environment as usual: FF_OTEL_* (see
ff_otel.environment_variables) and the standard OTEL_* variables, e.g.
OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS.

examples:
  {PROG} --service-name shop python app.py
  {PROG} --base-path /var/lib/shop/ff_data python -m shop --port 8000
  {PROG} --service-name shop gunicorn -w 4 -b 0.0.0.0:8000 shop.wsgi:app
  {PROG} --otlp-endpoint http://collector:4317 -- uvicorn shop.asgi:app --port 8000
"""


class UsageError(Exception):
    """The command line asks for something that cannot be run; the message says what."""


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point of the ``ff-otel-instrument`` script; never returns (exec or exit)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(HELP)
        sys.exit(0)
    try:
        flags, program = parse_arguments(args)
        environ = program_environment(flags, os.environ)
        executable = with_ff_otel(program[0], find_program(program[0]), os.environ)
    except UsageError as exc:
        _fail(str(exc))
    try:
        os.execve(executable, [executable, *program[1:]], environ)
    except OSError as exc:
        _fail(f"cannot run {program[0]}: {exc.strerror}")


def parse_arguments(args: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """The flags given (by flag) and the program with its own arguments."""
    flags: dict[str, str] = {}
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            index += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        if arg in ("-h", "--help"):
            raise UsageError(f"{arg} must come alone (see {PROG} --help)")
        name, has_value, value = arg.partition("=")
        if name not in _FLAGS:
            raise UsageError(f"unknown option {name} (see {PROG} --help)")
        if not has_value:
            if index + 1 >= len(args):
                raise UsageError(f"{name} needs a value")
            value = args[index + 1]
            index += 1
        index += 1
        if not value.strip():
            raise UsageError(f"{name} needs a non-empty value")
        flags[name] = value
    program = list(args[index:])
    if not program:
        raise UsageError(f"no program to run given (e.g. {PROG} python app.py)")
    return flags, program


def program_environment(flags: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """The program's environment: ``environ`` plus the flags, the distro and ``sitecustomize``.

    Raises :class:`UsageError` naming the flag or variable whose value ff-otel
    would refuse, or the store that cannot be created, so a typo is reported
    here rather than logged by the program.
    """
    out = dict(environ)
    for flag, value in flags.items():
        if flag == "--base-path":
            # Absolute: servers such as gunicorn --chdir move before configuring.
            value = os.path.abspath(value)
        elif flag == "--analytics-level" and value not in _LEVELS:
            levels = ", ".join(_LEVELS)
            raise UsageError(f"--analytics-level must be one of {levels}, not {value!r}")
        elif flag == "--otlp-endpoint":
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise UsageError(
                    f"--otlp-endpoint must be a URL such as http://localhost:4317, not {value!r}"
                )
        out[_FLAGS[flag]] = value
    try:
        settings = resolve_settings({}, out)
        if not settings.disabled:
            layout = StoreLayout(settings.base_path)
            layout.initialize(settings.analytics)
            layout.check_writable()
    except (ConfigError, StoreError) as exc:
        raise UsageError(str(exc)) from None
    out[OTEL_PYTHON_DISTRO] = DISTRO_NAME
    out[OTEL_PYTHON_CONFIGURATOR] = DISTRO_NAME
    out["PYTHONPATH"] = _python_path(out.get("PYTHONPATH", ""))
    return out


def find_program(name: str) -> str:
    """The program's path: searched on ``PATH``, then beside this Python (an unactivated venv)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise UsageError(f"program not found: {name}")
    return os.path.abspath(found)


_PYTHON_NAME = re.compile(r"python(\d+(\.\d+)?)?")
_OWN_PYTHON_NAMES = {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}


def with_ff_otel(name: str, executable: str, environ: Mapping[str, str]) -> str:
    """The program to exec: ``executable``, or this Python when ``name`` is a bare
    ``python``/``python3`` that cannot import ff-otel.

    Raises :class:`UsageError` (one line: which interpreter lacks ff-otel and
    how to fix it) when the program is a Python interpreter, or a script run by
    one, that cannot import ff-otel: it would serve without recording anything.
    """
    interpreter = _python_running(executable)
    if interpreter is None or _imports_ff_otel(interpreter, environ):
        return executable
    if name in _OWN_PYTHON_NAMES:
        print(
            f"{PROG}: {name} on PATH ({executable}) cannot import ff_otel; "
            f"running {sys.executable}, which can",
            file=sys.stderr,
        )
        return sys.executable
    runs = "" if Path(name).name == Path(interpreter).name else f" (which runs {name})"
    raise UsageError(
        f"{interpreter}{runs} cannot import ff_otel: install ff-otel into it "
        f"({interpreter} -m pip install ff-otel), or give the interpreter that has it, "
        f"e.g. {sys.executable}"
    )


def _python_running(executable: str) -> str | None:
    # The interpreter itself, or the one a script's "#!" line names.
    if _PYTHON_NAME.fullmatch(Path(executable).name):
        return executable
    try:
        with open(executable, "rb") as program:
            first = program.readline(512)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode(errors="replace").split()
    if words and Path(words[0]).name == "env" and len(words) > 1:
        words = words[1:]
    if words and _PYTHON_NAME.fullmatch(Path(words[0]).name):
        return shutil.which(words[0]) or words[0]
    return None


def _imports_ff_otel(interpreter: str, environ: Mapping[str, str]) -> bool:
    # Beside this Python, it is this environment's (symlinks are not followed:
    # a venv's python links to a system one that lacks the venv's packages).
    if Path(interpreter).absolute().parent == Path(sys.executable).absolute().parent:
        return True
    # The caller's environment, before ff-otel's sitecustomize is put on
    # PYTHONPATH: this probe must not start an instrumented process.
    probe = [interpreter, "-c", "import ff_otel, opentelemetry.instrumentation"]
    try:
        done = subprocess.run(
            probe, env=dict(environ), capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _python_path(current: str) -> str:
    # As opentelemetry-instrument: its sitecustomize first, then the working
    # directory (programs run by their own executable import from there),
    # then whatever was already set.
    site = str(Path(auto_instrumentation.__file__).resolve().parent)
    entries = [entry for entry in current.split(os.pathsep) if entry and entry != site]
    cwd = os.getcwd()
    if cwd not in entries:
        entries.insert(0, cwd)
    return os.pathsep.join([site, *entries])


def _fail(message: str) -> NoReturn:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(EXIT_USAGE)
