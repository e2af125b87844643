"""Collaboration analysis on a small hand-made graph of known structure, and on the seed corpus."""

from __future__ import annotations

import argparse
import math
import os
import pickle
import subprocess
import sys
import textwrap
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import networkx as nx
import pytest
from rdflib import RDF, RDFS, XSD, Graph, URIRef

from kg import analysis
from kg.analysis import (
    HUB_SUBJECTS,
    ORGANISATION_TYPES,
    AnalysisResult,
    LinkEvidence,
    analyse,
    betweenness,
    collaboration_network,
    collaboration_partners,
    find_entity,
    find_path,
    metric_blocks,
    metric_triples,
    suggest_links,
    suggestion_iri,
    write_metrics,
)
from kg.cli_analysis import add_analysis_parsers
from kg.errors import EntityNotFoundError, InputError
from kg.model import Document, Entity, Evidence, KnowledgeGraphData, Relation, Sentence
from kg.network import rdf_to_networkx
from kg.ontology import CZT
from kg.rdf import build_rdf, entity_iri, graph_blocks, to_turtle
from kg.report import render_report

ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------------------------
# The hand-made graph. Two documents; every relation has evidence at known sentence offsets.

NEWS_SENTENCES = (
    "深化韶山高新区与雨花经开区的交流合作。",  # 0
    "深化湘潭经开区与湘江新区的合作。",  # 1
    "湘潭市与长沙市、株洲市开展合作。",  # 2
    "湘潭市与株洲市签署战略合作协议。",  # 3
    "株洲高新区、湘潭经开区和张三参加长株潭园区发展大会。",  # 4
    "株洲市发改委参与融城干道项目。",  # 5
    "湘潭市发改委参与融城干道项目。",  # 6
    "湖南大学与湘江新区开展合作。",  # 7
    "张三任湘潭市发改委主任。",  # 8
)
PLAN_SENTENCES = (
    "1.产业协同。(责任单位:市发改委牵头,市工信局、湘潭经开区配合)",  # 0
    "2.融城干道。(责任单位:市发改委、市工信局牵头)",  # 1
    "雨花经开区位于雨花区,雨花区属长沙市。韶山高新区属韶山市,韶山市属湘潭市。",  # 2
    "湘潭经开区、市发改委、市工信局属湘潭市;湘江新区位于长沙市;"
    "株洲高新区、株洲市发改委属株洲市。",  # 3
)


def _document(doc_id: str, title: str, date: str, sentences: tuple[str, ...]) -> Document:
    spans, offset = [], 0
    for text in sentences:
        spans.append(Sentence(offset, offset + len(text), text))
        offset += len(text)
    return Document(
        id=doc_id,
        path=f"corpus/{doc_id}.txt",
        title=title,
        text="".join(sentences),
        sentences=tuple(spans),
        date=date,
    )


NEWS = _document("news_01", "湘潭园区合作新闻", "2024-05-01", NEWS_SENTENCES)
PLAN = _document("plan_02", "湘潭市区域共进行动工作方案", "2024-06-11", PLAN_SENTENCES)

ENTITIES = {
    "长沙市": "City",
    "株洲市": "City",
    "湘潭市": "City",
    "雨花区": "County",
    "韶山市": "County",
    "雨花经开区": "Park",
    "韶山高新区": "Park",
    "湘潭经开区": "Park",
    "湘江新区": "Park",
    "株洲高新区": "Park",
    "湘潭市发改委": "Agency",
    "湘潭市工信局": "Agency",
    "株洲市发改委": "Agency",
    "产业协同": "Task",
    "融城干道": "Task",
    "战略合作协议": "Agreement",
    "融城干道项目": "Project",
    "长株潭园区发展大会": "Event",
    "湖南大学": "Organization",
    "张三": "Person",
}
ALIASES = {
    "湘潭市发改委": ("市发改委",),
    "湘潭市工信局": ("市工信局",),
    "湘潭经开区": ("湘潭经济技术开发区",),
}


def _id(label: str) -> str:
    return f"{ENTITIES[label]}/{label}"


def _iri(label: str) -> str:
    return str(entity_iri(_id(label)))


def _evidence(doc: Document, index: int, rule: str = "test") -> Evidence:
    sentence = doc.sentences[index]
    return Evidence(doc.id, sentence.start, sentence.end, sentence.text, rule)


def _rel(subject: str, predicate: str, obj: str, *evidence: Evidence, role: str = "") -> Relation:
    qualifiers = (("role", role),) if role else ()
    return Relation(_id(subject), predicate, _id(obj), tuple(evidence), qualifiers)


