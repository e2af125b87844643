"""Resolution stage: mentions of all documents → one Entity per real-world thing, and relation
candidates → Relations between entities. Every mention keeps the rules that read and resolved it,
so every merge can be told (surface form, rule, document: :func:`entity_merges`).

Resolution goes on from a state (:class:`ResolutionState`, which a build keeps in its cache): a
rebuild after documents were added reads only those into it, plus the documents whose links or
relations read an entity that came to be; resolving from nothing reads every document into an
empty state, so both are one code path (:func:`resolve_incrementally`).
"""

from __future__ import annotations

import marshal
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from itertools import islice
from operator import attrgetter, getitem, itemgetter, lt
from typing import Any

from kg.gazetteer import load_gazetteer
from kg.lexicon import load_lexicon
from kg.model import (
    MENTION_FIELDS,
    SYMMETRIC_PREDICATES,
    Document,
    DocumentExtraction,
    Entity,
    Evidence,
    ExtractionRows,
    KnowledgeGraphData,
    LinkPart,
    Mention,
    MentionLinks,
    MentionRow,
    Merge,
    Relation,
)
from kg.rdf import slug


def entity_key(type_name: str, canonical: str) -> str:
    """The stable id of an entity: its type and a readable slug of its canonical name."""
    return f"{type_name}/{slug(canonical)}"


def mention_targets(mention: Mention) -> tuple[str, ...]:
    """The entity ids a mention stands for (several for an enumeration such as 长株潭三市)."""
    if mention.expands_to:
        return tuple(entity_key(mention.type, name) for name in mention.expands_to)
    return (entity_key(mention.type, mention.canonical),)


_YEARS = re.compile(r"\((\d{4})\s*[-—–~至]\s*(\d{4})年?\)")


def _plan_key(name: str) -> tuple[str, str]:
    """A plan's name without its year range, and the range (2021-2025) in one spelling."""
    match = _YEARS.search(name)
    years = f"{match.group(1)}-{match.group(2)}" if match else ""
    return _YEARS.sub("", name), years


def _is_subsequence(short: str, long: str) -> bool:
    chars = iter(long)
    return all(char in chars for char in short)


def plan_variants(names: Iterable[str]) -> dict[str, str]:
    """Spellings of one plan → its fullest spelling: (2021-2025) ↔ (2021-2025年), and a name with a
    few characters left out (长株潭一体化五年行动计划 ↔ 长株潭一体化发展五年行动计划)."""
    ordered = sorted(set(names), key=lambda n: (-len(n), n))
    keys = {name: _plan_key(name) for name in ordered}
    # Only spellings with the same year range can match, so each name is compared with its own
    # year group only (each group stays longest first).
    by_years: dict[str, list[str]] = defaultdict(list)
    for name in ordered:
        by_years[keys[name][1]].append(name)
    chosen: dict[str, str] = {}
    for name in ordered:
        base, years = keys[name]
        if not years:
            # Without a year range the base is the whole name: only the name itself would match.
            continue
        for full in by_years[years]:
            if len(full) < len(name):
                break
            if full == name or chosen.get(full, full) != full:
                continue
            full_base = keys[full][0]
            if base == full_base or (
                len(full_base) - len(base) <= 3 and _is_subsequence(base, full_base)
            ):
                chosen[name] = full
                break
    return chosen


class _EntityTargets(dict[tuple[str, str, tuple[str, ...]], tuple[tuple[str, str], ...]]):
    """(type, canonical, expands_to) of a mention → its (name, entity id) pairs, the ids as
    :func:`mention_targets` gives them. Memoised: 10 000 documents have ~30 000 distinct names
    among ~1.7 million mentions and relation ends, and making an id is a regular-expression pass."""

    def __missing__(self, key: tuple[str, str, tuple[str, ...]]) -> tuple[tuple[str, str], ...]:
        type_name, canonical, expands_to = key
        pairs = tuple((name, entity_key(type_name, name)) for name in expands_to or (canonical,))
        self[key] = pairs
        return pairs


def resolve(extractions: Iterable[DocumentExtraction | ExtractionRows]) -> KnowledgeGraphData:
    """Merge the per-document results into entities and relations (deterministic order)."""
    return resolve_incrementally(extractions, None)[0]


