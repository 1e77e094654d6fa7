"""The architecture as a test: layers import only downward, no module import forms a cycle, and each layer's
``__init__`` names every module it holds.

cli -> api (and the use cases it re-exports) -> outputs -> analysis -> model -> inputs -> base (errors, paths, home,
files, ...). Every import counts, also those inside functions (an import deferred to call time is still a
dependency). The CLI parses and prints: it calls the API, never the layers below it (only the configuration's
parsing). Each check is shown to fail on a copy of the package with the fault planted in it.
"""

from __future__ import annotations

import ast
import functools
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "forecast"
RANK = {"errors": 0, "paths": 0, "files": 0, "publication": 0, "version": 0, "safe_text": 0, "memo": 0, "home": 0,
        "parallel": 0,
        "inputs": 1, "model": 2, "analysis": 3, "outputs": 4,
        "api": 5, "usecases": 5,
        "cli": 6, "__init__": 7, "__main__": 7}


def _module(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


@functools.cache
def _import_statements(source: str) -> tuple[tuple[str | None, int, tuple[str, ...]], ...]:
    """Every import of a module's source, in functions too: (``from`` module or None, level, names)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.append((None, 0, tuple(a.name for a in node.names)))
        elif isinstance(node, ast.ImportFrom):
            out.append((node.module or "", node.level, tuple(a.name for a in node.names)))
    return tuple(out)


def imports(root: Path = ROOT) -> dict[str, set[str]]:
    modules = {_module(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for base, level, names in _import_statements(path.read_text()):
            targets = []
            if base is None:
                targets = list(names)
            else:
                if level:
                    anchor = pkg.split(".")[: len(pkg.split(".")) - level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                subs = [f"{base}.{a}" for a in names]
                # `from forecast import api` imports the module forecast.api, not the package's top
                targets = subs if all(s in modules for s in subs) else [base, *subs]
            for t in targets:
                if t in modules and t != mod:
                    graph[mod].add(t)
    return graph


def upward_imports(root: Path = ROOT) -> list[str]:
    bad = []
    for mod, deps in imports(root).items():
        for d in deps:
            if d == "forecast" and _layer(mod) != "__init__":
                bad.append(f"{mod} -> forecast (the package top: import the module you need)")
            elif RANK[_layer(d)] > RANK[_layer(mod)]:
                bad.append(f"{mod} ({_layer(mod)}) -> {d} ({_layer(d)})")
    return sorted(bad)


def import_cycles(root: Path = ROOT) -> list[str]:
    graph = imports(root)
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
    return cycles


def unlisted_modules(root: Path = ROOT) -> list[str]:
    """Modules (and subpackages, and the JavaScript the package inlines) that their package's ``__init__``
    docstring does not name as ``name``: a newcomer reads that docstring to find where a thing lives."""
    bad = []
    for init in sorted(root.rglob("__init__.py")):
        pkg = init.parent
        if pkg == root:
            continue  # the package top documents the public API, not its modules
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        names = [p.stem for p in pkg.glob("*.py") if p.stem != "__init__"]
        names += [p.name for p in pkg.glob("*.js")] + [p.name for p in pkg.iterdir() if (p / "__init__.py").is_file()]
        bad += [f"{init.relative_to(root.parent)}: its docstring does not name ``{n}``" for n in sorted(names)
                if f"``{n}``" not in doc and f"``{n}/``" not in doc]
    return bad


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "forecast"
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def test_imports_only_go_downward():
    bad = upward_imports()
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_import_cycle():
    cycles = import_cycles()
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_every_layer_names_its_modules():
    bad = unlisted_modules()
    assert not bad, "add each module to its package's docstring, with what it holds:\n" + "\n".join(bad)


def test_the_checks_see_a_planted_upward_import_a_cycle_and_an_unlisted_module(tmp_path):
    """Decisive: in a copy of the package, a model module importing the CLI inside a function, an inputs module
    importing a module that imports it back, and a new analysis module nobody listed are each reported (a parser
    that finds nothing, or a checker that looks at the wrong names, fails here)."""
    graph = imports()
    assert sum(len(v) for v in graph.values()) > 40, "the import parser found almost nothing"
    assert "forecast.inputs.data" in graph["forecast.model.build"]
    copy = _copy(tmp_path)
    assert upward_imports(copy) == [] and import_cycles(copy) == [] and unlisted_modules(copy) == []
    build = copy / "model" / "build.py"
    build.write_text(build.read_text() + "\n\ndef _planted():\n    from forecast.cli import commands  # noqa\n")
    assert upward_imports(copy) == ["forecast.model.build (model) -> forecast.cli.commands (cli)"]
    readers = copy / "inputs" / "readers.py"
    readers.write_text(readers.read_text() + "\nfrom forecast.inputs import load  # noqa\n")
    assert any(c.startswith("forecast.inputs.load -> ") or "forecast.inputs.readers -> forecast.inputs.load" in c
               for c in import_cycles(copy)), import_cycles(copy)
    (copy / "analysis" / "planted.py").write_text('"""A module nobody listed."""\n')
    assert unlisted_modules(copy) == ["forecast/analysis/__init__.py: its docstring does not name ``planted``"]


# what the command line may import besides the API: the errors, its own modules, and the parsing of its arguments
# and of the configuration (Hydra's overrides, the settings' schema for --help, dates and the project's folders)
CLI_MAY_IMPORT = ("forecast.api", "forecast.errors", "forecast.cli", "forecast.inputs.config", "forecast.inputs.schema",
                  "forecast.inputs.readers", "forecast.paths")


def cli_bypasses(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{mod} -> {d}" for mod, deps in graph.items() if _layer(mod) == "cli" for d in deps
                  if not any(d == m or d.startswith(m + ".") for m in CLI_MAY_IMPORT))


def test_the_cli_goes_through_the_api():
    """Every subcommand's work is a function of ``forecast.api`` (a notebook can do what the CLI does)."""
    bad = cli_bypasses(imports())
    assert not bad, "the CLI calls below the API:\n" + "\n".join(bad)


def test_the_cli_rule_sees_a_bypass():
    """Decisive: a CLI module importing the model directly is reported."""
    graph = imports()
    graph["forecast.cli.check"] = {*graph["forecast.cli.check"], "forecast.model.fit"}
    assert cli_bypasses(graph) == ["forecast.cli.check -> forecast.model.fit"]


def test_no_api_name_shadows_a_module():
    """The package top re-exports the API: a name there that is also a module's (``forecast.paths``) would make
    ``from forecast import paths`` return the function, not the module."""
    import forecast

    modules = {p.stem for p in ROOT.glob("*.py")} | {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert modules >= {"paths", "files", "api", "cli"}  # the names the check compares with are there
    assert not set(forecast.__all__) & modules, set(forecast.__all__) & modules
