"""The spelling-variant helpers of kg.resolve against their plain pairwise definitions (the
helpers compare fewer pairs to be fast on large corpora; the result must not change)."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict

from kg.gazetteer import load_gazetteer
from kg.lexicon import load_lexicon
from kg.resolve import (
    _is_subsequence,
    _plan_key,
    container_short_forms,
    park_variants,
    plan_variants,
)


def plan_variants_pairwise(names: list[str]) -> dict[str, str]:
    ordered = sorted(set(names), key=lambda n: (-len(n), n))
    chosen: dict[str, str] = {}
    for name in ordered:
        base, years = _plan_key(name)
        for full in ordered:
            if full == name or chosen.get(full, full) != full:
                continue
            full_base, full_years = _plan_key(full)
            if years != full_years or len(full) < len(name):
                continue
            if base == full_base or (
                years and len(full_base) - len(base) <= 3 and _is_subsequence(base, full_base)
            ):
                chosen[name] = full
                break
    return chosen


def park_variants_pairwise(names: list[str]) -> dict[str, str]:
    known = set(names)
    provinces = sorted(
        {form for d in load_gazetteer().provinces() for form in (d.name, d.short) if form},
        key=len,
        reverse=True,
    )
    variants = {}
    for name in sorted(known):
        for prefix in provinces:
            rest = name[len(prefix) :]
            if name.startswith(prefix) and len(rest) >= 4 and rest in known:
                variants[rest] = name
                break
    return variants


def container_short_forms_pairwise(names_by_document: list[set[str]]) -> dict[str, str]:
    gazetteer = load_gazetteer()
    park_heads = tuple(load_lexicon().suffixes["Park"])
    longer: dict[str, set[str]] = defaultdict(set)
    for names in names_by_document:
        for long, short in itertools.product(names, names):
            prefix = long[: len(long) - len(short)]
            if (
                len(short) >= 4
                and long != short
                and long.endswith(short)
                and (gazetteer.lookup(prefix) or prefix.endswith(park_heads))
            ):
                longer[short].add(long)
    return {short: next(iter(longs)) for short, longs in longer.items() if len(longs) == 1}


def _random_names(rng: random.Random, count: int) -> list[str]:
    places = sorted({d.name for d in load_gazetteer().provinces()})[:6] + ["某市", "某县"]
    places += sorted({d.short for d in load_gazetteer().provinces() if d.short})[:6]
    heads = list(load_lexicon().suffixes["Park"][:3])
    stems = ["甲乙丙丁", "甲乙丁", "戊己庚辛", "戊己辛", "壬癸子丑寅"]
    tails = ["", "产业园", "行动计划", "规划(2021-2025)", "规划(2021-2025年)", "规划(2023—2025年)"]
    names = []
    for _ in range(count):
        name = rng.choice(stems) + rng.choice(tails)
        if rng.random() < 0.5:
            name = rng.choice(places + heads) + name
        names.append(name)
    return names


def test_plan_variants_match_the_pairwise_definition():
    rng = random.Random(7)
    for _ in range(50):
        names = _random_names(rng, 30)
        assert plan_variants(names) == plan_variants_pairwise(names)


def test_park_variants_match_the_pairwise_definition():
    rng = random.Random(8)
    for _ in range(50):
        names = _random_names(rng, 30)
        assert park_variants(names) == park_variants_pairwise(names)


def test_container_short_forms_match_the_pairwise_definition():
    rng = random.Random(9)
    for _ in range(50):
        documents = [set(_random_names(rng, rng.randint(0, 12))) for _ in range(5)]
        assert container_short_forms(documents) == container_short_forms_pairwise(documents)