def resolve_incrementally(
    extractions: Iterable[DocumentExtraction | ExtractionRows],
    previous: ResolutionState | None,
) -> tuple[KnowledgeGraphData, ResolutionState | None]:
    """:func:`resolve`, and the state of this resolution for the next one (None when it cannot
    be kept: two files of one document id). Given ``previous`` (the state of a resolution of the
    same documents but a few new ones), only what the new documents touch is resolved again:
    their entities and relations, and the documents whose links or relations read an entity
    that came to be. When a document changed or went (or a name's spelling across documents
    changed), everything is resolved anew. The result is the same either way: resolving from
    nothing is the case where every document is new."""
    ordered = sorted(
        (e if isinstance(e, ExtractionRows) else ExtractionRows.of(e) for e in extractions),
        key=lambda e: e.document.id,
    )
    groups: dict[str, list[ExtractionRows]] = {}
    for extraction in ordered:
        groups.setdefault(extraction.document.id, []).append(extraction)
    spellings = _spelling_variants(ordered)
    if (
        previous is None
        or previous.spellings != spellings.by_type
        or any(not _unchanged(groups.get(d), saved) for d, saved in previous.documents.items())
    ):
        previous = ResolutionState.empty(spellings.by_type)
    entities, relations, mentions = _Resolution(previous, spellings, groups).run()
    data = KnowledgeGraphData(
        documents=tuple(e.document for e in ordered),
        entities=entities,
        relations=relations,
        mentions=mentions,
    )
    return data, previous if all(len(group) == 1 for group in groups.values()) else None


def _unchanged(group: list[ExtractionRows] | None, saved: _DocumentState) -> bool:
    """Whether a document is the one a state kept (same file, same content)."""
    if group is None or len(group) != 1:
        return False
    document = group[0].document
    return bool(document.content_hash) and (document.path, document.content_hash) == (
        saved.path,
        saved.content_hash,
    )


RelationKey = tuple[str, str, str]
# A relation: its evidence in order, as the documents and the indexes in their evidence of each
# piece (two columns: marshalled faster than a pair per piece); its qualifiers; and the
# qualifiers of each candidate that had some, as (document, pairs) in document order.
_RelationFields = tuple[tuple[str, ...], tuple[int, ...], tuple[tuple[str, str], ...], tuple]


@dataclass(slots=True)
class _DocumentState:
    """What resolution keeps of one document between builds."""

    path: str
    content_hash: str
    # (mention, entity id): the mention as the index of its row, ~index when respelled (made a
    # Mention when read); a Mention for one of another file of the same document id
    pairs: list[tuple[Any, str]]
    respelled: tuple[int, ...]  # the places in pairs of respelled mentions
    # Entity ids the document's links or relations depend on beyond its own mentions: places
    # nested in its names (linked only if named somewhere), relation ends, agreements.
    depends: tuple[str, ...]


class _EntityRecord:
    """What the mentions of one entity say of it, and which document said it: its label is
    the name of its first mention (a place nested in a longer name only if nothing else names
    it), its code the last one found (a nested place's over any other's: those are read last),
    in document order, so a new document can come before or after those already read."""

    __slots__ = ("label", "label_doc", "label_nested", "code", "code_doc", "code_nested",
                 "surfaces", "counts", "documents", "read_code", "read_code_doc")  # fmt: skip

    def __init__(self, saved: tuple | None = None) -> None:
        if saved is None:
            self.label: str | None = None
            self.label_doc = ""
            self.label_nested = True
            self.code: str | None = None
            self.code_doc = ""
            self.code_nested = False
            self.surfaces: set[str] = set()  # the texts that are aliases
            self.counts: dict[str, int] = {}  # document → mentions, as saved
        else:
            (_, self.label, _, counts, self.code, self.label_doc, self.label_nested,
             self.code_doc, self.code_nested, surfaces) = saved  # fmt: skip
            self.counts = dict(counts)
            self.surfaces = set(surfaces)
        # The documents read now, one per mention, and the last code of their mentions (merged
        # with the saved ones by saved(): a list append and two stores per mention).
        self.documents: list[str] = []
        self.read_code: str | None = None
        self.read_code_doc = ""

    def named(self, name: str, doc_id: str) -> None:
        """A name of the entity first read in ``doc_id``: its label if no earlier document
        named it (a nested place's label gives way)."""
        if self.label_nested or doc_id < self.label_doc:
            self.label, self.label_doc, self.label_nested = name, doc_id, False

    def named_inside(self, name: str, code: str, doc_id: str) -> None:
        """The entity named inside a longer name in ``doc_id``: its label while nothing else
        names it, and its code over any other's (the last such document's)."""
        if self.label is None or (self.label_nested and doc_id < self.label_doc):
            self.label, self.label_doc = name, doc_id
        if not self.code_nested or doc_id >= self.code_doc:
            self.code, self.code_doc, self.code_nested = code, doc_id, True

    def saved(self, type_name: str) -> tuple:
        """The entity's fields (type, label, aliases, mention counts by document, code), then
        what the next resolution needs to go on from them."""
        if (
            self.read_code is not None
            and not self.code_nested
            and self.read_code_doc >= self.code_doc
        ):
            self.code, self.code_doc = self.read_code, self.read_code_doc
        read = Counter(self.documents)  # (in document order)
        if self.counts:
            counts = tuple(sorted({**self.counts, **read}.items()))
        else:
            counts = tuple(read.items())
        label, surfaces = self.label, self.surfaces
        aliases = tuple(sorted(surfaces.difference((label,)))) if surfaces else ()
        return (type_name, label, aliases, counts, self.code, self.label_doc, self.label_nested,
                self.code_doc, self.code_nested, tuple(surfaces))  # fmt: skip


