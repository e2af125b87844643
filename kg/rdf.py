"""RDF stage: the resolved graph data → an rdflib Graph following ontology/czt.ttl.

Every relation is asserted twice over: as a direct triple (``A czt:cooperatesWith B``) so that
simple SPARQL works, and as an ``rdf:Statement`` carrying its qualifiers (``czt:weight``,
``czt:role``) and ``czt:evidence`` links to ``czt:Evidence`` nodes (NIF offset-based strings:
document, character offsets into the cleaned text, the quoted sentence and the rule). IRIs are
derived from names and content only, so the same input always gives the same IRIs.

The ``add_*`` functions say which triples exist, once, for two kinds of terms: rdflib terms
(:func:`build_rdf`, the default) and the plain terms of the streamed output (:data:`PLAIN`: IRIs as
``str``, literals as ``(lexical form, language, datatype IRI)`` tuples), which
:class:`GraphWriter` writes as Turtle and JSON-LD and kg.validate.FastValidator checks.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache, partial
from json.encoder import encode_basestring as _json_string  # type: ignore[attr-defined]
from operator import not_
from pathlib import Path
from typing import Any, BinaryIO

from rdflib import RDF, RDFS, SKOS, XSD, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS
from rdflib.term import Node

from kg.files import (
    Copier,
    InThread,
    chunk_key,
    content_cut,
    copy_at,
    file_identity,
    open_unchanged,
    replace_soon_free,
)
from kg.io import shareable_temp, write_atomic
from kg.model import Document, Entity, Evidence, KnowledgeGraphData, Relation, evidence_fields
from kg.ontology import (
    CZT,
    DOCUMENT_BASE,
    ENTITY_BASE,
    EVIDENCE_BASE,
    NIF,
    RESOURCE_BASE,
    STATEMENT_BASE,
    TERMS,
    standard_prefixes,
    term,
)

_UNSAFE_IRI_CHARS = re.compile(r"[^\w.\-]+")


@lru_cache(maxsize=1 << 16)
def slug(name: str) -> str:
    """A readable IRI segment for a name: word characters (CJK included) kept, the rest → ``_``."""
    return _UNSAFE_IRI_CHARS.sub("_", name).strip("_") or "_"


_ENTITY_NS, _DOCUMENT_NS = str(ENTITY_BASE), str(DOCUMENT_BASE)
_STATEMENT_NS, _EVIDENCE_NS = str(STATEMENT_BASE), str(EVIDENCE_BASE)


def entity_iri(entity_id: str) -> URIRef:
    return ENTITY_BASE[entity_id]


def document_iri(doc_id: str) -> URIRef:
    return DOCUMENT_BASE[slug(doc_id)]


def _digest(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:16]


def statement_iri(subject: URIRef, predicate: URIRef, obj: URIRef) -> URIRef:
    return STATEMENT_BASE[_digest(subject, predicate, obj)]


def _evidence_iri(evidence: Evidence) -> str:
    return _EVIDENCE_NS + _digest(
        evidence.doc_id, evidence.start, evidence.end, evidence.rule, evidence.sentence
    )


def evidence_iri(evidence: Evidence) -> URIRef:
    return URIRef(_evidence_iri(evidence))


# ---------------------------------------------------------------------------------------------
# Terms: how the add_* functions make IRIs and literals.


class Terms:
    """A kind of RDF term: ``iri(str)``, ``text(str)``, ``zh(str)`` (a literal @zh),
    ``typed(value, datatype)``, ``czt(local name)`` and the fixed vocabulary as attributes."""

    def __init__(
        self,
        iri: Callable[[str], Any],
        text: Callable[[str], Any],
        zh: Callable[[str], Any],
        typed: Callable[[object, Any], Any],
    ):
        self.iri, self.text, self.zh, self.typed = iri, text, zh, typed
        self._czt = {name: iri(str(CZT[name])) for name in TERMS}
        vocabulary = {
            "type": RDF.type,
            "statement": RDF.Statement,
            "subject": RDF.subject,
            "predicate": RDF.predicate,
            "object": RDF.object,
            "label": RDFS.label,
            "pref_label": SKOS.prefLabel,
            "alt_label": SKOS.altLabel,
            "identifier": DCTERMS.identifier,
            "title": DCTERMS.title,
            "source": DCTERMS.source,
            "date": DCTERMS.date,
            "publisher": DCTERMS.publisher,
            "creator": DCTERMS.creator,
            "is_string": NIF.isString,
            "reference_context": NIF.referenceContext,
            "begin_index": NIF.beginIndex,
            "end_index": NIF.endIndex,
            "anchor_of": NIF.anchorOf,
            "document": CZT.Document,
            "evidence_class": CZT.Evidence,
            "evidence": CZT.evidence,
            "rule": CZT.rule,
            "weight": CZT.weight,
            "division_code": CZT.divisionCode,
            "mentioned_in": CZT.mentionedIn,
            "mention_count": CZT.mentionCount,
            "integer": XSD.integer,
            "non_negative_integer": XSD.nonNegativeInteger,
            "xsd_date": XSD.date,
        }
        for name, value in vocabulary.items():
            setattr(self, name, iri(str(value)))

    def czt(self, local_name: str) -> Any:
        """An ontology term by local name (unknown names raise, as kg.ontology.term)."""
        found = self._czt.get(local_name)
        return found if found is not None else self.iri(str(term(local_name)))


RDFLIB = Terms(
    URIRef,
    Literal,
    lambda value: Literal(value, lang="zh"),
    lambda value, datatype: Literal(value, datatype=datatype),
)
PLAIN = Terms(
    str,
    lambda value: (value, None, None),
    lambda value: (value, "zh", None),
    lambda value, datatype: (str(value), None, datatype),
)
"""Plain terms: an IRI is its ``str``, a literal ``(lexical form, language, datatype IRI)``."""

PlainTerm = str | tuple


def to_rdflib(node: PlainTerm) -> Node:
    """A plain term as an rdflib term."""
    if isinstance(node, str):
        return BNode(node[2:]) if node.startswith("_:") else URIRef(node)
    value, language, datatype = node
    return Literal(value, lang=language, datatype=None if datatype is None else URIRef(datatype))


_XSD_STRING = str(XSD.string)


def from_rdflib(node: Node) -> PlainTerm:
    """An rdflib term as a plain term."""
    if isinstance(node, Literal):
        datatype = str(node.datatype) if node.datatype is not None else None
        if datatype == _XSD_STRING:
            datatype = None
        return (str(node), node.language, datatype)
    if isinstance(node, BNode):
        return f"_:{node}"
    return str(node)


# ---------------------------------------------------------------------------------------------
# The graph, node by node.


def new_graph() -> Graph:
    graph = Graph()
    for prefix, namespace in standard_prefixes().items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph


def add_document(graph: Any, document: Document, terms: Terms = RDFLIB) -> Any:
    t = terms
    node = t.iri(_DOCUMENT_NS + slug(document.id))
    add = graph.add
    add((node, t.type, t.document))
    add((node, t.identifier, t.text(document.id)))
    title = t.zh(document.title)
    add((node, t.title, title))
    add((node, t.label, title))
    add((node, t.source, t.text(document.path)))
    if document.date:
        add((node, t.date, t.typed(document.date, t.xsd_date)))
    if document.publisher:
        add((node, t.publisher, t.zh(document.publisher)))
    for author in document.authors:
        add((node, t.creator, t.zh(author)))
    add((node, t.is_string, t.text(document.text)))
    return node


def add_entity(graph: Any, entity: Entity, terms: Terms = RDFLIB) -> Any:
    node = add_entity_node(graph, entity, terms)
    add_mention_statements(graph, entity, entity.mention_counts, terms)
    return node


def add_entity_node(
    graph: Any,
    entity: Entity,
    terms: Terms = RDFLIB,
    counts: Iterable[tuple[str, int]] | None = None,
) -> Any:
    """The entity's own triples: type, labels, code, and the documents that mention it (those
    of ``counts``, default all: kg.rdf.GraphBlocks lists the others with later parts)."""
    t = terms
    node = t.iri(_ENTITY_NS + entity.id)
    add = graph.add
    add((node, t.type, t.czt(entity.type)))
    label = t.zh(entity.label)
    add((node, t.label, label))
    add((node, t.pref_label, label))
    for alt in entity.alt_labels:
        if alt != entity.label:
            add((node, t.alt_label, t.zh(alt)))
    if entity.code:
        add((node, t.division_code, t.text(entity.code)))
    add_mentioned_in(graph, entity, entity.mention_counts if counts is None else counts, t)
    return node


def add_mentioned_in(
    graph: Any, entity: Entity, counts: Iterable[tuple[str, int]], terms: Terms = RDFLIB
) -> None:
    """``entity czt:mentionedIn document`` for the documents of ``counts``."""
    t = terms
    node = t.iri(_ENTITY_NS + entity.id)
    add = graph.add
    for doc_id, _count in counts:
        add((node, t.mentioned_in, t.iri(_DOCUMENT_NS + slug(doc_id))))


MentionStatement = tuple[str, str, str, int]
"""(statement IRI, entity IRI, document IRI, mention count)."""
_MENTIONED_IN = str(CZT.mentionedIn)


def mention_statements(entity: Entity, counts: Iterable[tuple[str, int]]) -> list[MentionStatement]:
    """The statements of ``entity czt:mentionedIn document`` for the documents of ``counts``."""
    iri = _ENTITY_NS + entity.id
    rows = []
    for doc_id, count in counts:
        doc_iri = _DOCUMENT_NS + slug(doc_id)
        statement = _STATEMENT_NS + _digest(iri, _MENTIONED_IN, doc_iri)
        rows.append((statement, iri, doc_iri, count))
    return rows


def add_mention_statement(graph: Any, row: MentionStatement, terms: Terms = RDFLIB) -> None:
    """One statement of :func:`mention_statements` and its mention count."""
    t = terms
    statement, entity, document, count = row
    node = _reify(graph, t, statement, t.iri(entity), t.mentioned_in, t.iri(document))
    graph.add((node, t.mention_count, t.typed(count, t.integer)))


def add_mention_statements(
    graph: Any, entity: Entity, counts: Iterable[tuple[str, int]], terms: Terms = RDFLIB
) -> None:
    """The statements of ``entity czt:mentionedIn document``, with their mention counts."""
    for row in mention_statements(entity, counts):
        add_mention_statement(graph, row, terms)


def _reify(graph: Any, t: Terms, iri: str, subject: Any, predicate: Any, obj: Any) -> Any:
    statement = t.iri(iri)
    add = graph.add
    add((statement, t.type, t.statement))
    add((statement, t.subject, subject))
    add((statement, t.predicate, predicate))
    add((statement, t.object, obj))
    return statement


def add_evidence(graph: Any, evidence: Evidence, terms: Terms = RDFLIB) -> Any:
    t = terms
    node = t.iri(_evidence_iri(evidence))
    add = graph.add
    add((node, t.type, t.evidence_class))
    add((node, t.reference_context, t.iri(_DOCUMENT_NS + slug(evidence.doc_id))))
    add((node, t.begin_index, t.typed(evidence.start, t.non_negative_integer)))
    add((node, t.end_index, t.typed(evidence.end, t.non_negative_integer)))
    add((node, t.anchor_of, t.text(evidence.sentence)))
    add((node, t.rule, t.text(evidence.rule)))
    return node


def add_relation(
    graph: Any,
    relation: Relation,
    terms: Terms = RDFLIB,
    described: Iterable[bool] | None = None,
) -> Any:
    """The relation, its statement and its evidence (``described``: per piece of evidence,
    whether to add the evidence node's own triples too; default all)."""
    statement = add_relation_statement(graph, relation, terms)
    add_relation_evidence(graph, relation, terms, described)
    return statement


def _relation_iris(relation: Relation) -> tuple[str, str, str]:
    return (
        _ENTITY_NS + relation.subject,
        str(term(relation.predicate)),
        _ENTITY_NS + relation.object,
    )


def add_relation_statement(graph: Any, relation: Relation, terms: Terms = RDFLIB) -> Any:
    """The relation and its statement (weight, qualifiers), without the evidence."""
    t = terms
    iris = _relation_iris(relation)
    subject, predicate, obj = t.iri(iris[0]), t.czt(relation.predicate), t.iri(iris[2])
    add = graph.add
    add((subject, predicate, obj))
    statement = _reify(graph, t, _STATEMENT_NS + _digest(*iris), subject, predicate, obj)
    add((statement, t.weight, t.typed(len(relation.evidence), t.integer)))
    for key, value in relation.qualifiers:
        add((statement, t.czt(key), t.zh(value)))
    return statement


def add_relation_evidence(
    graph: Any,
    relation: Relation,
    terms: Terms = RDFLIB,
    described: Iterable[bool] | None = None,
    start: int = 0,
    stop: int | None = None,
) -> None:
    """The statement's evidence ``start:stop`` (``described``: for those pieces)."""
    t = terms
    statement = t.iri(_STATEMENT_NS + _digest(*_relation_iris(relation)))
    evidence = relation.evidence[start:stop]
    flags = [True] * len(evidence) if described is None else described
    add = graph.add
    for item, describe in zip(evidence, flags, strict=True):
        node = add_evidence(graph, item, t) if describe else t.iri(_evidence_iri(item))
        add((statement, t.evidence, node))


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
# Streaming output for large graphs: the same triples as build_rdf, node by node, in plain terms,
# written to Turtle and JSON-LD without holding the whole graph in memory (an rdflib Graph of a
# 10,000-document corpus needs several GB; its Turtle writer takes minutes).

Triple = tuple[Any, Any, Any]
# The entity IRIs (czr:) and document IRIs (czd:) hold characters that would need escaping in
# prefixed names (City\/湘潭市), so they stay full IRIs in the streamed Turtle.
STREAM_PREFIXES: dict[str, str] = {
    prefix: namespace
    for prefix, namespace in standard_prefixes().items()
    if prefix not in ("czr", "czd")
}


class Block(list):
    """A block's triples, collected through the ``add`` call the add_* functions make, and
    ``statements``: rows of :func:`mention_statements` that follow them, five triples each but
    written from a template (:func:`block_turtle`, :func:`block_jsonld`) rather than triple by
    triple: they are most of a large graph (3.9 of 5.3 million triples at 10,000 documents)."""

    add = list.append
    statements: Sequence[MentionStatement] = ()

    def triple_count(self) -> int:
        return len(self) + STATEMENT_TRIPLES * len(self.statements)

    def triples(self) -> list[Triple]:
        """Every triple, the statements' too."""
        everything = Block(self)
        for row in self.statements:
            add_mention_statement(everything, row, PLAIN)
        return everything


STATEMENT_TRIPLES = 5  # (a mention statement's: see add_mention_statement)


# A block's cache key: a digest of everything its triples are made of (equal keys, equal triples).
_key = chunk_key


def _document_block(document: Document) -> Block:
    block = Block()
    add_document(block, document, PLAIN)
    return block


def _entity_block(entity: Entity, start: int, stop: int) -> Block:
    """Part of an entity: its own triples (with ``start == 0``), and its ``czt:mentionedIn``
    triples and their statements for the documents ``start:stop``."""
    block = Block()
    counts = entity.mention_counts[start:stop]
    if start == 0:
        add_entity_node(block, entity, PLAIN, counts)
    else:
        add_mentioned_in(block, entity, counts, PLAIN)
    block.statements = mention_statements(entity, counts)
    return block


def _relation_block(
    relation: Relation, described: tuple[bool, ...], start: int, stop: int
) -> Block:
    """Part of a relation: the relation and its statement (with ``start == 0``), and its
    evidence ``start:stop``."""
    block = Block()
    if start == 0:
        add_relation_statement(block, relation, PLAIN)
    add_relation_evidence(block, relation, PLAIN, described[start:stop], start, stop)
    return block


# An entity mentioned in many documents is written in parts of about this many documents (its
# czt:mentionedIn triples and their statements), cut before the documents whose digest says so
# (content-defined, like rsync's chunks): adding a document changes the part it falls into and
# the entity's own triples, not the thousands of triples of a city mentioned everywhere. A
# relation with evidence from many documents is written in parts the same way.
MENTION_PART = 32


class _PartStarts(dict[str, bool]):
    """Document id → whether a part starts at it (:func:`content_cut` with :data:`MENTION_PART`),
    each decided once: half a million look-ups at 10,000 documents."""

    def __missing__(self, doc_id: str) -> bool:
        starts = self[doc_id] = content_cut(doc_id, MENTION_PART)
        return starts


class GraphBlocks:
    """The triples of :func:`build_rdf` in plain terms, as a sequence of blocks in a
    deterministic order and without duplicates: one per document, one or more per entity and
    per relation with its statement and evidence (see :data:`MENTION_PART`; evidence shared by
    several relations is described with the first of them only).

    ``blocks[i]`` is ``(key, make)``: ``make()`` gives the block's triples, ``key`` is a digest of
    what they are made of (equal keys, equal triples), so a block written by an earlier build can
    be copied instead of made again (:class:`BlockReuse`). Each block can be made on its own, so
    two processes can write the two ends of the sequence.
    """

    def __init__(
        self, data: KnowledgeGraphData, evidence_keys: Sequence[tuple[object, ...]] | None = None
    ):
        """``evidence_keys``: per relation, what keys each piece of its evidence (one key per
        piece of evidence and one piece per key; by default the evidence's fields)."""
        self.documents, self.entities = data.documents, data.entities
        self.relations = data.relations
        starts_part = _PartStarts()
        self.entity_parts: list[tuple[int, int, int]] = []  # (entity index, start, stop)
        add_part = self.entity_parts.append
        for index, entity in enumerate(self.entities):
            counts = entity.mention_counts
            if len(counts) < 2:  # (most entities)
                add_part((index, 0, len(counts)))
                continue
            cuts = [i for i in range(1, len(counts)) if starts_part[counts[i][0]]]
            for start, stop in zip([0, *cuts], [*cuts, len(counts)], strict=True):
                add_part((index, start, stop))
        if evidence_keys is None:  # (fields as tuples: they hash in C, Evidence in Python)
            evidence_keys = [tuple(map(evidence_fields, r.evidence)) for r in self.relations]
        self.evidence_keys = evidence_keys
        self.described: list[tuple[bool, ...]] = []
        self.relation_parts: list[tuple[int, int, int]] = []  # (relation index, start, stop)
        add_part = self.relation_parts.append
        seen: set[tuple] = set()
        for index, keys in enumerate(evidence_keys):
            self.described.append(tuple(map(not_, map(seen.__contains__, keys))))
            seen.update(keys)
            if len(keys) < 2:  # (most relations)
                add_part((index, 0, len(keys)))
                continue
            documents = [piece.doc_id for piece in self.relations[index].evidence]
            cuts = [
                i
                for i in range(1, len(documents))
                if documents[i] != documents[i - 1] and starts_part[documents[i]]
            ]
            for start, stop in zip([0, *cuts], [*cuts, len(documents)], strict=True):
                add_part((index, start, stop))

    def __len__(self) -> int:
        return len(self.documents) + len(self.entity_parts) + len(self.relation_parts)

    def __getitem__(self, index: int) -> tuple[bytes, Callable[[], Block]]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index < len(self.documents):
            d = self.documents[index]
            # The text by its file's digest when known (the text is made from the file by the
            # reader, whose version the caller adds to the index's format: see BlockReuse.load).
            text = ("sha256", d.content_hash) if d.content_hash else d.text
            key = _key("document", d.id, d.path, d.title, d.date, d.publisher, d.authors, text)
            return key, partial(_document_block, d)
        index -= len(self.documents)
        if index < len(self.entity_parts):
            entity_index, start, stop = self.entity_parts[index]
            e = self.entities[entity_index]
            counts = e.mention_counts[start:stop]
            if start == 0:
                key = _key("entity", e.id, e.type, e.label, e.alt_labels, e.code, counts)
            else:
                key = _key("mentions", e.id, counts)
            return key, partial(_entity_block, e, start, stop)
        relation_index, start, stop = self.relation_parts[index - len(self.entity_parts)]
        r, described = self.relations[relation_index], self.described[relation_index]
        part = (self.evidence_keys[relation_index][start:stop], described[start:stop])
        if start == 0:
            head = (r.subject, r.predicate, r.object, r.qualifiers, len(r.evidence))
            key = _key("relation", *head, *part)
        else:
            key = _key("evidence", r.subject, r.predicate, r.object, *part)
        return key, partial(_relation_block, r, described, start, stop)

    def span(self, start: int, stop: int) -> Iterator[tuple[bytes, Callable[[], Block]]]:
        """Blocks ``start:stop``, in order."""
        for index in range(start, stop):
            yield self[index]


def keyed_blocks(blocks: Iterable[list[Triple]]) -> Iterator[tuple[bytes, Callable[[], Block]]]:
    """Blocks already made (the metric triples) in GraphBlocks' form, each keyed by its own
    triples: a later build copies the blocks whose triples it finds unchanged."""
    for block in blocks:
        yield _key("triples", block), (lambda block=block: Block(block))


def graph_blocks(graph: Iterable[tuple[Node, Node, Node]]) -> Iterator[list[Triple]]:
    """An rdflib graph's triples (or any iterable of distinct rdflib triples) as blocks per
    subject, sorted (for deterministic output), in plain terms."""
    by_subject: dict[Node, list[tuple[Node, Node, Node]]] = {}
    for triple in graph:
        by_subject.setdefault(triple[0], []).append(triple)
    for subject in sorted(by_subject, key=str):
        triples = sorted(by_subject[subject], key=lambda t: (str(t[1]), t[2].n3()))
        yield [(from_rdflib(s), from_rdflib(p), from_rdflib(o)) for s, p, o in triples]


# ------------------------------------------------------------------------ Turtle and JSON-LD
# Written as pyoxigraph's serialisers write them (tests/test_scale.py compares both), without
# building a pyoxigraph term per triple (pyoxigraph.Triple costs ~10 µs with a literal object).

_TURTLE_ESCAPES = {i: f"\\u{i:04X}" for i in (*range(0x20), 0x7F)} | {
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}
_TURTLE_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\\x7f]')
_RARE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # (escaped by translate only)
_IRI_NEEDS_ESCAPE = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_LOCAL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_RDF_TYPE = str(RDF.type)
_XSD_INTEGER = str(XSD.integer)


