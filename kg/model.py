"""The data model shared by every pipeline stage: frozen dataclasses, no bare dicts between stages."""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TypeVar, overload

_T = TypeVar("_T")


def slots_init(cls: type[_T]) -> type[_T]:
    """Give a frozen slots dataclass an ``__init__`` that fills the slots directly.

    A frozen dataclass's own ``__init__`` sets each field through ``object.__setattr__`` (the
    penalty the dataclasses documentation warns of): ~3 µs for a Mention, and a build reading
    10,000 documents from its cache makes 1.6 million of these objects. Setting the slots
    through their descriptors takes half the time; arguments, defaults and errors are the same
    (tests/test_model.py checks them against the generated ``__init__``).
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    namespace: dict[str, object] = {}
    parameters, body = [], []
    for f in fields:
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: only plain fields are supported")
        namespace[f"_set_{f.name}"] = cls.__dict__[f.name].__set__  # the slot's descriptor
        if f.default is dataclasses.MISSING:
            parameters.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            parameters.append(f"{f.name}=_default_{f.name}")
        body.append(f"    _set_{f.name}(self, {f.name})\n")
    source = f"def __init__(self, {', '.join(parameters)}):\n" + "".join(body)
    exec(source, namespace)  # noqa: S102 (code made from the class's own field names)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[misc]
    return cls


# The entity classes of the ontology (local names in ontology/czt.ttl). Stages use these strings
# as type tags; kg.ontology turns them into IRIs and refuses anything not in the ontology.
ENTITY_TYPES: tuple[str, ...] = (
    "Province",
    "City",
    "County",
    "Region",
    "Agency",
    "Park",
    "Project",
    "Agreement",
    "Plan",
    "Person",
    "Organization",
    "Event",
    "Industry",
    "Task",
)
CORE_TYPES: tuple[str, ...] = (
    "City",
    "County",
    "Agency",
    "Park",
    "Project",
    "Agreement",
    "Plan",
    "Person",
)
RELATION_PREDICATES: tuple[str, ...] = (
    "cooperatesWith",
    "partyTo",
    "responsibleFor",
    "leads",
    "memberOf",
    "partOf",
    "locatedIn",
    "issuedBy",
    "participatesIn",
)
SYMMETRIC_PREDICATES: frozenset[str] = frozenset({"cooperatesWith"})
# The kinds of collaboration link kg.analysis derives, in the order evidence is shown (the
# explicit statement first), with their Chinese labels.
KINDS: tuple[str, ...] = ("cooperation", "co-party", "shared-responsibility", "co-participation")
KIND_LABELS: dict[str, str] = {
    "cooperation": "合作",
    "co-party": "共同签署",
    "shared-responsibility": "共同负责",
    "co-participation": "共同参与",
}
# The entity types that act as organisations: the default ends of suggested links.
ORGANISATION_TYPES: tuple[str, ...] = ("Agency", "Park", "Organization", "City", "County")


@slots_init
@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a document's cleaned text: ``document.text[start:end] == text``."""

    start: int
    end: int
    text: str


class TupleOnRead(Sequence[_T]):
    """A sequence whose items are made when first read, all at once: equal to, hashed and shown
    as the tuple of its items. Subclasses say how to make them (:meth:`_make`)."""

    __slots__ = ("_made",)

    def __init__(self) -> None:
        self._made: tuple[_T, ...] | None = None

    def _make(self) -> tuple[_T, ...]:
        raise NotImplementedError

    def _items(self) -> tuple[_T, ...]:
        if self._made is None:
            self._made = self._make()
        return self._made

    def __len__(self) -> int:
        return len(self._items())

    @overload
    def __getitem__(self, index: int) -> _T: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[_T, ...]: ...
    def __getitem__(self, index: int | slice) -> _T | tuple[_T, ...]:
        return self._items()[index]

    def __iter__(self) -> Iterator[_T]:
        return iter(self._items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TupleOnRead):
            other = other._items()
        return self._items() == other

    def __hash__(self) -> int:
        return hash(self._items())

    def __repr__(self) -> str:
        return repr(self._items())


class SentenceSpans(TupleOnRead[Sentence]):
    """A document's sentences kept as (start, end) offsets into its text, each made a
    :class:`Sentence` when first asked for. A build reading 10,000 documents from its cache
    never looks at their 470,000 sentences (only extraction does); making them took ~1 s."""

    __slots__ = ("_text", "_spans")

    def __init__(self, text: str, spans: Sequence[tuple[int, int]]):
        super().__init__()
        self._text, self._spans = text, tuple(spans)

    def _make(self) -> tuple[Sentence, ...]:
        text = self._text
        return tuple(Sentence(start, end, text[start:end]) for start, end in self._spans)

    def __len__(self) -> int:
        return len(self._spans)

    def __reduce__(self) -> tuple:
        return SentenceSpans, (self._text, self._spans)