class _Packed(dict):
    """Values kept marshalled one by one (key → bytes), read when asked for and marshalled again
    only when changed: a rebuild reads and writes a few of them, not all."""

    def __init__(self, packed: dict | None = None) -> None:
        super().__init__(packed or {})
        self.changed: dict = {}  # key → its new value

    def value(self, key: Any) -> Any:
        if key in self.changed:
            return self.changed[key]
        packed = self.get(key)
        return None if packed is None else marshal.loads(packed)

    def put(self, key: Any, value: Any) -> None:
        self.changed[key] = value

    def packed(self) -> dict:
        """Key → bytes, with the changes (and the changes forgotten)."""
        dumps = marshal.dumps
        for key, value in self.changed.items():
            self[key] = dumps(value)
        self.changed.clear()
        return dict(self)


@dataclass(slots=True)
class ResolutionState:
    """A resolution as the next one can go on from it (saved under ``outputs/.cache/``): each
    document's links, and the entities and relations resolved from them."""

    spellings: dict[str, tuple[dict[str, str], str]]
    documents: dict[str, _DocumentState]
    entities: _Packed  # entity id → _EntityRecord.saved, before agreements are dropped
    relations: dict[RelationKey, _RelationFields]
    dropped: set[str]  # agreements without two parties

    @classmethod
    def empty(cls, spellings: dict[str, tuple[dict[str, str], str]]) -> ResolutionState:
        return cls(spellings, {}, _Packed(), {}, set())

    def dumps(self, version: str) -> bytes:
        # Each document's pairs as two columns (1.1 million pairs at 10,000 documents: marshalled
        # and read back as two tuples a document in a fraction of the time)
        documents = {
            doc_id: (d.path, d.content_hash, *_columns(d.pairs), d.respelled, d.depends)
            for doc_id, d in self.documents.items()
        }
        return marshal.dumps(
            (RESOLUTION_FORMAT, version, self.spellings, documents, self.entities.packed(),
             self.relations, self.dropped)
        )  # fmt: skip

    @classmethod
    def loads(cls, packed: bytes, version: str) -> ResolutionState | None:
        """The state of :meth:`dumps`; None if it is of another format or version, or damaged."""
        try:
            layout, saved, spellings, documents, entities, relations, dropped = marshal.loads(
                packed
            )
            if (layout, saved) != (RESOLUTION_FORMAT, version):
                return None
            kept = {
                doc_id: _DocumentState(path, content_hash, list(zip(refs, targets, strict=True)),
                                       respelled, depends)
                for doc_id, (path, content_hash, refs, targets, respelled, depends)
                in documents.items()
            }  # fmt: skip
        except (ValueError, EOFError, TypeError):
            return None
        return cls(spellings, kept, _Packed(entities), relations, dropped)


RESOLUTION_FORMAT = 1


