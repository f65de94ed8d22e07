"""Safety under real use (issue 13): one writer at a time, a server that answers only
its own names, bounds a query's memory and imports only kg's code, and queries too
deeply nested to parse are refused, not crashed on.

Real processes throughout: `kg` subprocesses on copies of the seed store, `kg serve`
on 127.0.0.1; every process started here is stopped here, every wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from kg import store as stores
from tests.conftest import SEED
from tests.test_server import call, get, running

KG = [sys.executable, "-m", "kg.cli"]
DEEP = "SELECT * WHERE { " + "(" * 5000 + "1" + ")" * 5000 + " }"


def _kg(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*KG, *args], check=False, capture_output=True, text=True, timeout=timeout, cwd=cwd)


@contextmanager
def _holding(store: Path):
    """Another process holding the store's writers' lock until it is killed."""
    code = ("import sys, time; from pathlib import Path; from kg import store\n"
            "with store.writer_lock(Path(sys.argv[1])):\n"
            "    print('held', flush=True); time.sleep(120)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(store)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(10)
        holder.stdout.close()


def _copy(seed_store_path: Path, tmp_path: Path) -> Path:
    store = tmp_path / "store"
    shutil.copytree(seed_store_path, store, symlinks=True)
    return store


def _generations(store: Path) -> list[str]:
    return sorted(p.name for p in store.glob("data-*"))


# --- one writer at a time ----------------------------------------------------------------

def test_a_busy_store_makes_no_wait_exit_2_naming_the_holder_and_readers_go_on(seed_store_path, tmp_path):
    store = _copy(seed_store_path, tmp_path)
    before = _generations(store)
    with _holding(store) as holder:
        result = _kg("build", "--store", str(store), "--no-wait", str(SEED))
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and f"process {holder.pid}" in lines[0] and "since" in lines[0], lines
        assert "Traceback" not in result.stderr
        # readers never take the lock
        stats = _kg("stats", "--store", str(store), "--format", "json")
        assert stats.returncode == 0, stats.stderr
        assert json.loads(stats.stdout)["papers"] == 33
    assert _generations(store) == before


@pytest.mark.slow  # two builds, one waiting for the other's lock: 5 s
def test_a_second_writer_waits_and_a_dead_holders_lock_is_taken_over(seed_store_path, tmp_path):
    store = _copy(seed_store_path, tmp_path)
    with _holding(store) as holder:
        waiting = subprocess.Popen([*KG, "build", "--store", str(store), str(SEED)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(5)
            assert waiting.poll() is None, waiting.communicate()  # still waiting, as it should
            os.kill(holder.pid, signal.SIGKILL)  # the holder dies without letting go
            out, err = waiting.communicate(timeout=300)
        finally:
            if waiting.poll() is None:
                waiting.kill()
                waiting.communicate()
    assert waiting.returncode == 0, err
    assert f"waiting for process {holder.pid}" in err
    assert "Built" in out
    assert len(_generations(store)) == 1 and stores.exists(store)


def test_two_builds_at_once_both_finish_and_leave_one_live_store(tmp_path):
    store = tmp_path / "store"
    first = subprocess.Popen([*KG, "build", "--store", str(store), str(SEED)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    second = subprocess.Popen([*KG, "build", "--store", str(store), str(SEED)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = [p.communicate(timeout=600) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, results
    assert len(_generations(store)) == 1 and stores.exists(store)
    stats = _kg("stats", "--store", str(store), "--format", "json")
    assert json.loads(stats.stdout)["papers"] == 33


# --- the server --------------------------------------------------------------------------

def test_only_the_servers_own_names_are_answered(seed_store_path):
    query = "/sparql?query=ASK%7B%7D"
    with running(seed_store_path, workers=1, allow_hosts=("kg.internal",)) as srv:
        port = srv.server_address[1]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "kg.internal", "LOCALHOST."):
            assert call(srv, query, headers={"Host": host}).status == 200, host
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "kg.internal.evil"):
            answer = call(srv, query, headers={"Host": host})
            assert answer.status == 403, host
            assert "--allow-host" in answer.json()["error"]


def test_a_query_past_the_memory_limit_is_stopped_and_the_next_is_answered(seed_store_path):
    greedy = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f LIMIT 1"
    with running(seed_store_path, workers=1, timeout=60, max_memory=400 << 20) as srv:
        start = time.monotonic()
        answer = get(srv, greedy)
        assert answer.status == 503, answer.body
        assert "memory" in answer.json()["error"] and "--max-memory" in answer.json()["error"]
        assert answer.headers["X-KG-Memory-Limit"] == str(400 << 20)
        assert time.monotonic() - start < 55  # stopped by the memory limit, not the time limit
        assert get(srv, "ASK {}").status == 200  # a fresh worker took its place


def test_workers_import_only_kgs_code(seed_store_path, tmp_path):
    """A json.py in the directory `kg serve` runs from is not imported by its workers."""
    (tmp_path / "json.py").write_text("raise ImportError('the json.py beside the store was imported')\n")
    server = subprocess.Popen([sys.executable, "-P", "-m", "kg.cli", "serve", "--port", "0", "--workers", "1",
                               "--store", str(seed_store_path)], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = server.stderr.readline()
            if not line:
                break
            found = re.search(r"at (http://127\.0\.0\.1:\d+)/sparql", line)
            url = found and found[1]
        assert url, "kg serve did not start"
        with urllib.request.urlopen(f"{url}/sparql?query=ASK%7B%7D", timeout=30) as r:
            assert r.status == 200 and json.loads(r.read())["boolean"] is True
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stderr.close()


# --- queries nested too deep to parse --------------------------------------------------------

def test_a_deeply_nested_query_is_refused_not_crashed_on(seed_store_path):
    result = _kg("sparql", "--store", str(seed_store_path), DEEP)
    assert result.returncode == 2, (result.returncode, result.stderr[-300:])
    assert len(result.stderr.strip().splitlines()) == 1 and "nest" in result.stderr
    with running(seed_store_path, workers=1) as srv:
        answer = get(srv, DEEP)
        assert answer.status == 400 and "nest" in answer.json()["error"]
        assert get(srv, "ASK {}").status == 200


# --- hostile and broken files for kg validate ------------------------------------------------

BOMB = """<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://e/">
 <rdf:Description rdf:about="http://e/x"><ex:p>&e;</ex:p></rdf:Description>
