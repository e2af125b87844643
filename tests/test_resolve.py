"""The helpers of kg.resolve against their plain definitions (the spelling-variant helpers compare
fewer pairs, the others skip slow generic paths, to be fast on large corpora; the result
must not change), and resolve() itself on a hand-made corpus."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from dataclasses import replace
from operator import attrgetter

from kg.gazetteer import load_gazetteer
from kg.lexicon import load_lexicon
from kg.model import (
    Document,
    DocumentExtraction,
    Evidence,
    Mention,
    Merge,
    RelationCandidate,
    mention_row,
)
from kg.resolve import (
    ResolutionState,
    _evidence_order,
    _is_subsequence,
    _plan_key,
    _respell,
    _RuleKinds,
    _Spellings,
    container_short_forms,
    entity_key,
    entity_merges,
    park_variants,
    plan_variants,
    resolve,
    resolve_incrementally,
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


# --- The per-object helpers of resolve() against what they stand in for --------------------------


def _evidence(doc_id: str, start: int, rule: str, end: int = 9, sentence: str = "句子") -> Evidence:
    return Evidence(doc_id, start, end, sentence, rule)


def _sorted_evidence(found: list[Evidence]) -> tuple[Evidence, ...]:
    """A relation's evidence as resolve orders it (_evidence_order: None means as found)."""
    order = _evidence_order(found) if len(found) > 1 else None
    return tuple(found) if order is None else tuple(found[i] for i in order)


def test_sorted_evidence_is_the_distinct_pieces_by_document_offset_and_rule():
    first = _evidence("b", 3, "r1")
    found = [
        first,
        _evidence("a", 7, "r2"),
        _evidence("b", 3, "r1"),  # equal to the first, another object
        _evidence("a", 7, "r1"),
        _evidence("a", 2, "r9"),
    ]
    result = _sorted_evidence(found)
    assert [(e.doc_id, e.start, e.rule) for e in result] == [
        ("a", 2, "r9"),
        ("a", 7, "r1"),
        ("a", 7, "r2"),
        ("b", 3, "r1"),
    ]
    assert result[-1] is first  # the first of equal pieces is kept
    assert _sorted_evidence([first]) == (first,)


def test_sorted_evidence_matches_a_set_sorted_by_document_offset_and_rule():
    rng = random.Random(11)
    for _ in range(200):
        # At most one (end, sentence) per (document, offset, rule): no ties, as in a corpus.
        found = [
            _evidence(rng.choice("abc"), start, rule, end=start + 5, sentence=f"s{start}{rule}")
            for start, rule in ((rng.randint(0, 5), rng.choice(["x", "y"])) for _ in range(12))
        ]
        expected = tuple(sorted(set(found), key=attrgetter("doc_id", "start", "rule")))
        assert _sorted_evidence(found) == expected
        # Found in document order, as resolve finds them (in order already when no two share
        # a document and offset: the shortcut; otherwise sorted).
        in_order = sorted(found, key=attrgetter("doc_id", "start"))
        assert _sorted_evidence(in_order) == expected
        distinct_places = list({(e.doc_id, e.start): e for e in in_order}.values())
        assert _sorted_evidence(distinct_places) == tuple(distinct_places)


def test_sorted_evidence_orders_ties_by_the_other_fields():
    long, short = _evidence("a", 1, "r", end=8), _evidence("a", 1, "r", end=5)
    assert _sorted_evidence([long, short]) == (short, long)
    assert _sorted_evidence([short, long]) == (short, long)


def test_respell_is_replace_with_the_rule_appended():
    mention = Mention("d", 3, 9, "五年行动计划", "Plan", "book-title", "甲", "430000", ("x",))
    respelled = _respell(mention_row(mention), "乙", "plan-spelling")
    assert respelled == replace(mention, canonical="乙", rule="book-title|plan-spelling")


def test_rule_kinds():
    kinds = _RuleKinds()
    assert kinds["name-prefix:city"] == (True, True)
    assert kinds["context-home-city"] == (False, False)
    assert kinds["head|plan-spelling"] == (False, True)
    assert "head|plan-spelling" in kinds  # memoised


def test_spelling():
    spellings = _Spellings({"Plan": ({"甲计划": "甲乙计划"}, "plan-spelling"), "Park": ({}, "x")})
    assert spellings.spelling("Plan", "甲计划") == ("甲乙计划", "plan-spelling")
    assert spellings.spelling("Park", "甲计划") is None  # another type's spelling
    assert spellings.spelling("Plan", "丙计划") is None