class _DocumentPass:
    """One document id's mentions and relation candidates read (given the spellings)."""

    __slots__ = ("links", "nested", "candidates", "depends")

    def __init__(self) -> None:
        self.links: list[tuple[int, str, int, Any]] = []  # (offset, entity id, place, mention)
        self.nested: list[tuple[int, str, Any]] = []  # (offset, entity id, mention) if it exists
        # (subject ids, predicate, object ids, evidence index, qualifiers)
        self.candidates: list[tuple[tuple[str, ...], str, tuple[str, ...], int, tuple]] = []
        self.depends: set[str] = set()


class _Resolution:
    """Resolution as a state the documents not yet read go into: their mentions into the
    records of the entities they name, their relation candidates into the relations; the links
    and relations of documents that read an entity that came to be are made again."""

    def __init__(
        self, state: ResolutionState, spellings: _Spellings, groups: dict[str, list[ExtractionRows]]
    ) -> None:
        self.state = state
        self.spellings = spellings
        self.groups = groups
        self.targets_of = _EntityTargets()
        self.rule_kinds = _RuleKinds()
        # (type, canonical, expands_to) of a mention → what every mention so named shares: its
        # respelling, whether it may be an alias, whether it may carry a code, and its entities
        # (fetched once per name: ~30 000 names among ~1.1 million mentions).
        self.named: dict[tuple[str, str, tuple[str, ...]], _Named] = {}
        self.ends: dict[tuple[str, str, tuple[str, ...]], tuple[str, ...]] = {}
        # Each document's evidence (all files of a document id: see read)
        self.pieces = {doc_id: group[0].evidence for doc_id, group in groups.items()}
        self.known = set(state.entities)  # the entities that exist
        self.records: dict[str, _EntityRecord] = {}  # those the documents read name
        # (type, canonical, expands_to) → the records of its entities (see first_named)
        self.counted: dict[tuple[str, str, tuple[str, ...]], tuple[_EntityRecord, ...]] = {}

    def run(self) -> tuple[tuple[Entity, ...], tuple[Relation, ...], MentionLinks]:
        state, groups, known = self.state, self.groups, self.known
        documents = state.documents
        passes = {doc_id: self.read(doc_id, group, count=True)
                  for doc_id, group in groups.items() if doc_id not in documents}  # fmt: skip
        born = set(self.records).difference(known)  # entities that came to be
        known.update(born)
        for target, record in self.records.items():
            state.entities.put(target, record.saved(target.split("/", 1)[0]))

        # Relations (kept documents whose relations read an entity that came to be: read again)
        self.read_again(passes, born)
        self.relations(set(passes), [(d, passes[d]) for d in sorted(passes)])

        # An agreement is a fact only with its parties (SHACL: at least two); a bare mention of
        # 合作协议 without them is dropped rather than asserted half-known.
        parties: dict[str, set[str]] = defaultdict(set)
        for subject, predicate, obj in state.relations:
            if predicate == "partyTo":
                parties[obj].add(subject)
        dropped = {t for t in known if t.startswith(_AGREEMENT) and len(parties[t]) < 2}
        self.read_again(passes, dropped ^ state.dropped)  # (agreements dropped or kept now)
        state.dropped = dropped
        for doc_id, found in passes.items():
            pairs, respelled = self.pairs(found, known, dropped)
            document = groups[doc_id][0].document
            documents[doc_id] = _DocumentState(
                document.path, document.content_hash, pairs, respelled, tuple(sorted(found.depends))
            )
        return self.output(dropped)

    def read_again(self, passes: dict[str, _DocumentPass], changed: set[str]) -> None:
        """Read again the kept documents (not read yet) whose links or relations depend on
        ``changed`` entities."""
        if not changed:
            return
        documents = self.state.documents
        for doc_id in documents:
            if doc_id not in passes and not changed.isdisjoint(documents[doc_id].depends):
                passes[doc_id] = self.read(doc_id, self.groups[doc_id])

    def first_named(
        self, targets: tuple[tuple[str, str], ...], doc_id: str
    ) -> tuple[_EntityRecord, ...]:
        """The records of the entities a name stands for, the first time it is read: a name
        first read in this document labels an entity whose label came from a later one (or from
        a place nested in a longer name). Documents are read in order, so a name's first
        document is the first of those read now; an entity's, the first of its names'."""
        found = []
        for name, target in targets:
            record = self.record(target)
            record.named(name, doc_id)
            found.append(record)
        return tuple(found)

    def record(self, target: str) -> _EntityRecord:
        """The record of an entity, as the previous resolution left it or new."""
        record = self.records.get(target)
        if record is None:
            record = self.records[target] = _EntityRecord(self.state.entities.value(target))
        return record

    def relations(self, redone: set[str], passes: list[tuple[str, _DocumentPass]]) -> None:
        """The relations of the documents read again come out, and those read go in."""
        relations, known = self.state.relations, self.known
        # (documents in order, and in each the candidates in order)
        new_refs: dict[RelationKey, list[tuple[str, int]]] = {}
        new_qualifiers: dict[RelationKey, list[tuple[str, tuple]]] = {}
        for doc_id, found in passes:
            for subjects, predicate, objects, e, pairs in found.candidates:
                subjects = tuple(s for s in subjects if s in known)
                if not subjects:
                    continue
                objects = tuple(o for o in objects if o in known)
                if not objects:
                    continue
                symmetric = predicate in SYMMETRIC_PREDICATES
                ref = (doc_id, e)
                for subject in subjects:
                    for obj in objects:
                        if subject == obj:
                            continue
                        if symmetric and obj < subject:
                            key = (obj, predicate, subject)
                        else:
                            key = (subject, predicate, obj)
                        refs = new_refs.get(key)
                        if refs is None:
                            new_refs[key] = [ref]
                        else:
                            refs.append(ref)
                        if pairs:
                            new_qualifiers.setdefault(key, []).append((doc_id, pairs))
        touched = set(new_refs)
        if relations and redone:
            touched.update(key for key, fields in relations.items()
                           if not redone.isdisjoint(fields[0]))  # fmt: skip
        pieces = self.pieces
        for key in touched:
            refs = new_refs.get(key, [])
            qualified = new_qualifiers.get(key, [])
            before = relations.get(key)
            if before is not None:
                refs = [
                    r for r in zip(before[0], before[1], strict=True) if r[0] not in redone
                ] + refs
                kept = [q for q in before[3] if q[0] not in redone]
                qualified = sorted(kept + qualified, key=itemgetter(0)) if kept else qualified
            if not refs:
                del relations[key]
                continue
            if len(refs) > 1:
                order = _evidence_order([pieces[d][i] for d, i in refs])
                if order is not None:
                    refs = [refs[i] for i in order]
            named_values: dict[str, str] = {}
            for _, pairs in qualified:
                for name, value in pairs:
                    named_values.setdefault(name, value)
            relations[key] = (
                tuple(map(itemgetter(0), refs)),
                tuple(map(itemgetter(1), refs)),
                tuple(sorted(named_values.items())),
                tuple(qualified),
            )

    # ---------------------------------------------------------------- one document

    def name_entities(self, key: tuple[str, str, tuple[str, ...]]) -> _Named:
        type_name, canonical, expands_to = key
        respelled = self.spellings.spelling(type_name, canonical)
        if respelled is not None:
            canonical = respelled[0]
        # 我市 names 湘潭市 only inside 湘潭's own documents: no alias either (see _RuleKinds).
        # 长株潭三市 names the three cities together, none of them alone: no alias.
        # (长株潭三市发改委 stays an alias of each body: the gold and users look up
        # the group's bodies by that name.)
        may_alias = not (expands_to and type_name == "City")
        targets = self.targets_of[type_name, canonical, expands_to]
        return respelled, may_alias, not expands_to, targets

    def naming(self, key: tuple[str, str, tuple[str, ...]]) -> _Named:
        """What every mention named ``key`` shares (:meth:`name_entities`, once per name)."""
        found = self.named.get(key)
        if found is None:
            found = self.named[key] = self.name_entities(key)
        return found

    def end_targets(self, end: MentionRow) -> tuple[str, ...]:
        """The entity ids a relation end names (whether or not they exist)."""
        key = _NAME_OF_ROW(end)
        found = self.ends.get(key)
        if found is None:
            found = self.ends[key] = tuple(target for _, target in self.naming(key)[3])
        return found

    def read(self, doc_id: str, group: list[ExtractionRows], count: bool = False) -> _DocumentPass:
        """A document's links and relation candidates (its first file's mentions as the indexes
        of their rows; a second file's, of the same document id, as Mentions); with ``count``,
        its mentions go into the records of their entities (a document read for the first time)."""
        found = _DocumentPass()
        links, depends = found.links, found.depends
        named, naming, rule_kinds, counted = self.named, self.naming, self.rule_kinds, self.counted
        nested: list[tuple[MentionRow, int | None]] = []
        pieces: list[Evidence] = []
        for extraction in group:
            own = extraction is group[0]
            table = extraction.table
            for index in extraction.mentions:
                row = table[index]
                row_doc, start, _end, text, type_name, rule, canonical, code, expands_to = row
                if row_doc != doc_id:
                    raise ValueError(f"{doc_id}: a mention of another document ({row_doc})")
                is_nested, rule_aliases = rule_kinds[rule]
                if is_nested:
                    # A place inside a longer name (湘潭 in 湘潭高新区) is no mention of its
                    # own: it only links the name to an entity found elsewhere.
                    nested.append((row, index if own else None))
                    continue
                key = (type_name, canonical, expands_to)
                respelled, may_alias, may_have_code, targets = named.get(key) or naming(key)
                if respelled is not None:
                    ref: Any = ~index if own else _respell(row, *respelled)
                else:
                    ref = index if own else Mention(*row)
                alias = may_alias and rule_aliases
                if not may_have_code:
                    code = None
                for _, target in targets:
                    links.append((start, target, len(links), ref))
                if count:
                    named_records = counted.get(key)
                    if named_records is None:
                        named_records = counted[key] = self.first_named(targets, doc_id)
                    for record in named_records:
                        record.documents.append(doc_id)
                        if alias:
                            record.surfaces.add(text)
                        if code:
                            record.read_code, record.read_code_doc = code, doc_id
                if type_name == "Agreement":
                    depends.update(target for _, target in targets)
            offset = len(pieces)
            pieces.extend(extraction.evidence)
            for s, predicate, o, e, pairs in extraction.candidates:
                subjects, objects = self.end_targets(table[s]), self.end_targets(table[o])
                found.candidates.append((subjects, predicate, objects, offset + e, pairs))
                depends.update(subjects)
                depends.update(objects)
        if len(group) > 1:  # (the evidence of every file, one after the other)
            self.pieces[doc_id] = tuple(pieces)
        for row, index in nested:
            _, start, _end, text, type_name, _rule, canonical, code, _expands_to = row
            respelled, _, _, ((name, target),) = naming((type_name, canonical, ()))
            if respelled is not None:
                ref = ~index if index is not None else _respell(row, *respelled)
            else:
                ref = Mention(*row) if index is None else index
            if count and type_name == "City" and code:
                # A city named only inside other names (深圳 in 深圳科技园, 深圳力合科创) is
                # still a place the document speaks of.
                record = self.record(target)
                record.documents.append(doc_id)
                record.named_inside(name, code, doc_id)
                record.surfaces.add(text)
            found.nested.append((start, target, ref))
            depends.add(target)
        return found

    def pairs(
        self, found: _DocumentPass, entities: set[str], dropped: set[str]
    ) -> tuple[list[tuple[Any, str]], tuple[int, ...]]:
        """A document's (mention, entity id) pairs by offset and entity, ties in the order
        found (each link's place in its list decides: the mentions are never compared)."""
        links = found.links
        if found.nested:
            links = links.copy()
            for start, target, ref in found.nested:
                if target in entities:
                    links.append((start, target, len(links), ref))
        links.sort()
        pairs = [(m, t) for _, t, _, m in links if t not in dropped]
        respelled = tuple(i for i, (m, _) in enumerate(pairs) if type(m) is int and m < 0)
        return pairs, respelled

    # ---------------------------------------------------------------- the result

    def output(
        self, dropped: set[str]
    ) -> tuple[tuple[Entity, ...], tuple[Relation, ...], MentionLinks]:
        state, groups, pieces = self.state, self.groups, self.pieces
        value = state.entities.value
        entities = tuple(
            Entity(target, *value(target)[:5])
            for target in sorted(self.known)
            if target not in dropped
        )
        relations = []
        for key in sorted(state.relations):
            subject, predicate, obj = key
            if subject in dropped or obj in dropped:
                continue
            documents, indexes, qualifiers, _ = state.relations[key]
            relations.append(
                Relation(
                    subject=subject,
                    predicate=predicate,
                    object=obj,
                    # (each document's evidence, then the piece at each index)
                    evidence=tuple(map(getitem, map(pieces.__getitem__, documents), indexes)),
                    qualifiers=qualifiers,
                )
            )
        parts: list[LinkPart] = []
        for doc_id in sorted(groups):
            saved = state.documents[doc_id]
            pairs = saved.pairs
            if not pairs:
                continue
            table = groups[doc_id][0].table
            if saved.respelled:
                pairs = pairs.copy()
                spelling = self.spellings.spelling
                for place in saved.respelled:
                    ref, target = pairs[place]
                    row = table[~ref]
                    pairs[place] = (_respell(row, *spelling(*_TYPE_AND_CANONICAL(row))), target)
            parts.append((doc_id, table, pairs))
        return entities, tuple(relations), MentionLinks(parts)


