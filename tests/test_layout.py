"""Where code lives: no import cycle, no journey importing another journey, and every
function-local import of the project's own modules says what it saves (issue 23)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("app", "chalicelib", "local", "infra", "bench")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    found = {"app": ROOT / "app.py"}
    for package in PACKAGES[1:]:
        for path in (ROOT / package).rglob("*.py"):
            found[_module_name(path)] = path
    return found


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported project module, line, inside a function) for every import that runs."""
    tree = ast.parse(path.read_text())
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        if _type_checking_only(node):
            return
        if isinstance(node, ast.Import):
            found.extend((a.name, node.lineno, in_function) for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if target in known:
                    found.append((target, node.lineno, in_function))
                elif node.module in known:
                    found.append((node.module, node.lineno, in_function))
        for child in ast.iter_child_nodes(node):
            visit(child, in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(tree, False)
    return found


def _graph() -> dict[str, set[str]]:
    sources = _sources()
    known = set(sources)
    return {name: {t for t, _, _ in _imports(path, known) if t != name} for name, path in sources.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := dfs(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := dfs(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle() -> None:
    graph = _graph()
    assert len(graph) > 40  # the whole project was read
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_a_cycle_would_be_found() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_journey_imports_another_journey() -> None:
    journeys = {name for name in _graph() if name.startswith("chalicelib.flows.")}
    assert {"chalicelib.flows.registration", "chalicelib.flows.sessions"} <= journeys
    for name, imported in _graph().items():
        if name in journeys:
            assert not (imported & journeys), f"{name} imports {sorted(imported & journeys)}"
    # and nothing below the journeys reaches up into them (only the routes do)
    for name, imported in _graph().items():
        if name.startswith("chalicelib.") and not name.startswith("chalicelib.flows"):
            assert not (imported & journeys) or name == "chalicelib.warm", f"{name} imports a journey"


def test_function_local_imports_of_own_modules_say_why() -> None:
    """``# cold start``: what a Lambda container saves; ``# import order``: the dev stack and
    benchmarks set the environment (the emulator's endpoint) before the app is imported."""
    sources = _sources()
    known = set(sources)
    unexplained = []
    for path in sources.values():
        lines = path.read_text().splitlines()
        for _, line, in_function in _imports(path, known):
            if in_function and not any(why in lines[line - 1] for why in ("# cold start", "# import order")):
                unexplained.append(f"{path.relative_to(ROOT)}:{line}")
    assert not unexplained, unexplained
