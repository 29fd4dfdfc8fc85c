"""ff-otel's modules import one another without cycles and only down the layers.

A module low in the stack that reaches up to one that imports it (directly or
round a longer loop) is what makes a change ripple; an import deferred into a
function hides such a loop from the interpreter but not from these tests. They
read every module's imports (top-level and inside functions, absolute and
relative) with :mod:`ast`, resolve each to the module it loads, and fail on any
strongly connected group of more than one module, and on any import of a layer
above the importer's (:data:`LAYERS`), naming the edges.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ff_otel

PACKAGE = Path(ff_otel.__file__).parent

ROOT_MODULES = "ff_otel.*"
"""The layer of the modules directly in ``src/ff_otel/`` that no other entry names."""

LAYERS: list[tuple[str, str]] = [
    # Lowest first. A module may import its own layer and any layer before it.
    ("ff_otel.environment_variables", "names only; every layer may read the environment"),
    ("ff_otel.core", "the clock and the GC pause: the standard library only"),
    ("ff_otel.spec", "the contract's data (DTOs, enums, config models, records): pure shapes"),
    ("ff_otel.store", "files and records; knows the record shapes, not who writes them"),
    ("ff_otel.settings", "configure()'s settings hold store types and name the running store"),
    ("ff_otel.sql", "queries the store, sized and routed by the running settings"),
    ("ff_otel.compliance", "the audit trail, retention and export: store files and SQL compaction"),
    ("ff_otel.privacy", "consent changes are compliance records; erasure compacts through SQL"),
    ("ff_otel.exporters", "every exporter scrubs with privacy before it writes the store"),
    ("ff_otel.analytics", "user events: pseudonymised, written through the exporters' guard"),
    ("ff_otel.instrumentation", "psutil and logging sources, reporting through the exporters"),
    ("ff_otel.alerting", "rules over SQL and snapshots; its operations are audited"),
    ("ff_otel.pipeline", "each tick drives alerting, analytics, compliance and the store"),
    ("ff_otel.sdk", "configure() assembles every layer below, handing callbacks down"),
    (ROOT_MODULES, "the public calls by topic, over the running configuration"),
    ("ff_otel.dashboard", "a web view over the public calls and the layers below"),
    ("ff_otel.cli", "the operator's commands over everything; nothing imports it"),
]
MAX_ROOT_MODULES = 8
"""Modules directly in ``src/ff_otel/``, ``__init__.py`` counted."""


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


def _layer_of(module: str, layers: list[str]) -> int:
    for index, layer in enumerate(layers):
        if module == layer or module.startswith(layer + "."):
            return index
    if module.count(".") == 1 and ROOT_MODULES in layers:
        return layers.index(ROOT_MODULES)
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS")


def _upward(graph: dict[str, set[str]], layers: list[str]) -> list[str]:
    """The imports of a layer above the importer's, as ``a -> b (layer a: layer b)``."""
    found = []
    for module in sorted(graph):
        if "." not in module:
            continue  # the package itself: it re-exports every layer's public names
        level = _layer_of(module, layers)
        for target in sorted(graph[module]):
            above = _layer_of(target, layers)
            if above > level:
                found.append(f"{module} -> {target} ({layers[level]} below {layers[above]})")
    return found


def test_every_import_points_down_the_layers() -> None:
    graph = _imports(_modules())
    upward = _upward(graph, [layer for layer, _ in LAYERS])
    assert upward == [], "imports of a higher layer (deferred imports counted):\n" + "\n".join(
        upward
    )


def test_every_package_is_a_layer_and_the_root_holds_few_modules() -> None:
    layers = {layer for layer, _ in LAYERS}
    packages = {f"ff_otel.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}
    assert packages - layers == set(), "packages missing from LAYERS"
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, root


def test_the_contract_sees_an_upward_import_hidden_in_a_function(tmp_path: Path) -> None:
    package = tmp_path / "p"
    (package / "low").mkdir(parents=True)
    (package / "high").mkdir()
    for folder in (package, package / "low", package / "high"):
        (folder / "__init__.py").write_text("")
    (package / "low" / "report.py").write_text("def report():\n    from p.high import api\n")
    (package / "high" / "api.py").write_text("X = 1\n")
    (package / "high" / "uses.py").write_text("from p.low.report import report\n")
    modules = {
        "p.low": package / "low" / "__init__.py",
        "p.low.report": package / "low" / "report.py",
        "p.high": package / "high" / "__init__.py",
        "p.high.api": package / "high" / "api.py",
        "p.high.uses": package / "high" / "uses.py",
    }
    graph = _imports(modules)
    assert _cycles(graph) == []
    assert _upward(graph, ["p.low", "p.high"]) == [
        "p.low.report -> p.high.api (p.low below p.high)"
    ]


def _private_imports(modules: dict[str, Path]) -> list[str]:
    """``from a import _name`` where ``a`` is another module: a private name shared."""
    found = []
    for module, path in sorted(modules.items()):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ff_otel"):
                found.extend(
                    f"{module}: from {node.module} import {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                )
    return found


def test_no_module_imports_another_modules_private_name() -> None:
    # A name shared between modules is part of a layer's interface: it is
    # public (no underscore), or it stays in its module.
    assert _private_imports(_modules()) == []
