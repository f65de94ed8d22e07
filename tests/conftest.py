"""Shared fixtures: the seed guide built once into a real on-disk Oxigraph store."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg import store as stores
from kg.pipeline import build

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "amazon-acl-2024-guide.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: tens of seconds or more; left out of `pytest -q`, run by "
                                       "`pytest -m slow` (.ci/run runs both)")


@pytest.fixture(scope="session")
def seed_store_path(tmp_path_factory) -> Path:
    """A store built from the seed guide; tests must not write to it."""
    path = tmp_path_factory.mktemp("seed") / "store"
    result = build([SEED], store=path)
    assert result.written, result.report.format()
    return path


@pytest.fixture(scope="session")
def seed_store(seed_store_path):
    return stores.open_store(seed_store_path)


@pytest.fixture(scope="session")
def bundled_build(tmp_path_factory):
    """(path, BuildResult) of a store built as `kg build` builds with no arguments: the
    guide and the bundled Anthology collections (about 270k quads); not to be written."""
    from kg.pipeline import bundled_sources

    path = tmp_path_factory.mktemp("bundled") / "store"
    result = build(bundled_sources(), store=path)
    assert result.written, result.report.format()
    return path, result


@pytest.fixture(scope="session")
def bundled_store_path(bundled_build) -> Path:
    return bundled_build[0]


@pytest.fixture(scope="session")
def bundled_store(bundled_store_path):
    return stores.open_store(bundled_store_path)
