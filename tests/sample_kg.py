"""Generator of tests/data/sample_kg.ttl: a small hand-made graph in the exact shape of the build.

Run ``python tests/sample_kg.py`` to rewrite the file; ``test_query.py`` checks that the file is
up to date. The documents, entities and relations are hand-written ``KnowledgeGraphData`` turned
into RDF by ``kg.rdf.build_rdf``; the analysis triples (PageRank, communities, suggested links)
are hand-picked numbers written with the terms ``kg.analysis.write_metrics`` uses, so that the
gallery tests do not move when the analysis algorithms are tuned.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from rdflib import RDF, RDFS, XSD, Graph, Literal

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as a script from anywhere
    sys.path.insert(0, str(ROOT))

from kg.io import write_atomic  # noqa: E402
from kg.model import Document, Entity, Evidence, KnowledgeGraphData, Relation, Sentence  # noqa: E402
from kg.ontology import COMMUNITY_BASE, SUGGESTION_BASE, term  # noqa: E402
from kg.rdf import build_rdf, entity_iri, slug, to_turtle  # noqa: E402

SAMPLE_TTL = Path(__file__).resolve().parent / "data" / "sample_kg.ttl"

# (id, title, date, publisher, sentences): each document's text is its sentences joined.
_DOCS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    (
        "plan_xt",
        "湘潭市融入长株潭一体化发展工作方案",
        "2024-06-11",
        "湘潭市人民政府",
        (
            "湘潭市人民政府印发湘潭市融入长株潭一体化发展工作方案。",
            "湘潭县、湘乡市、韶山市和湘潭经开区在湘潭市统筹下推进工作。",
            "天易经开区隶属湘潭县。",
            "二.(一).1 着力产业创新协力协同。责任单位:市工信局(牵头)、市发改委。",
            "二.(一).2 着力基础设施互联互通。责任单位:市发改委(牵头)。",
            "湘潭经开区与湘江新区、深圳科技园开展园区合作共建。",
            "昭云大道—株洲云峰大道连接湘潭市和株洲市。",
        ),
    ),
    (
        "news_meeting",
        "长株潭一体化发展第六届市委书记联席会议召开",
        "2024-12-10",
        "新闻株洲",
        (
            "长株潭一体化发展第六届市委书记联席会议在湘潭举行。",
            "长沙市发改委与萍乡市发改委签署跨区域社会信用体系建设合作协议。",
            "萍乡市发改委参加长株潭一体化发展第六届市委书记联席会议。",
            "长沙市与湘潭市共建融城干道,长沙、湘潭深化合作。",
        ),
    ),
    (
        "news_press",
        "湖南务实推进长株潭一体化发展",
        "2023-10-11",
        "湖南日报",
        (
            "省长株潭一体化发展事务中心主任吴小月介绍有关情况。",
            "省发改委党组成员吴小月表示,将持续推进一体化。",
            "株洲市与长沙市加强产业合作。",
            "长沙市、湘潭市均属湖南省。",
            "湘乡市委副书记、市长郭勇出席发布会。",
        ),
    ),
)

# (type, label, alt labels, {doc id: mention count})
_ENTITIES: tuple[tuple[str, str, tuple[str, ...], dict[str, int]], ...] = (
    ("Province", "湖南省", (), {"news_press": 1}),
    ("City", "湘潭市", ("湘潭",), {"plan_xt": 3, "news_meeting": 3, "news_press": 1}),
    ("City", "长沙市", ("长沙",), {"news_meeting": 2, "news_press": 2}),
    ("City", "株洲市", (), {"plan_xt": 1, "news_press": 1}),
    ("County", "湘潭县", (), {"plan_xt": 2}),
    ("County", "湘乡市", (), {"plan_xt": 1}),
    ("County", "韶山市", (), {"plan_xt": 1}),
    ("Park", "湘潭经开区", ("湘潭经济技术开发区",), {"plan_xt": 2}),
    ("Park", "天易经开区", (), {"plan_xt": 1}),
    ("Park", "湘江新区", ("湖南湘江新区",), {"plan_xt": 1}),
    ("Park", "深圳科技园", (), {"plan_xt": 1}),
    ("Agency", "湘潭市人民政府", (), {"plan_xt": 1}),
    ("Agency", "湘潭市发展和改革委员会", ("市发改委", "湘潭市发改委"), {"plan_xt": 2}),
    ("Agency", "湘潭市工业和信息化局", ("市工信局",), {"plan_xt": 1}),
    ("Agency", "湖南省发展和改革委员会", ("省发改委",), {"news_press": 1}),
    ("Agency", "省长株潭一体化发展事务中心", (), {"news_press": 1}),
    ("Agency", "长沙市发改委", (), {"news_meeting": 1}),
    ("Agency", "萍乡市发改委", (), {"news_meeting": 2}),
    ("Agency", "湘乡市委", (), {"news_press": 1}),
    ("Agency", "湘乡市人民政府", (), {"news_press": 1}),
    ("Person", "吴小月", (), {"news_press": 2}),
    ("Person", "郭勇", (), {"news_press": 1}),
    ("Agreement", "跨区域社会信用体系建设合作协议", (), {"news_meeting": 1}),
    ("Plan", "湘潭市融入长株潭一体化发展工作方案", ("工作方案",), {"plan_xt": 1}),
    ("Event", "长株潭一体化发展第六届市委书记联席会议", (), {"news_meeting": 2}),
    ("Project", "融城干道", (), {"news_meeting": 1}),
    ("Project", "昭云大道—株洲云峰大道", (), {"plan_xt": 1}),
    ("Task", "二.(一).1 着力产业创新协力协同", (), {"plan_xt": 1}),
    ("Task", "二.(一).2 着力基础设施互联互通", (), {"plan_xt": 1}),
)

# (subject label, predicate, object label, doc id, sentence index, role)
_RELATIONS: tuple[tuple[str, str, str, str, int, str | None], ...] = (
    ("湘潭县", "partOf", "湘潭市", "plan_xt", 1, None),
    ("湘乡市", "partOf", "湘潭市", "plan_xt", 1, None),
    ("韶山市", "partOf", "湘潭市", "plan_xt", 1, None),
    ("湘潭经开区", "partOf", "湘潭市", "plan_xt", 1, None),
    ("天易经开区", "partOf", "湘潭县", "plan_xt", 2, None),
    ("湘潭市", "partOf", "湖南省", "news_press", 3, None),
    ("长沙市", "partOf", "湖南省", "news_press", 3, None),
    ("湘潭市融入长株潭一体化发展工作方案", "issuedBy", "湘潭市人民政府", "plan_xt", 0, None),
    (
        "湘潭市工业和信息化局",
        "responsibleFor",
        "二.(一).1 着力产业创新协力协同",
        "plan_xt",
        3,
        "牵头",
    ),
    (
        "湘潭市发展和改革委员会",
        "responsibleFor",
        "二.(一).1 着力产业创新协力协同",
        "plan_xt",
        3,
        "配合",
    ),
    (
        "湘潭市发展和改革委员会",
        "responsibleFor",
        "二.(一).2 着力基础设施互联互通",
        "plan_xt",
        4,
        "牵头",
    ),
    ("湘潭经开区", "cooperatesWith", "湘江新区", "plan_xt", 5, None),
    ("湘潭经开区", "cooperatesWith", "深圳科技园", "plan_xt", 5, None),
    ("昭云大道—株洲云峰大道", "locatedIn", "湘潭市", "plan_xt", 6, None),
    ("昭云大道—株洲云峰大道", "locatedIn", "株洲市", "plan_xt", 6, None),
    ("长沙市发改委", "partyTo", "跨区域社会信用体系建设合作协议", "news_meeting", 1, None),
    ("萍乡市发改委", "partyTo", "跨区域社会信用体系建设合作协议", "news_meeting", 1, None),
    ("长沙市发改委", "cooperatesWith", "萍乡市发改委", "news_meeting", 1, None),
    (
        "萍乡市发改委",
        "participatesIn",
        "长株潭一体化发展第六届市委书记联席会议",
        "news_meeting",
        2,
        None,
    ),
    ("长沙市", "participatesIn", "融城干道", "news_meeting", 3, None),
    ("湘潭市", "participatesIn", "融城干道", "news_meeting", 3, None),
    ("长沙市", "cooperatesWith", "湘潭市", "news_meeting", 3, None),
    ("吴小月", "memberOf", "省长株潭一体化发展事务中心", "news_press", 0, "主任"),
    ("吴小月", "leads", "省长株潭一体化发展事务中心", "news_press", 0, None),
    ("吴小月", "memberOf", "湖南省发展和改革委员会", "news_press", 1, "党组成员"),
    ("株洲市", "cooperatesWith", "长沙市", "news_press", 2, None),
    ("郭勇", "memberOf", "湘乡市委", "news_press", 4, "副书记"),
    ("郭勇", "memberOf", "湘乡市人民政府", "news_press", 4, "市长"),
    ("郭勇", "leads", "湘乡市人民政府", "news_press", 4, "市长"),
)

# Analysis stand-ins: label → (pageRank, degree, betweenness, community)
_METRICS: dict[str, tuple[float, int, float, int]] = {
    "湘潭市": (0.11, 6, 0.31, 0),
    "长沙市": (0.09, 4, 0.22, 0),
    "株洲市": (0.05, 2, 0.0, 0),
    "湘潭经开区": (0.07, 3, 0.1, 1),
    "湘江新区": (0.03, 1, 0.0, 1),
    "深圳科技园": (0.03, 1, 0.0, 1),
    "湘潭市发展和改革委员会": (0.08, 2, 0.0, 2),
    "湘潭市工业和信息化局": (0.06, 1, 0.0, 2),
    "省长株潭一体化发展事务中心": (0.065, 1, 0.0, 3),
    "湖南省发展和改革委员会": (0.04, 1, 0.0, 3),
    "长沙市发改委": (0.035, 2, 0.0, 4),
    "萍乡市发改委": (0.045, 3, 0.0, 4),
    "湘潭市人民政府": (0.02, 1, 0.0, 2),
}
_LOADS = {"湘潭市发展和改革委员会": 2, "湘潭市工业和信息化局": 1}
# (entity, entity, score, shared partners)
_SUGGESTIONS = (
    ("株洲市", "湘潭市", 0.91, ("长沙市",)),
    ("湘江新区", "深圳科技园", 1.44, ("湘潭经开区",)),
)


def _document(doc_id: str, title: str, date: str, publisher: str, parts: tuple[str, ...]):
    sentences, offset = [], 0
    for text in parts:
        sentences.append(Sentence(offset, offset + len(text), text))
        offset += len(text)
    return Document(
        id=doc_id,
        path=f"corpus/{doc_id}.txt",
        title=title,
        text="".join(parts),
        sentences=tuple(sentences),
        date=date,
        publisher=publisher,
    )


def sample_data() -> KnowledgeGraphData:
    """The hand-written documents, entities and relations of the sample graph."""
    documents = tuple(_document(*doc) for doc in _DOCS)
    by_id = {doc.id: doc for doc in documents}
    ids = {label: f"{type_}/{slug(label)}" for type_, label, _, _ in _ENTITIES}
    entities = tuple(
        Entity(
            id=ids[label],
            type=type_,
            label=label,
            alt_labels=alts,
            mention_counts=tuple(sorted(mentions.items())),
        )
        for type_, label, alts, mentions in _ENTITIES
    )
    relations = []
    for subject, predicate, obj, doc_id, index, role in _RELATIONS:
        sentence = by_id[doc_id].sentences[index]
        evidence = Evidence(doc_id, sentence.start, sentence.end, sentence.text, "sample")
        qualifiers = (("role", role),) if role else ()
        relations.append(Relation(ids[subject], predicate, ids[obj], (evidence,), qualifiers))
    return KnowledgeGraphData(documents, entities, tuple(relations))


def _add_analysis(graph: Graph, ids: dict[str, str]) -> None:
    """Metrics, communities and suggested links, shaped like the analysis stage's output."""
    for label, (rank, degree, betweenness, community) in _METRICS.items():
        node = entity_iri(ids[label])
        graph.add((node, term("pageRank"), Literal(rank, datatype=XSD.double)))
        graph.add((node, term("degree"), Literal(degree, datatype=XSD.integer)))
        graph.add((node, term("betweenness"), Literal(betweenness, datatype=XSD.double)))
        graph.add((node, term("inCommunity"), COMMUNITY_BASE[str(community)]))
    for number in sorted({metrics[3] for metrics in _METRICS.values()}):
        top = sorted((-m[0], label) for label, m in _METRICS.items() if m[3] == number)[:3]
        name = " · ".join(label for _, label in top)  # named after its top PageRank members
        graph.add((COMMUNITY_BASE[str(number)], RDF.type, term("Community")))
        graph.add((COMMUNITY_BASE[str(number)], RDFS.label, Literal(name, lang="zh")))
    for label, load in _LOADS.items():
        graph.add(
            (
                entity_iri(ids[label]),
                term("responsibilityLoad"),
                Literal(load, datatype=XSD.integer),
            )
        )
    for first, second, score, shared in _SUGGESTIONS:
        a, b = entity_iri(ids[first]), entity_iri(ids[second])
        node = SUGGESTION_BASE[hashlib.sha1(f"{a}\x1f{b}".encode()).hexdigest()[:16]]
        graph.add((node, RDF.type, term("SuggestedLink")))
        graph.add((node, RDFS.label, Literal(f"建议合作：{first}—{second}", lang="zh")))
        reason = f"二者都与{'、'.join(shared)}合作"
        graph.add((node, RDFS.comment, Literal(reason, lang="zh")))
        graph.add((node, term("suggestionOf"), a))
        graph.add((node, term("suggestionOf"), b))
        graph.add((node, term("score"), Literal(score, datatype=XSD.double)))
        for partner in shared:
            graph.add((node, term("sharedPartner"), entity_iri(ids[partner])))
        graph.add((a, term("suggestedPartner"), b))


def sample_graph() -> Graph:
    """The sample knowledge graph as an rdflib Graph."""
    data = sample_data()
    graph = build_rdf(data)
    _add_analysis(graph, {entity.label: entity.id for entity in data.entities})
    return graph


def sample_turtle() -> str:
    return to_turtle(sample_graph())


if __name__ == "__main__":
    write_atomic(SAMPLE_TTL, sample_turtle())
    print(f"wrote {SAMPLE_TTL}")