def _columns(pairs: list[tuple[Any, str]]) -> tuple[tuple, tuple]:
    return tuple(map(itemgetter(0), pairs)), tuple(map(itemgetter(1), pairs))


# A name's respelling (canonical, rule), whether it may be an alias, whether it may carry a code,
# and the (name, entity id) of each entity it stands for.
_Named = tuple[tuple[str, str] | None, bool, bool, tuple[tuple[str, str], ...]]


class _RuleKinds(dict[str, tuple[bool, bool]]):
    """Rule → (a place nested inside a longer name, its text may be an alias). Memoised: a few
    thousand rules among a million mentions."""

    def __missing__(self, rule: str) -> tuple[bool, bool]:
        # 我市 names 湘潭市 only inside 湘潭's own documents: no alias.
        kind = (rule.startswith("name-prefix"), not rule.startswith("context-home"))
        self[rule] = kind
        return kind


_CANONICAL_AT, _RULE_AT = MENTION_FIELDS.index("canonical"), MENTION_FIELDS.index("rule")
# (type, canonical, expands_to) of a mention's row: what names it
_NAME_OF_ROW = itemgetter(*map(MENTION_FIELDS.index, ("type", "canonical", "expands_to")))
_AGREEMENT = "Agreement/"  # (the start of an agreement's entity id: entity_key)
_TYPE_AND_CANONICAL = itemgetter(*map(MENTION_FIELDS.index, ("type", "canonical")))


