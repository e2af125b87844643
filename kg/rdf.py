"""RDF stage: the resolved graph data → an rdflib Graph following ontology/czt.ttl.

Every relation is asserted twice over: as a direct triple (``A czt:cooperatesWith B``) so that
simple SPARQL works, and as an ``rdf:Statement`` carrying its qualifiers (``czt:weight``,
``czt:role``) and ``czt:evidence`` links to ``czt:Evidence`` nodes (NIF offset-based strings:
document, character offsets into the cleaned text, the quoted sentence and the rule). IRIs are
derived from names and content only, so the same input always gives the same IRIs.
"""

from __future__ import annotations

import hashlib
import re

from rdflib import RDF, RDFS, SKOS, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from kg.model import Document, Entity, Evidence, KnowledgeGraphData, Relation
from kg.ontology import (
    CZT,
    DOCUMENT_BASE,
    ENTITY_BASE,
    EVIDENCE_BASE,
    NIF,
    STATEMENT_BASE,
    standard_prefixes,
    term,
)

_UNSAFE_IRI_CHARS = re.compile(r"[^\w.\-]+")


def slug(name: str) -> str:
    """A readable IRI segment for a name: word characters (CJK included) kept, the rest → ``_``."""
    return _UNSAFE_IRI_CHARS.sub("_", name).strip("_") or "_"


def entity_iri(entity_id: str) -> URIRef:
    return ENTITY_BASE[entity_id]


def document_iri(doc_id: str) -> URIRef:
    return DOCUMENT_BASE[slug(doc_id)]


def _digest(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:16]


def statement_iri(subject: URIRef, predicate: URIRef, obj: URIRef) -> URIRef:
    return STATEMENT_BASE[_digest(subject, predicate, obj)]


def evidence_iri(evidence: Evidence) -> URIRef:
    return EVIDENCE_BASE[
        _digest(evidence.doc_id, evidence.start, evidence.end, evidence.rule, evidence.sentence)
    ]


def new_graph() -> Graph:
    graph = Graph()
    for prefix, namespace in standard_prefixes().items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph


def add_document(graph: Graph, document: Document) -> URIRef:
    node = document_iri(document.id)
    graph.add((node, RDF.type, CZT.Document))
    graph.add((node, DCTERMS.identifier, Literal(document.id)))
    graph.add((node, DCTERMS.title, Literal(document.title, lang="zh")))
    graph.add((node, RDFS.label, Literal(document.title, lang="zh")))
    graph.add((node, DCTERMS.source, Literal(document.path)))
    if document.date:
        graph.add((node, DCTERMS.date, Literal(document.date, datatype=XSD.date)))
    if document.publisher:
        graph.add((node, DCTERMS.publisher, Literal(document.publisher, lang="zh")))
    for author in document.authors:
        graph.add((node, DCTERMS.creator, Literal(author, lang="zh")))
    graph.add((node, NIF.isString, Literal(document.text)))
    return node


def add_entity(graph: Graph, entity: Entity) -> URIRef:
    node = entity_iri(entity.id)
    graph.add((node, RDF.type, term(entity.type)))
    label = Literal(entity.label, lang="zh")
    graph.add((node, RDFS.label, label))
    graph.add((node, SKOS.prefLabel, label))
    for alt in entity.alt_labels:
        if alt != entity.label:
            graph.add((node, SKOS.altLabel, Literal(alt, lang="zh")))
    if entity.code:
        graph.add((node, CZT.divisionCode, Literal(entity.code)))
    for doc_id, count in entity.mention_counts:
        doc = document_iri(doc_id)
        graph.add((node, CZT.mentionedIn, doc))
        statement = _reify(graph, node, CZT.mentionedIn, doc)
        graph.add((statement, CZT.mentionCount, Literal(count, datatype=XSD.integer)))
    return node


def _reify(graph: Graph, subject: URIRef, predicate: URIRef, obj: URIRef) -> URIRef:
    statement = statement_iri(subject, predicate, obj)
    graph.add((statement, RDF.type, RDF.Statement))
    graph.add((statement, RDF.subject, subject))
    graph.add((statement, RDF.predicate, predicate))
    graph.add((statement, RDF.object, obj))
    return statement


def add_evidence(graph: Graph, evidence: Evidence) -> URIRef:
    node = evidence_iri(evidence)
    graph.add((node, RDF.type, CZT.Evidence))
    graph.add((node, NIF.referenceContext, document_iri(evidence.doc_id)))
    graph.add((node, NIF.beginIndex, Literal(evidence.start, datatype=XSD.nonNegativeInteger)))
    graph.add((node, NIF.endIndex, Literal(evidence.end, datatype=XSD.nonNegativeInteger)))
    graph.add((node, NIF.anchorOf, Literal(evidence.sentence)))
    graph.add((node, CZT.rule, Literal(evidence.rule)))
    return node


def add_relation(graph: Graph, relation: Relation) -> URIRef:
    subject, obj = entity_iri(relation.subject), entity_iri(relation.object)
    predicate = term(relation.predicate)
    graph.add((subject, predicate, obj))
    statement = _reify(graph, subject, predicate, obj)
    graph.add((statement, CZT.weight, Literal(len(relation.evidence), datatype=XSD.integer)))
    for key, value in relation.qualifiers:
        graph.add((statement, term(key), Literal(value, lang="zh")))
    for evidence in relation.evidence:
        graph.add((statement, CZT.evidence, add_evidence(graph, evidence)))
    return statement


def build_rdf(data: KnowledgeGraphData) -> Graph:
    """The whole knowledge graph as RDF (documents, entities, relations, evidence)."""
    graph = new_graph()
    for document in data.documents:
        add_document(graph, document)
    for entity in data.entities:
        add_entity(graph, entity)
    for relation in data.relations:
        add_relation(graph, relation)
    return graph


def to_turtle(graph: Graph) -> str:
    """Deterministic Turtle: the graph has no blank nodes and rdflib sorts subjects/predicates."""
    return graph.serialize(format="turtle")


def to_jsonld(graph: Graph) -> str:
    context = {prefix: namespace for prefix, namespace in standard_prefixes().items()}
    return graph.serialize(format="json-ld", context=context, sort_keys=True, indent=1)
