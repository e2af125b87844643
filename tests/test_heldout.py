"""Generalisation: extraction quality on documents written for evaluation, not in the corpus.

tests/data/heldout/ holds six documents of the kinds the tool meets (news, a park cooperation
report, an encyclopedia entry, a reply to a deputy, a work plan, a traditional-character page
with noise) and their gold annotations, made without looking at the extractor. The floors sit
just under the measured figures (README, "Quality"), so a change that only fits the seeds shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from kg.evaluate import evaluate
from kg.model import CORE_TYPES
from kg.pipeline import BuildOptions, build

HELDOUT = Path(__file__).parent / "data" / "heldout"


@pytest.fixture(scope="module")
def heldout_report(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("heldout")
    options = BuildOptions(
        corpus=HELDOUT / "corpus", out=out, workers=1, use_cache=False, maps=False
    )
    result = build(options)
    return evaluate(Graph().parse(result.out / "kg.ttl", format="turtle"), HELDOUT / "gold")


def test_heldout_entity_quality(heldout_report) -> None:
    # Measured: core micro-F1 0.901, all 0.887 (target on unseen documents: core ≥ 0.80).
    assert heldout_report.micro(CORE_TYPES).f1 >= 0.87
    assert heldout_report.micro().f1 >= 0.86


def test_heldout_work_plan_tasks(heldout_report) -> None:
    assert heldout_report.tasks.f1 >= 0.90


def test_heldout_relations_floor(heldout_report) -> None:
    # Measured 0.877 (target on unseen documents: 0.60; was 0.508 before the relation rules of
    # tests/test_relations.py).
    assert heldout_report.relations_micro().f1 >= 0.84
