"""Installed, not editable (issue 15): a wheel of kg, unpacked on its own, builds the
bundled guide and collections with `kg build` from any directory and answers as the
checkout does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_wheel_builds_the_bundled_sources_from_anywhere(tmp_path, bundled_store):
    from kg import facts

    wheels = tmp_path / "wheels"
    # from a copy of the tracked files: pip builds in the tree, and a build/ left there
    # from an older layout would put modules into the wheel that the checkout no longer has
    source = tmp_path / "source"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(source)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = wheels.glob("kg-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    # every module of the checkout ships (a package left out of pyproject.toml's list would not)
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "kg").rglob("*.py")}
    assert modules <= set(names), sorted(modules - set(names))
    for shipped in ("kg/data/amazon-acl-2024-guide.txt", "kg/data/anthology/2024.acl.xml.gz",
                    "kg/data/anthology/name_variants.yaml", "kg/rq/papers-by-author.rq",
                    "kg/ontology/shapes.ttl", "kg/py.typed"):
        assert shipped in names, shipped
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # a pure-Python wheel installs by unpacking
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("KG_STORE", None)

    def kg(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-P", "-m", "kg", *args], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=900, check=False)

    where = subprocess.run([sys.executable, "-P", "-c", "import kg; print(kg.__file__)"], cwd=elsewhere,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(site)), where  # the unpacked wheel, not the checkout
    built = kg("build", "--quiet")
    assert built.returncode == 0, built.stderr[-2000:]
    stats = kg("stats", "--format", "json")
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout) == facts.stats(bundled_store)