RELATIONS = (
    _rel("韶山高新区", "cooperatesWith", "雨花经开区", _evidence(NEWS, 0)),
    _rel("湘潭经开区", "cooperatesWith", "湘江新区", _evidence(NEWS, 1)),
    _rel("湘潭市", "cooperatesWith", "长沙市", _evidence(NEWS, 2)),
    _rel("湘潭市", "cooperatesWith", "株洲市", _evidence(NEWS, 2)),
    _rel("湘潭市", "partyTo", "战略合作协议", _evidence(NEWS, 3)),
    _rel("株洲市", "partyTo", "战略合作协议", _evidence(NEWS, 3)),
    _rel("株洲高新区", "participatesIn", "长株潭园区发展大会", _evidence(NEWS, 4)),
    _rel("湘潭经开区", "participatesIn", "长株潭园区发展大会", _evidence(NEWS, 4)),
    _rel("张三", "participatesIn", "长株潭园区发展大会", _evidence(NEWS, 4)),
    _rel("株洲市发改委", "participatesIn", "融城干道项目", _evidence(NEWS, 5)),
    _rel("湘潭市发改委", "participatesIn", "融城干道项目", _evidence(NEWS, 6)),
    _rel("湖南大学", "cooperatesWith", "湘江新区", _evidence(NEWS, 7)),
    _rel("张三", "leads", "湘潭市发改委", _evidence(NEWS, 8)),
    _rel("湘潭市发改委", "responsibleFor", "产业协同", _evidence(PLAN, 0), role="牵头"),
    _rel("湘潭市工信局", "responsibleFor", "产业协同", _evidence(PLAN, 0), role="配合"),
    _rel("湘潭经开区", "responsibleFor", "产业协同", _evidence(PLAN, 0), role="配合"),
    _rel("湘潭市发改委", "responsibleFor", "融城干道", _evidence(PLAN, 1), role="牵头"),
    _rel("湘潭市工信局", "responsibleFor", "融城干道", _evidence(PLAN, 1), role="牵头"),
    _rel("雨花经开区", "locatedIn", "雨花区", _evidence(PLAN, 2)),
    _rel("雨花区", "partOf", "长沙市", _evidence(PLAN, 2)),
    _rel("韶山高新区", "partOf", "韶山市", _evidence(PLAN, 2)),
    _rel("韶山市", "partOf", "湘潭市", _evidence(PLAN, 2)),
    _rel("湘潭经开区", "partOf", "湘潭市", _evidence(PLAN, 3)),
    _rel("湘潭市发改委", "partOf", "湘潭市", _evidence(PLAN, 3)),
    _rel("湘潭市工信局", "partOf", "湘潭市", _evidence(PLAN, 3)),
    _rel("湘江新区", "locatedIn", "长沙市", _evidence(PLAN, 3)),
    _rel("株洲高新区", "partOf", "株洲市", _evidence(PLAN, 3)),
    _rel("株洲市发改委", "partOf", "株洲市", _evidence(PLAN, 3)),
)


def _data() -> KnowledgeGraphData:
    entities = tuple(
        Entity(
            id=_id(label),
            type=kind,
            label=label,
            alt_labels=ALIASES.get(label, ()),
            mention_counts=((PLAN.id, 1),) if kind in ("Task", "Agency") else ((NEWS.id, 1),),
        )
        for label, kind in ENTITIES.items()
    )
    return KnowledgeGraphData(documents=(NEWS, PLAN), entities=entities, relations=RELATIONS)


@pytest.fixture()
def graph() -> Graph:
    return build_rdf(_data())


@pytest.fixture()
def result(graph: Graph) -> AnalysisResult:
    return analyse(graph)


@pytest.fixture()
def graph_file(tmp_path: Path, graph: Graph) -> Path:
    path = tmp_path / "kg.ttl"
    path.write_text(to_turtle(graph), encoding="utf-8")
    return path


def _edge(result: AnalysisResult, a: str, b: str) -> dict:
    return result.collaboration.edges[_iri(a), _iri(b)]


# --------------------------------------------------------------------------------------------
# The collaboration network


def test_collaboration_network_is_undirected_and_marked(result: AnalysisResult) -> None:
    collab = result.collaboration
    assert not collab.is_directed() and not collab.is_multigraph()
    assert collab.graph["kind"] == "collaboration"
    assert collab.nodes[_iri("湘潭经开区")]["label"] == "湘潭经开区"
    assert collab.nodes[_iri("湘潭经开区")]["aliases"] == ["湘潭经济技术开发区"]
    # Tasks, agreements, events and places are what links go through, not partners.
    for label in ("产业协同", "战略合作协议", "长株潭园区发展大会", "雨花区", "融城干道项目"):
        assert _iri(label) not in collab


def test_explicit_cooperation(result: AnalysisResult) -> None:
    edge = _edge(result, "韶山高新区", "雨花经开区")
    assert edge["kinds"] == ["cooperation"]
    assert edge["via"] == []
    assert edge["weight"] == 1
    assert [e.sentence for e in edge["evidence"]] == [NEWS_SENTENCES[0]]
    assert edge["evidence"][0].doc_title == "湘潭园区合作新闻"


def test_co_party_adds_to_cooperation(result: AnalysisResult) -> None:
    edge = _edge(result, "湘潭市", "株洲市")
    assert edge["kinds"] == ["co-party", "cooperation"]
    assert edge["via"] == ["战略合作协议"]
    # Two sentences: the cooperation one and the signing one (both parties read from it once).
    assert edge["weight"] == 2
    assert edge["evidence"][0].sentence == NEWS_SENTENCES[2]  # the explicit statement first


def test_shared_responsibility_counts_distinct_sentences(result: AnalysisResult) -> None:
    edge = _edge(result, "湘潭市发改委", "湘潭市工信局")
    assert edge["kinds"] == ["shared-responsibility"]
    assert edge["via"] == ["产业协同", "融城干道"]
    assert edge["weight"] == 2
    single = _edge(result, "湘潭市发改委", "湘潭经开区")
    assert single["via"] == ["产业协同"] and single["weight"] == 1


def test_co_participation_only_for_projects_and_events(result: AnalysisResult) -> None:
    event = _edge(result, "株洲高新区", "湘潭经开区")
    assert event["kinds"] == ["co-participation"] and event["via"] == ["长株潭园区发展大会"]
    assert event["weight"] == 1
    project = _edge(result, "株洲市发改委", "湘潭市发改委")
    assert project["kinds"] == ["co-participation"]
    assert project["weight"] == 2  # each party read from its own sentence


