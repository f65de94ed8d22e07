"""Fault injection (issue 13): `kg build` and `kg export -o` killed with SIGKILL at seeded
random moments. After each kill the store answers as before or as after the build,
never neither; the next build runs (the dead writer's lock is free) and sweeps what the
dead one left; an export target holds the old bytes or the new ones, whole."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kg import facts, remote
from kg import store as stores
from tests import test_remote
from tests.conftest import SEED
from tests.test_remote import _raw_graphs

oxigraph = test_remote.oxigraph  # the fixture: a fresh `oxigraph serve` on 127.0.0.1, always stopped

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
def full_store(tmp_path_factory) -> Path:
    """The store the build that is killed below makes when it finishes; not to be written."""
    store = tmp_path_factory.mktemp("full") / "store"
    result = subprocess.run([*KG, "build", "--quiet", "--store", str(store), str(SEED), str(TACL)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    return store


@pytest.fixture(scope="module")
def after_papers(full_store) -> int:
    """How many papers the build that is killed below makes when it finishes."""
    return _papers(full_store)


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


# --- a build or push onto an Oxigraph server, killed ---------------------------------------

def _kg_env(tmp_path: Path) -> dict[str, str]:
    """The environment for kg: a server's writers' lock in a folder of the test's own, which
    is also where kg runs (a build onto a server writes its review file there)."""
    (tmp_path / "cache").mkdir(exist_ok=True)
    return {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run([*KG, *args], capture_output=True, text=True, timeout=300, check=False, env=env,
                            cwd=env["XDG_CACHE_HOME"])
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _server_state(url: str) -> tuple[int, int, frozenset[str]]:
    """Papers and graphs as `kg stats` counts them, and the graphs the server holds
    (asked without kg's dataset) other than upload graphs."""
    counts = facts.stats(remote.RemoteStore.from_spec(url))
    graphs = frozenset(g for g in _raw_graphs(url + "/query") if not g.startswith(remote.UPLOAD_PREFIX))
    return counts["papers"], counts["graphs"], graphs


def _uploads(url: str) -> list[str]:
    return [g.value for g in remote.RemoteStore.from_spec(url).upload_graphs()]


def _killed_while_uploading(args: list[str], url: str, delay: float, env: dict[str, str]) -> tuple[int | None, bool]:
    """Run kg with `args`; once an upload graph shows on the server, SIGKILL it after
    `delay` s. Its exit code if it ended first, and whether an upload was seen."""
    process = subprocess.Popen([*KG, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                               cwd=env["XDG_CACHE_HOME"])
    try:
        seen, deadline = False, time.monotonic() + 120
        while not seen and process.poll() is None and time.monotonic() < deadline:
            seen = bool(_uploads(url))
            time.sleep(0.02)
        try:
            return process.wait(delay), seen
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            return None, seen
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


@pytest.mark.parametrize("command, seed", [("build", 0), ("push", 1), ("build", 2)])
def test_a_killed_build_or_push_onto_a_server_leaves_it_before_or_after(command, seed, oxigraph, seed_store_path,
                                                                       full_store, after_papers, tmp_path):
    env = _kg_env(tmp_path)
    assert _run(["push", "--quiet", "--store", oxigraph, "--from", str(seed_store_path)], env).returncode == 0
    before = _server_state(oxigraph)
    args = {"build": ["build", "--quiet", "--store", oxigraph, str(SEED), str(TACL)],
            "push": ["push", "--quiet", "--store", oxigraph, "--from", str(full_store), "--chunk", "1000"]}[command]
    delay = random.Random(200 + seed).uniform(0.0, 1.5)
    code, uploading = _killed_while_uploading(args, oxigraph, delay, env)
    assert code in (None, 0) and uploading, (code, delay)
    middle = _server_state(oxigraph)  # upload graphs a killed writer left are not counted
    # the same command again: the dead writer's lock is free, its upload graphs are dropped
    again = _run([*args, "--no-wait"], env)
    assert again.returncode == 0 and not again.stderr, again.stderr
    after = _server_state(oxigraph)
    assert after[0] == after_papers and after != before
    assert middle in (before, after), (middle, delay)
    assert _uploads(oxigraph) == []


def test_the_next_writer_drops_a_dead_writers_upload_graphs_never_a_live_ones(oxigraph, seed_store_path, tmp_path):
    env = _kg_env(tmp_path)
    push = ["push", "--quiet", "--no-wait", "--store", oxigraph, "--from", str(seed_store_path)]
    assert _run(push, env).returncode == 0
    before = _server_state(oxigraph)
    # a writer that holds the server's lock and has begun an upload, then dies without cleaning up
    code = ("import sys, time; import pyoxigraph as ox; from kg import remote, store\n"
            "with store.writer_lock(sys.argv[1]):\n"
            "    triple = ox.Triple(ox.NamedNode('urn:a'), ox.NamedNode('urn:b'), ox.Literal('c'))\n"
            "    remote.RemoteStore.from_spec(sys.argv[1]).upload(ox.NamedNode('urn:kg:upload:dead:0'), [triple])\n"
            "    print('held', flush=True); time.sleep(120)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, oxigraph], stdout=subprocess.PIPE, text=True, env=env,
                              cwd=env["XDG_CACHE_HOME"])
    try:
        assert holder.stdout.readline().strip() == "held"
        busy = _run(push, env)  # the upload is a live writer's: the next one may not touch it
        assert busy.returncode == 2 and len(busy.stderr.splitlines()) == 1, busy.stderr
        assert f"process {holder.pid}" in busy.stderr
        assert _uploads(oxigraph) == ["urn:kg:upload:dead:0"]
        assert _server_state(oxigraph) == before  # neither stats nor kg's graphs count it
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(30)
        holder.stdout.close()
    again = _run(push, env)
    assert again.returncode == 0 and not again.stderr, again.stderr
    assert _uploads(oxigraph) == [] and _server_state(oxigraph) == before

