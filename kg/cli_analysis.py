"""The analysis subcommands of ``python -m kg``: collab, path and suggest."""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rdflib import RDFS, Graph
from rdflib.util import guess_format

from kg.cli import bounded_int
from kg.errors import InputError
from kg.model import ENTITY_TYPES, KIND_LABELS, KINDS, ORGANISATION_TYPES
from kg.ontology import ontology_graph, term

if TYPE_CHECKING:  # (imported by the commands that use them: --help and the other commands
    # start without numpy, scipy, igraph and networkx, ~0.3 s)
    import networkx as nx

    from kg.analysis import Hop
    from kg.network import EdgeEvidence

DEFAULT_GRAPH = Path("outputs/kg.ttl")
EXCERPT_WIDTH = 70  # characters of an evidence sentence shown around the names it is about
VIA_SHOWN = 3


# ---------------------------------------------------------------------------------------------
# Terminal layout: CJK characters take two columns, so str.ljust cannot align them.


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal (wide and full-width characters count two)."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` display columns."""
    return text + " " * max(0, width - display_width(text))


def table(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    """Rows of cells as aligned lines (the first row is the header)."""
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def excerpt(sentence: str, anchors: Sequence[str], width: int = EXCERPT_WIDTH) -> str:
    """The sentence, or a window of ``width`` characters around the first anchor found in it."""
    sentence = " ".join(sentence.split())
    if len(sentence) <= width:
        return sentence
    hits = [sentence.find(a) for a in anchors if a and a in sentence]
    centre = min(hits) if hits else 0
    start = max(0, min(centre - width // 3, len(sentence) - width))
    end = start + width
    return ("…" if start else "") + sentence[start:end] + ("…" if end < len(sentence) else "")


def _document_line(evidence: EdgeEvidence) -> str:
    title = evidence.doc_title or evidence.doc_id
    date = f" ({evidence.doc_date})" if evidence.doc_date else ""
    return f"— {title}{date} [{evidence.doc_id}]"


def _evidence_lines(
    evidence: Sequence[EdgeEvidence], anchors: Sequence[str], indent: str
) -> list[str]:
    if not evidence:
        return [f"{indent}(no evidence sentence recorded)"]
    first = evidence[0]
    more = f"  (+{len(evidence) - 1} more)" if len(evidence) > 1 else ""
    return [
        f"{indent}“{excerpt(first.sentence, anchors)}”",
        f"{indent}{_document_line(first)}{more}",
    ]


def _kinds_text(kinds: Sequence[str], via: Sequence[str]) -> str:
    text = "、".join(KIND_LABELS.get(k, k) for k in kinds)
    if via:
        shown = "、".join(via[:VIA_SHOWN])
        rest = f"等{len(via)}项" if len(via) > VIA_SHOWN else ""
        text += f" ({shown}{rest})"
    return text


@cache
def predicate_label(predicate: str) -> str:
    """The ontology's Chinese label of a relation, with its local name: ``隶属(partOf)``."""
    labels = ontology_graph().objects(term(predicate), RDFS.label)
    chinese = next((str(lbl) for lbl in labels if getattr(lbl, "language", None) == "zh"), "")
    return f"{chinese}({predicate})" if chinese else predicate


# ---------------------------------------------------------------------------------------------
# Loading


def load_graph(path: str | Path) -> Graph:
    """The knowledge graph file, parsed; a missing or unreadable file is an InputError."""
    source = Path(path)
    if not source.is_file():
        raise InputError(f"{source}: no such graph file (build the knowledge graph first)")
    try:
        return Graph().parse(source, format=guess_format(str(source)) or "turtle")
    except Exception as exc:  # rdflib raises many parser-specific types
        raise InputError(f"{source}: cannot read the graph ({exc})") from exc


# ---------------------------------------------------------------------------------------------
# Subcommands


def run_collab(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``collab NAME``: ranked partners, each with kinds, one evidence sentence and its document."""
    from kg.analysis import collaboration_network, collaboration_partners, find_entity
    from kg.network import rdf_to_networkx

    out = out or sys.stdout
    network = rdf_to_networkx(load_graph(args.graph))
    node = find_entity(network, args.name)
    collab = collaboration_network(network)
    attrs = network.nodes[node]
    partners = collaboration_partners(collab, node)
    if args.kind:
        partners = [p for p in partners if set(p.kinds) & set(args.kind)]
    kinds = f" ({', '.join(args.kind)})" if args.kind else ""
    print(
        f"{attrs['label']} ({attrs['type']}) — {len(partners)} collaboration partner(s){kinds}",
        file=out,
    )
    if not partners:
        print("  no cooperation, shared agreement, task, project or event found", file=out)
        linked = _linked_through(network, node)
        if linked:
            # A task, agreement, project or event is what links go through: show who it links.
            print(f"  entities linked through it: {'、'.join(linked)}", file=out)
        return 0
    shown = partners[: args.limit]
    print("ranked by collaboration weight (independent pieces of evidence)", file=out)
    print(file=out)
    rows = [["#", "合作方 partner", "类型 type", "权重 weight", "关系 relation"]]
    rows += [
        [str(i), p.label, p.type, str(p.weight), _kinds_text(p.kinds, p.via)]
        for i, p in enumerate(shown, 1)
    ]
    lines = table(rows, indent="  ")
    print(lines[0], file=out)
    names = [attrs["label"], *attrs.get("aliases", ())]
    for line, partner in zip(lines[1:], shown, strict=True):
        print(line, file=out)
        anchors = [partner.label, *network.nodes[partner.node].get("aliases", ()), *names]
        for text in _evidence_lines(partner.evidence, anchors, indent="       "):
            print(text, file=out)
    if len(partners) > len(shown):
        print(f"\n  … {len(partners) - len(shown)} more (use --limit)", file=out)
    return 0


def _linked_through(network: nx.MultiDiGraph, node: str) -> list[str]:
    predicates = {"partyTo", "responsibleFor", "participatesIn"}
    subjects = {
        u
        for u, _v, data in network.in_edges(node, data=True)
        if data.get("predicate") in predicates and not data.get("suggested")
    }
    return sorted(str(network.nodes[u].get("label", u)) for u in subjects)


def _hop_line(hop: Hop) -> str:
    if hop.kinds:
        return f"{hop.source_label} —[{_kinds_text(hop.kinds, hop.via)}]— {hop.target_label}"
    relation = predicate_label(hop.predicate)
    if hop.forward:
        return f"{hop.source_label} —{relation}→ {hop.target_label}"
    return f"{hop.source_label} ←{relation}— {hop.target_label}"


def run_path(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``path A B``: a shortest path, preferring collaboration links, with evidence per hop."""
    from kg.analysis import collaboration_network, find_entity, find_path
    from kg.network import rdf_to_networkx

    out = out or sys.stdout
    network = rdf_to_networkx(load_graph(args.graph))
    source, target = find_entity(network, args.source), find_entity(network, args.target)
    a, b = network.nodes[source]["label"], network.nodes[target]["label"]
    if source == target:
        print(f"{a} and {b} are the same entity.", file=out)
        return 0
    path = find_path(network, collaboration_network(network), source, target)
    if path is None:
        print(f"No path between {a} and {b}: they are not connected by any relation.", file=out)
        return 1
    print(f"{a} → {b}: {len(path)} hop(s)", file=out)
    for i, hop in enumerate(path, 1):
        print(f"\n  {i}. {_hop_line(hop)}", file=out)
        anchors = [hop.source_label, hop.target_label]
        for text in _evidence_lines(hop.evidence, anchors, indent="     "):
            print(text, file=out)
    return 0


def run_suggest(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``suggest``: predicted links (Adamic–Adar), with score and shared partners."""
    from kg.analysis import collaboration_network, suggest_links
    from kg.network import rdf_to_networkx

    out = out or sys.stdout
    collab = collaboration_network(rdf_to_networkx(load_graph(args.graph)))
    types = tuple(args.type) if args.type else ORGANISATION_TYPES
    suggestions = suggest_links(collab, types=types, limit=args.limit)
    print(f"Suggested links among {', '.join(types)} — predicted, not asserted", file=out)
    if not suggestions:
        print("  none: no unlinked pair shares a partner", file=out)
        return 0
    print(file=out)
    rows = [["#", "建议合作 pair", "得分 score", "共同伙伴 shared partners"]]
    for i, s in enumerate(suggestions, 1):
        shared = "、".join(s.shared_labels[:5]) + ("等" if len(s.shared_labels) > 5 else "")
        rows.append([str(i), f"{s.a_label} — {s.b_label}", f"{s.score:.3f}", shared])
    for line in table(rows, indent="  "):
        print(line, file=out)
    return 0


# ---------------------------------------------------------------------------------------------
# Registration


def _add_graph_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--graph",
        type=Path,
        default=DEFAULT_GRAPH,
        help=f"knowledge graph file (default: {DEFAULT_GRAPH})",
    )


def add_analysis_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Register ``collab``, ``path`` and ``suggest`` (each sets ``func(args) -> int``)."""
    collab = subparsers.add_parser(
        "collab",
        help="who an entity works with, with evidence",
        description="Partners of an entity in the collaboration network, strongest first, each "
        "with the kind of link, one evidence sentence and its document.",
    )
    collab.add_argument("name", help="entity label or alias, e.g. 湘潭高新区")
    _add_graph_option(collab)
    collab.add_argument("--limit", type=bounded_int(1), default=20, help="partners shown (20)")
    collab.add_argument(
        "--kind",
        action="append",
        choices=KINDS,
        help="only links of this kind (repeatable), e.g. --kind cooperation",
    )
    collab.set_defaults(func=run_collab)

    path = subparsers.add_parser(
        "path",
        help="how two entities are connected, hop by hop",
        description="A shortest path between two entities: collaboration links preferred, any "
        "relation as fallback; every hop with its evidence sentence and document.",
    )
    path.add_argument("source", help="entity label or alias")
    path.add_argument("target", help="entity label or alias")
    _add_graph_option(path)
    path.set_defaults(func=run_path)

    suggest = subparsers.add_parser(
        "suggest",
        help="predicted collaboration links (not facts)",
        description="Pairs not yet linked that share partners, scored by Adamic–Adar.",
    )
    suggest.add_argument(
        "--type",
        action="append",
        choices=ENTITY_TYPES,
        metavar="TYPE",
        help="entity type of both ends (repeatable; default: "
        + ", ".join(ORGANISATION_TYPES)
        + ")",
    )
    _add_graph_option(suggest)
    suggest.add_argument("--limit", type=bounded_int(1), default=20, help="suggestions shown (20)")
    suggest.set_defaults(func=run_suggest)
