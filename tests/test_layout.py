"""The package's rooms: no import circles, the shared foundations import nothing above them, a small public API."""

from __future__ import annotations

import ast
from pathlib import Path

import perfwork as pw

PACKAGE = Path(pw.__file__).parent
FOUNDATIONS = {"perfwork.stats", "perfwork.spc", "perfwork.periods", "perfwork.vocab", "perfwork._paths", "perfwork.errors",
               "perfwork._version"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """Every perfwork module -> the perfwork modules it imports (anywhere in the file, lazy imports too)."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_pkg = path.name == "__init__.py"
        here = name if is_pkg else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name.startswith("perfwork")}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - node.level + 1]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                if not mod.startswith("perfwork"):
                    continue
                subs = {f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in files}
                edges |= subs or {mod}
                if len(subs) < len(node.names):
                    edges.add(mod)
        graph[name] = {e for e in edges if e in files and e != name}
    return graph


def test_no_import_circles():
    graph = _graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(n):] + [n]))
            if n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_foundations_import_nothing_above_them():
    graph = _graph()
    for m, edges in graph.items():
        if any(m == f or m.startswith(f + ".") for f in FOUNDATIONS):
            above = {e for e in edges if not any(e == f or e.startswith(f + ".") for f in FOUNDATIONS)}
            assert not above, f"{m} imports {sorted(above)}, which sit above it"


def test_public_api_is_small_and_complete():
    assert 15 <= len(pw.__all__) <= 30
    for name in pw.__all__:
        assert hasattr(pw, name), name
    assert pw.Assessment.__module__ == "perfwork.assessment"


def test_no_public_name_shadows_a_module():
    """``import perfwork.x as m`` must give the module x: no function of the API is named like a module."""
    import importlib
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules([str(PACKAGE)])}
    for name in modules:
        assert importlib.import_module(f"perfwork.{name}") is getattr(pw, name, None) or not hasattr(pw, name), name
    assert {"assess", "indicators"} <= set(pw.__all__) and not {"assess", "indicators"} & modules
