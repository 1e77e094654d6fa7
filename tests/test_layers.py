"""The architecture as a test: layers import only downward, and no module import forms a cycle.

cli -> api -> outputs -> analysis -> model -> inputs -> base (errors, paths, files). Every import counts,
also those inside functions (an import deferred to call time is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "forecast"
RANK = {"errors": 0, "paths": 0, "files": 0, "version": 0, "safe_text": 0, "memo": 0,
        "inputs": 1, "model": 2, "analysis": 3, "outputs": 4,
        "api": 5,
        "cli": 6, "__init__": 7, "__main__": 7}


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports() -> dict[str, set[str]]:
    modules = {_module(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                subs = [f"{base}.{a.name}" for a in node.names]
                # `from forecast import api` imports the module forecast.api, not the package's top
                targets = subs if all(s in modules for s in subs) else [base, *subs]
            for t in targets:
                if t in modules and t != mod:
                    graph[mod].add(t)
    return graph


def test_imports_only_go_downward():
    bad = []
    for mod, deps in imports().items():
        for d in deps:
            if d == "forecast" and _layer(mod) != "__init__":
                bad.append(f"{mod} -> forecast (the package top: import the module you need)")
            elif RANK[_layer(d)] > RANK[_layer(mod)]:
                bad.append(f"{mod} ({_layer(mod)}) -> {d} ({_layer(d)})")
    assert not bad, "upward imports:\n" + "\n".join(sorted(bad))


def test_no_import_cycle():
    graph = imports()
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycles.append(" -> ".join(stack[stack.index(d):] + [m, d]) if d in stack else f"{m} -> {d}")
            elif d not in state:
                visit(d, [*stack, m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_test_sees_a_planted_upward_import(tmp_path, monkeypatch):
    """Decisive: a model module importing the CLI is caught (guards against a parser that finds nothing)."""
    graph = imports()
    assert sum(len(v) for v in graph.values()) > 40, "the import parser found almost nothing"
    assert "forecast.inputs.data" in graph["forecast.model.build"]
