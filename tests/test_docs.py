"""The documentation is tested: the site builds strictly and every example runs.

How an example in ``README.md`` or ``docs/**/*.md`` is treated, by its fence:

- ```` ```python ```` and ```` ```bash ```` blocks run. ```` ```text ````, ```` ```json ````,
  ```` ```toml ````, ```` ```yaml ````, ```` ```sql ```` (and the other languages in
  ``SHOWN_LANGUAGES``) are shown, not run. Any other fence (``sh``, ``py``, none) fails
  the page's test, so an example never silently goes unrun.
- ```` ```python title="not run: needs a reachable SMTP server" ````: a title starting
  with ``not run:`` skips the block; the reason after it is shown on the site as the
  block's title (pymdownx.superfences).
- ```` ```python title="app.py" ````: a title that is a relative file path writes the
  block to that file in the page's directory instead of running it (any language), so
  a later block can use it: ``opentelemetry-instrument python app.py``,
  ``FF_OTEL_CONFIG=ff-otel.toml``, ``python -m pytest test_orders.py``.
- Each page runs its blocks in document order in one fresh temporary directory, which
  is the working directory of every block. ``FF_OTEL_BASE_PATH`` is ``<that
  directory>/ff_data`` (so ``./ff_data`` in an example is the same store), no other
  ``FF_OTEL_*``/``OTEL_*`` variable is set (no OTLP endpoint), and the venv's ``bin``
  is first on ``PATH`` (``ff-otel``, ``ff-otel-instrument``, ``python``).
- Consecutive python blocks (not separated by a bash block) run together as one script
  in one fresh interpreter, with the page's directory on ``PYTHONPATH`` (an example
  imports what an earlier block wrote there); the script is called ``example.py``, so
  a span's default ``ff.component`` is ``example``. A bash block runs with
  ``bash -euo pipefail`` in a shell of its own (its variables end with it; files stay).
  Either gets ``BLOCK_TIMEOUT_SECONDS``; whatever it started in the background is
  killed when it ends, but an example that starts a server stops it itself. Fences
  indented in a list item count like any other.
- A failure names the page and the block's line, with the block's output. Scripts keep
  the page's line numbers, so a traceback's ``line N`` is line N of the page.
- One test per page: ``pytest tests/test_docs.py -k getting-started``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
DOCS = REPOSITORY / "docs"
PAGES = sorted([REPOSITORY / "README.md", *DOCS.rglob("*.md")])

RUN_LANGUAGES = frozenset({"python", "bash"})
SHOWN_LANGUAGES = frozenset(
    {"text", "json", "toml", "yaml", "sql", "ini", "xml", "csv", "html", "dockerfile"}
)
NOT_RUN_PREFIX = "not run:"
BLOCK_TIMEOUT_SECONDS = 120.0
README_MAX_LINES = 250

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]*)"')
_FILE_NAME = re.compile(r"^[\w.-]+(/[\w.-]+)*\.[\w]+$")


@dataclass(frozen=True)
class Block:
    """One fenced block of a page: where it starts, what it is, what it holds."""

    line: int  # 1-based line of the block's first content line
    language: str
    title: str
    code: str

    @property
    def skipped(self) -> bool:
        return self.title.startswith(NOT_RUN_PREFIX)

    @property
    def target_file(self) -> str | None:
        """The file this block writes instead of running, when its title names one."""
        inside = ".." not in Path(self.title).parts  # never outside the page's directory
        return self.title if inside and _FILE_NAME.match(self.title) else None


def fenced_blocks(text: str) -> list[Block]:
    """Every fenced block of a Markdown page, indented ones (in list items) included."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"].strip()
        language = info.split(maxsplit=1)[0].lstrip(".{").rstrip("}") if info else ""
        title_match = _TITLE.search(info)
        body: list[str] = []
        index += 1
        first = index + 1
        while index < len(lines):
            stripped = lines[index].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            line = lines[index]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            index += 1
        index += 1
        title = title_match["title"] if title_match else ""
        blocks.append(Block(first, language, title, "\n".join(body) + "\n"))
    return blocks


def page_id(page: Path) -> str:
    return page.relative_to(REPOSITORY).as_posix() if page.is_relative_to(REPOSITORY) else page.name