def test_suggested_links_in_the_rdf_are_not_collaboration(graph: Graph) -> None:
    result = analyse(graph)
    write_metrics(graph, result)
    again = collaboration_network(rdf_to_networkx(graph))
    assert sorted(again.edges) == sorted(result.collaboration.edges)


def test_partners_are_ranked_by_weight(result: AnalysisResult) -> None:
    partners = collaboration_partners(result.collaboration, _iri("湘潭市发改委"))
    assert [p.label for p in partners] == ["株洲市发改委", "湘潭市工信局", "湘潭经开区"]
    assert [p.weight for p in partners] == [2, 2, 1]
    assert partners[2].kinds == ("shared-responsibility",)
    assert partners[2].evidence[0].doc_id == PLAN.id


# A generic agreement named by more units than HUB_SUBJECTS, across documents: a hub. Names are
# made up; the structure is what a large corpus produces when one generic name recurs.
HUB_AGREEMENT = "Agreement/框架协议"
HUB_UNITS = [f"Organization/单位{i:02d}" for i in range(1, HUB_SUBJECTS + 2)]  # one too many


def _hub_data() -> KnowledgeGraphData:
    docs = [
        _document("hub_a", "甲文", "2024-01-01", ("单位01与单位02签署框架协议。",)),
        _document("hub_b", "乙文", "2024-01-02", ("单位01与单位03签署框架协议。", "单位01再议。")),
        *(
            _document(f"hub_{i:02d}", f"文{i}", "2024-02-01", (f"单位{i:02d}签署框架协议。",))
            for i in range(4, HUB_SUBJECTS + 2)
        ),
        _document("pair_a", "丙文", "2024-03-01", ("单位04负责联合任务。",)),
        _document("pair_b", "丁文", "2024-03-02", ("单位05负责联合任务。",)),
    ]
    by_id = {d.id: d for d in docs}

    def party(unit: str, doc_id: str, *sentences: int) -> Relation:
        doc = by_id[doc_id]
        evidence = tuple(_evidence(doc, i) for i in sentences)
        return Relation(unit, "partyTo", HUB_AGREEMENT, evidence)

    relations = [
        Relation(
            HUB_UNITS[0],
            "partyTo",
            HUB_AGREEMENT,
            (
                _evidence(by_id["hub_a"], 0),
                _evidence(by_id["hub_b"], 0),
                _evidence(by_id["hub_b"], 1),
            ),
        ),
        party(HUB_UNITS[1], "hub_a", 0),
        party(HUB_UNITS[2], "hub_b", 0),
        *(party(HUB_UNITS[i - 1], f"hub_{i:02d}", 0) for i in range(4, HUB_SUBJECTS + 2)),
        # A task with two units in two documents: not a hub, so linked across documents.
        Relation(HUB_UNITS[3], "responsibleFor", "Task/联合任务", (_evidence(by_id["pair_a"], 0),)),
        Relation(HUB_UNITS[4], "responsibleFor", "Task/联合任务", (_evidence(by_id["pair_b"], 0),)),
    ]
    entities = [
        Entity(id=unit, type="Organization", label=unit.split("/")[1]) for unit in HUB_UNITS
    ]
    entities += [
        Entity(id=HUB_AGREEMENT, type="Agreement", label="框架协议"),
        Entity(id="Task/联合任务", type="Task", label="联合任务"),
    ]
    return KnowledgeGraphData(
        documents=tuple(docs), entities=tuple(entities), relations=tuple(relations)
    )


@pytest.fixture(scope="module")
def hub_network() -> nx.MultiDiGraph:
    return rdf_to_networkx(build_rdf(_hub_data()))


def _unit(index: int) -> str:
    return str(entity_iri(HUB_UNITS[index - 1]))


def test_a_hub_links_only_units_named_in_the_same_document(hub_network: nx.MultiDiGraph) -> None:
    collab = collaboration_network(hub_network)
    hub = str(entity_iri(HUB_AGREEMENT))
    assert collab.graph["hubs"] == {hub: HUB_SUBJECTS + 1}
    edges = {frozenset(e) for e in collab.edges}
    assert edges == {
        frozenset((_unit(1), _unit(2))),  # signed together in hub_a
        frozenset((_unit(1), _unit(3))),  # signed together in hub_b
        frozenset((_unit(4), _unit(5))),  # the small task: across documents, as always
    }
    first = collab.edges[_unit(1), _unit(2)]
    # Through the hub, only the evidence of the shared document counts (not 单位01's hub_b).
    assert first["via"] == ["框架协议"] and first["weight"] == 1
    assert [e.doc_id for e in first["evidence"]] == ["hub_a"]
    second = collab.edges[_unit(1), _unit(3)]
    assert second["weight"] == 2 and {e.doc_id for e in second["evidence"]} == {"hub_b"}
    task = collab.edges[_unit(4), _unit(5)]
    assert task["kinds"] == ["shared-responsibility"] and task["weight"] == 2


def test_without_a_hub_limit_every_pair_is_linked(hub_network: nx.MultiDiGraph) -> None:
    collab = collaboration_network(hub_network, hub_subjects=None)
    k = HUB_SUBJECTS + 1
    assert collab.graph["hubs"] == {}
    assert collab.number_of_edges() == k * (k - 1) // 2  # the task pair is one of them
    # All of either party's evidence about the agreement: 单位01's three sentences, 单位02's one
    # (the hub_a sentence is shared).
    assert collab.edges[_unit(1), _unit(2)]["weight"] == 3
    # A limit above the number of subjects changes nothing.
    same = collaboration_network(hub_network, hub_subjects=k)
    assert sorted(same.edges(data="weight")) == sorted(collab.edges(data="weight"))