def _respell(row: MentionRow, canonical: str, rule: str) -> Mention:
    """The mention under another spelling of its name, the rule that chose it appended."""
    values = list(row)
    values[_CANONICAL_AT] = canonical
    values[_RULE_AT] = f"{row[_RULE_AT]}|{rule}"
    return Mention(*values)


# Evidence is listed by document, offset and rule; the other fields only order pieces that tie on
# those, which makes every field part of the key: equal keys ⇔ equal evidence.
_EVIDENCE_ORDER = ("doc_id", "start", "rule")
_EVIDENCE_KEY = attrgetter(
    *_EVIDENCE_ORDER, *(f.name for f in fields(Evidence) if f.name not in _EVIDENCE_ORDER)
)


_PLACE = attrgetter("doc_id", "start")


def _evidence_order(found: Sequence[Evidence]) -> list[int] | None:
    """The places in ``found`` of its distinct pieces in order (the first of equal pieces kept),
    or None when ``found`` is in order and distinct already. Keyed by the fields rather than
    hashed by Evidence's Python-level ``__hash__``."""
    # Found in document order, so most lists are in order already: strictly increasing places
    # mean distinct pieces in order (tested in C, without a key of every field per piece).
    places = list(map(_PLACE, found))
    if all(map(lt, places, islice(places, 1, None))):
        return None
    first = {_EVIDENCE_KEY(found[i]): i for i in reversed(range(len(found)))}
    return [first[key] for key in sorted(first)]


