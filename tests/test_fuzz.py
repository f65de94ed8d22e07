"""Seeded fuzzing of both readers through `kg build` (issue 13): broken copies of the seed
guide and of the 2024 TACL collection. Whatever the damage, the build ends with exit 0
(read), 1 (read, and SHACL says what is wrong) or 2 (one `kg: error:` line naming the
file), never a traceback, and a failed build leaves the store it had.

KG_FUZZ_CASES=N runs N cases of each reader (default 12).
"""

from __future__ import annotations

import gzip
import os
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg import store as stores
from kg.cli import main
from tests.conftest import SEED

CASES = int(os.environ.get("KG_FUZZ_CASES", "12"))
TACL = Path(__file__).resolve().parents[1] / "data" / "anthology" / "2024.tacl.xml.gz"
JUNK = ["\x00", "\ufeff", "<", "&", "&amp", "*", ",", ";", "\t", "\u202e", "王", "é", "\r", "  ", "\\", '"']


def _mutate(text: str, rng: random.Random, xml: bool) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        i = rng.randrange(len(lines))
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op == 2:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 3:
            at = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:at] + rng.choice(JUNK) + lines[i][at:]
        elif op == 4:
            lines[i] = lines[i][: rng.randint(0, len(lines[i]))]
        elif op == 5 and xml:
            lines[i] = lines[i].replace("<", "</", 1)
        elif op == 5:
            lines[i] = lines[i].replace(",", rng.choice([";", " and ", ""]))
        else:  # cut the file short here
            lines = lines[: i + 1]
    return "\n".join(lines)


def _check(result, store: Path, before: str | None) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output[-500:])
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        errors = [line for line in result.output.splitlines() if line.startswith("kg: error:")]
        assert len(errors) == 1, result.output[-500:]
    if result.exit_code != 0:
        now = os.readlink(store / stores.CURRENT) if (store / stores.CURRENT).is_symlink() else None
        assert now == before, "a failed build changed the store"


@pytest.fixture(scope="module")
def seed_copy(seed_store_path, tmp_path_factory):
    import shutil

    store = tmp_path_factory.mktemp("fuzz") / "store"
    shutil.copytree(seed_store_path, store, symlinks=True)
    return store


@pytest.mark.parametrize("seed", range(CASES))
def test_a_broken_guide_is_read_or_refused_cleanly(seed, seed_copy, tmp_path):
    rng = random.Random(seed)
    guide = tmp_path / f"fuzz-{seed}-guide.txt"
    guide.write_text(_mutate(SEED.read_text(encoding="utf-8"), rng, xml=False), encoding="utf-8")
    before = os.readlink(seed_copy / stores.CURRENT)
    result = CliRunner().invoke(main, ["build", "--quiet", "--store", str(seed_copy), str(guide)])
    _check(result, seed_copy, before)


@pytest.mark.parametrize("seed", range(CASES))
def test_a_broken_collection_is_read_or_refused_cleanly(seed, tmp_path):
    rng = random.Random(1000 + seed)
    text = gzip.decompress(TACL.read_bytes()).decode("utf-8")
    collection = tmp_path / "2024.tacl.xml"
    collection.write_text(_mutate(text, rng, xml=True), encoding="utf-8")
    store = tmp_path / "store"
    result = CliRunner().invoke(main, ["build", "--quiet", "--store", str(store), str(collection)])
    _check(result, store, None)