def test_link_evidence_reads_like_a_list(result: AnalysisResult, tmp_path: Path) -> None:
    edge = _edge(result, "湘潭市", "株洲市")
    evidence = edge["evidence"]
    assert isinstance(evidence, LinkEvidence)
    items = list(evidence)
    assert len(evidence) == len(items) == edge["weight"] == 2
    assert evidence[0] == items[0] and evidence[-1] == items[-1] and evidence[:1] == items[:1]
    assert evidence == items and evidence == tuple(items) and evidence != items[:1]
    assert len({(e.doc_id, e.start, e.end) for e in items}) == len(items)  # one per location
    assert evidence.documents() == {e.doc_id for e in items}
    assert pickle.loads(pickle.dumps(evidence)) == items


# --------------------------------------------------------------------------------------------
# Metrics


def test_pagerank_sums_to_one_and_covers_every_entity(result: AnalysisResult) -> None:
    assert set(result.pagerank) == set(result.network)
    assert math.isclose(sum(result.pagerank.values()), 1.0, abs_tol=1e-9)
    assert max(result.pagerank, key=result.pagerank.get) == _iri("湘潭市")


def test_degree_counts_distinct_neighbours_in_the_relation_graph(result: AnalysisResult) -> None:
    # 湘潭市: 长沙市, 株洲市 (two relations, one neighbour), 战略合作协议, 韶山市 and three units.
    assert result.degree[_iri("湘潭市")] == 7
    assert result.degree[_iri("张三")] == 2


def test_betweenness_on_the_collaboration_network(result: AnalysisResult) -> None:
    assert set(result.betweenness) == set(result.collaboration)
    assert result.betweenness[_iri("湘潭经开区")] > 0
    assert result.betweenness[_iri("韶山高新区")] == 0


def test_betweenness_is_networkx_betweenness(result: AnalysisResult) -> None:
    expected = nx.betweenness_centrality(result.collaboration, normalized=True)
    assert set(result.betweenness) == set(expected)
    for node, value in expected.items():
        assert math.isclose(result.betweenness[node], value, abs_tol=1e-12)


@pytest.mark.skipif(
    tuple(int(p) for p in nx.__version__.split(".")[:2]) < (3, 5),
    reason="networkx < 3.5 rescales sampled betweenness differently",
)
def test_sampled_betweenness_is_networkx_sampled_betweenness() -> None:
    graph = nx.relabel_nodes(nx.gnm_random_graph(120, 260, seed=5), lambda n: f"n{n:03d}")
    graph.add_nodes_from(["lonely-1", "lonely-2"])
    for k in (2, 15, 60):
        expected = nx.betweenness_centrality(graph, k=k, normalized=True, seed=7)
        found = betweenness(graph, k=k, seed=7)
        assert set(found) == set(expected)
        for node, value in expected.items():
            assert math.isclose(found[node], value, abs_tol=1e-12), (k, node)


def test_louvain_communities_are_deterministic(graph: Graph, result: AnalysisResult) -> None:
    again = analyse(graph)
    assert again.communities == result.communities
    members = [m for c in result.communities for m in c.members]
    assert sorted(members) == sorted(result.collaboration)  # a partition
    for community in result.communities:
        assert community.label == " · ".join(community.member_labels[:3])
        ranks = [result.pagerank[m] for m in community.members]
        assert ranks == sorted(ranks, reverse=True)
    pair = {_iri("韶山高新区"), _iri("雨花经开区")}
    assert any(set(c.members) == pair for c in result.communities)