def _turtle_string(value: str) -> str:
    if _TURTLE_NEEDS_ESCAPE.search(value):
        if _RARE_CONTROL.search(value):
            value = value.translate(_TURTLE_ESCAPES)
        else:  # line breaks, tabs, quotes: five scans in C (str.translate maps each character
            # of a document's text through the table: 8 times slower)
            value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            value = value.replace("\r", "\\r").replace("\t", "\\t")
    return f'"{value}"'


@lru_cache(maxsize=1 << 16)
def _turtle_iri(iri: str) -> str:
    for prefix, namespace in STREAM_PREFIXES.items():
        if iri.startswith(namespace) and _LOCAL_NAME.fullmatch(iri, len(namespace)):
            return f"{prefix}:{iri[len(namespace) :]}"
    if iri.startswith("_:"):
        return iri
    if _IRI_NEEDS_ESCAPE.search(iri):
        iri = "".join(f"\\u{ord(c):04X}" if _IRI_NEEDS_ESCAPE.match(c) else c for c in iri)
    return f"<{iri}>"


def _turtle_term(node: PlainTerm) -> str:
    if isinstance(node, str):
        return _turtle_iri(node)
    value, language, datatype = node
    if language:
        return f"{_turtle_string(value)}@{language}"
    if datatype is None:
        return _turtle_string(value)
    if datatype == _XSD_INTEGER and _INTEGER.fullmatch(value):
        return value
    return f"{_turtle_string(value)}^^{_turtle_iri(datatype)}"


