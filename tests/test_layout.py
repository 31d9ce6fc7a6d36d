"""The shape of app/: its import graph has no cycle, and the database and OGC layers never import
telemetry (app/otel hands them what they need through the factory)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INDEPENDENT_OF_TELEMETRY = ("app.db", "app.ogc")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.AST, modules: set[str]) -> set[str]:
    """The app modules one import statement names (`from app import ogc` names app.ogc)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        named = {f"{node.module}.{alias.name}" for alias in node.names}
        found = {name for name in named if name in modules}
        return found or ({node.module} & modules)
    return set()


def import_graph() -> dict[str, set[str]]:
    paths = sorted((ROOT / "app").rglob("*.py"))
    modules = {_module_name(path) for path in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        tree = ast.parse(path.read_text(), filename=str(path))
        imported: set[str] = set()
        for node in ast.walk(tree):
            imported |= _imported(node, modules)
        graph[_module_name(path)] = imported - {_module_name(path)}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path [a, b, ..., a], or None."""
    state: dict[str, str] = {}  # "open" while on the stack, "done" after

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module, [module])):
            return cycle
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        for target in graph.get(stack.pop(), ()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def test_the_checks_see_a_cycle_and_an_import() -> None:
    graph = {"app.a": {"app.b"}, "app.b": {"app.c"}, "app.c": {"app.a"}}
    assert find_cycle(graph) == ["app.a", "app.b", "app.c", "app.a"]
    assert reachable(graph, "app.a") == {"app.a", "app.b", "app.c"}
    assert "app.otel.telemetry" in import_graph()["app.factory"]


def test_app_has_no_import_cycle() -> None:
    assert find_cycle(import_graph()) is None


def test_db_and_ogc_never_import_telemetry() -> None:
    graph = import_graph()
    for module in graph:
        if module.startswith(INDEPENDENT_OF_TELEMETRY):
            into_otel = sorted(m for m in reachable(graph, module) if m.startswith("app.otel"))
            assert not into_otel, f"{module} imports (through others) {into_otel}"


def test_every_package_says_what_it_owns() -> None:
    for package in ("app", "app.db", "app.ogc", "app.otel", "app.routes"):
        init = ROOT / package.replace(".", "/") / "__init__.py"
        assert ast.get_docstring(ast.parse(init.read_text())), f"{package} has no docstring"
