"""Resolution stage: mentions of all documents → one Entity per real-world thing, and relation
candidates → Relations between entities. Every merge is recorded (surface form, rule, document).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

from kg.gazetteer import load_gazetteer
from kg.lexicon import load_lexicon
from kg.model import (
    SYMMETRIC_PREDICATES,
    Document,
    DocumentExtraction,
    Entity,
    Evidence,
    KnowledgeGraphData,
    Mention,
    Merge,
    Relation,
    RelationCandidate,
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
    chosen: dict[str, str] = {}
    for name in ordered:
        base, years = _plan_key(name)
        for full in ordered:
            if full == name or chosen.get(full, full) != full:
                continue
            full_base, full_years = _plan_key(full)
            if years != full_years or len(full) < len(name):
                continue
            if base == full_base or (
                years and len(full_base) - len(base) <= 3 and _is_subsequence(base, full_base)
            ):
                chosen[name] = full
                break
    return chosen


def resolve(extractions: Iterable[DocumentExtraction]) -> KnowledgeGraphData:
    """Merge the per-document results into entities and relations (deterministic order)."""
    extractions = sorted(extractions, key=lambda e: e.document.id)
    extractions = _merge_plan_spellings(extractions)
    labels: dict[str, tuple[str, str]] = {}  # id → (type, canonical)
    surfaces: dict[str, set[str]] = defaultdict(set)
    counts: dict[tuple[str, str], int] = {}  # (id, document) → mentions
    merges: dict[str, set[tuple[str, str, str]]] = defaultdict(set)  # (surface, rule, document)
    codes: dict[str, str] = {}
    mention_links: list[tuple[Mention, str]] = []

    nested: list[Mention] = []
    for extraction in extractions:
        for mention in extraction.mentions:
            rule = mention.rule
            if rule.startswith("name-prefix"):
                # A place inside a longer name (湘潭 in 湘潭高新区) is no mention of its own: it
                # only links the name to an entity found elsewhere.
                nested.append(mention)
                continue
            expands_to = mention.expands_to
            if expands_to:
                pairs = zip(expands_to, mention_targets(mention), strict=True)
            else:
                pairs = ((mention.canonical, entity_key(mention.type, mention.canonical)),)
            # 我市 names 湘潭市 only inside 湘潭's own documents: no alias either.
            # 长株潭三市 names the three cities together, none of them alone: no alias.
            # (长株潭三市发改委 stays an alias of each body: the gold and users look up
            # the group's bodies by that name.)
            alias = not (expands_to and mention.type == "City") and not rule.startswith(
                "context-home"
            )
            text, doc_id = mention.text, mention.doc_id
            for name, target in pairs:
                if target not in labels:
                    labels[target] = (mention.type, name)
                if alias:
                    surfaces[target].add(text)
                key = (target, doc_id)
                counts[key] = counts.get(key, 0) + 1
                if text != name:
                    merges[target].add((text, rule, doc_id))
                if mention.code and not expands_to:
                    codes[target] = mention.code
                mention_links.append((mention, target))

    for mention in nested:
        target = entity_key(mention.type, mention.canonical)
        if mention.type == "City" and mention.code:
            # A city named only inside other names (深圳 in 深圳科技园, 深圳力合科创) is still a
            # place the document speaks of.
            labels.setdefault(target, (mention.type, mention.canonical))
            codes[target] = mention.code
            surfaces[target].add(mention.text)
            key = (target, mention.doc_id)
            counts[key] = counts.get(key, 0) + 1
        if target in labels:
            mention_links.append((mention, target))
    per_document: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (target, doc_id), count in counts.items():
        per_document[target].append((doc_id, count))
    entities = []
    for target in sorted(labels):
        type_name, label = labels[target]
        entities.append(
            Entity(
                id=target,
                type=type_name,
                label=label,
                alt_labels=tuple(sorted(s for s in surfaces[target] if s != label)),
                mention_counts=tuple(sorted(per_document[target])),
                merges=tuple(
                    Merge(surface, rule, doc_id)
                    for surface, rule, doc_id in sorted(
                        merges[target], key=lambda m: (m[2], m[0], m[1])
                    )
                ),
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
    if dropped:
        entities = [e for e in entities if e.id not in dropped]
        relations = tuple(
            r for r in relations if r.subject not in dropped and r.object not in dropped
        )
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


def park_variants(names: Iterable[str]) -> dict[str, str]:
    """湘江新区 → 湖南湘江新区: a park written with and without its province's name."""
    known = set(names)
    provinces = sorted(
        {form for d in load_gazetteer().provinces() for form in (d.name, d.short) if form},
        key=len,
        reverse=True,
    )
    variants = {}
    for name in sorted(known):
        for prefix in provinces:
            rest = name[len(prefix) :]
            if name.startswith(prefix) and len(rest) >= 4 and rest in known:
                variants[rest] = name
                break
    return variants