def turtle_block(triples: Iterable[Triple]) -> str:
    """Turtle statements (no @prefix lines) for plain triples; consecutive triples of one subject
    share it (``;``), of one subject and predicate share both (``,``)."""
    parts: list[str] = []
    append = parts.append
    last_subject = last_predicate = None
    for s, p, o in triples:
        obj = _turtle_term(o)
        if s == last_subject:
            if p == last_predicate:
                append(f" , {obj}")
            else:
                append(f" ;\n\t{'a' if p == _RDF_TYPE else _turtle_iri(p)} {obj}")
        else:
            if last_subject is not None:
                append(" .\n")
            append(f"{_turtle_iri(s)} {'a' if p == _RDF_TYPE else _turtle_iri(p)} {obj}")
        last_subject, last_predicate = s, p
    if last_subject is not None:
        append(" .\n")
    return "".join(parts)


# kg.jsonld is compacted against this context: the prefixes of kg.ttl and one for the rest of
# the project's IRIs (statements, evidence, …). Full IRIs made 80 % of the expanded file's bytes
# (732 of ~1,100 MB of graph at 10,000 documents, copied and synced on every rebuild).
JSONLD_CONTEXT: dict[str, str] = {**standard_prefixes(), "czk": RESOURCE_BASE}
_CONTEXT_JSON = json.dumps(JSONLD_CONTEXT, ensure_ascii=False, separators=(",", ":"))
JSONLD_HEADER = '{"@context":' + _CONTEXT_JSON + ',\n"@graph":['
JSONLD_FOOTER = "]}\n"
# The namespaces, longest first: all of them, and those of the project by what follows
# RESOURCE_BASE (most IRIs are the project's: matched from there, without a cache).
_NAMESPACES = sorted(
    ((ns, prefix) for prefix, ns in JSONLD_CONTEXT.items()), key=lambda i: -len(i[0])
)
_RESOURCE_NAMESPACES = [
    (namespace[len(RESOURCE_BASE) :], prefix)
    for namespace, prefix in _NAMESPACES
    if namespace.startswith(RESOURCE_BASE)
]