def test_results_do_not_depend_on_hash_seed(graph_file: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from rdflib import Graph
        from kg.analysis import analyse, write_metrics
        from kg.rdf import to_turtle
        graph = Graph().parse({str(graph_file)!r})
        write_metrics(graph, analyse(graph))
        print(to_turtle(graph))
        """
    )
    outputs = []
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == outputs[2]


def test_brokers_bridge_communities(result: AnalysisResult) -> None:
    assert result.brokers, "the hand-made graph has bridges"
    assert [b.rank for b in result.brokers] == list(range(1, len(result.brokers) + 1))
    scores = [b.score for b in result.brokers]
    assert scores == sorted(scores, reverse=True)
    for broker in result.brokers:
        assert broker.betweenness > 0 and len(broker.communities) >= 2
        assert 0 < broker.participation < 1
    assert _iri("韶山高新区") not in {b.node for b in result.brokers}


def test_city_matrix(result: AnalysisResult) -> None:
    matrix = result.city_matrix
    assert set(matrix.labels) == {"长沙市", "株洲市", "湘潭市"}
    # 湘潭–长沙: 韶山高新区–雨花经开区 (through two levels of partOf/locatedIn),
    # 湘潭经开区–湘江新区, and the cities themselves.
    assert matrix.count("湘潭市", "长沙市") == matrix.count("长沙市", "湘潭市") == 3
    # 湘潭–株洲: the cities, 株洲高新区–湘潭经开区, 株洲市发改委–湘潭市发改委.
    assert matrix.count("湘潭市", "株洲市") == 3
    # Inside 湘潭: 发改委–工信局, 发改委–经开区, 工信局–经开区.
    assert matrix.count("湘潭市", "湘潭市") == 3
    assert matrix.count("长沙市", "株洲市") == 0
    assert matrix.labels[0] == "湘潭市"  # most links first
    direct = {(link.a_label, link.b_label): link for link in matrix.direct}
    assert set(direct) == {("株洲市", "湘潭市"), ("湘潭市", "长沙市")}
    zhuzhou = next(link for link in matrix.direct if "株洲市" in (link.a_label, link.b_label))
    assert zhuzhou.kinds == ("co-party", "cooperation") and zhuzhou.weight == 2


def test_responsibility_load_lead_and_support(result: AnalysisResult) -> None:
    load = result.responsibility
    ndrc, miit, zone = (load[_iri(n)] for n in ("湘潭市发改委", "湘潭市工信局", "湘潭经开区"))
    assert (ndrc.total, ndrc.lead, ndrc.support) == (2, 2, 0)
    assert (miit.total, miit.lead, miit.support) == (2, 1, 1)
    assert (zone.total, zone.lead, zone.support, zone.unspecified) == (1, 0, 1, 0)
    assert ndrc.targets == ("产业协同", "融城干道")
    assert _iri("株洲市发改委") not in load


# --------------------------------------------------------------------------------------------
# Suggested links


def test_suggestions_are_scored_explained_and_ordered(result: AnalysisResult) -> None:
    suggestions = result.suggestions
    assert suggestions
    keys = [(-s.score, s.a_label, s.b_label) for s in suggestions]
    assert keys == sorted(keys)
    collab = result.collaboration
    for s in suggestions:
        assert not collab.has_edge(s.a, s.b)
        assert s.score > 0 and s.shared
        assert all(collab.has_edge(s.a, p) and collab.has_edge(s.b, p) for p in s.shared)
        for node in (s.a, s.b):
            assert collab.nodes[node]["type"] in ORGANISATION_TYPES
    top = suggestions[0]
    # 长沙市–株洲市 share 湘潭市 (degree 2): 1/ln 2, tied with 湖南大学–湘潭经开区 via 湘江新区.
    assert math.isclose(top.score, round(1 / math.log(2), 6))
    assert {(s.a_label, s.b_label) for s in suggestions[:2]} == {
        ("湖南大学", "湘潭经开区"),
        ("株洲市", "长沙市"),
    }
    by_pair = {frozenset((s.a_label, s.b_label)): s for s in suggestions}
    assert by_pair[frozenset(("株洲市", "长沙市"))].shared_labels == ("湘潭市",)
    assert "湘潭市" in by_pair[frozenset(("株洲市", "长沙市"))].reason
    # 张三 is a Person: never suggested by default.
    assert all(_iri("张三") not in (s.a, s.b) for s in suggestions)


def test_suggestion_scores_are_adamic_adar(result: AnalysisResult) -> None:
    pairs = [(s.a, s.b) for s in result.suggestions]
    expected = {
        (a, b): round(v, 6) for a, b, v in nx.adamic_adar_index(result.collaboration, pairs)
    }
    assert {(s.a, s.b): s.score for s in result.suggestions} == expected


def _brute_force_suggestions(
    collab: nx.Graph, types: tuple[str, ...] | None, limit: int | None
) -> list[tuple[str, str, float, tuple[str, ...]]]:
    """Every eligible unlinked pair with a shared partner, scored one by one (Adamic–Adar)."""

    def label(n: str) -> str:
        return collab.nodes[n]["label"]

    eligible = sorted(
        (n for n in collab if types is None or collab.nodes[n]["type"] in types),
        key=lambda n: (label(n), n),
    )
    found = []
    for i, a in enumerate(eligible):
        for b in eligible[i + 1 :]:
            shared = set(collab[a]) & set(collab[b])
            if shared and not collab.has_edge(a, b):
                score = round(sum(1 / math.log(collab.degree(m)) for m in sorted(shared)), 6)
                partners = tuple(sorted(shared, key=lambda n: (label(n), n)))
                found.append((a, b, score, partners))
    found.sort(key=lambda s: (-s[2], label(s[0]), label(s[1]), s[0], s[1]))
    return found if limit is None else found[:limit]


def test_suggestions_are_the_best_pairs_of_all(monkeypatch: pytest.MonkeyPatch) -> None:
    # A random network with many tied scores, computed in blocks of a few rows each.
    graph = nx.relabel_nodes(nx.gnm_random_graph(90, 200, seed=11), lambda n: f"n{n:02d}")
    kinds = ("Agency", "Park", "Person")
    for i, node in enumerate(sorted(graph)):
        graph.nodes[node].update(type=kinds[i % 3], label=f"节点{(i * 37) % 90:02d}")
    monkeypatch.setattr(analysis, "_SUGGESTION_BLOCK", 40)
    for types, limit in ((ORGANISATION_TYPES, 20), (None, None), (("Park",), 5), (None, 1)):
        found = [
            (s.a, s.b, s.score, s.shared) for s in suggest_links(graph, types=types, limit=limit)
        ]
        assert found == _brute_force_suggestions(graph, types, limit), (types, limit)


def test_betweenness_sampling_is_seeded(graph: Graph) -> None:
    collab = analyse(graph).collaboration
    assert betweenness(collab, k=5, seed=1) == betweenness(collab, k=5, seed=1)
    assert betweenness(collab, k=1000) == betweenness(collab)


def test_suggestions_by_type_and_limit(graph: Graph) -> None:
    parks = analyse(graph, suggestion_types=("Park",)).suggestions
    assert [(s.a_label, s.b_label) for s in parks] == [("株洲高新区", "湘江新区")]
    assert len(analyse(graph, suggestion_limit=2).suggestions) == 2
    anyone = analyse(graph, suggestion_types=None, suggestion_limit=None).suggestions
    assert any(_iri("张三") in (s.a, s.b) for s in anyone)


def test_write_metrics_round_trip(graph: Graph, result: AnalysisResult) -> None:
    written = Graph()
    write_metrics(written, result)
    assert set(written) == set(metric_triples(result))  # what a streaming writer would write
    write_metrics(graph, result)
    network = rdf_to_networkx(graph)
    node = network.nodes[_iri("湘潭市")]
    assert node["pagerank"] == round(result.pagerank[_iri("湘潭市")], 6)
    assert node["degree"] == 7
    assert node["community"] == result.community_of[_iri("湘潭市")]
    assert network.nodes[_iri("湘潭市发改委")]["responsibilityload"] == 2
    # Rankable by SPARQL.
    rows = list(
        graph.query(
            "SELECT ?e ?pr WHERE { ?e czt:pageRank ?pr } ORDER BY DESC(?pr) LIMIT 1",
            initNs={"czt": CZT},
        )
    )
    assert str(rows[0][0]) == _iri("湘潭市")
    brokers = set(graph.subjects(CZT.isBroker, None))
    assert brokers == {URIRef(b.node) for b in result.brokers}
    communities = set(graph.subjects(RDF.type, CZT.Community))
    assert len(communities) == len(result.communities)
    labels = {
        str(graph.value(c, URIRef("http://www.w3.org/2000/01/rdf-schema#label")))
        for c in communities
    }
    assert labels == {c.label for c in result.communities}


def test_written_suggestions_are_never_cooperation(graph: Graph, result: AnalysisResult) -> None:
    write_metrics(graph, result)
    for s in result.suggestions:
        a, b = URIRef(s.a), URIRef(s.b)
        assert (a, CZT.cooperatesWith, b) not in graph and (b, CZT.cooperatesWith, a) not in graph
        assert (a, CZT.suggestedPartner, b) in graph
        node = suggestion_iri(s.a, s.b)
        assert node == suggestion_iri(s.b, s.a)
        assert (node, RDF.type, CZT.SuggestedLink) in graph
        assert set(graph.objects(node, CZT.suggestionOf)) == {a, b}
        assert graph.value(node, CZT.score).toPython() == s.score
        assert {str(p) for p in graph.objects(node, CZT.sharedPartner)} == set(s.shared)
        assert "共同合作伙伴" in str(
            graph.value(node, URIRef("http://www.w3.org/2000/01/rdf-schema#comment"))
        )


def test_write_metrics_is_idempotent_and_byte_stable(graph: Graph) -> None:
    write_metrics(graph, analyse(graph))
    first = to_turtle(graph)
    write_metrics(graph, analyse(graph))  # analysing an analysed graph changes nothing
    assert to_turtle(graph) == first
    fresh = build_rdf(_data())
    write_metrics(fresh, analyse(fresh))
    assert to_turtle(fresh) == first


def test_empty_graph() -> None:
    graph = build_rdf(KnowledgeGraphData(documents=(), entities=(), relations=()))
    result = analyse(graph)
    assert result.pagerank == {} and result.communities == () and result.suggestions == ()
    assert result.city_matrix.cities == ()
    write_metrics(graph, result)
    assert "Communities" in render_report(result)


def test_analyse_does_not_touch_the_graph(graph: Graph) -> None:
    before = len(graph)
    analyse(graph)
    assert len(graph) == before


# --------------------------------------------------------------------------------------------
# Names and paths


def test_names_match_labels_and_aliases(result: AnalysisResult) -> None:
    assert find_entity(result.network, "湘潭经开区") == _iri("湘潭经开区")
    assert find_entity(result.network, "湘潭经济技术开发区") == _iri("湘潭经开区")
    with pytest.raises(EntityNotFoundError) as caught:
        find_entity(result.network, "湘潭经开")
    assert "湘潭经开区" in caught.value.suggestions
    assert len(caught.value.suggestions) <= 5


def test_path_prefers_collaboration_and_falls_back(result: AnalysisResult) -> None:
    direct = find_path(result.network, result.collaboration, _iri("韶山高新区"), _iri("雨花经开区"))
    assert direct is not None and len(direct) == 1
    assert direct[0].kinds == ("cooperation",)
    assert direct[0].evidence[0].sentence == NEWS_SENTENCES[0]
    # 韶山高新区's only partner is 雨花经开区: reaching 株洲高新区 needs partOf hops too.
    path = find_path(result.network, result.collaboration, _iri("韶山高新区"), _iri("株洲高新区"))
    assert path is not None
    assert path[0].source == _iri("韶山高新区") and path[-1].target == _iri("株洲高新区")
    assert all(a.target == b.source for a, b in pairwise(path))
    assert any(hop.predicate == "partOf" for hop in path)
    assert all(hop.evidence for hop in path)


def test_no_path(graph: Graph) -> None:
    data = _data()
    lonely = Entity(id="Organization/孤岛", type="Organization", label="孤岛")
    graph = build_rdf(KnowledgeGraphData(data.documents, (*data.entities, lonely), data.relations))
    result = analyse(graph)
    assert (
        find_path(result.network, result.collaboration, _iri("湘潭市"), str(entity_iri(lonely.id)))
        is None
    )


# --------------------------------------------------------------------------------------------
# CLI


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kg")
    add_analysis_parsers(parser.add_subparsers(dest="command", required=True))
    return parser


def _run(*argv: str) -> int:
    args = _parser().parse_args(list(argv))
    return args.func(args)


def test_cli_collab(graph_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("collab", "市发改委", "--graph", str(graph_file)) == 0
    out = capsys.readouterr().out
    assert "湘潭市发改委" in out
    lines = out.splitlines()
    order = [
        next(i for i, line in enumerate(lines) if name in line)
        for name in ("株洲市发改委", "湘潭市工信局", "湘潭经开区")
    ]
    assert order == sorted(order)
    assert "共同负责" in out and "湘潭市区域共进行动工作方案" in out and "2024-06-11" in out


def test_cli_collab_limit(graph_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("collab", "湘潭市发改委", "--graph", str(graph_file), "--limit", "1") == 0
    out = capsys.readouterr().out
    assert "株洲市发改委" in out and "湘潭经开区" not in out.split("\n", 2)[-1]


def test_cli_collab_kind(graph_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("collab", "湘潭经开区", "--graph", str(graph_file), "--kind", "cooperation") == 0
    out = capsys.readouterr().out
    assert "湘江新区" in out and "株洲高新区" not in out


def test_cli_collab_on_a_task(graph_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("collab", "产业协同", "--graph", str(graph_file)) == 0
    out = capsys.readouterr().out
    assert "湘潭市发改委、湘潭市工信局、湘潭经开区" in out  # who it links


def test_cli_unknown_name(graph_file: Path) -> None:
    with pytest.raises(EntityNotFoundError) as caught:
        _run("collab", "湘潭经开", "--graph", str(graph_file))
    assert "湘潭经开区" in str(caught.value)


def test_cli_missing_graph(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        _run("collab", "湘潭市", "--graph", str(tmp_path / "nothing.ttl"))


def test_cli_path(graph_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("path", "韶山高新区", "雨花经开区", "--graph", str(graph_file)) == 0
    out = capsys.readouterr().out
    assert "韶山高新区" in out and "雨花经开区" in out
    assert NEWS_SENTENCES[0].rstrip("。") in out
    assert "湘潭园区合作新闻 (2024-05-01) [news_01]" in out


def test_cli_path_with_relations(graph_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("path", "韶山高新区", "株洲高新区", "--graph", str(graph_file)) == 0
    out = capsys.readouterr().out
    assert "隶属" in out  # partOf, by its ontology label


def test_cli_no_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _data()
    lonely = Entity(id="Organization/孤岛", type="Organization", label="孤岛")
    graph = build_rdf(KnowledgeGraphData(data.documents, (*data.entities, lonely), data.relations))
    path = tmp_path / "kg.ttl"
    path.write_text(to_turtle(graph), encoding="utf-8")
    assert _run("path", "湘潭市", "孤岛", "--graph", str(path)) == 1
    captured = capsys.readouterr()
    assert "孤岛" in captured.out + captured.err


def test_cli_suggest(graph_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("suggest", "--graph", str(graph_file), "--type", "Park") == 0
    out = capsys.readouterr().out
    assert "株洲高新区" in out and "湘江新区" in out and "湘潭经开区" in out
    assert "张三" not in out


def test_python_m_kg_reports_unknown_names_in_one_line(graph_file: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kg", "collab", "湘潭经开", "--graph", str(graph_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "no entity named 湘潭经开; closest names: 湘潭经开区" in done.stderr


def test_python_m_kg_path(graph_file: Path) -> None:
    argv = ["path", "韶山高新区", "雨花经开区", "--graph", str(graph_file)]
    done = subprocess.run(
        [sys.executable, "-m", "kg", *argv], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "1 hop(s)" in done.stdout and "[news_01]" in done.stdout


# --------------------------------------------------------------------------------------------
# Report


def test_report(result: AnalysisResult) -> None:
    report = render_report(result)
    assert report == render_report(result)
    for heading in ("PageRank", "Communities", "Brokers", "City", "Responsibility", "Suggested"):
        assert heading in report
    assert "| 湘潭市 |" in report
    assert "湘潭市发改委" in report and "牵头" in report
    assert "湘潭市区域共进行动工作方案" in report


def test_report_takes_document_objects(result: AnalysisResult) -> None:
    report = render_report(result, (NEWS, PLAN))
    assert report == render_report(result)
    assert "plan_02" in report and "2024-05-01" in report


# --------------------------------------------------------------------------------------------
# The seed corpus (built once per session by tests/conftest.py)

SEED_PLAN = "004_62dda1c1c8aa5205"


@pytest.fixture(scope="module")
def seed_result(seed_kg: Path) -> AnalysisResult:
    return analyse(Graph().parse(seed_kg))


@pytest.mark.parametrize("name", ["湘江新区", "深圳科技园", "雨花产业园"])
def test_seed_partners_of_xiangtan_economic_zone(seed_result: AnalysisResult, name: str) -> None:
    zone = find_entity(seed_result.network, "湘潭经开区")
    partner = find_entity(seed_result.network, name)
    found = {p.node: p for p in collaboration_partners(seed_result.collaboration, zone)}
    assert partner in found, f"{name} is not a collaboration partner of 湘潭经开区"
    assert "cooperation" in found[partner].kinds
    assert SEED_PLAN in {e.doc_id for e in found[partner].evidence}


def test_seed_has_no_hub(seed_result: AnalysisResult) -> None:
    # The seed is small: every shared target links all its subjects, as without the hub rule.
    assert seed_result.collaboration.graph["hubs"] == {}
    full = collaboration_network(seed_result.network, hub_subjects=None)
    assert sorted(full.edges(data="weight")) == sorted(
        seed_result.collaboration.edges(data="weight")
    )


def test_seed_path_between_parks(seed_kg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("path", "韶山高新区", "雨花经开区", "--graph", str(seed_kg)) == 0
    out = capsys.readouterr().out
    assert "hop(s)" in out and SEED_PLAN in out


def test_seed_build_wrote_the_analysis(seed_kg: Path) -> None:
    text = seed_kg.read_text(encoding="utf-8")
    graph = Graph().parse(data=text, format="turtle")
    network = rdf_to_networkx(graph)
    assert network.number_of_nodes() > 0
    assert all("pagerank" in attrs for _n, attrs in network.nodes(data=True))
    assert any(True for _ in graph.subjects(RDF.type, CZT.Community))
    for suggestion in graph.subjects(RDF.type, CZT.SuggestedLink):
        a, b = graph.objects(suggestion, CZT.suggestionOf)
        assert (a, CZT.cooperatesWith, b) not in graph and (b, CZT.cooperatesWith, a) not in graph
    # Analysing the built graph again reproduces the same triples (the build streams its
    # own Turtle, so compare canonical serialisations rather than the file's bytes).
    built = to_turtle(Graph().parse(data=text, format="turtle"))
    write_metrics(graph, analyse(graph))
    assert to_turtle(graph) == built
    assert (seed_kg.parent / "report.md").read_text(encoding="utf-8") == render_report(
        analyse(Graph().parse(data=text, format="turtle"))
    )


# --------------------------------------------------------------------------------------------
# Metric blocks: metric_triples as the streamed graph writes them, without rdflib terms

XSD_DOUBLE, XSD_INTEGER, XSD_BOOLEAN = str(XSD.double), str(XSD.integer), str(XSD.boolean)


def _metric_graph_blocks(result: AnalysisResult) -> list[list[tuple]]:
    """What the build wrote before metric_blocks: rdflib terms through kg.rdf.graph_blocks."""
    return list(graph_blocks(dict.fromkeys(metric_triples(result))))


def test_metric_blocks_are_the_graph_blocks_of_metric_triples(result: AnalysisResult) -> None:
    assert result.communities and result.brokers and result.suggestions and result.responsibility
    blocks = list(metric_blocks(result))
    assert blocks == _metric_graph_blocks(result)

    objects = {(p, o) for block in blocks for _s, p, o in block}
    zone = dict((p, o) for _s, p, o in next(b for b in blocks if b[0][0] == _iri("湘潭经开区")))
    assert zone[str(CZT.degree)] == (str(result.degree[_iri("湘潭经开区")]), None, XSD_INTEGER)
    assert (str(CZT.isBroker), ("true", None, XSD_BOOLEAN)) in objects
    community = result.communities[0]
    assert (str(RDFS.label), (community.label, "zh", None)) in objects
    assert (str(CZT.score), (repr(result.suggestions[0].score), None, XSD_DOUBLE)) in objects


def test_metric_blocks_spell_doubles_and_sort_iris_as_rdflib(result: AnalysisResult) -> None:
    # Doubles at the edges of rdflib's lexical forms, IRIs that sort otherwise in n3 form
    # ("<x-1>" before "<x>", though "x" < "x-1"), a label with a quote and a line break.
    doubles = {
        0.0: "0.0",
        1e-7: "0.0",  # rounded to DIGITS
        -1e-9: "0.0",  # no "-0.0"
        1e-6: "1e-06",
        2.5e-5: "2.5e-05",
        0.1 + 0.2: "0.3",
        123456.789012345: "123456.789012",
        1e22: "1e+22",
        3: "3.0",
    }
    nodes = sorted(result.network)
    values = dict(zip(nodes, doubles, strict=False))
    a, b, partner = nodes[0], nodes[1], nodes[2]
    first = result.suggestions[0]
    suggestions = (
        replace(first, a=a, b=b, shared=(partner, f"{partner}-1", f"{partner}1")),
        replace(first, a=a, b=f"{b}-1", shared=(partner,)),
    )
    communities = (
        replace(result.communities[0], label='“长株潭” "一体化"\n第二行'),
        *result.communities[1:],
    )
    edited = replace(
        result,
        pagerank=values,
        betweenness={node: -value for node, value in values.items()},
        suggestions=suggestions,
        communities=communities,
    )
    blocks = list(metric_blocks(edited))
    assert blocks == _metric_graph_blocks(edited)

    by_subject = {block[0][0]: block for block in blocks}
    for node, value in values.items():
        assert (node, str(CZT.pageRank), (doubles[value], None, XSD_DOUBLE)) in by_subject[node]
    shared = [o for _s, p, o in by_subject[str(suggestions[0].iri)] if p == str(CZT.sharedPartner)]
    assert shared == [f"{partner}-1", f"{partner}1", partner]
    assert [o for _s, p, o in by_subject[a] if p == str(CZT.suggestedPartner)] == [f"{b}-1", b]


def test_report_shows_the_strongest_links_as_a_full_sort_would(result: AnalysisResult) -> None:
    from kg.report import _links_section

    every = result.collaboration.number_of_edges()
    assert every > 3
    full = _links_section(result, {}, every)  # every link sorted
    for top in (1, 2, 3):
        # Only the links as strong as the top-th are sorted; the rows are the same.
        assert _links_section(result, {}, top) == full[: 4 + top] + [""]