def park_variants(names: Iterable[str]) -> dict[str, str]:
    """湘江新区 → 湖南湘江新区: a park written with and without its province's name."""
    known = set(names)
    provinces = {form for d in load_gazetteer().provinces() for form in (d.name, d.short) if form}
    # Longest prefix first; two forms of one length cannot both begin a name.
    lengths = sorted({len(form) for form in provinces}, reverse=True)
    variants = {}
    for name in sorted(known):
        for length in lengths:
            rest = name[length:]
            if name[:length] in provinces and len(rest) >= 4 and rest in known:
                variants[rest] = name
                break
    return variants


def container_short_forms(names_by_document: Iterable[set[str]]) -> dict[str, str]:
    """九华片区首开区 → 湘江新区九华片区首开区, 绿色化工产业园 → 湘乡绿色化工产业园: a name
    written once with the place or park that contains it and once without, in one document.
    Ambiguous short forms (two containers) are left alone."""
    gazetteer = load_gazetteer()
    park_heads = tuple(load_lexicon().suffixes["Park"])
    is_container: dict[str, bool] = {}  # prefix → a place or a park (the same few recur)
    longer: dict[str, set[str]] = defaultdict(set)
    for names in names_by_document:
        shorts = tuple(name for name in names if len(name) >= 4)
        for long in names:
            # A quick test first (most names have no other name as a suffix): a proper suffix
            # of at least 4 characters that is a name is a suffix of long[1:].
            if not long[1:].endswith(shorts):
                continue
            # Each such suffix (rather than every pair of names: most documents have dozens).
            for cut in range(1, len(long) - 3):
                short = long[cut:]
                if short not in names:
                    continue
                prefix = long[:cut]
                if prefix not in is_container:
                    is_container[prefix] = bool(gazetteer.lookup(prefix)) or prefix.endswith(
                        park_heads
                    )
                if is_container[prefix]:
                    longer[short].add(long)
    return {short: next(iter(longs)) for short, longs in longer.items() if len(longs) == 1}