def container_short_forms(names_by_document: Iterable[set[str]]) -> dict[str, str]:
    """九华片区首开区 → 湘江新区九华片区首开区, 绿色化工产业园 → 湘乡绿色化工产业园: a name
    written once with the place or park that contains it and once without, in one document.
    Ambiguous short forms (two containers) are left alone."""
    gazetteer = load_gazetteer()
    park_heads = tuple(load_lexicon().suffixes["Park"])
    longer: dict[str, set[str]] = defaultdict(set)
    for names in names_by_document:
        for long in names:
            for short in names:
                prefix = long[: len(long) - len(short)]
                if (
                    len(short) >= 4
                    and long != short
                    and long.endswith(short)
                    and (gazetteer.lookup(prefix) or prefix.endswith(park_heads))
                ):
                    longer[short].add(long)
    return {short: next(iter(longs)) for short, longs in longer.items() if len(longs) == 1}


def _merge_plan_spellings(extractions: list[DocumentExtraction]) -> list[DocumentExtraction]:
    """One spelling per plan (year ranges, left-out characters) and per park (province prefix,
    short form without its container)."""
    names: dict[str, list[str]] = defaultdict(list)
    per_document: dict[str, list[set[str]]] = defaultdict(list)
    for e in extractions:
        for m in e.mentions:
            names[m.type].append(m.canonical)
        for type_name in ("Park", "Project"):
            per_document[type_name].append(
                {
                    m.canonical
                    for m in e.mentions
                    if m.type == type_name and not m.rule.startswith("name-prefix")
                }
            )
    parks = park_variants(names["Park"])
    parks |= {k: parks.get(v, v) for k, v in container_short_forms(per_document["Park"]).items()}
    variants = {
        "Plan": (plan_variants(names["Plan"]), "plan-spelling"),
        "Park": (parks, "park-variant"),
        "Project": (container_short_forms(per_document["Project"]), "short-form-in-container"),
    }
    if not any(found for found, _ in variants.values()):
        return extractions

    nothing: tuple[dict[str, str], str] = ({}, "")

    def fix(mention: Mention) -> Mention:
        found, rule = variants.get(mention.type, nothing)
        if mention.canonical in found:
            return replace(
                mention, canonical=found[mention.canonical], rule=f"{mention.rule}|{rule}"
            )
        return mention

    def fix_candidate(candidate: RelationCandidate) -> RelationCandidate:
        subject, obj = fix(candidate.subject), fix(candidate.object)
        if subject is candidate.subject and obj is candidate.object:
            return candidate
        return replace(candidate, subject=subject, object=obj)

    fixed = []
    for e in extractions:
        mentions = tuple(fix(m) for m in e.mentions)
        relations = tuple(fix_candidate(r) for r in e.relations)
        changed = any(a is not b for a, b in zip(mentions, e.mentions, strict=True)) or any(
            a is not b for a, b in zip(relations, e.relations, strict=True)
        )
        fixed.append(replace(e, mentions=mentions, relations=relations) if changed else e)
    return fixed


def documents_of(data: KnowledgeGraphData) -> dict[str, Document]:
    return {document.id: document for document in data.documents}
