"""The bad-input corpus (tests/fixtures/bad-input, issue 13): each file through the
command that reads it gives exit 2 and one `kg: error:` line naming the file (and
line, where there is one) and what to do; the store it was given stays as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kg import store as stores

CORPUS = Path(__file__).resolve().parent / "fixtures" / "bad-input"
# (command, file, what the one line must say)
CASES = [
    ("build", "no-papers-guide.txt", ["no-papers-guide.txt:3", "no paper found", "expected a title line"]),
    ("build", "not-utf8-guide.txt", ["not-utf8-guide.txt:3", "0xff is not UTF-8", "re-save"]),
    ("build", "syntax-error.ttl", ["syntax-error.ttl:3", "not valid RDF", "fix the file"]),
    ("build", "truncated.xml", ["truncated.xml:", "malformed XML", "fix the file"]),
    ("build", "entity-bomb.rdf", ["entity-bomb.rdf", "unknown source kind", "expected"]),
    ("validate", "syntax-error.ttl", ["syntax-error.ttl:3", "not valid RDF", "fix the file"]),
    ("validate", "entity-bomb.rdf", ["entity-bomb.rdf", "ENTITY", "remove the DOCTYPE"]),
    ("sparql", "syntax-error.rq", ["SPARQL syntax error", "2:1"]),
    ("sparql", "update.rq", ["updates are refused"]),
    ("sparql", "service.rq", ["SERVICE is refused", "--allow-service"]),
    ("sparql", "deep.rq", ["nests 5001", "flatten it"]),
    ("sparql", "not-utf8.rq", ["not-utf8.rq", "0xff", "not UTF-8"]),
]


def test_every_file_of_the_corpus_has_a_case():
    assert sorted({name for _c, name, _w in CASES}) == sorted(p.name for p in CORPUS.iterdir())


@pytest.mark.parametrize("command, name, words", CASES, ids=[f"{c}-{n}" for c, n, _w in CASES])
def test_bad_input_is_one_line_and_exit_2(command, name, words, seed_store_path, tmp_path):
    import shutil

    store = tmp_path / "store"
    shutil.copytree(seed_store_path, store, symlinks=True)
    before = os.readlink(store / stores.CURRENT)
    path = str(CORPUS / name)
    args = {"build": ["build", "--quiet", "--store", str(store), path],
            "validate": ["validate", path],
            "sparql": ["sparql", "--store", str(store), "-f", path]}[command]
    result = subprocess.run([sys.executable, "-m", "kg.cli", *args], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2, (result.returncode, result.stderr[-400:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kg: error: "), lines
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert os.readlink(store / stores.CURRENT) == before
    assert sorted(p.name for p in store.glob("data-*")) == [before]
