"""The code's shape (docs/architecture.md): imports flow one way, routes stay apart, app/ has no TensorFlow.

The import graph is read from the source with ``ast`` (nothing is imported), so the checks are fast and
see exactly what a reader sees.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Imported only inside the functions that need them (slow to import, or optional), never at module level.
LAZY_ONLY = {"tensorflow", "tf_keras", "tensorflowjs", "matplotlib", "playwright"}
#: The server must never import these, anywhere.
NOT_IN_APP = {"training", "tensorflow", "tf_keras", "tensorflowjs"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _nodes(tree: ast.AST, *, in_functions: bool, inside: bool = False) -> Iterator[ast.AST]:
    """The nodes that run at import (``in_functions`` False) or only when a function is called (True)."""
    for node in ast.iter_child_nodes(tree):
        within = inside or isinstance(node, _FUNCTIONS)
        if within == in_functions:
            yield node
        yield from _nodes(node, in_functions=in_functions, inside=within)


def _imports(
    name: str, path: Path, *, scope: str, known: set[str] | None = None
) -> Iterator[tuple[str, list[str]]]:
    """(imported module, names taken from it) for the imports of a file; relative imports resolved.

    ``scope``: ``"module"`` (run at import), ``"function"`` (inside functions) or ``"all"``.
    ``from pkg import sub`` where ``pkg.sub`` is in ``known`` counts as importing the module ``pkg.sub``.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = ast.walk(tree) if scope == "all" else _nodes(tree, in_functions=scope == "function")
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [alias.name for alias in node.names]
            submodules = [n for n in names if known and f"{base}.{n}" in known]
            for sub in submodules:
                yield f"{base}.{sub}", []
            if len(submodules) < len(names):
                yield base, [n for n in names if n not in submodules]


def _import_graph(package: str) -> dict[str, set[str]]:
    """Module → the package's own modules it imports at module level."""
    modules = _modules(package)
    known = set(modules)
    return {
        name: {target for target, _ in _imports(name, path, scope="module", known=known) if target in known}
        for name, path in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize(
    ("package", "expected"),
    [
        ("training", {"training.runs", "training.predict", "training.cli", "training.trust.ood"}),
        ("app", {"app.fitting", "app.doseresponse.fit", "app.routes.fit", "app.routes.report"}),
    ],
)
def test_imports_flow_one_way(package: str, expected: set[str]) -> None:
    graph = _import_graph(package)
    assert expected <= set(graph)
    assert _cycle(graph) is None, f"import cycle: {' → '.join(_cycle(graph) or [])}"


def test_routes_never_import_each_other() -> None:
    """Each route module is a thin adapter over the layers below it (app/fitting.py, app/report.py …)."""
    routes = {name for name in _modules("app") if name.startswith("app.routes.")}
    crossing = [
        f"{name} → {target}"
        for name in sorted(routes)
        for target, _ in _imports(name, _modules("app")[name], scope="all", known=routes)
        if target in routes and target != name
    ]
    assert len(routes) >= 6
    assert not crossing, f"routes importing other routes: {crossing}"


def _imports_of(package: str, scope: str, roots: set[str]) -> list[str]:
    """``"module: imported"`` for every import of a top-level package in ``roots``, in ``scope``."""
    return [
        f"{name}: {target}"
        for name, path in _modules(package).items()
        for target, _ in _imports(name, path, scope=scope)
        if target.split(".")[0] in roots
    ]


def test_training_imports_its_own_modules_at_the_top() -> None:
    """The package's own imports sit at module level, where a reader looks for them."""
    late = _imports_of("training", "function", {"training"})
    assert not late, f"imports of training inside functions: {late}"


def test_no_private_name_is_imported_across_modules() -> None:
    private = [
        f"{name}: {target}.{imported}"
        for name, path in _modules("training").items()
        for target, names in _imports(name, path, scope="all")
        for imported in names
        if target.split(".")[0] == "training" and imported.startswith("_") and imported != "__version__"
    ]
    assert not private, f"private names imported from another module: {private}"


@pytest.mark.parametrize("package", ["training", "app"])
def test_heavy_libraries_are_imported_lazily(package: str) -> None:
    eager = _imports_of(package, "module", LAZY_ONLY)
    assert not eager, f"heavy imports at module level (python -m training --help would load them): {eager}"


def test_the_server_never_imports_training_or_tensorflow() -> None:
    found = _imports_of("app", "all", NOT_IN_APP)
    assert not found, f"app/ imports {found}"