class _Spellings:
    """The one spelling of each plan and park with several (and the rule that chose it)."""

    def __init__(self, by_type: dict[str, tuple[dict[str, str], str]]) -> None:
        self.by_type = by_type  # type → (canonical name → its spelling, rule)
        # Any type: a cheap first test, as few of the mentions have a variant.
        self.names = {name for found, _ in by_type.values() for name in found}

    def spelling(self, type_name: str, canonical: str) -> tuple[str, str] | None:
        """The one spelling of a name and the rule that chose it (None: the name is its own)."""
        if canonical not in self.names:
            return None
        found = self.by_type.get(type_name)
        if found is None or canonical not in found[0]:
            return None
        spellings, rule = found
        return spellings[canonical], rule


def _spelling_variants(extractions: list[ExtractionRows]) -> _Spellings:
    """One spelling per plan (year ranges, left-out characters) and per park (province prefix,
    short form without its container)."""
    plans: set[str] = set()
    parks: set[str] = set()
    parks_by_document: list[set[str]] = []
    projects_by_document: list[set[str]] = []
    for e in extractions:
        document_parks: set[str] = set()
        document_projects: set[str] = set()
        table = e.table
        for index in e.mentions:
            _, _, _, _, type_name, rule, canonical, _, _ = table[index]
            if type_name == "Plan":
                plans.add(canonical)
            elif type_name == "Park":
                parks.add(canonical)
                if not rule.startswith("name-prefix"):
                    document_parks.add(canonical)
            elif type_name == "Project" and not rule.startswith("name-prefix"):
                document_projects.add(canonical)
        parks_by_document.append(document_parks)
        projects_by_document.append(document_projects)
    park_spellings = park_variants(parks)
    park_spellings |= {
        k: park_spellings.get(v, v) for k, v in container_short_forms(parks_by_document).items()
    }
    return _Spellings(
        {
            "Plan": (plan_variants(plans), "plan-spelling"),
            "Park": (park_spellings, "park-variant"),
            "Project": (container_short_forms(projects_by_document), "short-form-in-container"),
        }
    )


def entity_merges(data: KnowledgeGraphData) -> dict[str, tuple[Merge, ...]]:
    """Entity id → the surface forms resolution merged into it: each distinct (document, text,
    rule) of a mention whose text is not the entity's label, in that order. A place inside a
    longer name (rule ``name-prefix…``) links the name to the place and is no merge. Derived from
    the mentions on demand (at 10,000 documents, 270,000 merges: ~1 s no output needs)."""
    labels = {entity.id: entity.label for entity in data.entities}
    rule_kinds = _RuleKinds()
    found: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    for mention, target in data.mentions:
        if mention.text != labels[target] and not rule_kinds[mention.rule][0]:
            found[target].add((mention.doc_id, mention.text, mention.rule))
    return {
        target: tuple(Merge(text, rule, doc_id) for doc_id, text, rule in sorted(merged))
        for target, merged in sorted(found.items())
    }


def documents_of(data: KnowledgeGraphData) -> dict[str, Document]:
    return {document.id: document for document in data.documents}
