"""Validation stage: the built graph against ontology/shapes.ttl with pySHACL, in plain words."""

from __future__ import annotations

from dataclasses import dataclass

from pyshacl import validate as shacl_validate
from rdflib import Graph, Namespace, URIRef

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
