"""Validation stage: the built graph against ontology/shapes.ttl with pySHACL, in plain words."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace

from rdflib import RDF, RDFS, SKOS, BNode, Graph, Namespace, URIRef
from rdflib.namespace import DCTERMS

from kg.ontology import SHAPES_FILE, ontology_graph

SH = Namespace("http://www.w3.org/ns/shacl#")


@dataclass(frozen=True, slots=True)
class Violation:
    focus: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f" ({self.path})" if self.path else ""
        return f"{self.focus}{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class ValidationReport:
    conforms: bool
    violations: tuple[Violation, ...]

    def summary(self, limit: int = 10) -> str:
        if self.conforms:
            return "SHACL: the graph conforms to ontology/shapes.ttl"
        lines = [f"SHACL: {len(self.violations)} violation(s) of ontology/shapes.ttl"]
        lines += [f"  - {violation}" for violation in self.violations[:limit]]
        if len(self.violations) > limit:
            lines.append(f"  … and {len(self.violations) - limit} more")
        return "\n".join(lines)


def _short(node: object) -> str:
    text = str(node)
    for sep in ("#", "/id/", "/"):
        if sep in text:
            return text.rsplit(sep, 1)[-1] if sep != "/id/" else text.split("/id/", 1)[1]
    return text


def validate_graph(graph: Graph) -> ValidationReport:
    """Validate ``graph`` (RDFS inference off: the shapes target classes as asserted)."""
    shapes = Graph().parse(SHAPES_FILE, format="turtle")
    from pyshacl import validate as shacl_validate  # 0.25 s to import; large builds skip it

    conforms, report_graph, _ = shacl_validate(
        graph,
        shacl_graph=shapes,
        ont_graph=ontology_graph(),
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    if not isinstance(report_graph, Graph):  # pySHACL could not run the shapes at all
        raise RuntimeError(f"{SHAPES_FILE}: {report_graph}")
    violations = []
    for result in report_graph.subjects(SH.resultSeverity, SH.Violation):
        focus = report_graph.value(result, SH.focusNode)
        path = report_graph.value(result, SH.resultPath)
        message = report_graph.value(result, SH.resultMessage)
        violations.append(
            Violation(
                focus=_short(focus),
                path=_short(path) if isinstance(path, URIRef) else "",
                message=str(message or "violates a shape"),
            )
        )
    violations.sort(key=lambda v: (v.focus, v.path, v.message))
    return ValidationReport(conforms=bool(conforms), violations=tuple(violations))


# ---------------------------------------------------------------------------------------------
# The same shapes, checked node by node in one pass: for graphs too large for pySHACL (it clones
# the graph and runs the SPARQL constraint once per focus node: ~14 s on the 7,000 triples of the
# seed build, hours on the 550,000 of a 1,000-document corpus). tests/test_scale.py checks that
# both validators find the same violations.

SHACL_MAX_TRIPLES = 10_000  # above this, the build validates with FastValidator (seed: 7,400)
_XSD = "http://www.w3.org/2001/XMLSchema#"
_DATE = re.compile(r"-?\d{4,}-(\d{2})-(\d{2})(?:Z|[+-]\d{2}:\d{2})?")
_LEXICAL = {
    _XSD + "nonNegativeInteger": re.compile(r"\+?\d+"),
    _XSD + "integer": re.compile(r"[+-]?\d+"),
}


def _well_typed(value: object, datatype: str) -> bool:
    """Whether a plain term (kg.rdf.PLAIN) is a well-formed literal of ``datatype``."""
    if not isinstance(value, tuple) or value[2] != datatype:
        return False
    lexical = value[0]
    if datatype == _XSD + "date":
        match = _DATE.fullmatch(lexical)
        return bool(match) and 1 <= int(match.group(1)) <= 12 and 1 <= int(match.group(2)) <= 31
    pattern = _LEXICAL.get(datatype)
    return bool(pattern.fullmatch(lexical)) if pattern else True


def _chinese(label: object) -> bool:
    language = (label[1] or "").lower() if isinstance(label, tuple) else ""
    return language == "zh" or language.startswith("zh-")


def _value(node: object) -> str:
    """The IRI (or blank node id) or the literal text of a plain term."""
    return node if isinstance(node, str) else node[0]  # type: ignore[index]


@lru_cache(maxsize=1)
def _iris() -> SimpleNamespace:
    """The IRIs the shapes talk about, as strings (namespace lookups are slow per triple)."""
    from kg.ontology import CZT, NIF

    return SimpleNamespace(
        type=str(RDF.type),
        statement=str(RDF.Statement),
        subject=str(RDF.subject),
        predicate=str(RDF.predicate),
        object=str(RDF.object),
        pref_label=str(SKOS.prefLabel),
        label=str(RDFS.label),
        mentioned_in=str(CZT.mentionedIn),
        agreement=str(CZT.Agreement),
        document=str(CZT.Document),
        title=str(DCTERMS.title),
        date=str(DCTERMS.date),
        is_string=str(NIF.isString),
        evidence_class=str(CZT.Evidence),
        reference_context=str(NIF.referenceContext),
        begin_index=str(NIF.beginIndex),
        end_index=str(NIF.endIndex),
        anchor_of=str(NIF.anchorOf),
        rule=str(CZT.rule),
        evidence=str(CZT.evidence),
        mention_count=str(CZT.mentionCount),
        party_to=str(CZT.partyTo),
    )


@lru_cache(maxsize=1)
def _shape_messages() -> dict[tuple[str, str], str]:
    """sh:message of each (node shape, path) in ontology/shapes.ttl (path ``^p`` for inverse)."""
    shapes = Graph().parse(SHAPES_FILE, format="turtle")
    messages: dict[tuple[str, str], str] = {}
    for shape in shapes.subjects(RDF.type, SH.NodeShape):
        for prop in shapes.objects(shape, SH.property):
            path = shapes.value(prop, SH.path)
            message = shapes.value(prop, SH.message)
            if isinstance(path, BNode):
                path = "^" + str(shapes.value(path, SH.inversePath))
            if message is not None:
                messages[(_short(shape), str(path))] = str(message)
        if shapes.value(shape, SH.message) is not None:
            messages[(_short(shape), "")] = str(shapes.value(shape, SH.message))
    return messages


class _Found:
    """What the checks of one block found: its own violations, and the facts about its nodes
    that constraints across nodes need (see :meth:`FastValidator.add_facts`)."""

    __slots__ = (
        "violations",
        "documents",
        "agreements",
        "parties",
        "must_be_documents",
        "asserted",
        "evidenced",
        "entities",
        "untyped_mentions",
    )

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, [])

    def facts(self) -> tuple[tuple, ...]:
        return tuple(tuple(getattr(self, name)) for name in self.__slots__)


class FastValidator:
    """Checks every constraint of ontology/shapes.ttl on a stream of node blocks.

    A block holds every triple of the nodes it describes (their labels, types, offsets…), as
    kg.rdf.GraphBlocks makes them, in plain terms (kg.rdf.PLAIN), but for the later parts of an
    entity or relation written in parts (their documents and evidence); constraints across nodes
    (classes of linked nodes, parties of agreements, evidence of asserted relations) are checked
    at the end. What a block contributes (:meth:`add_block`'s result) depends on the block
    only, so a build that copies a block written before adds its recorded facts instead.
    """

    def __init__(self) -> None:
        from kg.model import ENTITY_TYPES, RELATION_PREDICATES
        from kg.ontology import term

        self.iri = _iris()
        self.entity_classes = frozenset(str(term(name)) for name in ENTITY_TYPES)
        self.relation_predicates = frozenset(str(term(name)) for name in RELATION_PREDICATES)
        self.messages = _shape_messages()
        self.violations: list[Violation] = []
        self.documents: set[str] = set()
        self.agreements: set[str] = set()
        self.parties: dict[str, int] = {}
        self.must_be_documents: dict[str, tuple[str, str, str]] = {}  # value → (focus, path, shape)
        self.asserted: set[tuple[str, str, str]] = set()
        self.evidenced: set[tuple[str, str, str]] = set()
        # An entity written in parts (kg.rdf.GraphBlocks) lists documents in parts that do not
        # repeat its type: (node, its documents) of those, checked once it is known to be an
        # entity. (Facts list a node's documents together: hundreds of thousands of pairs.)
        self.entities: set[str] = set()
        self.untyped_mentions: list[tuple[str, tuple[str, ...]]] = []

    def _violation(
        self, found: _Found, focus: object, path: object, shape: str, fallback: str = ""
    ) -> None:
        path_text = str(path) if path else ""
        message = self.messages.get((shape, path_text)) or fallback or "violates a shape"
        found.violations.append((_short(focus), _short(path) if path else "", message))

    def _count(
        self,
        found: _Found,
        focus: str,
        values: dict[str, list],
        path: str,
        shape: str,
        low: int,
        high: int | None,
    ) -> list:
        items = values.get(path, [])
        if len(items) < low:
            self._violation(found, focus, path, shape, f"Less than {low} values on {_short(path)}")
        elif high is not None and len(items) > high:
            self._violation(found, focus, path, shape, f"More than {high} values on {_short(path)}")
        return items

    def add_block(
        self, triples: Iterable[tuple], statements: Iterable[tuple] = ()
    ) -> tuple[tuple, ...]:
        """Check the nodes of one block of plain triples, and the mention statements that
        follow them (kg.rdf.Block.statements); returns what it found (the block's facts, for
        :meth:`add_facts` in a later build that reuses the block)."""
        found = _Found()
        by_subject: dict[str, dict[str, list]] = {}
        relation_predicates, party = self.relation_predicates, self.iri.party_to
        for s, p, o in triples:
            values = by_subject.get(s)
            if values is None:
                values = by_subject[s] = {}
            objects = values.get(p)
            if objects is None:
                values[p] = [o]
            else:
                objects.append(o)
            if p in relation_predicates:
                found.asserted.append((s, p, _value(o)))
            if p == party:
                found.parties.append(_value(o))
        for subject, values in by_subject.items():
            self._check_node(found, subject, values)
        integer = _XSD + "integer"
        for statement, _entity, _document, count in statements:
            # Its other triples are kg.rdf.add_mention_statement's, one of each (tested): only
            # the count can break StatementShape (an xsd:integer, as there is no evidence).
            if not _well_typed((str(count), None, integer), integer):
                self._violation(found, statement, "", "StatementShape")
        facts = found.facts()
        self.add_facts(facts)
        return facts

    def add_facts(self, facts: tuple[tuple, ...]) -> None:
        """Take in what :meth:`add_block` found in a block."""
        (
            violations,
            documents,
            agreements,
            parties,
            must_be,
            asserted,
            evidenced,
            entities,
            untyped_mentions,
        ) = facts
        if violations:
            self.violations += [Violation(*v) for v in violations]
        if documents:
            self.documents.update(documents)
        if agreements:
            self.agreements.update(agreements)
        for node in parties:
            self.parties[node] = self.parties.get(node, 0) + 1
        setdefault = self.must_be_documents.setdefault
        for focus, path, shape, values in must_be:
            where = (focus, path, shape)
            for value in values:
                setdefault(value, where)
        if asserted:
            self.asserted.update(asserted)
        if evidenced:
            self.evidenced.update(evidenced)
        if entities:
            self.entities.update(entities)
        if untyped_mentions:
            self.untyped_mentions += untyped_mentions

    def _check_node(self, found: _Found, focus: str, values: dict[str, list]) -> None:
        iri = self.iri
        types = {_value(t) for t in values.get(iri.type, ())}
        mentioned_in = tuple(map(_value, values.get(iri.mentioned_in, ())))
        if not types:
            if mentioned_in:  # (a later part of an entity)
                found.untyped_mentions.append((focus, mentioned_in))
            return
        entity_types = types & self.entity_classes
        if entity_types:
            shape = "EntityShape"
            found.entities.append(focus)
            for label in self._count(found, focus, values, iri.pref_label, shape, 1, 1):
                if not _chinese(label):  # sh:languageIn ("zh"): zh or zh-*
                    self._violation(found, focus, iri.pref_label, shape)
            self._count(found, focus, values, iri.label, shape, 1, None)
            if len(entity_types) > 1:
                self._violation(found, focus, iri.type, shape)
            if mentioned_in:
                found.must_be_documents.append((focus, iri.mentioned_in, shape, mentioned_in))
        if iri.agreement in types:
            found.agreements.append(focus)
        if iri.document in types:
            shape = "DocumentShape"
            found.documents.append(focus)
            self._count(found, focus, values, iri.title, shape, 1, 1)
            dates = self._count(found, focus, values, iri.date, shape, 0, 1)
            if any(not _well_typed(d, _XSD + "date") for d in dates):
                self._violation(found, focus, iri.date, shape)
            self._count(found, focus, values, iri.is_string, shape, 1, 1)
        if iri.evidence_class in types:
            shape = "EvidenceShape"
            docs = self._count(found, focus, values, iri.reference_context, shape, 1, 1)
            if docs:
                found.must_be_documents.append(
                    (focus, iri.reference_context, shape, tuple(map(_value, docs)))
                )
            for index in (iri.begin_index, iri.end_index):
                items = self._count(found, focus, values, index, shape, 1, 1)
                if any(not _well_typed(v, _XSD + "nonNegativeInteger") for v in items):
                    self._violation(found, focus, index, shape)
            self._count(found, focus, values, iri.anchor_of, shape, 1, 1)
            self._count(found, focus, values, iri.rule, shape, 1, None)
        if iri.statement in types:
            shape = "StatementShape"
            parts = [
                self._count(found, focus, values, p, shape, 1, 1)
                for p in (iri.subject, iri.predicate, iri.object)
            ]
            evidence = values.get(iri.evidence, [])
            counts = values.get(iri.mention_count, [])
            counted = bool(counts) and all(_well_typed(c, _XSD + "integer") for c in counts)
            if not evidence and not counted:
                self._violation(found, focus, "", shape)
            if evidence and all(len(part) == 1 for part in parts):
                found.evidenced.append(tuple(_value(part[0]) for part in parts))

    def merge(self, other: FastValidator) -> None:
        """Take in what another validator saw (of other nodes of the same graph)."""
        self.violations += other.violations
        self.documents |= other.documents
        self.agreements |= other.agreements
        for node, count in other.parties.items():
            self.parties[node] = self.parties.get(node, 0) + count
        for value, where in other.must_be_documents.items():
            self.must_be_documents.setdefault(value, where)
        self.asserted |= other.asserted
        self.evidenced |= other.evidenced
        self.entities |= other.entities
        self.untyped_mentions += other.untyped_mentions

    def report(self) -> ValidationReport:
        """The violations found so far, including the checks across nodes."""
        violations = list(self.violations)
        must_be_documents = dict(self.must_be_documents)
        documents, entities = self.documents, self.entities
        dangling = [
            (doc, focus)
            for focus, docs in self.untyped_mentions
            if focus in entities
            for doc in docs
            if doc not in documents
        ]
        for value, focus in sorted(dangling):
            must_be_documents.setdefault(value, (focus, self.iri.mentioned_in, "EntityShape"))
        for value, (focus, path, shape) in sorted(must_be_documents.items()):
            if value not in self.documents:
                message = self.messages.get((shape, path), "must point to a czt:Document")
                violations.append(Violation(_short(focus), _short(path), message))
        for agreement in sorted(self.agreements):
            if self.parties.get(agreement, 0) < 2:
                message = self.messages.get(("AgreementShape", "^" + self.iri.party_to), "")
                violations.append(Violation(_short(agreement), "", message))
        template = self.messages.get(
            ("AssertedRelationShape", ""), "relation {?p} to {?o} has no evidence"
        )
        for s, p, o in sorted(self.asserted - self.evidenced):
            message = template.replace("{?p}", p).replace("{?o}", o)
            violations.append(Violation(_short(s), "", message))
        violations.sort(key=lambda v: (v.focus, v.path, v.message))
        return ValidationReport(conforms=not violations, violations=tuple(violations))


def validate_fast(graph: Graph) -> ValidationReport:
    """Validate an rdflib graph with :class:`FastValidator` (one block per subject)."""
    from kg.rdf import from_rdflib

    validator = FastValidator()
    by_subject: dict[object, list[tuple]] = {}
    for s, p, o in graph:
        by_subject.setdefault(s, []).append((from_rdflib(s), from_rdflib(p), from_rdflib(o)))
    for block in by_subject.values():
        validator.add_block(block)
    return validator.report()
