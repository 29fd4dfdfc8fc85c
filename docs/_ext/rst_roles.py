"""A griffe extension: the docstrings' reST roles read as Markdown code in the API reference.

ff-otel's docstrings are written for ``help()`` and editors, in reST's inline style
(``:class:`~ff_otel.RecordLimits```, a paragraph ending in ``::`` before a code block).
mkdocstrings renders Markdown, where a role would show as ``:class:`` text.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?[a-z]+:`(?P<target>[^`]+)`")
_LITERAL_BLOCK_INTRO = re.compile(r"(?<=\S)::$", re.MULTILINE)


def _as_code(match: re.Match[str]) -> str:
    target = match["target"]
    if "<" in target and target.endswith(">"):  # :role:`shown text <target>`
        return f"`{target.split('<', 1)[0].strip()}`"
    if target.startswith("~"):  # ~ shows the last component only
        return f"`{target[1:].rsplit('.', 1)[-1]}`"
    return f"`{target}`"


def markdown_docstring(text: str) -> str:
    return _LITERAL_BLOCK_INTRO.sub(":", _ROLE.sub(_as_code, text))


class RestRolesAsCode(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)