def _compact(namespaces: list[tuple[str, str]], iri: str, at: int = 0) -> str | None:
    """``prefix:rest`` by the longest of ``namespaces`` that begins ``iri`` from ``at``, unless
    the rest begins with "//" (JSON-LD would read that as an IRI, not a compact IRI)."""
    for namespace, prefix in namespaces:
        if iri.startswith(namespace, at) and not iri.startswith("//", at + len(namespace)):
            return f"{prefix}:{iri[at + len(namespace) :]}"
    return None


def _jsonld_iri(iri: str) -> str:
    """An IRI as a JSON string, compacted against :data:`JSONLD_CONTEXT` where it can be."""
    if iri.startswith(RESOURCE_BASE):
        compact = _compact(_RESOURCE_NAMESPACES, iri, len(RESOURCE_BASE))
        return _json_string(compact or iri)
    return _jsonld_vocabulary_iri(iri)


@lru_cache(maxsize=1 << 12)  # (predicates, classes and datatypes: a few hundred)
def _jsonld_vocabulary_iri(iri: str) -> str:
    return _json_string(_compact(_NAMESPACES, iri) or iri)


def _jsonld_term(node: PlainTerm) -> str:
    if node.__class__ is str:
        return _jsonld_node_reference(node)  # type: ignore[arg-type]
    value, language, datatype = node
    if language:
        return f'{{"@language":{_json_string(language)},"@value":{_json_string(value)}}}'
    if datatype is None:
        return f'{{"@value":{_json_string(value)}}}'
    return f'{{"@type":{_jsonld_vocabulary_iri(datatype)},"@value":{_json_string(value)}}}'


