"""Fault injection (issue 13): `kg build` and `kg export -o` killed with SIGKILL at seeded
random moments. After each kill the store answers as before or as after the build,
never neither; the next build runs (the dead writer's lock is free) and sweeps what the
dead one left; an export target holds the old bytes or the new ones, whole."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kg import store as stores
from tests.conftest import SEED

KG = [sys.executable, "-m", "kg.cli"]
TACL = Path(__file__).resolve().parents[1] / "data" / "anthology" / "2024.tacl.xml.gz"


def _papers(store: Path) -> int:
    result = subprocess.run([*KG, "stats", "--store", str(store), "--format", "json"], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["papers"]


def _killed_after(args: list[str], delay: float) -> int | None:
    """Run kg with `args`, SIGKILL it after `delay` s; its exit code if it ended first."""
    process = subprocess.Popen([*KG, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return process.wait(delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        return None


@pytest.fixture(scope="module")
def after_papers(tmp_path_factory) -> int:
    """How many papers the build that is killed below makes when it finishes."""
    store = tmp_path_factory.mktemp("full") / "store"
    result = subprocess.run([*KG, "build", "--quiet", "--store", str(store), str(SEED), str(TACL)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    return _papers(store)


@pytest.mark.parametrize("add", [False, True], ids=["build", "add"])
@pytest.mark.parametrize("seed", range(3))
def test_a_killed_build_leaves_the_old_store_or_the_new_one(seed, add, seed_store_path, after_papers, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(seed_store_path, store, symlinks=True)
    before = _papers(store)
    assert before != after_papers
    delay = random.Random(seed).uniform(0.2, 6.0)
    code = _killed_after(["build", *(["--add"] if add else []), "--quiet", "--store", str(store), str(SEED),
                          str(TACL)], delay)
    assert code in (None, 0), code
    assert _papers(store) in (before, after_papers), delay
    # the dead writer's lock is free and its half-written generation is swept by the next build
    result = subprocess.run([*KG, "build", "--quiet", "--no-wait", "--store", str(store), str(SEED)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    assert _papers(store) == before
    assert len(list(store.glob("data-*"))) == 1 and stores.exists(store)


@pytest.mark.parametrize("seed", range(3))
def test_a_killed_export_leaves_the_old_file_whole(seed, seed_store_path, tmp_path):
    target = tmp_path / "out.nq"
    target.write_bytes(b"the old export\n")
    delay = random.Random(100 + seed).uniform(0.05, 1.5)
    code = _killed_after(["export", "--store", str(seed_store_path), "-f", "nquads", "-o", str(target)], delay)
    data = target.read_bytes()
    assert code in (None, 0), code
    # the next export removes what the killed one left, and writes the whole file
    assert subprocess.run([*KG, "export", "--store", str(seed_store_path), "-f", "nquads", "-o", str(target)],
                          capture_output=True, timeout=120, check=False).returncode == 0
    whole = target.read_bytes()
    assert whole.endswith(b".\n") and len(whole) > 100_000
    assert data in (b"the old export\n", whole)  # killed: the old bytes, or the new ones whole
    assert not list(tmp_path.glob(".out.nq.*.tmp"))
