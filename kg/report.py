"""The analysis as a Markdown report (outputs/report.md): Chinese labels, English headings."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence

from kg.analysis import AnalysisResult
from kg.model import KIND_LABELS, Document

DocumentTable = Mapping[str, Mapping[str, str]]

MEMBERS_SHOWN = 15
BRIDGED_SHOWN = 3


def _cell(value: object) -> str:
    """A Markdown table cell: pipes escaped, line breaks flattened."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _names(labels: Sequence[str], shown: int) -> str:
    text = "、".join(labels[:shown])
    return text + (f" … (+{len(labels) - shown})" if len(labels) > shown else "")


def _kinds(kinds: Sequence[str]) -> str:
    return "、".join(f"{KIND_LABELS.get(k, k)} ({k})" for k in kinds)


def _document_table(
    result: AnalysisResult, documents: DocumentTable | Iterable[Document] | None
) -> DocumentTable:
    if documents is None:
        return result.network.graph.get("documents", {})
    if isinstance(documents, Mapping):
        return documents
    return {
        d.id: {"id": d.id, "title": d.title, "date": d.date or "", "publisher": d.publisher or ""}
        for d in documents
    }


def render_report(
    result: AnalysisResult,
    documents: DocumentTable | Iterable[Document] | None = None,
    *,
    top: int = 20,
) -> str:
    """The Markdown report.

    ``documents`` are the corpus documents (``Document`` objects, or id → {title, date,
    publisher}); by default those recorded in the graph.
    """
    documents = _document_table(result, documents)
    network, collab = result.network, result.collaboration
    # Suggested links read back from an analysed graph are not relations.
    relations = sum(1 for *_e, suggested in network.edges(data="suggested") if not suggested)
    lines = ["# 长株潭协作网络分析 — Collaboration analysis", ""]
    lines += [
        f"{network.number_of_nodes()} entities, {relations} relations, "
        f"{len(documents)} documents. The collaboration network links "
        f"{collab.number_of_nodes()} entities by {collab.number_of_edges()} links "
        "(cooperation, co-party of an agreement, shared responsibility for a task or project, "
        "co-participation in a project or event); a link's weight counts its independent "
        "pieces of evidence.",
        "",
    ]
    lines += _pagerank_section(result, top)
    lines += _community_section(result)
    lines += _broker_section(result, top)
    lines += _city_section(result)
    lines += _responsibility_section(result, top)
    lines += _links_section(result, documents, top)
    lines += _suggestion_section(result)
    lines += _document_section(documents)
    return "\n".join(lines).rstrip() + "\n"


def _pagerank_section(result: AnalysisResult, top: int) -> list[str]:
    network, collab = result.network, result.collaboration
    ranked = sorted(result.pagerank, key=lambda n: (-result.pagerank[n], result.label(n), n))
    rows = [
        [
            i,
            result.label(n),
            network.nodes[n].get("type", ""),
            f"{result.pagerank[n]:.4f}",
            result.degree.get(n, 0),
            collab.degree(n) if n in collab else 0,
            f"{result.betweenness.get(n, 0.0):.4f}",
        ]
        for i, n in enumerate(ranked[:top], 1)
    ]
    header = ["#", "Entity", "Type", "PageRank", "Degree", "Partners", "Betweenness"]
    return [
        "## Top entities by PageRank",
        "",
        "PageRank on the whole relation graph (undirected, weighted by evidence); degree = "
        "distinct neighbours in the relation graph; partners and betweenness in the "
        "collaboration network.",
        "",
        *_table(header, rows),
        "",
    ]


def _community_section(result: AnalysisResult) -> list[str]:
    lines = ["## Communities", ""]
    if not result.communities:
        return [*lines, "No collaboration links, so no communities.", ""]
    lines += ["Louvain communities of the collaboration network (seed 42), most central first.", ""]
    for i, community in enumerate(result.communities, 1):
        lines.append(
            f"{i}. **{community.label}** ({len(community.members)} members): "
            + _names(community.member_labels, MEMBERS_SHOWN)
        )
    return [*lines, ""]


def _broker_section(result: AnalysisResult, top: int) -> list[str]:
    lines = ["## Brokers", ""]
    if not result.brokers:
        return [*lines, "No entity bridges two communities.", ""]
    lines += [
        "Entities with above-average betweenness whose partners lie in two or more communities; "
        "score = betweenness × participation coefficient.",
        "",
    ]
    rows = [
        [
            b.rank,
            b.label,
            result.network.nodes[b.node].get("type", ""),
            f"{b.score:.4f}",
            f"{b.betweenness:.4f}",
            f"{len(b.communities)}: "
            + " / ".join(b.communities[:BRIDGED_SHOWN])
            + (" / …" if len(b.communities) > BRIDGED_SHOWN else ""),
        ]
        for b in result.brokers[:top]
    ]
    header = ["#", "Broker", "Type", "Score", "Betweenness", "Communities bridged"]
    return [*lines, *_table(header, rows), ""]