# Objects that are IRIs repeat (types, documents, entities: 97 % of lookups at 1,000 documents).
@lru_cache(maxsize=1 << 16)
def _jsonld_node_reference(iri: str) -> str:
    return f'{{"@id":{_jsonld_iri(iri)}}}'


def jsonld_block(triples: Iterable[Triple]) -> str:
    """JSON-LD node objects (comma-separated, for the "@graph" array after
    :data:`JSONLD_HEADER`) for plain triples: one object per run of triples of one subject,
    IRIs compacted against :data:`JSONLD_CONTEXT`."""
    nodes: list[str] = []
    node: list[str] = []  # the current node object: "@id", then "predicate":[objects]
    values: list[str] = []  # the objects of the current predicate
    last_subject = last_predicate = None
    predicates: set[str] = set()
    for s, p, o in triples:
        if p != last_predicate or s != last_subject:
            if values:  # the previous predicate's objects
                node.append(f"{_jsonld_vocabulary_iri(last_predicate)}:[{','.join(values)}]")
                values = []
            if s != last_subject or p in predicates:  # (a predicate again: a new node object)
                if node:
                    nodes.append("{" + ",".join(node) + "}")
                node = [f'"@id":{_jsonld_iri(s)}']
                predicates = set()
            predicates.add(p)
        values.append(_jsonld_term(o))
        last_subject, last_predicate = s, p
    if values:
        node.append(f"{_jsonld_vocabulary_iri(last_predicate)}:[{','.join(values)}]")
    if node:
        nodes.append("{" + ",".join(node) + "}")
    return ",".join(nodes)


