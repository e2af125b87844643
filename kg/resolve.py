"""Resolution stage: mentions of all documents → one Entity per real-world thing, and relation
candidates → Relations between entities. Every merge is recorded (surface form, rule, document).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from kg.model import (
    SYMMETRIC_PREDICATES,
    Document,
    DocumentExtraction,
    Entity,
    Evidence,
    KnowledgeGraphData,
    Merge,
    Mention,
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


def resolve(extractions: Iterable[DocumentExtraction]) -> KnowledgeGraphData:
    """Merge the per-document results into entities and relations (deterministic order)."""
    extractions = sorted(extractions, key=lambda e: e.document.id)
    labels: dict[str, tuple[str, str]] = {}  # id → (type, canonical)
    surfaces: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    merges: dict[str, set[Merge]] = defaultdict(set)
    codes: dict[str, str] = {}
    mention_links: list[tuple[Mention, str]] = []

    nested: list[Mention] = []
    for extraction in extractions:
        for mention in extraction.mentions:
            if mention.rule.startswith("name-prefix"):
                # A place inside a longer name (湘潭 in 湘潭高新区) is no mention of its own: it
                # only links the name to an entity found elsewhere.
                nested.append(mention)
                continue
            names = mention.expands_to or (mention.canonical,)
            for name, target in zip(names, mention_targets(mention), strict=True):
                labels.setdefault(target, (mention.type, name))
                surfaces[target].add(mention.text)
                counts[target][mention.doc_id] += 1
                if mention.text != name:
                    merges[target].add(Merge(mention.text, mention.rule, mention.doc_id))
                if mention.code and not mention.expands_to:
                    codes[target] = mention.code
                mention_links.append((mention, target))

    for mention in nested:
        target = entity_key(mention.type, mention.canonical)
        if target in labels:
            mention_links.append((mention, target))
    entities = []
    for target in sorted(labels):
        type_name, label = labels[target]
        entities.append(
            Entity(
                id=target,
                type=type_name,
                label=label,
                alt_labels=tuple(sorted(s for s in surfaces[target] if s != label)),
                mention_counts=tuple(sorted(counts[target].items())),
                merges=tuple(sorted(merges[target], key=lambda m: (m.doc_id, m.surface, m.rule))),
                code=codes.get(target),
            )
        )
    known = set(labels)
    relations = _resolve_relations(extractions, known)
    # An agreement is a fact only with its parties (SHACL: at least two); a bare mention of
    # 合作协议 without them is dropped rather than asserted half-known.
    parties: dict[str, set[str]] = defaultdict(set)
    for relation in relations:
        if relation.predicate == "partyTo":
            parties[relation.object].add(relation.subject)
    dropped = {e.id for e in entities if e.type == "Agreement" and len(parties[e.id]) < 2}
    entities = [e for e in entities if e.id not in dropped]
    relations = tuple(r for r in relations if r.subject not in dropped and r.object not in dropped)
    mention_links = [(m, t) for m, t in mention_links if t not in dropped]
    documents = tuple(e.document for e in extractions)
    return KnowledgeGraphData(
        documents=documents,
        entities=tuple(entities),
        relations=relations,
        mentions=tuple(sorted(mention_links, key=lambda ml: (ml[0].doc_id, ml[0].start, ml[1]))),
    )


def _resolve_relations(
    extractions: list[DocumentExtraction], known: set[str]
) -> tuple[Relation, ...]:
    evidence: dict[tuple[str, str, str], set[Evidence]] = defaultdict(set)
    qualifiers: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)
    for extraction in extractions:
        for candidate in extraction.relations:
            for subject in mention_targets(candidate.subject):
                for obj in mention_targets(candidate.object):
                    if subject == obj or subject not in known or obj not in known:
                        continue
                    key = (subject, candidate.predicate, obj)
                    if candidate.predicate in SYMMETRIC_PREDICATES and obj < subject:
                        key = (obj, candidate.predicate, subject)
                    evidence[key].add(candidate.evidence)
                    for name, value in candidate.qualifiers:
                        qualifiers[key].setdefault(name, value)
    return tuple(
        Relation(
            subject=s,
            predicate=p,
            object=o,
            evidence=tuple(sorted(evidence[(s, p, o)], key=lambda e: (e.doc_id, e.start, e.rule))),
            qualifiers=tuple(sorted(qualifiers[(s, p, o)].items())),
        )
        for s, p, o in sorted(evidence)
    )


def documents_of(data: KnowledgeGraphData) -> dict[str, Document]:
    return {document.id: document for document in data.documents}
