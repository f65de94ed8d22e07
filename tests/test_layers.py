"""The house follows the data flow (issue 14): pyproject.toml's import-linter contract
holds, function-level imports included, and every module of kg is in a layer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = [sys.executable, "-c", ("import sys; from importlinter.cli import lint_imports_command as c; "
                              "sys.exit(c(sys.argv[1:]))")]


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([*LINT, "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_layers_contract_is_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert f"{len(contracts)} kept, 0 broken" in result.stdout


def _lint_changed(tmp_path: Path, module: str, addition: str) -> subprocess.CompletedProcess:
    """The contracts run on a copy of kg with `addition` appended to `module`."""
    shutil.copytree(ROOT / "kg", tmp_path / "kg", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / "kg" / module).open("a") as changed:
        changed.write(addition)
    return _lint(tmp_path)


def test_an_import_against_the_flow_inside_a_function_breaks_it(tmp_path):
    result = _lint_changed(tmp_path, "validate/store.py",
                           "\n\ndef _late():\n    from kg import queries  # a later stage\n    return queries\n")
    assert result.returncode == 1, result.stdout[-2000:]
    assert "kg.validate.store -> kg.queries" in result.stdout


def test_an_import_against_kg_validates_own_order_breaks_it(tmp_path):
    """kg.validate's modules keep their own order (the second contract)."""
    result = _lint_changed(tmp_path, "validate/report.py",
                           "\n\ndef _late():\n    from kg.validate import store  # above the report\n    return store\n")
    assert result.returncode == 1, result.stdout[-2000:]
    assert "kg.validate.report -> kg.validate.store" in result.stdout


def test_a_module_in_no_layer_breaks_it(tmp_path):
    result = _lint_changed(tmp_path, "helpers.py", '"""A module nobody placed."""\n')
    assert result.returncode == 1 and "kg.helpers" in result.stdout, result.stdout[-2000:]


def test_the_library_api_is_documented_sorted_and_lazy():
    code = ("import sys, kg; heavy = [m for m in ('rdflib', 'pyoxigraph', 'pyshacl', 'networkx') "
            "if m in sys.modules]; print(heavy); import kg.cli; "
            "print([n for n in kg.__all__ if not callable(getattr(kg, n))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, timeout=120).stdout.splitlines()
    assert out == ["[]", "[]"]  # nothing heavy on `import kg`; every name a function or class
    import kg

    assert kg.__all__ == sorted(kg.__all__) and set(kg.__all__) == set(kg._OWNERS)
    for name in kg.__all__:
        assert name in kg.__doc__, f"kg's docstring does not document {name}"


def _import_graph(root: Path):
    """kg's imports as Python runs them: `from kg.server import about` imports the
    package kg.server (its __init__) as well as kg.server.about; function-level too."""
    import ast

    import networkx as nx

    def name_of(path: Path) -> str:
        parts = path.relative_to(root).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    modules = {name_of(p): p for p in (root / "kg").rglob("*.py")}
    graph = nx.DiGraph()
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            graph.add_edges_from((module, t) for t in targets if t in modules and t != module)
    return graph


def _cycles(root: Path) -> list[list[str]]:
    import networkx as nx

    return [sorted(c) for c in nx.strongly_connected_components(_import_graph(root)) if len(c) > 1]


def test_no_cycle_through_a_package_either(tmp_path):
    """The layers contracts do not see a package's __init__ importing a module that
    imports the package back (kg.server -> kg.server.http -> kg.server): this does."""
    assert _cycles(ROOT) == []
    shutil.copytree(ROOT / "kg", tmp_path / "kg", ignore=shutil.ignore_patterns("__pycache__"))
    with (tmp_path / "kg" / "server" / "http.py").open("a") as module:
        module.write("\n\ndef _late():\n    from kg.server import about\n    return about\n")
    assert ["kg.server", "kg.server.http"] == _cycles(tmp_path)[0][:2]