@slots_init
@dataclass(frozen=True, slots=True)
class Document:
    """One input file after reading and cleaning."""

    id: str  # stable, from the file name (stem)
    path: str  # source path as given
    title: str
    text: str  # cleaned, simplified text
    sentences: Sequence[Sentence]  # a tuple, or SentenceSpans (from the cache)
    date: str | None = None  # ISO 8601 (YYYY-MM-DD) when the text gives one
    publisher: str | None = None
    authors: tuple[str, ...] = ()
    encoding: str = "utf-8"
    content_hash: str = ""  # sha256 of the raw bytes (cache key)

    def sentence_at(self, offset: int) -> Sentence:
        """The sentence containing character ``offset`` (the last one if past the end)."""
        i = bisect.bisect_right(self.sentences, offset, key=lambda s: s.start) - 1
        if 0 <= i < len(self.sentences) and offset < self.sentences[i].end:
            return self.sentences[i]
        for sentence in self.sentences:  # between sentences or past the end: as before
            if sentence.start <= offset < sentence.end:
                return sentence
        return self.sentences[-1]


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file the reader could not use, and why (shown to the user as a one-line warning)."""

    path: str
    reason: str


@slots_init
@dataclass(frozen=True, slots=True)
class Mention:
    """A typed span of a document's cleaned text, as found by one extraction rule.

    ``canonical`` is the name the extractor proposes for the thing (context applied, e.g. 市工信局
    in a plan of 湘潭市 → 湘潭市工业和信息化局); resolution merges mentions on it. ``expands_to``
    is set for enumerations (长株潭三市 → the three cities): the mention stands for several
    entities at once and never becomes an entity of its own.
    """

    doc_id: str
    start: int
    end: int
    text: str
    type: str
    rule: str
    canonical: str
    code: str | None = None  # administrative division code, when from the gazetteer
    expands_to: tuple[str, ...] = ()  # canonical names, for enumerations

    @property
    def key(self) -> tuple[str, int, int, str]:
        return (self.doc_id, self.start, self.end, self.type)


@slots_init
@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a relation was read: a sentence of a document, its offsets, and the rule."""

    doc_id: str
    start: int
    end: int
    sentence: str
    rule: str


# An Evidence as the tuple of its fields, in order: equal tuples ⇔ equal evidence, and a tuple
# hashes in C (Evidence.__hash__ is Python) — for the stages that deduplicate or key evidence.
evidence_fields = attrgetter(*(f.name for f in dataclasses.fields(Evidence)))


@slots_init
@dataclass(frozen=True, slots=True)
class RelationCandidate:
    """A relation between two mentions of one document, before resolution."""

    subject: Mention
    predicate: str
    object: Mention
    evidence: Evidence
    qualifiers: tuple[tuple[str, str], ...] = ()  # e.g. (("role", "组长"),)


@slots_init
@dataclass(frozen=True, slots=True)
class DocumentExtraction:
    """Everything the per-document stages produce for one document (what the cache stores)."""

    document: Document
    mentions: tuple[Mention, ...]
    relations: tuple[RelationCandidate, ...]


# A mention as a row of its fields in order (``Mention(*row)``): how the cache stores it and the
# cross-document stages read it. Relation candidates refer to their ends by row index.
MentionRow = tuple[str, int, int, str, str, str, str, str | None, tuple[str, ...]]
# (subject row, predicate, object row, evidence index, qualifiers)
CandidateRow = tuple[int, str, int, int, tuple[tuple[str, str], ...]]
MENTION_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Mention))
mention_row: Callable[[Mention], MentionRow] = attrgetter(*MENTION_FIELDS)


