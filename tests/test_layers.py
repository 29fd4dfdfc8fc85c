"""ff-otel's modules import one another without cycles, deferred imports counted.

A module low in the stack that reaches up to one that imports it (directly or
round a longer loop) is what makes a change ripple; an import deferred into a
function hides such a loop from the interpreter but not from this test. It
reads every module's imports (top-level and inside functions, absolute and
relative) with :mod:`ast`, resolves each to the module it loads, and fails on
any strongly connected group of more than one module, naming its edges.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ff_otel

PACKAGE = Path(ff_otel.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    def loaded(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(loaded(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = (
                    ".".join([*base, *([node.module] if node.module else [])])
                    if node.level
                    else node.module or ""
                )
                for alias in node.names:
                    # `from pkg import submodule` loads the submodule as well.
                    submodule = f"{source}.{alias.name}"
                    targets.add(loaded(submodule if submodule in modules else source))
        # The root package only re-exports, lazily, on first use of a name.
        graph[module] = {t for t in targets if t and t not in (module, "ff_otel")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = _imports(_modules())
    loops = [
        [f"{a} -> {b}" for a in group for b in sorted(graph[a]) if b in group]
        for group in _cycles(graph)
    ]
    assert loops == [], "import cycles (deferred imports counted):\n" + "\n\n".join(
        "\n".join(edges) for edges in loops
    )


def test_the_check_sees_a_loop_hidden_in_a_function(tmp_path: Path) -> None:
    package = tmp_path / "p"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def report():\n    from . import high\n")
    (package / "high.py").write_text("from p.low import report\n")
    (package / "top.py").write_text("import p.high\n")
    modules = {name: package / f"{name}.py" for name in ("low", "high", "top")}
    graph = _imports({f"p.{name}": path for name, path in modules.items()})
    assert graph == {"p.low": {"p.high"}, "p.high": {"p.low"}, "p.top": {"p.high"}}
    assert _cycles(graph) == [["p.high", "p.low"]]
