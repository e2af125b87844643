"""The ontology as code: every czt: term is read from ontology/czt.ttl, never re-typed elsewhere."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rdflib import OWL, RDF, Graph, Namespace, URIRef
from rdflib.namespace import ClosedNamespace

ONTOLOGY_DIR = Path(__file__).resolve().parent.parent / "ontology"
ONTOLOGY_FILE = ONTOLOGY_DIR / "czt.ttl"
SHAPES_FILE = ONTOLOGY_DIR / "shapes.ttl"

VANN = Namespace("http://purl.org/vocab/vann/")
VOID = Namespace("http://rdfs.org/ns/void#")
NIF = Namespace("http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#")
ORG = Namespace("http://www.w3.org/ns/org#")
SCHEMA = Namespace("https://schema.org/")


@lru_cache(maxsize=1)
def ontology_graph() -> Graph:
    """The parsed ontology (cached: it is read once per process)."""
    return Graph().parse(ONTOLOGY_FILE, format="turtle")


def _ontology_node(graph: Graph) -> URIRef:
    for node in graph.subjects(RDF.type, OWL.Ontology):
        return URIRef(node)
    raise RuntimeError(f"{ONTOLOGY_FILE}: no owl:Ontology declaration")


@lru_cache(maxsize=1)
def _load() -> tuple[ClosedNamespace, str, str, tuple[str, ...]]:
    graph = ontology_graph()
    node = _ontology_node(graph)
    namespace = str(graph.value(node, VANN.preferredNamespaceUri))
    prefix = str(graph.value(node, VANN.preferredNamespacePrefix))
    terms = sorted(
        str(subject)[len(namespace) :]
        for subject in set(graph.subjects())
        if isinstance(subject, URIRef) and str(subject).startswith(namespace)
    )
    resource_base = str(graph.value(node, VOID.uriSpace))
    return ClosedNamespace(namespace, terms), prefix, resource_base, tuple(terms)


CZT, CZT_PREFIX, RESOURCE_BASE, TERMS = _load()
"""CZT is closed: ``CZT.Cty`` raises AttributeError instead of minting a wrong IRI."""

ENTITY_BASE = Namespace(RESOURCE_BASE + "id/")
DOCUMENT_BASE = Namespace(RESOURCE_BASE + "doc/")
STATEMENT_BASE = Namespace(RESOURCE_BASE + "statement/")
EVIDENCE_BASE = Namespace(RESOURCE_BASE + "evidence/")
SUGGESTION_BASE = Namespace(RESOURCE_BASE + "suggestion/")
COMMUNITY_BASE = Namespace(RESOURCE_BASE + "community/")


def term(local_name: str) -> URIRef:
    """The IRI of an ontology term by local name, e.g. ``term("City")``; unknown names raise."""
    try:
        return CZT[local_name]
    except (AttributeError, KeyError) as exc:
        known = ", ".join(TERMS)
        raise KeyError(
            f"{local_name!r} is not a term of {ONTOLOGY_FILE.name}; known: {known}"
        ) from exc


def standard_prefixes() -> dict[str, str]:
    """Prefixes bound in every output and query: the ontology's own plus the standard ones."""
    return {
        CZT_PREFIX: str(CZT),
        "rdf": str(RDF),
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        "owl": str(OWL),
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "skos": "http://www.w3.org/2004/02/skos/core#",
        "org": str(ORG),
        "schema": str(SCHEMA),
        "prov": "http://www.w3.org/ns/prov#",
        "dcterms": "http://purl.org/dc/terms/",
        "nif": str(NIF),
        "czr": str(ENTITY_BASE),
        "czd": str(DOCUMENT_BASE),
    }
