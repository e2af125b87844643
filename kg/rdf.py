"""RDF stage: the resolved graph data → an rdflib Graph following ontology/czt.ttl.

Every relation is asserted twice over: as a direct triple (``A czt:cooperatesWith B``) so that
simple SPARQL works, and as an ``rdf:Statement`` carrying its qualifiers (``czt:weight``,
``czt:role``) and ``czt:evidence`` links to ``czt:Evidence`` nodes (NIF offset-based strings:
document, character offsets into the cleaned text, the quoted sentence and the rule). IRIs are
derived from names and content only, so the same input always gives the same IRIs.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
from rdflib import RDF, RDFS, SKOS, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS
from rdflib.term import Node

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


# ---------------------------------------------------------------------------------------------
# Streaming output for large graphs: the same triples as build_rdf, node by node, written to
# Turtle and JSON-LD by pyoxigraph's serialisers without holding the whole graph in memory
# (an rdflib Graph of a 10,000-document corpus needs several GB; its Turtle writer takes minutes).

Triple = tuple[Node, Node, Node]
# The entity IRIs (czr:) and document IRIs (czd:) hold characters that would need escaping in
# prefixed names (City\/湘潭市), so they stay full IRIs in the streamed Turtle.
STREAM_PREFIXES: dict[str, str] = {
    prefix: namespace
    for prefix, namespace in standard_prefixes().items()
    if prefix not in ("czr", "czd")
}


class _Block(list):
    """One node's triples, collected through the ``add`` call the add_* functions make."""

    add = list.append


def triple_blocks(data: KnowledgeGraphData) -> Iterator[list[Triple]]:
    """The triples of :func:`build_rdf`, one block per document, entity and relation (with its
    statement and evidence), in a deterministic order and without duplicates: evidence shared by
    several relations is emitted with the first of them only."""
    for document in data.documents:
        block = _Block()
        add_document(block, document)
        yield block
    for entity in data.entities:
        block = _Block()
        add_entity(block, entity)
        yield list(dict.fromkeys(block))
    seen_evidence: set[Node] = set()
    for relation in data.relations:
        block = _Block()
        add_relation(block, relation)
        fresh = [triple for triple in dict.fromkeys(block) if triple[0] not in seen_evidence]
        seen_evidence.update(s for s, p, o in fresh if p == RDF.type and o == CZT.Evidence)
        yield fresh


def graph_blocks(graph: Graph) -> Iterator[list[Triple]]:
    """An rdflib graph's triples as blocks per subject, sorted (for deterministic output)."""
    by_subject: dict[Node, list[Triple]] = {}
    for triple in graph:
        by_subject.setdefault(triple[0], []).append(triple)
    for subject in sorted(by_subject, key=str):
        yield sorted(by_subject[subject], key=lambda t: (str(t[1]), t[2].n3()))


@lru_cache(maxsize=65536)
def _named_node(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def to_oxigraph(term: Node) -> ox.NamedNode | ox.Literal | ox.BlankNode:
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, URIRef):
        return _named_node(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=_named_node(str(term.datatype)))
        return ox.Literal(str(term))
    return ox.BlankNode(str(term))


class GraphWriter:
    """Writes kg.ttl and kg.jsonld block by block into temporary files; ``commit`` renames them
    into place (atomic, like kg.io.write_atomic), ``discard`` removes them."""

    BATCH = 20_000  # triples per serialiser call

    def __init__(self, turtle_path: Path, jsonld_path: Path):
        self.targets = (Path(turtle_path), Path(jsonld_path))
        self._temps: list[Path] = []
        handles = []
        for target in self.targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            self._temps.append(Path(name))
            handles.append(os.fdopen(fd, "wb"))
        self._turtle, self._jsonld = handles
        header = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in STREAM_PREFIXES.items())
        self._turtle.write(header.encode("utf-8"))
        self._jsonld.write(b"[")
        self._first_node = True
        self._pending: list[ox.Triple] = []
        self.triples = 0

    def add_block(self, block: Iterable[Triple]) -> list[tuple]:
        """Queue one block for writing; returns it as pyoxigraph terms (for FastValidator)."""
        converted = [(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)) for s, p, o in block]
        self._pending.extend(ox.Triple(*triple) for triple in converted)
        self.triples += len(converted)
        if len(self._pending) >= self.BATCH:
            self.flush()
        return converted

    def flush(self) -> None:
        """Serialise what is queued (the build flushes at fixed points, so that the JSON-LD
        separators fall in the same places whichever process writes)."""
        if not self._pending:
            return
        turtle = ox.serialize(self._pending, format=ox.RdfFormat.TURTLE, prefixes=STREAM_PREFIXES)
        # Each call repeats the @prefix lines (in an order of its own): the header has them once.
        body = turtle.split(b"\n")
        while body and body[0].startswith(b"@prefix "):
            body.pop(0)
        self._turtle.write(b"\n".join(body))
        jsonld = ox.serialize(self._pending, format=ox.RdfFormat.JSON_LD).strip()
        if jsonld not in (b"[]", b""):
            self._jsonld.write((b"" if self._first_node else b",\n") + jsonld[1:-1])
            self._first_node = False
        self._pending.clear()

    def pause(self) -> dict[str, object]:
        """Flush and close the temporary files, keeping them, and return what :meth:`resume`
        needs to go on writing them (in another process: the parallel build streams the
        resolved data in a child process while the parent runs the analysis)."""
        self.flush()
        for handle in (self._turtle, self._jsonld):
            handle.close()
        return {
            "targets": self.targets,
            "temps": tuple(self._temps),
            "first_node": self._first_node,
            "triples": self.triples,
        }

    @classmethod
    def resume(cls, state: dict[str, object]) -> GraphWriter:
        writer = cls.__new__(cls)
        writer.targets = state["targets"]  # type: ignore[assignment]
        writer._temps = list(state["temps"])  # type: ignore[call-overload]
        writer._turtle, writer._jsonld = (open(temp, "ab") for temp in writer._temps)  # noqa: SIM115
        writer._first_node = bool(state["first_node"])
        writer._pending = []
        writer.triples = int(state["triples"])  # type: ignore[call-overload]
        return writer

    def commit(self) -> None:
        self.flush()
        self._jsonld.write(b"]\n")
        for handle in (self._turtle, self._jsonld):
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        for temp, target in zip(self._temps, self.targets, strict=True):
            os.replace(temp, target)

    def discard(self) -> None:
        for handle in (self._turtle, self._jsonld):
            handle.close()
        for temp in self._temps:
            temp.unlink(missing_ok=True)
