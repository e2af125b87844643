"""Shared fixtures: the seed corpus and the graph built from it (built once per test session)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
GOLD = Path(__file__).resolve().parent / "data" / "gold"


@pytest.fixture(scope="session")
def seed_build(tmp_path_factory: pytest.TempPathFactory):
    """The result of building the seed corpus into a temporary output folder."""
    from kg.pipeline import BuildOptions, build

    out = tmp_path_factory.mktemp("seed_outputs")
    return build(BuildOptions(corpus=CORPUS, out=out, workers=1, use_cache=False, maps=False))


@pytest.fixture(scope="session")
def seed_kg(seed_build) -> Path:
    """Path of the seed corpus's kg.ttl."""
    return seed_build.out / "kg.ttl"