@lru_cache(maxsize=1)
def _statement_templates() -> tuple[list[str], list[str]]:
    """A mention statement as :func:`turtle_block` and :func:`jsonld_block` write it, cut where
    its statement's digest, entity and document IRIs and count go: the writers' output for
    placeholders that they write as they are, split at the placeholders."""
    holes = (_STATEMENT_NS + "0123456789abcdef", "urn:x-hole:e", "urn:x-hole:d", 31415926535)
    block = Block()
    add_mention_statement(block, holes, PLAIN)
    templates = []
    for text, tokens in (
        (turtle_block(block), _turtle_statement_tokens(holes)),
        (jsonld_block(block), _jsonld_statement_tokens(holes)),
    ):
        pieces = []
        for token in tokens:
            before, found, text = text.partition(token)
            if not found or token in text:
                raise AssertionError(f"statement template: {token} not found once")
            pieces.append(before)
        templates.append([*pieces, text])
    return templates[0], templates[1]


# A statement's IRI is written as its digest in the template: a hex digest in the statement
# namespace (mention_statements) is written the same way in both formats, and is new each time.
_DIGEST_AT = len(_STATEMENT_NS)
_jsonld_known_iri = lru_cache(maxsize=1 << 16)(_jsonld_iri)  # (entities, documents: repeated)


def _turtle_statement_tokens(row: MentionStatement) -> tuple[str, str, str, str]:
    statement, entity, document, count = row
    # (an integer's Turtle is its lexical form: see _turtle_term)
    return statement[_DIGEST_AT:], _turtle_iri(entity), _turtle_iri(document), str(count)


def _jsonld_statement_tokens(row: MentionStatement) -> tuple[str, str, str, str]:
    statement, entity, document, count = row
    iri = _jsonld_known_iri
    return statement[_DIGEST_AT:], iri(entity), iri(document), f'"{count}"'


def _statement_texts(block: Block, form: int) -> list[str]:
    """The block's statements in one format (0: Turtle, 1: JSON-LD), from its template."""
    t0, t1, t2, t3, t4 = _statement_templates()[form]
    tokens = (_turtle_statement_tokens, _jsonld_statement_tokens)[form]
    return [f"{t0}{s}{t1}{e}{t2}{d}{t3}{c}{t4}" for s, e, d, c in map(tokens, block.statements)]


def block_turtle(block: Block) -> str:
    """:func:`turtle_block` of every triple of ``block``, its statements from the template."""
    return "".join([turtle_block(block), *_statement_texts(block, 0)])


def block_jsonld(block: Block) -> str:
    """:func:`jsonld_block` of every triple of ``block``, its statements from the template."""
    nodes = _statement_texts(block, 1)
    return ",".join([jsonld_block(block), *nodes] if block else nodes)


# ------------------------------------------------------------------------ writing, reusing


@lru_cache(maxsize=1)
def block_format() -> str:
    """What written blocks depend on besides their data: this module, the validator (blocks keep
    what it found in them), the ontology (code and file), the data model and the shapes."""
    from kg.ontology import ONTOLOGY_FILE, SHAPES_FILE

    digest = hashlib.sha256(b"block format 1")
    here = Path(__file__).parent
    for path in (here / "rdf.py", here / "validate.py", here / "ontology.py", here / "model.py"):
        digest.update(path.read_bytes())
    digest.update(ONTOLOGY_FILE.read_bytes())
    digest.update(SHAPES_FILE.read_bytes())
    return digest.hexdigest()[:16]


class BlockReuse:
    """The blocks of the previous build: where each lies in its kg.ttl and kg.jsonld (still in
    place while the new ones are written) and what the validator found in it, by block key.

    The index is written by :meth:`GraphWriter.save_index` after the outputs are committed and
    used only if both files are still the ones it describes (size, modification time, inode).
    """

    def __init__(self, index: dict[str, Any], files: tuple[int, int]):
        self.blocks: dict[bytes, tuple] = index["blocks"]
        self.turtle, self.jsonld = files  # descriptors, read with pread (a map would count its
        # pages in the resident memory of the build: 1.2 GB of outputs at 10,000 documents)

    @classmethod
    def load(
        cls, index_path: Path, turtle_path: Path, jsonld_path: Path, version: str = ""
    ) -> BlockReuse | None:
        """The index at ``index_path`` if it describes the two files and was saved with the same
        block format and ``version`` (what else the blocks depend on: the document reader's
        version, as documents are keyed by their file's digest)."""
        try:
            index = marshal.loads(index_path.read_bytes())
            if index.get("format") != (block_format(), version):
                return None
            turtle_identity, jsonld_identity = index["files"]
        except Exception:  # missing, truncated, of another layout: nothing to reuse
            return None
        files = []
        for path, identity in ((turtle_path, turtle_identity), (jsonld_path, jsonld_identity)):
            fd = open_unchanged(path, identity)
            if fd is None:  # not the files of the index
                for opened in files:
                    os.close(opened)
                return None
            files.append(fd)
        return cls(index, (files[0], files[1]))

    def place(self, key: bytes) -> tuple[int, int, int, int, int, Any] | None:
        """Where the previous files hold a block: (Turtle offset, size, JSON-LD offset, size,
        triple count, validator facts); copied by :meth:`GraphWriter.add_copied`."""
        return self.blocks.get(key)

    def close(self) -> None:
        for fd in (self.turtle, self.jsonld):
            os.close(fd)