def test_container_short_forms_by_hand():
    documents = [
        {"湘乡绿色化工产业园", "绿色化工产业园", "湘乡"},
        {"某某绿色化工产业园", "绿色化工产业园"},  # 某某 is no place: no container
        {"一二三四", "甲一二三四"},  # 甲 is no place either
    ]
    assert container_short_forms(documents) == {"绿色化工产业园": "湘乡绿色化工产业园"}


# --- resolve() on a hand-made corpus --------------------------------------------------------------


def _extraction(doc_id: str, mentions: list[Mention], relations=()) -> DocumentExtraction:
    document = Document(doc_id, f"{doc_id}.txt", doc_id, "", ())
    return DocumentExtraction(document, tuple(mentions), tuple(relations))


def test_resolve_merges_mentions_into_entities():
    def city(doc, start, text, rule="gazetteer-short", canonical="株洲市", code="430200"):
        return Mention(doc, start, start + len(text), text, "City", rule, canonical, code)

    three = Mention("d2", 0, 5, "长株潭三市", "City", "enumeration", "长株潭", None,
                    ("长沙市", "株洲市", "湘潭市"))  # fmt: skip
    home = city("d2", 8, "我市", rule="context-home-city")
    nested = city("d1", 20, "湘潭", rule="name-prefix:city", canonical="湘潭市", code="430300")
    park = Mention("d1", 20, 26, "湘潭高新区", "Park", "head", "湘潭高新区")
    agreement = Mention("d1", 30, 34, "合作协议", "Agreement", "signed-agreement", "合作协议")
    cooperation = RelationCandidate(
        city("d1", 0, "株洲"), "cooperatesWith", three, Evidence("d1", 0, 9, "株洲…", "co")
    )
    data = resolve(
        [
            _extraction("d2", [three, home, city("d2", 12, "株洲", code="430201")]),
            _extraction("d1", [city("d1", 0, "株洲"), nested, park, agreement], [cooperation]),
        ]
    )
    assert [d.id for d in data.documents] == ["d1", "d2"]
    # The lone agreement (no parties) is dropped; the nested 湘潭 with a code is a city.
    assert [e.id for e in data.entities] == [
        "City/株洲市", "City/湘潭市", "City/长沙市", "Park/湘潭高新区",
    ]  # fmt: skip
    zhuzhou, xiangtan, changsha, _ = data.entities
    assert zhuzhou.label == "株洲市"
    assert zhuzhou.alt_labels == ("株洲",)  # not 我市 nor 长株潭三市: no aliases
    assert zhuzhou.mention_counts == (("d1", 1), ("d2", 3))
    assert entity_merges(data)[zhuzhou.id] == (
        Merge("株洲", "gazetteer-short", "d1"),
        Merge("我市", "context-home-city", "d2"),
        Merge("株洲", "gazetteer-short", "d2"),
        Merge("长株潭三市", "enumeration", "d2"),
    )
    # The nested 湘潭 (in 湘潭高新区) links the park to the city: an alias, but no merge.
    assert entity_merges(data)[xiangtan.id] == (Merge("长株潭三市", "enumeration", "d2"),)
    assert "Park/湘潭高新区" not in entity_merges(data)  # named as its label only
    assert zhuzhou.code == "430201"  # the last code found
    assert changsha.code is None and changsha.alt_labels == ()
    assert xiangtan.alt_labels == ("湘潭",) and xiangtan.code == "430300"
    assert [(r.subject, r.predicate, r.object) for r in data.relations] == [
        ("City/株洲市", "cooperatesWith", "City/湘潭市"),
        ("City/株洲市", "cooperatesWith", "City/长沙市"),
    ]
    # Links by document, offset and entity.
    assert [(m.doc_id, m.start, target) for m, target in data.mentions] == [
        ("d1", 0, "City/株洲市"),
        ("d1", 20, "City/湘潭市"),
        ("d1", 20, "Park/湘潭高新区"),
        ("d2", 0, "City/株洲市"),
        ("d2", 0, "City/湘潭市"),
        ("d2", 0, "City/长沙市"),
        ("d2", 8, "City/株洲市"),
        ("d2", 12, "City/株洲市"),
    ]


# --- resolve_incrementally(): what one document changes in others ---------------------------------


def _versioned(doc_id: str, version: str, mentions: list[Mention], relations=()):
    """A hand-made extraction whose document has a content hash (so a state can keep it)."""
    document = Document(doc_id, f"{doc_id}.txt", doc_id, "", (), content_hash=f"{doc_id}{version}")
    return DocumentExtraction(document, tuple(mentions), tuple(relations))