def example_environment(workdir: Path) -> dict[str, str]:
    """The environment every example sees: a store in its directory, no collector."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FF_OTEL_", "OTEL_"))
    }
    environment["FF_OTEL_BASE_PATH"] = str(workdir / "ff_data")
    venv_bin = str(Path(sys.executable).parent)
    environment["PATH"] = os.pathsep.join([venv_bin, environment.get("PATH", "")])
    environment["PYTHONUNBUFFERED"] = "1"
    environment.pop("PYTHONPATH", None)
    return environment


def _numbered(blocks: list[Block]) -> str:
    """The blocks as one script whose line N is line N of the page."""
    script: list[str] = []
    for block in blocks:
        script.extend([""] * (block.line - 1 - len(script)))
        script.extend(block.code.splitlines())
    return "\n".join(script) + "\n"


class ExampleFailed(Exception):
    pass


def _run(command: list[str], workdir: Path, where: str, python_path: Path | None = None) -> None:
    """Run one example to completion; raise with its output when it fails or hangs."""
    output_path = workdir / ".example-output"
    environment = example_environment(workdir)
    if python_path is not None:
        environment["PYTHONPATH"] = str(python_path)
    with output_path.open("wb") as output:
        # Output to a file, not a pipe: a server left in the background would
        # hold a pipe open and the wait for its end would never come.
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            returncode: int | None = process.wait(timeout=BLOCK_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = output_path.read_text(errors="replace")
    output_path.unlink()
    if returncode is None:
        raise ExampleFailed(f"{where} did not finish in {BLOCK_TIMEOUT_SECONDS:.0f} s:\n{text}")
    if returncode != 0:
        raise ExampleFailed(f"{where} failed (exit {returncode}):\n{text}")


def run_page(page: Path, workdir: Path) -> int:
    """Run a page's examples as the module docstring says; returns how many ran."""
    name = page_id(page)
    # Each script is example.py (so a span's default ff.component is "example") in a
    # hidden directory named after the page and line; the page's directory stays
    # first on sys.path, so an example imports the modules an earlier block wrote.
    scripts = workdir / ".examples"
    pending: list[Block] = []
    ran = 0

    def run_pending() -> None:
        nonlocal ran
        if not pending:
            return
        script = scripts / f"{name.replace('/', '_')}-{pending[0].line}" / "example.py"
        script.parent.mkdir(parents=True)
        script.write_text(_numbered(pending))
        lines = ", ".join(str(block.line) for block in pending)
        _run(
            [sys.executable, str(script)],
            workdir,
            f"{name}: python block(s) at line {lines}",
            python_path=workdir,
        )
        ran += len(pending)
        pending.clear()

    blocks = fenced_blocks(page.read_text())
    unknown = [b for b in blocks if b.language not in RUN_LANGUAGES | SHOWN_LANGUAGES]
    if unknown:
        where = ", ".join(f"line {b.line} ({b.language or 'no language'})" for b in unknown)
        raise ExampleFailed(
            f"{name}: fences of no known language at {where}: say python or bash (run), "
            f"or one of {sorted(SHOWN_LANGUAGES)} (shown)"
        )
    for block in blocks:
        if block.skipped:
            continue
        if block.target_file is not None:
            target = workdir / block.target_file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.code)
            continue
        if block.language == "python":
            pending.append(block)
        elif block.language == "bash":
            run_pending()
            script = scripts / f"{name.replace('/', '_')}-{block.line}.sh"
            scripts.mkdir(exist_ok=True)
            trap = "trap 'echo \"failed at line $LINENO: $BASH_COMMAND\" >&2' ERR"
            script.write_text(trap + _numbered([block]))
            _run(
                ["bash", "-euo", "pipefail", str(script)],
                workdir,
                f"{name}: bash block at line {block.line}",
            )
            ran += 1
    run_pending()
    return ran


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_example_on_the_page_runs(page: Path, tmp_path: Path) -> None:
    failure = None
    try:
        run_page(page, tmp_path)
    except ExampleFailed as failed:
        failure = str(failed)
    if failure is not None:
        pytest.fail(failure, pytrace=False)


def test_a_failing_example_fails_its_page_naming_the_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n```python\nx = 1\n```\n\n```json\n{}\n```\n\n"
        "```python\nassert x == 2, 'x is still 1'\n```\n"
    )
    workdir = tmp_path / "run"
    workdir.mkdir()
    with pytest.raises(ExampleFailed) as failed:
        run_page(page, workdir)
    assert "page.md: python block(s) at line 4, 12" in str(failed.value)
    assert "line 12" in str(failed.value) and "x is still 1" in str(failed.value)


def test_a_fence_of_no_known_language_fails_its_page(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```sh\necho never run\n```\n")
    with pytest.raises(ExampleFailed, match=r"line 2 \(sh\)"):
        run_page(page, tmp_path)


def test_the_site_builds_with_no_broken_link_or_reference(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).parent / "mkdocs"
    command = [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")]
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's banner
    completed = subprocess.run(
        command,
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, f"{shlex.join(command)}:\n{completed.stderr}"


def test_the_readme_links_only_to_files_that_exist() -> None:
    readme = (REPOSITORY / "README.md").read_text()
    targets = re.findall(r"\]\((?!https?://|#|mailto:)([^)#\s]+)", readme)
    missing = sorted({target for target in targets if not (REPOSITORY / target).exists()})
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_the_readme_stays_a_short_introduction() -> None:
    # Reference material belongs in docs/; the README says what ff-otel is and where to go.
    lines = (REPOSITORY / "README.md").read_text().count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES})"