@dataclass
class Segment:
    """A run of blocks one writer wrote for another (:meth:`GraphWriter.begin_segment`)."""

    start: int  # the index of its first block in the sequence of blocks
    turtle: tuple[int, int]  # (offset, size) in the writer's Turtle file
    jsonld: tuple[int, int]  # and in its JSON-LD file
    triples: int
    blocks: dict[bytes, tuple]  # the index of its keyed blocks, offsets in the writer's files
    facts: Any = None


@dataclass
class _CopyRun:
    """Blocks of the previous build's files to be copied as one piece: [start, end) in each."""

    source: BlockReuse
    turtle: list[int]
    jsonld: list[int]


def copy_range(fd: int, handle: BinaryIO, offset: int, size: int) -> None:
    """Append ``size`` bytes of file ``fd`` from ``offset`` to the file of ``handle`` (a
    buffered writer, flushed first), with :func:`kg.files.copy_at`."""
    handle.flush()
    at = handle.tell()
    copy_at(fd, handle.fileno(), offset, at, size)
    handle.seek(at + size)


class GraphWriter:
    """Writes kg.ttl and kg.jsonld block by block into temporary files; ``commit`` renames them
    into place (atomic, like kg.io.write_atomic), ``discard`` removes them. Blocks written with a
    key are indexed (:meth:`save_index`) so that the next build can copy them."""

    BUFFER = 1 << 20
    # Written data is synced to disk on a thread after every SYNC_EVERY bytes, so that the fsync
    # of commit waits for the last part only, not for the 1.2 GB of a 10,000-document graph.
    SYNC_EVERY = 64 << 20

    def __init__(self, turtle_path: Path, jsonld_path: Path, *, header: bool = True):
        """``header=False``: a writer of segments for another writer to copy (see
        :meth:`begin_segment`), not a file of its own."""
        self.targets = (Path(turtle_path), Path(jsonld_path))
        self._temps: list[Path] = []
        handles = []
        for target in self.targets:
            fd, name = shareable_temp(target)
            self._temps.append(name)
            handles.append(os.fdopen(fd, "wb", buffering=self.BUFFER))
        self._turtle, self._jsonld = handles
        self._sizes = [0, 0]
        if header:
            prefixes = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in STREAM_PREFIXES.items())
            heads = (prefixes.encode("utf-8"), JSONLD_HEADER.encode("utf-8"))
            for handle, head in zip(handles, heads, strict=True):
                handle.write(head)
            self._sizes = [len(head) for head in heads]
        self._first_node = True
        self.blocks: dict[bytes, tuple] = {}
        self.triples = 0
        self._segment: tuple[int, int, int, int] | None = None
        # (A writer of segments holds data to be copied, not kept: no need to sync it.)
        self._sync_at: float = self.SYNC_EVERY if header else float("inf")
        self._sync: InThread | None = None
        self._run: _CopyRun | None = None
        self._copier = Copier()

    def add_block(self, block: Block, key: bytes | None = None, facts: Any = None) -> None:
        """Write one block of plain triples (``key``, ``facts``: index it for the next build)."""
        turtle = block_turtle(block).encode("utf-8")
        jsonld = block_jsonld(block).encode("utf-8")
        self.add_serialized(turtle, jsonld, block.triple_count(), key, facts)

    def add_serialized(
        self, turtle: bytes, jsonld: bytes, count: int, key: bytes | None = None, facts: Any = None
    ) -> None:
        """Write one block already serialised (by :meth:`add_block`)."""
        if not count:
            return
        self._copy_run()
        self._separate()
        turtle_at, jsonld_at = self._sizes
        self._turtle.write(turtle)
        self._jsonld.write(jsonld)
        self._sizes[0] += len(turtle)
        self._sizes[1] += len(jsonld)
        self.triples += count
        if key is not None:
            self.blocks[key] = (turtle_at, len(turtle), jsonld_at, len(jsonld), count, facts)
        self._sync_now_and_then()

    def _separate(self) -> None:
        """Before a node: the JSON-LD array's separator, unless it is the first."""
        if not self._first_node:
            self._jsonld.write(b",\n")
            self._sizes[1] += 2
        self._first_node = False

    def add_copied(self, source: BlockReuse, place: tuple, key: bytes) -> None:
        """Write a block the previous build wrote (:meth:`BlockReuse.place`), copied from its
        files. Blocks that lie one after the other there are copied as one run, by the kernel
        (os.copy_file_range), when the run ends: most of a rebuild's gigabyte is such runs."""
        turtle_at, turtle_size, jsonld_at, jsonld_size, count, facts = place
        if not count:
            return
        run = self._run
        if (
            run is not None
            and run.source is source
            and not self._first_node
            and turtle_at == run.turtle[1]
            and jsonld_at == run.jsonld[1] + 2  # (the ",\n" between two nodes, there and here)
        ):
            run.turtle[1] = turtle_at + turtle_size
            run.jsonld[1] = jsonld_at + jsonld_size
            self._sizes[1] += 2
        else:
            self._copy_run()
            self._separate()
            self._run = _CopyRun(
                source, [turtle_at, turtle_at + turtle_size], [jsonld_at, jsonld_at + jsonld_size]
            )
        new_turtle_at, new_jsonld_at = self._sizes
        self._sizes[0] += turtle_size
        self._sizes[1] += jsonld_size
        self.triples += count
        self.blocks[key] = (new_turtle_at, turtle_size, new_jsonld_at, jsonld_size, count, facts)
        self._sync_now_and_then()

    def _copy_run(self) -> None:
        """Have the run of blocks :meth:`add_copied` has gathered copied (on the copier's
        thread; the sizes count it already)."""
        run, self._run = self._run, None
        if run is None:
            return
        for handle, fd, (start, end) in (
            (self._turtle, run.source.turtle, run.turtle),
            (self._jsonld, run.source.jsonld, run.jsonld),
        ):
            self._copier.copy_into(handle, fd, start, end - start)  # (writing goes on after it)

    def _sync_now_and_then(self) -> None:
        """Every SYNC_EVERY bytes, start syncing what the files hold so far (a run of copied
        blocks is handed to the copier first; what it has not copied yet is synced by a later
        piece or by :meth:`commit`)."""
        if self._sizes[0] + self._sizes[1] < self._sync_at:
            return
        self._copy_run()
        if self._sync is not None:
            if not self._sync.done():
                return
            self._sync.wait()
        self._sync_at = self._sizes[0] + self._sizes[1] + self.SYNC_EVERY
        descriptors = (self._turtle.fileno(), self._jsonld.fileno())
        self._sync = InThread(lambda: [os.fdatasync(fd) for fd in descriptors])

    def _finish_sync(self) -> None:
        if self._sync is not None:
            self._sync.wait()
            self._sync = None

    def flush(self) -> None:
        """Write out what is buffered and wait for the copies."""
        self._copy_run()
        self._copier.wait()
        for handle in (self._turtle, self._jsonld):
            handle.flush()

    def begin_segment(self, start: int) -> None:
        """Begin a segment: the blocks from ``start`` on, written here to be copied by another
        writer (:meth:`append_segment`) after the blocks before ``start``. Two processes can so
        write the two ends of one graph."""
        self._copy_run()
        self._first_node = True
        self.blocks = {}
        self._segment = (start, self._sizes[0], self._sizes[1], self.triples)

    def end_segment(self, facts: Any = None) -> Segment:
        """The segment begun last (``facts``: what the validator found in its blocks)."""
        assert self._segment is not None, "no segment begun"
        start, turtle_at, jsonld_at, triples = self._segment
        self._segment = None
        turtle = (turtle_at, self._sizes[0] - turtle_at)
        jsonld = (jsonld_at, self._sizes[1] - jsonld_at)
        return Segment(start, turtle, jsonld, self.triples - triples, self.blocks, facts)

    def append_segment(self, source: GraphWriter, segment: Segment) -> None:
        """Copy a segment that ``source`` wrote (see :meth:`begin_segment`) to the end of this
        writer's files, with its blocks' places in the index."""
        if not segment.triples:
            return
        source.flush()
        self._copy_run()
        self._separate()
        shifts = []
        for handle, source_handle, (at, size), index in (
            (self._turtle, source._turtle, segment.turtle, 0),
            (self._jsonld, source._jsonld, segment.jsonld, 1),
        ):
            shifts.append(self._sizes[index] - at)
            copy_range(source_handle.fileno(), handle, at, size)
            self._sizes[index] += size
        turtle_shift, jsonld_shift = shifts
        for key, (
            turtle_at,
            turtle_size,
            jsonld_at,
            jsonld_size,
            count,
            facts,
        ) in segment.blocks.items():
            place = (turtle_at + turtle_shift, turtle_size, jsonld_at + jsonld_shift, jsonld_size)
            self.blocks[key] = (*place, count, facts)
        self.triples += segment.triples
        self._sync_now_and_then()

    def read_turtle(self) -> Graph:
        """What has been written so far, as an rdflib graph (for pySHACL, on small graphs)."""
        self.flush()
        return Graph().parse(self._temps[0], format="turtle")

    def pause(self) -> dict[str, object]:
        """Flush and close the temporary files, keeping them, and return what :meth:`resume`
        needs to go on writing them (in another process: the parallel build streams the
        resolved data in a child process while the parent runs the analysis)."""
        self._copy_run()
        self._copier.wait()
        self._finish_sync()
        for handle in (self._turtle, self._jsonld):
            handle.close()
        return {
            "targets": self.targets,
            "temps": tuple(self._temps),
            "first_node": self._first_node,
            "sizes": tuple(self._sizes),
            "blocks": self.blocks,
            "triples": self.triples,
        }

    @classmethod
    def resume(cls, state: dict[str, Any]) -> GraphWriter:
        writer = cls.__new__(cls)
        writer.targets = state["targets"]
        writer._temps = list(state["temps"])
        # At the end, not in append mode: copy_file_range refuses files opened for appending.
        writer._turtle, writer._jsonld = (
            open(temp, "r+b", buffering=cls.BUFFER)  # noqa: SIM115
            for temp in writer._temps
        )
        for handle in (writer._turtle, writer._jsonld):
            handle.seek(0, os.SEEK_END)
        writer._first_node = bool(state["first_node"])
        writer._sizes = list(state["sizes"])
        writer.blocks = state["blocks"]
        writer.triples = int(state["triples"])
        writer._segment = None
        writer._sync_at = writer._sizes[0] + writer._sizes[1] + cls.SYNC_EVERY
        writer._sync = None
        writer._run = None
        writer._copier = Copier()
        return writer

    def commit(self) -> None:
        """Sync the files and rename them into place (the replaced files are freed on a thread:
        :func:`kg.files.settle` waits for it)."""
        self._copy_run()
        self._jsonld.write(JSONLD_FOOTER.encode("utf-8"))
        self._copier.wait()
        self._finish_sync()
        for handle in (self._turtle, self._jsonld):
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        for temp, target in zip(self._temps, self.targets, strict=True):
            replace_soon_free(temp, target)

    def save_index(self, path: Path, version: str = "") -> None:
        """Record where the committed files hold each keyed block (see :class:`BlockReuse`)."""
        files = [file_identity(target.stat()) for target in self.targets]
        index = {"format": (block_format(), version), "files": files, "blocks": self.blocks}
        # (Plain data: marshal is 4x faster than pickle. Unsynced: a lost index costs time.)
        write_atomic(path, marshal.dumps(index), sync=False)

    def discard(self) -> None:
        with suppress(OSError):
            self._copier.wait()
        with suppress(OSError):
            self._finish_sync()
        for handle in (self._turtle, self._jsonld):
            handle.close()
        for temp in self._temps:
            temp.unlink(missing_ok=True)
