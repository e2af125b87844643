"""The one conversion from the RDF graph to networkx, shared by analysis, maps and the CLI.

Nodes are entity IRIs (str) with ``label``, ``type``, ``aliases``, ``documents`` and any metric
already in the RDF (``pagerank``, ``degree``, ``betweenness``, ``community``). Edges of the
returned ``MultiDiGraph`` are keyed by predicate local name and carry ``predicate``, ``weight``
(pieces of evidence), ``role`` and ``evidence`` (a list of :class:`EdgeEvidence`). Suggested links
are edges with ``suggested=True``, their ``score`` and ``shared`` partners.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx
from rdflib import RDF, RDFS, SKOS, Graph, URIRef
from rdflib.namespace import DCTERMS

from kg.model import ENTITY_TYPES, RELATION_PREDICATES, slots_init
from kg.ontology import CZT, NIF, term


@slots_init
@dataclass(frozen=True, slots=True)
class EdgeEvidence:
    """A piece of evidence as the maps and the CLI show it."""

    sentence: str
    doc_id: str
    doc_title: str
    doc_date: str
    start: int
    end: int
    rule: str


def _documents(graph: Graph) -> dict[URIRef, dict[str, str]]:
    docs: dict[URIRef, dict[str, str]] = {}
    for doc in graph.subjects(RDF.type, CZT.Document):
        docs[URIRef(doc)] = {
            "id": str(graph.value(doc, DCTERMS.identifier) or doc),
            "title": str(graph.value(doc, DCTERMS.title) or ""),
            "date": str(graph.value(doc, DCTERMS.date) or ""),
            "publisher": str(graph.value(doc, DCTERMS.publisher) or ""),
        }
    return docs


def _evidence_by_statement(
    graph: Graph, docs: dict[URIRef, dict[str, str]]
) -> dict[tuple[URIRef, URIRef, URIRef], tuple[list[EdgeEvidence], str]]:
    found: dict[tuple[URIRef, URIRef, URIRef], tuple[list[EdgeEvidence], str]] = {}
    for statement in graph.subjects(RDF.type, RDF.Statement):
        key = (
            URIRef(graph.value(statement, RDF.subject)),
            URIRef(graph.value(statement, RDF.predicate)),
            URIRef(graph.value(statement, RDF.object)),
        )
        evidence = []
        for node in graph.objects(statement, CZT.evidence):
            doc = URIRef(graph.value(node, NIF.referenceContext))
            meta = docs.get(doc, {"id": str(doc), "title": "", "date": ""})
            evidence.append(
                EdgeEvidence(
                    sentence=str(graph.value(node, NIF.anchorOf) or ""),
                    doc_id=meta["id"],
                    doc_title=meta["title"],
                    doc_date=meta["date"],
                    start=int(graph.value(node, NIF.beginIndex) or 0),
                    end=int(graph.value(node, NIF.endIndex) or 0),
                    rule=str(graph.value(node, CZT.rule) or ""),
                )
            )
        evidence.sort(key=lambda e: (e.doc_id, e.start, e.rule))
        found[key] = (evidence, str(graph.value(statement, CZT.role) or ""))
    return found


def rdf_to_networkx(graph: Graph) -> nx.MultiDiGraph:
    """Entities and their relations (with evidence) as a networkx multigraph."""
    docs = _documents(graph)
    network = nx.MultiDiGraph(documents={d["id"]: d for d in docs.values()})
    entity_classes = {term(name): name for name in ENTITY_TYPES}
    for cls, type_name in sorted(entity_classes.items()):
        for node in sorted(graph.subjects(RDF.type, cls)):
            mentioned = sorted(
                docs[d]["id"] for d in graph.objects(node, CZT.mentionedIn) if d in docs
            )
            attrs: dict[str, object] = {
                "label": str(graph.value(node, SKOS.prefLabel) or graph.value(node, RDFS.label)),
                "type": type_name,
                "aliases": sorted(str(a) for a in graph.objects(node, SKOS.altLabel)),
                "documents": mentioned,
            }
            for metric in ("pageRank", "degree", "betweenness", "responsibilityLoad"):
                value = graph.value(node, CZT[metric])
                if value is not None:
                    attrs[metric.lower()] = value.toPython()
            community = graph.value(node, CZT.inCommunity)
            if community is not None:
                attrs["community"] = str(community).rsplit("/", 1)[-1]
            network.add_node(str(node), **attrs)

    evidence = _evidence_by_statement(graph, docs)
    for predicate_name in RELATION_PREDICATES:
        predicate = term(predicate_name)
        for subject, obj in sorted(graph.subject_objects(predicate)):
            if str(subject) not in network or str(obj) not in network:
                continue
            items, role = evidence.get((subject, predicate, obj), ([], ""))
            network.add_edge(
                str(subject),
                str(obj),
                key=predicate_name,
                predicate=predicate_name,
                weight=max(1, len(items)),
                role=role,
                evidence=items,
                suggested=False,
            )
    _add_suggestions(graph, network)
    return network


def _add_suggestions(graph: Graph, network: nx.MultiDiGraph) -> None:
    members: dict[URIRef, list[str]] = defaultdict(list)
    for suggestion in graph.subjects(RDF.type, CZT.SuggestedLink):
        members[suggestion] = sorted(str(e) for e in graph.objects(suggestion, CZT.suggestionOf))
    for suggestion, pair in sorted(members.items()):
        if len(pair) != 2 or not all(p in network for p in pair):
            continue
        shared = sorted(
            network.nodes[str(p)]["label"]
            for p in graph.objects(suggestion, CZT.sharedPartner)
            if str(p) in network
        )
        score = graph.value(suggestion, CZT.score)
        add_suggested_edge(
            network, pair[0], pair[1], float(score.toPython()) if score is not None else 0.0, shared
        )


def add_suggested_edge(
    network: nx.MultiDiGraph, a: str, b: str, score: float, shared: list[str]
) -> None:
    """A suggested link as an edge of the relation network (kept apart from facts by
    ``suggested=True``; the maps draw it dashed)."""
    network.add_edge(
        a,
        b,
        key="suggestedPartner",
        predicate="suggestedPartner",
        weight=1,
        role="",
        evidence=[],
        suggested=True,
        score=score,
        shared=shared,
    )


def node_by_name(network: nx.MultiDiGraph, name: str) -> str | None:
    """The node whose label or alias equals ``name`` (labels first), or None."""
    for node, attrs in sorted(network.nodes(data=True)):
        if attrs.get("label") == name:
            return node
    for node, attrs in sorted(network.nodes(data=True)):
        if name in attrs.get("aliases", ()):
            return node
    return None
