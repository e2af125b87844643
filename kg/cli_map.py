"""The ``map`` subcommand of ``python -m kg``: an ego map around one entity, as one HTML file."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TextIO

from kg.cli import bounded_int
from kg.cli_analysis import DEFAULT_GRAPH, load_graph
from kg.errors import InputError
from kg.model import ENTITY_TYPES

# Characters that are unsafe or awkward in a file name on some system.
_UNSAFE_FILE_CHARS = re.compile(r'[\\/:*?"<>|\s]+')


def default_map_path(graph_path: Path, label: str, depth: int) -> Path:
    """``map-<label>-<depth>.html`` next to the graph file, e.g. ``outputs/map-湘潭市-1.html``."""
    safe = _UNSAFE_FILE_CHARS.sub("_", label).strip("._") or "entity"
    return graph_path.parent / f"map-{safe}-{depth}.html"


def run_map(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``map ENTITY``: the entity, everything within ``--depth`` links, as a self-contained map."""
    from kg.network import rdf_to_networkx  # (networkx, pyvis, igraph: only for this command)
    from kg.visualize import ego_network, write_graph_map

    out = out or sys.stdout
    network = rdf_to_networkx(load_graph(args.graph))
    ego = ego_network(network, args.entity, depth=args.depth, types=args.types)
    centre = ego.graph["centre"]
    label = str(ego.nodes[centre].get("label", args.entity))
    path = args.out or default_map_path(Path(args.graph), label, args.depth)
    plural = "" if args.depth == 1 else "s"
    title = f"{label}：{args.depth} 步以内的关系"
    try:
        write_graph_map(ego, path, title=title)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the map ({exc.strerror or exc})") from exc
    print(
        f"{label}: {ego.number_of_nodes()} entities and {ego.number_of_edges()} relations "
        f"within {args.depth} link{plural} → {path}",
        file=out,
    )
    return 0


def add_map_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``map`` (sets ``func(args) -> int``)."""
    parser = subparsers.add_parser(
        "map",
        help="an interactive HTML map around one entity",
        description="Write a self-contained HTML map (opens from disk, no network) of an entity "
        "and everything within --depth links of it, in either direction, suggested links "
        "included. The whole graph and the collaboration network are outputs/graph.html and "
        "outputs/collaboration.html.",
    )
    parser.add_argument("entity", help="entity label or alias, e.g. 湘潭市")
    parser.add_argument(
        "--depth",
        type=bounded_int(0),
        default=1,
        help="links to follow from the entity (default: 1; 0: the entity alone)",
    )
    parser.add_argument(
        "--types",
        nargs="+",
        choices=ENTITY_TYPES,
        metavar="TYPE",
        help="only walk through entities of these types (the entity itself is always shown): "
        + ", ".join(ENTITY_TYPES),
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="HTML file to write (default: map-<entity>-<depth>.html next to the graph file)",
    )
    parser.add_argument(
        "--graph",
        type=Path,
        default=DEFAULT_GRAPH,
        help=f"knowledge graph file (default: {DEFAULT_GRAPH})",
    )
    parser.set_defaults(func=run_map)