def test_a_document_naming_a_place_links_it_where_other_documents_nest_it():
    """岳塘区 nested in a park's name (document a) is linked, and is a relation end, only while
    some document names it (b); an agreement with one party in a and one in c is dropped
    without c, and its mention in a linked with it. Resolution from the previous state re-reads
    a for both, and equals resolution from nothing."""
    nested = Mention("a", 0, 3, "岳塘区", "County", "name-prefix:county", "岳塘区", "430304")
    park = Mention("a", 0, 8, "岳塘区经开区", "Park", "head", "岳塘区经开区")
    city = Mention("a", 10, 12, "株洲", "City", "gazetteer-short", "株洲市", "430200")
    accord = Mention("a", 20, 24, "合作协议", "Agreement", "signed-agreement", "合作协议")
    a = _versioned(
        "a",
        "1",
        [nested, park, city, accord],
        [
            RelationCandidate(nested, "cooperatesWith", city, Evidence("a", 0, 12, "…", "co")),
            RelationCandidate(city, "partyTo", accord, Evidence("a", 10, 24, "…", "party")),
        ],
    )
    county = Mention("b", 0, 3, "岳塘区", "County", "gazetteer", "岳塘区", "430304")
    b = _versioned("b", "1", [county])
    xiangtan = Mention("c", 0, 2, "湘潭", "City", "gazetteer-short", "湘潭市", "430300")
    accord_c = replace(accord, doc_id="c", start=5, end=9)
    c = _versioned(
        "c",
        "1",
        [xiangtan, accord_c],
        [RelationCandidate(xiangtan, "partyTo", accord_c, Evidence("c", 0, 9, "…", "party"))],
    )
    # A document before a (by id) with another code for 株洲 and another spelling of a park's
    # name (the same entity id): the label is the first document's, the code the last one's.
    phase = Mention("a", 40, 48, "高新区(一期)", "Park", "head", "高新区(一期)")
    a = replace(a, mentions=(*a.mentions, phase))
    early = _versioned(
        "0",
        "1",
        [
            Mention("0", 0, 2, "株洲", "City", "gazetteer-short", "株洲市", "430201"),
            Mention("0", 5, 13, "高新区（一期）", "Park", "head", "高新区（一期）"),
        ],
    )
    state = resolve_incrementally([a], None)[1]
    for corpus in ([a, c], [a], [a, b], [a, b, c], [early, a, b, c], [a, c], [a, b], [early, a]):
        assert state is not None
        previous = ResolutionState.loads(state.dumps("v"), "v")
        data, state = resolve_incrementally(corpus, previous)
        assert data == resolve(corpus)
        links = {(m.doc_id, m.text, t) for m, t in data.mentions}
        relations = {(r.subject, r.predicate, r.object) for r in data.relations}
        named = b in corpus
        assert (("a", "岳塘区", "County/岳塘区") in links) == named
        assert (("City/株洲市", "cooperatesWith", "County/岳塘区") in relations) == named
        agreed = c in corpus
        assert (("a", "合作协议", "Agreement/合作协议") in links) == agreed
        entities = {e.id: e for e in data.entities}
        assert entities["City/株洲市"].code == "430200"  # (a's: after 0's)
        park = entities[entity_key("Park", "高新区(一期)")]
        assert park.label == ("高新区（一期）" if early in corpus else "高新区(一期)")


def test_a_city_named_only_inside_names_takes_the_last_documents_code():
    """深圳 only inside longer names of two documents: an entity of its own, labelled by the
    name it stands for and coded by the last document (whichever document was read first)."""
    nested = Mention("x", 0, 2, "深圳", "City", "name-prefix:6", "深圳市", "440300")
    later = Mention("y", 0, 2, "深圳", "City", "name-prefix:6", "深圳市", "440399")
    x = _versioned(
        "x", "1", [nested, Mention("x", 0, 6, "深圳科技园", "Park", "head", "深圳科技园")]
    )
    y = _versioned(
        "y",
        "1",
        [later, Mention("y", 0, 6, "深圳力合科创", "Organization", "head", "深圳力合科创")],
    )
    for first in (x, y):
        state = resolve_incrementally([first], None)[1]
        assert state is not None
        data, _ = resolve_incrementally([x, y], ResolutionState.loads(state.dumps("v"), "v"))
        assert data == resolve([x, y])
        city = {e.id: e for e in data.entities}["City/深圳市"]
        assert (city.label, city.code) == ("深圳市", "440399")