@slots_init
@dataclass(frozen=True, slots=True)
class ExtractionRows:
    """A document's extraction as the cross-document stages read it: its mentions and relation
    candidates as rows of plain values, as the cache stores them. A build reading 10,000
    documents from its cache made 1.1 million Mention and 300,000 RelationCandidate objects that
    resolution only read fields of (~1 s); rows are made Mention objects only where needed
    (:class:`MentionLinks`). Equal mentions are one row and equal pieces of
    evidence one object (:meth:`of`)."""

    document: Document
    table: tuple[MentionRow, ...]  # distinct mentions and relation ends
    mentions: tuple[int, ...]  # the extraction's mentions in order, as rows of the table
    evidence: tuple[Evidence, ...]  # distinct pieces of evidence
    candidates: tuple[CandidateRow, ...]

    @classmethod
    def of(cls, extraction: DocumentExtraction) -> ExtractionRows:
        """The rows of an extraction (equal strings made one object: marshal writes repeats as
        references, which read back faster and as one object again)."""
        strings: dict[str, str] = {}
        share = strings.setdefault
        rows: dict[MentionRow, int] = {}

        def row_of(m: Mention) -> int:
            text, rule = share(m.text, m.text), share(m.rule, m.rule)
            row = (m.doc_id, m.start, m.end, text, m.type, rule, share(m.canonical, m.canonical))
            row += (m.code and share(m.code, m.code), tuple(share(n, n) for n in m.expands_to))
            return rows.setdefault(row, len(rows))  # type: ignore[arg-type]

        pieces: dict[tuple, int] = {}

        def piece_of(e: Evidence) -> int:
            row = tuple(share(x, x) if isinstance(x, str) else x for x in evidence_fields(e))
            return pieces.setdefault(row, len(pieces))

        mentions = tuple(map(row_of, extraction.mentions))
        candidates = tuple(
            (
                row_of(c.subject),
                c.predicate,
                row_of(c.object),
                piece_of(c.evidence),
                tuple(tuple(q) for q in c.qualifiers),
            )
            for c in extraction.relations
        )
        evidence = tuple(Evidence(*row) for row in pieces)
        return cls(extraction.document, tuple(rows), mentions, evidence, candidates)  # type: ignore[arg-type]


# The links of one document: its id, the rows its mentions refer to, and (mention, entity id)
# pairs whose mention is the index of its row or a Mention (one not as extracted).
LinkPart = tuple[str, Sequence[MentionRow], Sequence[tuple["int | Mention", str]]]


class MentionLinks(TupleOnRead[tuple[Mention, str]]):
    """Each mention and the entity it stands for, by document (``KnowledgeGraphData.mentions``),
    a mention kept as its row's index until read: the tables key a mention as extracted by that
    index (kg.pipeline.mention_chunks) and only read the documents they write anew."""

    __slots__ = ("parts",)

    def __init__(self, parts: Sequence[LinkPart]):
        super().__init__()
        self.parts = tuple(parts)

    @classmethod
    def of(cls, pairs: Sequence[tuple[Mention, str]]) -> MentionLinks:
        """Pairs made elsewhere (each mention a Mention), grouped by document in order."""
        if isinstance(pairs, MentionLinks):
            return pairs
        parts: list[LinkPart] = []
        for pair in pairs:
            if not parts or parts[-1][0] != pair[0].doc_id:
                parts.append((pair[0].doc_id, (), []))
            parts[-1][2].append(pair)  # type: ignore[attr-defined]
        return cls(parts)

    def _make(self) -> tuple[tuple[Mention, str], ...]:
        return tuple(
            (ref if type(ref) is not int else Mention(*rows[ref]), target)  # type: ignore[index,misc]
            for _doc_id, rows, pairs in self.parts
            for ref, target in pairs
        )

    def __len__(self) -> int:
        return sum(len(pairs) for _doc_id, _rows, pairs in self.parts)


@slots_init
@dataclass(frozen=True, slots=True)
class Merge:
    """A record of one surface form merged into an entity, by which rule, in which document."""

    surface: str
    rule: str
    doc_id: str


@slots_init
@dataclass(frozen=True, slots=True)
class Entity:
    """One real-world thing across all documents."""

    id: str  # stable readable key, "Type/slug"; the IRI is built from it
    type: str
    label: str  # canonical simplified name
    alt_labels: tuple[str, ...] = ()
    mention_counts: tuple[tuple[str, int], ...] = ()  # (doc_id, count), sorted
    code: str | None = None


@slots_init
@dataclass(frozen=True, slots=True)
class Relation:
    """A resolved relation between two entities, with every piece of evidence for it."""

    subject: str  # Entity.id
    predicate: str
    object: str  # Entity.id
    # Distinct pieces, in order of document, offset and rule (then the other fields), as
    # kg.resolve gives them; the stages after it rely on that.
    evidence: tuple[Evidence, ...]
    qualifiers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class KnowledgeGraphData:
    """The resolved graph before it becomes RDF."""

    documents: tuple[Document, ...]
    entities: tuple[Entity, ...]
    relations: tuple[Relation, ...]
    # (mention, entity id) by document; kg.resolve gives a MentionLinks
    mentions: Sequence[tuple[Mention, str]] = field(default=())