</rdf:RDF>
"""


def _validate_fails_in_one_line(path: Path, *expected: str) -> str:
    result = _kg("validate", str(path), timeout=120)
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, lines
    for word in expected:
        assert word in lines[0], lines[0]
    return lines[0]


def test_an_entity_bomb_is_refused_before_it_expands(tmp_path):
    bomb = tmp_path / "bomb.rdf"
    bomb.write_text(BOMB)
    assert bomb.stat().st_size < 2000  # expanded: 100 x 30^4 bytes = 81 MB, and more with one line more
    _validate_fails_in_one_line(bomb, "bomb.rdf", "ENTITY")


def test_unreadable_paths_are_one_line_each(tmp_path):
    _validate_fails_in_one_line(tmp_path / "missing.ttl", "missing.ttl", "no such file")
    loop = tmp_path / "loop.ttl"
    loop.symlink_to(tmp_path / "loop2.ttl")
    (tmp_path / "loop2.ttl").symlink_to(loop)
    _validate_fails_in_one_line(loop, "loop of symbolic links")
    _validate_fails_in_one_line(tmp_path, "is a directory")
    odd = tmp_path / "two\nlines.ttl"
    odd.write_text("<http://e/a> <http://e/b> .\n")  # not a triple
    _validate_fails_in_one_line(odd, "two\\nlines.ttl", "not valid RDF")
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.ttl"
        locked.write_text("")
        locked.chmod(0)
        _validate_fails_in_one_line(locked, "permission denied")


def _build_fails_in_one_line(store: Path, path: Path, *expected: str) -> str:
    result = _kg("build", "--quiet", "--store", str(store), str(path), timeout=120)
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, lines
    for word in expected:
        assert word in lines[0], lines[0]
    # refused before anything was written: no generation (the writers' lock file may be there)
    assert not (store / stores.CURRENT).exists() and not list(store.glob("data-*"))
    return lines[0]


def test_unreadable_sources_of_a_build_are_one_line_each(tmp_path):
    store = tmp_path / "store"
    _build_fails_in_one_line(store, tmp_path / "missing.txt", "missing.txt", "no such file")
    loop = tmp_path / "loop.ttl"
    loop.symlink_to(tmp_path / "loop2.ttl")
    (tmp_path / "loop2.ttl").symlink_to(loop)
    _build_fails_in_one_line(store, loop, "loop.ttl", "loop of symbolic links")
    odd = tmp_path / "two\nlines.ttl"
    odd.write_text("<http://e/a> <http://e/b> .\n")
    _build_fails_in_one_line(store, odd, "two\\nlines.ttl:1", "not valid RDF")
    if os.geteuid() != 0:
        locked = tmp_path / "locked.txt"
        locked.write_text("")
        locked.chmod(0)
        _build_fails_in_one_line(store, locked, "permission denied")


def test_a_literal_over_16_mb_is_refused_in_one_line_not_a_memory_error(tmp_path):
    big = tmp_path / "big.nt"
    with big.open("w") as out:  # one literal of 17 MB: over Oxigraph's limit for a term
        out.write('<http://e/s> <http://e/p> "' + "a" * (17 << 20) + '" .\n')
    _validate_fails_in_one_line(big, "big.nt", "over 16 MB")
    _build_fails_in_one_line(tmp_path / "store", big, "big.nt", "over 16 MB", "leave the file out")


# --- leftovers of a killed run ------------------------------------------------------------------

def test_an_export_cleans_up_after_a_killed_one_and_not_after_a_live_one(seed_store_path, tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                              capture_output=True, text=True).stdout.strip()
        killed = tmp_path / f".out.ttl.{dead}-0badc0de.tmp"  # what a killed kg export -o out.ttl leaves
        older = tmp_path / ".out.ttl.0badc0de.tmp"  # the name before pids were in it
        live = tmp_path / f".out.ttl.{sleeper.pid}-0badc0de.tmp"  # an export still writing
        for leftover in (killed, older, live):
            leftover.write_bytes(b"")
        result = _kg("export", "--store", str(seed_store_path), "-o", str(tmp_path / "out.ttl"))
        assert result.returncode == 0, result.stderr
        assert not killed.exists() and not older.exists() and live.exists()
        assert (tmp_path / "out.ttl").stat().st_size > 0
    finally:
        sleeper.kill()
        sleeper.wait()
