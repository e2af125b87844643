"""``kg entity NAME``: everything the graph knows about one entity, with the mentions behind it."""

from __future__ import annotations

import csv
import difflib
from pathlib import Path

from rdflib import RDF, RDFS, SKOS, Graph, URIRef

from kg.errors import EntityNotFoundError, InputError
from kg.model import ENTITY_TYPES
from kg.ontology import CZT, term


def load_graph(path: Path) -> Graph:
    if not Path(path).exists():
        raise InputError(f"{path}: graph not found (run `python build_graph.py` first)")
    try:
        return Graph().parse(path, format="turtle")
    except Exception as exc:  # rdflib raises many parser exception types
        raise InputError(f"{path}: not a readable Turtle file ({exc})") from exc


def entity_names(graph: Graph) -> dict[str, list[URIRef]]:
    """Every label and alias → the entities carrying it."""
    names: dict[str, list[URIRef]] = {}
    for type_name in ENTITY_TYPES:
        for node in graph.subjects(RDF.type, term(type_name)):
            for prop in (SKOS.prefLabel, RDFS.label, SKOS.altLabel):
                for label in graph.objects(node, prop):
                    names.setdefault(str(label), [])
                    if node not in names[str(label)]:
                        names[str(label)].append(URIRef(node))
    return names


def find_entities(graph: Graph, name: str) -> list[URIRef]:
    """Entities named ``name`` (preferred labels first), or EntityNotFoundError with suggestions."""
    names = entity_names(graph)
    if name in names:
        preferred = [n for n in names[name] if str(graph.value(n, SKOS.prefLabel)) == name]
        return preferred or sorted(names[name])
    closest = difflib.get_close_matches(name, list(names), n=5, cutoff=0.3)
    closest += [n for n in sorted(names) if name in n and n not in closest][: 5 - len(closest)]
    raise EntityNotFoundError(name, closest[:5])


def describe_entity(name: str, graph_path: Path, mentions_path: Path) -> str:
    graph = load_graph(graph_path)
    blocks = []
    for node in find_entities(graph, name):
        types = [str(t).rsplit("#", 1)[-1] for t in graph.objects(node, RDF.type)]
        lines = [
            f"{graph.value(node, SKOS.prefLabel)}",
            f"  IRI:      {node}",
            f"  type:     {', '.join(sorted(types))}",
            f"  aliases:  {', '.join(sorted(str(a) for a in graph.objects(node, SKOS.altLabel))) or '—'}",
        ]
        code = graph.value(node, CZT.divisionCode)
        if code:
            lines.append(f"  code:     {code}")
        docs = sorted(str(d).rsplit("/", 1)[-1] for d in graph.objects(node, CZT.mentionedIn))
        lines.append(f"  documents: {', '.join(docs)}")
        mentions = _mentions(mentions_path, str(node))
        if mentions:
            texts = _document_texts(graph)
            lines.append(
                f"  mentions ({len(mentions)}), with the rules that read and resolved each:"
            )
            for row in mentions:
                start, end = int(row["start"]), int(row["end"])
                sentence = _sentence(texts.get(row["doc_id"], ""), start, end)
                lines.append(f"    {row['doc_id']} [{start}:{end}] {row['text']}  ({row['rule']})")
                if sentence:
                    lines.append(f"      {sentence}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _document_texts(graph: Graph) -> dict[str, str]:
    from rdflib.namespace import DCTERMS

    from kg.ontology import NIF

    return {
        str(graph.value(doc, DCTERMS.identifier)): str(graph.value(doc, NIF.isString) or "")
        for doc in graph.subjects(RDF.type, CZT.Document)
    }


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence around a mention, the mention marked with 【】."""
    from kg.clean import split_sentences

    for sentence in split_sentences(text):
        if sentence.start <= start < sentence.end:
            s, e = start - sentence.start, end - sentence.start
            marked = sentence.text[:s] + "【" + sentence.text[s:e] + "】" + sentence.text[e:]
            return marked if len(marked) <= 120 else marked[max(0, s - 50) : e + 52]
    return ""


def _mentions(path: Path, iri: str) -> list[dict[str, str]]:
    if not Path(path).exists():
        return []
    entity_id = iri.split("/id/", 1)[-1]
    with open(path, encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["entity"] == entity_id]