def _city_section(result: AnalysisResult) -> list[str]:
    matrix = result.city_matrix
    lines = ["## City collaboration matrix", ""]
    if not matrix.cities:
        return [*lines, "No city in the graph.", ""]
    lines += [
        "Collaboration links between entities of two cities (an entity belongs to a city through "
        "partOf/locatedIn, transitively); the diagonal counts links inside one city.",
        "",
    ]
    header = ["City", "Entities", *matrix.labels]
    rows = [
        [label, size, *row]
        for label, size, row in zip(matrix.labels, matrix.sizes, matrix.counts, strict=True)
    ]
    lines += [*_table(header, rows), ""]
    if matrix.direct:
        lines += ["Direct city–city links:", ""]
        rows = [
            [
                f"{link.a_label} — {link.b_label}",
                _kinds(link.kinds),
                "、".join(link.via),
                link.weight,
            ]
            for link in matrix.direct
        ]
        lines += [*_table(["Cities", "Kinds", "Via", "Weight"], rows), ""]
    return lines


def _responsibility_section(result: AnalysisResult, top: int) -> list[str]:
    lines = ["## Responsibility load", ""]
    loads = sorted(
        result.responsibility.values(), key=lambda r: (-r.total, -r.lead, r.label, r.node)
    )
    if not loads:
        return [*lines, "No unit is responsible for a task or project.", ""]
    lines += [
        "Distinct tasks/projects each unit is responsible for (role 牵头 = lead, 配合 = support).",
        "",
    ]
    rows = [
        [i, r.label, r.type, r.total, r.lead, r.support, r.unspecified]
        for i, r in enumerate(loads[:top], 1)
    ]
    header = ["#", "Unit", "Type", "Tasks/projects", "Lead (牵头)", "Support (配合)", "Unspecified"]
    return [*lines, *_table(header, rows), ""]


def _links_section(result: AnalysisResult, documents: DocumentTable, top: int) -> list[str]:
    collab = result.collaboration
    edges = list(collab.edges(data=True))
    if 0 < top < len(edges):
        # Only the links as strong as the top-th strongest can be shown: the others are not
        # sorted by label (hundreds of thousands of links at 10,000 documents).
        weakest = heapq.nlargest(top, (data["weight"] for _, _, data in edges))[-1]
        edges = [edge for edge in edges if edge[2]["weight"] >= weakest]
    edges.sort(key=lambda e: (-e[2]["weight"], *sorted((result.label(e[0]), result.label(e[1])))))
    lines = ["## Strongest collaboration links", ""]
    if not edges:
        return [*lines, "None.", ""]
    rows = []
    for i, (u, v, data) in enumerate(edges[:top], 1):
        a, b = sorted((result.label(u), result.label(v)))
        docs = sorted(data["evidence"].documents())
        # A few titles per link: a strong link of a large corpus rests on hundreds of documents.
        shown = [str(documents.get(d, {}).get("title") or d) for d in docs[:3]]
        titles = "; ".join(shown) + (f" … (+{len(docs) - 3})" if len(docs) > 3 else "")
        rows.append(
            [i, a, b, _kinds(data["kinds"]), data["weight"], _names(data["via"], 3), titles]
        )
    header = ["#", "Entity", "Entity", "Kinds", "Weight", "Via", "Documents"]
    return [*lines, *_table(header, rows), ""]


def _suggestion_section(result: AnalysisResult) -> list[str]:
    lines = ["## Suggested links (predicted, not asserted)", ""]
    if not result.suggestions:
        return [*lines, "None: no unlinked pair of organisations shares a partner.", ""]
    lines += [
        "Pairs with no collaboration link yet, scored by Adamic–Adar over shared partners. These "
        "are hypotheses for analysts, stored as czt:SuggestedLink, never as czt:cooperatesWith.",
        "",
    ]
    rows = [
        [i, s.a_label, s.b_label, f"{s.score:.3f}", len(s.shared), s.reason]
        for i, s in enumerate(result.suggestions, 1)
    ]
    header = ["#", "Entity", "Entity", "Score", "Shared partners", "Reason"]
    return [*lines, *_table(header, rows), ""]


def _document_section(documents: DocumentTable) -> list[str]:
    if not documents:
        return []
    rows = [
        [doc_id, meta.get("title", ""), meta.get("date", ""), meta.get("publisher", "")]
        for doc_id, meta in sorted(documents.items())
    ]
    return ["## Documents", "", *_table(["ID", "Title", "Date", "Publisher"], rows), ""]
