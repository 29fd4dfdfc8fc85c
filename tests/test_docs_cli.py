"""docs/cli.md describes every ``ff-otel`` command and every option it takes.

The commands and options come from the command itself (its click tree), so a
command or an option added without its documentation fails here, naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from ff_otel.cli import main

PAGE = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


def _sections() -> dict[str, str]:
    """Each ``### `ff-otel <command>` `` section of the page by its command."""
    sections: dict[str, str] = {}
    current = None
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^#{1,6} ", line)
        if heading:
            named = re.fullmatch(r"### `ff-otel ([a-z -]+)`", line)
            current = named.group(1) if named else None
            if current is not None:
                sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    return sections


COMMANDS = dict(_commands(main))


def test_the_command_tree_is_found() -> None:
    assert {"status", "alerts ack", "sql", "retention run"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_a_section_naming_each_of_its_options(name: str) -> None:
    sections = _sections()
    assert name in sections, f"docs/cli.md has no '### `ff-otel {name}`' section"
    body = sections[name]
    missing = []
    for parameter in COMMANDS[name].params:
        if isinstance(parameter, click.Option):
            names = [option for option in parameter.opts if option.startswith("--")]
        else:
            names = [(parameter.metavar or parameter.name or "").upper().rstrip(".")]
        missing += [option for option in names if f"`{option}" not in body]
    assert not missing, f"the section of ff-otel {name} does not describe {missing}"


def test_the_page_describes_no_command_that_does_not_exist() -> None:
    assert set(_sections()) <= set(COMMANDS)
