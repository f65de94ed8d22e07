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


def test_an_import_against_the_flow_inside_a_function_breaks_it(tmp_path):
    shutil.copytree(ROOT / "kg", tmp_path / "kg", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / "kg" / "validate" / "store.py").open("a") as module:
        module.write("\n\ndef _late():\n    from kg import queries  # a later stage\n    return queries\n")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "kg.validate.store -> kg.queries" in result.stdout


def test_an_import_against_kg_validates_own_order_breaks_it(tmp_path):
    """kg.validate's modules keep their own order (the second contract)."""
    shutil.copytree(ROOT / "kg", tmp_path / "kg", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / "kg" / "validate" / "report.py").open("a") as module:
        module.write("\n\ndef _late():\n    from kg.validate import store  # above the report\n    return store\n")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "kg.validate.report -> kg.validate.store" in result.stdout


def test_a_module_in_no_layer_breaks_it(tmp_path):
    shutil.copytree(ROOT / "kg", tmp_path / "kg", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "kg" / "helpers.py").write_text('"""A module nobody placed."""\n')
    result = _lint(tmp_path)
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
