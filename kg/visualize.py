"""Interactive relationship maps: self-contained vis-network HTML pages that open offline.

A map is assembled with pyvis (its ``Network`` holds the vis-network nodes, edges and options)
and rendered with our own template (``kg/templates/map.html.j2``) instead of pyvis's, because
pyvis's ``in_line`` mode still links Bootstrap and tom-select from a CDN. The vis-network script
(copied from pyvis's package), the page's styles and script, and the graph as escaped JSON are
all inlined, so the file opens from disk without a network.

Nodes are coloured and shaped by entity type (colours set per node: a pyvis ``group`` would drop
them) and sized by PageRank (degree when a node has none); edges are coloured and labelled by
relation, suggested links dashed. No vis ``title`` is set: tooltips and the details panel are
built in the browser with ``textContent`` from the JSON, so no name or sentence is ever parsed
as HTML.

Layout: positions are computed here with igraph's Fruchterman–Reingold (seeded; the grid variant
for large components; components packed in rows), so the same graph gives the same bytes. Maps
up to ``PHYSICS_MAX_NODES`` nodes let vis-network's physics polish that layout for a bounded
number of iterations and then switch physics off; larger maps are drawn as computed, physics
off. Ego maps are radial around their centre.
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import networkx as nx
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from pyvis.network import Network

from kg.errors import InputError
from kg.io import write_atomic
from kg.model import ENTITY_TYPES, KIND_LABELS, RELATION_PREDICATES

TEMPLATES = Path(__file__).resolve().parent / "templates"
VIS_NETWORK_VERSION = "9.1.2"  # kg/templates/vis-network.min.js, from pyvis's lib/vis-9.1.2
# Fonts that exist where only Noto CJK or WenQuanYi is installed come first (Linux CI, servers);
# the same stack is in kg/templates/map.css for the page itself.
FONT_STACK = (
    '"Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "Source Han Sans SC", '
    '"Microsoft YaHei", "PingFang SC", sans-serif'
)
PHYSICS_MAX_NODES = 1000  # above this, physics never runs in the browser (too slow to settle)
GRID_LAYOUT_MIN_NODES = 500  # igraph's grid FR from here: exact FR is quadratic (10 s at 2,000)
STABILIZATION_ITERATIONS = 150
LAYOUT_SEED = 20240611
EDGE_LENGTH = 110.0  # median edge length of the precomputed layout, in vis-network units
MIN_NODE_SPACING = 80.0  # a component gets at least this side of square per node
GRID_CELL = (170.0, 70.0)  # width, height of an unlinked entity's cell in the layout
MAX_EVIDENCE = 3  # evidence sentences kept per edge (the tooltip says how many more exist)
TOP_RELATIONS = 5  # strongest relations listed in a node's tooltip
NODE_SIZE = (10.0, 40.0)
LARGE_NODE_SIZE = (6.0, 28.0)
# Label size grows with the node, so that the hubs' names stay readable when the map is fitted
# to the window; labels smaller than LABEL_DRAW_THRESHOLD px on screen are not drawn (they could
# not be read), so the overview shows the hubs' names and zooming in shows the rest.
LABEL_SIZE = (14.0, 40.0)
LARGE_LABEL_SIZE = (12.0, 60.0)
LABEL_DRAW_THRESHOLD = 8

SUGGESTED = "suggestedPartner"
SUGGESTED_LABEL = "建议合作"

# (colour, vis-network shape) per entity type. Only shapes that honour ``size`` and draw the label
# below the node are used, so that sizes stay comparable across types.
TYPE_STYLES: dict[str, tuple[str, str]] = {
    "Province": ("#8c564b", "hexagon"),
    "City": ("#d62728", "dot"),
    "County": ("#ff7f0e", "dot"),
    "Region": ("#bcbd22", "hexagon"),
    "Agency": ("#1f77b4", "square"),
    "Park": ("#2ca02c", "triangle"),
    "Project": ("#9467bd", "diamond"),
    "Agreement": ("#e377c2", "star"),
    "Plan": ("#17becf", "square"),
    "Person": ("#393b79", "dot"),
    "Organization": ("#637939", "triangleDown"),
    "Event": ("#e7ba52", "star"),
    "Industry": ("#ad494a", "diamond"),
    "Task": ("#6b6ecf", "triangleDown"),
}
UNKNOWN_TYPE_STYLE = ("#9ca3af", "dot")

RELATION_COLOURS: dict[str, str] = {
    "cooperatesWith": "#e6550d",
    "partyTo": "#d6616b",
    "responsibleFor": "#3182bd",
    "leads": "#756bb1",
    "memberOf": "#31a354",
    "partOf": "#969696",
    "locatedIn": "#8c6d31",
    "issuedBy": "#17becf",
    "participatesIn": "#bcbd22",
    SUGGESTED: "#fd8d3c",
}
UNKNOWN_RELATION_COLOUR = "#9ca3af"
DIRECTED = frozenset(RELATION_PREDICATES) - {"cooperatesWith"}
# Kinds of the analysis's collaboration network share the colour of the relation they come from.
KIND_COLOURS: dict[str, str] = {
    "cooperation": RELATION_COLOURS["cooperatesWith"],
    "co-party": RELATION_COLOURS["partyTo"],
    "shared-responsibility": RELATION_COLOURS["responsibleFor"],
    "co-participation": RELATION_COLOURS["participatesIn"],
}
COLLABORATION_PREDICATES = frozenset({"cooperatesWith", SUGGESTED})

# Legend symbols, drawn as inline SVG (trusted constants, not data).
_SHAPE_SVG: dict[str, str] = {
    "dot": '<circle cx="8" cy="8" r="6"/>',
    "square": '<rect x="2.5" y="2.5" width="11" height="11"/>',
    "triangle": '<polygon points="8,1.5 14.5,14 1.5,14"/>',
    "triangleDown": '<polygon points="1.5,2 14.5,2 8,14.5"/>',
    "diamond": '<polygon points="8,1 15,8 8,15 1,8"/>',
    "star": '<polygon points="8,1 10,6 15,6.2 11,9.4 12.4,14.6 8,11.6 3.6,14.6 5,9.4 1,6.2 6,6"/>',
    "hexagon": '<polygon points="8,1 14,4.5 14,11.5 8,15 2,11.5 2,4.5"/>',
}

Edge = tuple[str, str, str, dict[str, Any]]  # (u, v, key, data), as _edges yields them


# ---------------------------------------------------------------------------------------------
# Public API


def write_graph_map(network: nx.Graph, path: str | Path, *, title: str) -> Path:
    """The whole graph (or an ego network) as one self-contained HTML map; returns ``path``."""
    kind = "ego" if network.graph.get("centre") else "graph"
    return write_atomic(path, render_map(network, title=title, kind=kind))


def write_collaboration_map(
    network: nx.Graph,
    path: str | Path,
    *,
    title: str,
    relations: nx.MultiDiGraph | None = None,
) -> Path:
    """Who works with whom, as one self-contained HTML map; returns ``path``.

    A network built by the analysis (graph attribute ``kind == "collaboration"``: cooperation,
    co-party, shared responsibility, co-participation links) is drawn as it is, plus the
    suggested links of ``relations`` (the relation multigraph it was derived from) between its
    entities. A relation multigraph is reduced to its ``cooperatesWith`` and suggested links.
    """
    if network.graph.get("kind") != "collaboration":
        network = collaboration_subgraph(network)
    elif relations is not None:
        network = with_suggestions(network, relations)
    return write_atomic(path, render_map(network, title=title, kind="collaboration"))


def collaboration_subgraph(network: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The ``cooperatesWith`` and suggested links of a relation multigraph, and their ends."""
    result = nx.MultiDiGraph(**network.graph)
    edges = [e for e in _edges(network) if _is_collaboration(e[3])]
    for node in sorted({n for u, v, _k, _d in edges for n in (u, v)}):
        result.add_node(node, **network.nodes[node])
    for u, v, key, data in edges:
        result.add_edge(u, v, key=key, **data)
    return result


def with_suggestions(collab: nx.Graph, relations: nx.MultiDiGraph) -> nx.MultiGraph:
    """The collaboration network plus the suggested links of ``relations`` (input unchanged).

    A MultiGraph, because a suggestion may join two entities that are already linked otherwise
    (it never does when it comes from the analysis, but a hand-edited graph may say so).
    """
    result = nx.MultiGraph(collab)
    for u, v, key, data in _edges(relations):
        if data.get("suggested"):
            for node in (u, v):
                if node not in result:
                    result.add_node(node, **relations.nodes[node])
            result.add_edge(u, v, key=key, **data)
    return result


def ego_network(
    network: nx.MultiDiGraph,
    entity_name: str,
    depth: int = 1,
    types: Sequence[str] | None = None,
) -> nx.MultiDiGraph:
    """Everything within ``depth`` links of an entity (label or alias), edges in either direction.

    With ``types``, the walk only goes through entities of those types (the centre is always
    kept), so the map stays connected. Suggested links count as links. Raises
    :class:`~kg.errors.EntityNotFoundError` (with the closest names) when no entity has that name.
    """
    from kg.analysis import find_entity

    if depth < 0:
        raise InputError(f"depth must be 0 or more, not {depth}")
    allowed = None if not types else set(check_types(types))
    centre = find_entity(network, entity_name)
    undirected = nx.Graph()
    undirected.add_nodes_from(network.nodes)
    undirected.add_edges_from((u, v) for u, v, *_ in network.edges(keys=True))
    if allowed is not None:
        keep = [n for n in network if n == centre or network.nodes[n].get("type") in allowed]
        undirected = undirected.subgraph(keep)
    reached = nx.single_source_shortest_path_length(undirected, centre, cutoff=depth)
    ego = nx.MultiDiGraph(**network.graph)
    ego.graph.update(centre=centre, depth=depth, kind="ego")
    for node in sorted(reached):
        ego.add_node(node, **network.nodes[node])
    for u, v, key, data in _edges(network):
        if u in reached and v in reached:
            ego.add_edge(u, v, key=key, **data)
    return ego


def check_types(types: Sequence[str]) -> list[str]:
    """``types`` if every one is an entity type, else an InputError listing the known ones."""
    unknown = [t for t in types if t not in ENTITY_TYPES]
    if unknown:
        raise InputError(
            f"unknown entity type(s): {', '.join(unknown)}; known: {', '.join(ENTITY_TYPES)}"
        )
    return list(types)


def render_map(network: nx.Graph, *, title: str, kind: str = "graph") -> str:
    """The map's HTML (deterministic: the same network gives the same string)."""
    model = build_map(network, kind=kind)
    data = model.page_data(title)
    template = _environment().get_template("map.html.j2")
    return template.render(
        title=title,
        data=data,
        data_json=Markup(script_json(data)),
        vis_js=Markup(_asset("vis-network.min.js")),
        map_js=Markup(_asset("map.js")),
        map_css=Markup(_asset("map.css")),
        shape_svg={key: Markup(value) for key, value in _SHAPE_SVG.items()},
        vis_version=VIS_NETWORK_VERSION,
    )


def script_json(data: object) -> str:
    """JSON safe inside ``<script>``: ``<``, ``>``, ``&`` and line separators are \\u-escaped."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


# ---------------------------------------------------------------------------------------------
# The map model: a pyvis Network plus what the page shows besides the canvas


@dataclass
class MapModel:
    """A map before rendering.

    ``net`` holds what vis-network draws (node ``i`` and edge ``i`` have id ``i``); ``node_info``
    and ``edge_info`` (same order) hold what tooltips, search and filters need, in compact keys
    documented at the top of kg/templates/map.js.
    """

    net: Network
    kind: str
    physics: bool
    lazy_labels: bool  # large maps: node labels once drawable, edge labels on focus (map.js)
    size_by: str  # "pagerank" or "degree"
    types: list[dict[str, Any]]
    relations: list[dict[str, Any]]
    documents: list[list[str]]
    node_info: list[dict[str, Any]] = field(default_factory=list)
    edge_info: list[dict[str, Any]] = field(default_factory=list)

    def vis_options(self) -> dict[str, Any]:
        """pyvis's options object as vis-network reads it."""
        return json.loads(self.net.get_network_data()[-1])

    def page_data(self, title: str) -> dict[str, Any]:
        """Everything the page script reads, JSON-ready."""
        return {
            "title": title,
            "kind": self.kind,
            "font": FONT_STACK,
            "physics": self.physics,
            "lazyLabels": self.lazy_labels,
            "sizeBy": self.size_by,
            "maxEvidence": MAX_EVIDENCE,
            "types": self.types,
            "relations": self.relations,
            "documents": self.documents,
            "vis": {
                "nodes": self.net.nodes,
                "edges": self.net.edges,
                "options": self.vis_options(),
            },
            "nodeInfo": self.node_info,
            "edgeInfo": self.edge_info,
        }


class _NodeIds(list):
    """pyvis's list of node ids with constant-time membership.

    pyvis tests ``id in node_ids`` for every node and twice for every edge; on a plain list that
    is quadratic (seconds at 10,000 nodes).
    """

    def __init__(self) -> None:
        super().__init__()
        self._members: set[Any] = set()

    def append(self, item: Any) -> None:
        super().append(item)
        self._members.add(item)

    def __contains__(self, item: object) -> bool:
        return item in self._members


def build_map(network: nx.Graph, *, kind: str = "graph") -> MapModel:
    """Assemble the map of ``network`` with pyvis (nodes, edges, options) and its page data."""
    nodes = sorted(network.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    edges = list(_edges(network))
    large = len(nodes) > PHYSICS_MAX_NODES
    centre = network.graph.get("centre")
    physics = not large and centre not in index  # an ego map is laid out radially: keep it

    type_keys = _ordered({_type_of(network, n) for n in nodes}, ENTITY_TYPES)
    type_index = {key: i for i, key in enumerate(type_keys)}
    relation_keys = _ordered(
        {rel for *_, data in edges for rel in _relations(data)},
        (*RELATION_PREDICATES, *KIND_COLOURS, SUGGESTED),
    )
    relation_index = {key: i for i, key in enumerate(relation_keys)}

    net = Network(directed=True)  # directed: pyvis would merge an undirected edge's parallels
    net.node_ids = _NodeIds()
    _set_options(net, physics=physics, large=large)

    documents = _DocumentTable(network.graph.get("documents") or {})
    positions = layout_positions(network)
    sizes, size_by = _node_sizes(network, nodes, LARGE_NODE_SIZE if large else NODE_SIZE)
    label_sizes = _label_sizes(sizes, LARGE_NODE_SIZE if large else NODE_SIZE, large)
    connected = {n for u, v, *_ in edges for n in (u, v)}
    incident: dict[str, list[int]] = defaultdict(list)
    for i, (u, v, *_rest) in enumerate(edges):
        incident[u].append(i)
        if v != u:
            incident[v].append(i)

    model = MapModel(
        net=net,
        kind=kind,
        physics=physics,
        lazy_labels=large,
        size_by=size_by,
        types=[_type_entry(key, network, nodes) for key in type_keys],
        relations=[_relation_entry(key, edges) for key in relation_keys],
        documents=documents.rows,
    )
    for node in nodes:
        attrs = network.nodes[node]
        type_key = _type_of(network, node)
        colour, shape = TYPE_STYLES.get(type_key, UNKNOWN_TYPE_STYLE)
        x, y = positions[node]
        options: dict[str, Any] = {
            "size": sizes[node],
            "x": x,
            "y": y,
            "font": {"size": label_sizes[node]},
        }
        if node not in connected:
            # Isolated entities keep their place in the grid, and still push the others away,
            # so that no component settles on top of them.
            options["fixed"] = True
        if node == centre:
            options["borderWidth"] = 5
        net.add_node(index[node], label=_label(network, node), shape=shape, color=colour, **options)
        model.node_info.append(
            _node_info(node, attrs, type_index[type_key], incident[node], edges, network, documents)
        )
        if node == centre:
            model.node_info[-1]["c"] = 1

    curves = _curves(edges)
    for i, (u, v, _key, attrs) in enumerate(edges):
        relations = _relations(attrs)
        suggested = bool(attrs.get("suggested"))
        directed = not suggested and relations[0] in DIRECTED
        label = _edge_label(attrs, relations)
        options = {
            "id": i,
            "color": _relation_colour(relations[0]),
            "width": round(min(1 + math.log2(max(int(attrs.get("weight") or 1), 1)), 5), 2),
            "arrows": "to" if directed else "",
        }
        if not large:
            options["label"] = label
        if suggested:
            options["dashes"] = True
        if curves[i]:
            options["smooth"] = {"enabled": True, "type": "curvedCW", "roundness": curves[i]}
        net.add_edge(index[u], index[v], **options)
        model.edge_info.append(_edge_info(attrs, relations, relation_index, documents, directed))
        if large:  # measuring 10,000 labels takes seconds: map.js sets them on focus
            model.edge_info[-1]["l"] = label
    return model


def _set_options(net: Network, *, physics: bool, large: bool) -> None:
    """vis-network options through pyvis's options object (what it does not model, as dicts)."""
    net.toggle_physics(physics)
    net.force_atlas_2based(
        gravity=-40, central_gravity=0.01, spring_length=EDGE_LENGTH, spring_strength=0.06,
        damping=0.6, overlap=0.3,
    )  # fmt: skip
    stabilization = net.options.physics.stabilization
    stabilization.enabled = physics
    stabilization.iterations = STABILIZATION_ITERATIONS
    stabilization.updateInterval = 10
    stabilization.fit = True
    net.options.physics.minVelocity = 1
    net.toggle_hide_edges_on_drag(large)
    net.inherit_edge_colors(False)
    net.options.edges.smooth.enabled = False  # straight lines: fast, and nothing moves
    net.options.edges.font = {
        "face": FONT_STACK,
        "size": 11,
        "align": "middle",
        "color": "#4b5563",
        "strokeWidth": 3,
        "strokeColor": "#ffffff",
    }
    # Relation names appear once zoomed in (11 px text from 80 % zoom): in the overview they
    # would cover the dense clusters.
    net.options.edges.scaling = {"label": {"drawThreshold": 9}}
    net.options.edges.selectionWidth = 1.5
    net.options.edges.arrowStrikethrough = False
    net.options.nodes = {
        "borderWidth": 1.5,
        "font": {
            "face": FONT_STACK,
            "color": "#1f2937",
            "strokeWidth": 3,
            "strokeColor": "#ffffff",
        },
        "scaling": {"label": {"drawThreshold": LABEL_DRAW_THRESHOLD}},
    }
    interaction = net.options.interaction
    interaction.hover = True  # hover events drive our own tooltips (no vis ``title``)
    interaction.hideEdgesOnZoom = large
    interaction.multiselect = False
    interaction.keyboard = False
    net.options.layout = {"improvedLayout": False, "randomSeed": 7}  # positions come from here


class _DocumentTable:
    """Documents referenced by the map, numbered in order of first use (deterministic)."""

    def __init__(self, known: dict[str, dict[str, str]]):
        self.known = known
        self.rows: list[list[str]] = []
        self.index: dict[str, int] = {}

    def ref(self, doc_id: str, title: str = "", date: str = "") -> int:
        if doc_id not in self.index:
            meta = self.known.get(doc_id, {})
            self.index[doc_id] = len(self.rows)
            self.rows.append(
                [doc_id, str(meta.get("title") or title or ""), str(meta.get("date") or date or "")]
            )
        return self.index[doc_id]


def _node_info(
    node: str,
    attrs: dict[str, Any],
    type_index: int,
    edge_ids: list[int],
    edges: list[Edge],
    network: nx.Graph,
    documents: _DocumentTable,
) -> dict[str, Any]:
    label = _label(network, node)
    info: dict[str, Any] = {"t": type_index}
    aliases = [str(a) for a in attrs.get("aliases", ()) if str(a) != label]
    if aliases:
        info["a"] = aliases
    docs = [documents.ref(str(d)) for d in attrs.get("documents", ())]
    if docs:
        info["d"] = docs
    metrics = {k: _number(attrs[k]) for k in ("pagerank", "degree", "betweenness") if k in attrs}
    if metrics:
        info["m"] = metrics
    strongest = _strongest(edge_ids, edges, network)
    if strongest:
        info["r"] = strongest
    return info


def _edge_info(
    attrs: dict[str, Any],
    relations: list[str],
    relation_index: dict[str, int],
    documents: _DocumentTable,
    directed: bool,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "r": [relation_index[r] for r in relations],
        "w": int(attrs.get("weight") or 1),
        "d": int(directed),
    }
    if attrs.get("suggested"):
        info["sc"] = round(float(attrs.get("score") or 0.0), 4)
        if attrs.get("shared"):
            info["p"] = [str(s) for s in attrs["shared"]]
    evidence = list(attrs.get("evidence") or ())
    if evidence:
        info["e"] = [
            [
                str(getattr(item, "sentence", "")),
                documents.ref(
                    str(getattr(item, "doc_id", "")),
                    str(getattr(item, "doc_title", "")),
                    str(getattr(item, "doc_date", "")),
                ),
            ]
            for item in evidence[:MAX_EVIDENCE]
        ]
        info["n"] = len(evidence)
    if attrs.get("role"):
        info["o"] = str(attrs["role"])
    if attrs.get("via"):
        info["v"] = [str(v) for v in attrs["via"]]
    return info


def _edges(network: nx.Graph) -> Iterator[Edge]:
    """(u, v, key, data) in a fixed order, for multigraphs and simple graphs alike."""
    if network.is_multigraph():
        items = [(u, v, str(k), d) for u, v, k, d in network.edges(keys=True, data=True)]
    else:
        items = [(u, v, "+".join(d.get("kinds", ())), d) for u, v, d in network.edges(data=True)]
    if not network.is_directed():  # networkx reports an undirected edge either way round
        items = [(min(u, v), max(u, v), k, d) for u, v, k, d in items]
    yield from sorted(items, key=lambda e: (e[0], e[1], e[2]))


def _relations(data: dict[str, Any]) -> list[str]:
    """The legend keys an edge belongs to: its predicate, or its collaboration kinds."""
    if data.get("suggested"):
        return [SUGGESTED]
    if data.get("predicate"):
        return [str(data["predicate"])]
    kinds = [str(k) for k in data.get("kinds", ())]
    return kinds or ["related"]


def _is_collaboration(data: dict[str, Any]) -> bool:
    return bool(data.get("suggested")) or data.get("predicate") in COLLABORATION_PREDICATES


def _ordered(keys: set[str], preferred: Iterable[str]) -> list[str]:
    preferred = list(dict.fromkeys(preferred))
    return [k for k in preferred if k in keys] + sorted(keys - set(preferred))


def _type_of(network: nx.Graph, node: str) -> str:
    return str(network.nodes[node].get("type", ""))


def _label(network: nx.Graph, node: str) -> str:
    return str(network.nodes[node].get("label") or node.rsplit("/", 1)[-1])


@cache
def _ontology_labels() -> dict[str, str]:
    """Chinese labels of the ontology's classes and properties (the single source of names)."""
    from rdflib import RDFS

    from kg.ontology import CZT, ontology_graph

    labels: dict[str, str] = {}
    for subject, label in ontology_graph().subject_objects(RDFS.label):
        if str(subject).startswith(str(CZT)) and getattr(label, "language", None) == "zh":
            labels[str(subject)[len(str(CZT)) :]] = str(label)
    return labels


def relation_label(key: str) -> str:
    """The Chinese name of a relation or collaboration kind, e.g. ``cooperatesWith`` → 合作."""
    if key == SUGGESTED:
        return SUGGESTED_LABEL
    return KIND_LABELS.get(key) or _ontology_labels().get(key) or key


def type_label(key: str) -> str:
    """The Chinese name of an entity type, e.g. ``City`` → 地级市."""
    return _ontology_labels().get(key) or key or "未分类"


def _relation_colour(key: str) -> str:
    return RELATION_COLOURS.get(key) or KIND_COLOURS.get(key) or UNKNOWN_RELATION_COLOUR


def _edge_label(attrs: dict[str, Any], relations: list[str]) -> str:
    if attrs.get("suggested"):
        return f"{SUGGESTED_LABEL} {float(attrs.get('score') or 0.0):.2f}"
    return "、".join(relation_label(r) for r in relations)


def _type_entry(key: str, network: nx.Graph, nodes: list[str]) -> dict[str, Any]:
    colour, shape = TYPE_STYLES.get(key, UNKNOWN_TYPE_STYLE)
    count = sum(1 for n in nodes if _type_of(network, n) == key)
    return {"key": key, "label": type_label(key), "color": colour, "shape": shape, "count": count}


def _relation_entry(key: str, edges: list[Edge]) -> dict[str, Any]:
    count = sum(1 for *_, data in edges if key in _relations(data))
    label = f"{SUGGESTED_LABEL}（预测）" if key == SUGGESTED else relation_label(key)
    return {
        "key": key,
        "label": label,
        "color": _relation_colour(key),
        "dashes": key == SUGGESTED,
        "count": count,
    }


def _curves(edges: list[Edge]) -> list[float]:
    """Roundness per edge so that parallel edges between the same two nodes do not overlap."""
    seen: dict[tuple[str, str], int] = defaultdict(int)
    curves = []
    for u, v, _key, _data in edges:
        pair = (u, v) if u <= v else (v, u)
        curves.append(round(0.18 * seen[pair], 2))
        seen[pair] += 1
    return curves


def _strongest(edge_ids: list[int], edges: list[Edge], network: nx.Graph) -> list[int]:
    """The node's strongest relations: most evidence first, suggestions last, then by name."""

    def rank(i: int) -> tuple[Any, ...]:
        u, v, key, data = edges[i]
        return (
            bool(data.get("suggested")),
            -int(data.get("weight") or 1),
            key,
            _label(network, u),
            _label(network, v),
        )

    return sorted(edge_ids, key=rank)[:TOP_RELATIONS]


def _node_sizes(
    network: nx.Graph, nodes: list[str], bounds: tuple[float, float]
) -> tuple[dict[str, float], str]:
    """Size by PageRank when every node has one, else by distinct neighbours (square-root scale)."""
    if nodes and all(network.nodes[n].get("pagerank") is not None for n in nodes):
        basis = "pagerank"
        values = {n: float(network.nodes[n]["pagerank"]) for n in nodes}
    else:
        basis = "degree"
        undirected = network.to_undirected(as_view=True)
        values = {n: float(len(set(undirected[n]) - {n})) for n in nodes}
    low, high = (min(values.values()), max(values.values())) if values else (0.0, 0.0)
    small, big = bounds
    sizes = {}
    for node, value in values.items():
        share = (value - low) / (high - low) if high > low else 0.3
        sizes[node] = round(small + (big - small) * math.sqrt(share), 1)
    return sizes, basis


def _label_sizes(
    sizes: dict[str, float], bounds: tuple[float, float], large: bool
) -> dict[str, int]:
    """Label font size per node: the node's size mapped onto the label range, to the power 1.5.

    The power keeps the many small nodes near the base size, so that mainly hubs have labels big
    enough to be drawn when the whole map is in view.
    """
    small, big = bounds
    low, high = LARGE_LABEL_SIZE if large else LABEL_SIZE
    return {
        node: round(low + (high - low) * ((size - small) / (big - small)) ** 1.5)
        for node, size in sizes.items()
    }


def _number(value: Any) -> float | int | str:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return round(number, 6) if math.isfinite(number) else 0


# ---------------------------------------------------------------------------------------------
# Layout


def layout_positions(network: nx.Graph, seed: int = LAYOUT_SEED) -> dict[str, tuple[float, float]]:
    """Node positions: radial around the centre of an ego network, else force-directed.

    Force-directed: seeded Fruchterman–Reingold per connected component (igraph's grid variant
    for large components lays out 10,000 nodes in about two seconds; networkx's spring_layout
    takes minutes), scaled to a median edge length of ``EDGE_LENGTH``; components are packed in
    rows, largest first, and isolated entities gathered in a grid sorted by type. Coordinates
    are rounded, so the output is stable.
    """
    import igraph

    nodes = sorted(network.nodes)
    simple = nx.Graph()
    simple.add_nodes_from(nodes)
    simple.add_edges_from((u, v) for u, v in network.edges() if u != v)
    centre = network.graph.get("centre")
    if centre in simple:
        return _radial_layout(simple, centre, network)
    components = sorted(
        (sorted(c) for c in nx.connected_components(simple)), key=lambda c: (-len(c), c[0])
    )
    rng = random.Random(seed)
    igraph.set_random_number_generator(rng)  # igraph's C core draws from it; default restored
    try:
        pieces = [
            _component_layout(simple, component, rng, igraph)
            for component in components
            if len(component) > 1
        ]
    finally:
        igraph.set_random_number_generator(random)
    isolated = sorted(
        (c[0] for c in components if len(c) == 1),
        key=lambda n: (_type_rank(network, n), _label(network, n), n),
    )
    if isolated:
        pieces.append(_grid(isolated))
    return _pack(pieces)


def _type_rank(network: nx.Graph, node: str) -> int:
    kind = network.nodes[node].get("type")
    return ENTITY_TYPES.index(kind) if kind in ENTITY_TYPES else len(ENTITY_TYPES)


def _grid(nodes: list[str]) -> dict[str, tuple[float, float]]:
    """Unlinked entities in a square block of cells wide enough for a label of ~12 characters."""
    width, height = GRID_CELL
    columns = max(1, math.ceil(math.sqrt(len(nodes) * height / width)))
    return {n: ((i % columns) * width, (i // columns) * height) for i, n in enumerate(nodes)}


def _radial_layout(
    simple: nx.Graph, centre: str, network: nx.Graph
) -> dict[str, tuple[float, float]]:
    """Rings by distance from the centre; each ring ordered by its parents' angles, then type.

    Ring radii grow with the number of entities on them so that labels have room; alternate
    entities sit slightly further out, halving label collisions on crowded rings.
    """
    distance = nx.single_source_shortest_path_length(simple, centre)
    rings: dict[int, list[str]] = defaultdict(list)
    for node, hops in distance.items():
        rings[hops].append(node)
    unreachable = sorted(n for n in simple if n not in distance)
    positions: dict[str, tuple[float, float]] = {centre: (0.0, 0.0)}
    angle: dict[str, float] = {centre: 0.0}
    radius = 0.0
    spacing = 90.0  # arc length per entity on a ring
    for hops in sorted(h for h in rings if h > 0):

        def order(node: str, hops: int = hops) -> tuple[Any, ...]:
            parents = [angle[p] for p in simple[node] if distance.get(p) == hops - 1]
            return (
                min(parents) if parents else 0.0,
                _type_rank(network, node),
                _label(network, node),
                node,
            )

        ring = sorted(rings[hops], key=order)
        radius = max(radius + EDGE_LENGTH * 1.6, len(ring) * spacing / (2 * math.pi) / 1.6)
        for i, node in enumerate(ring):
            theta = 2 * math.pi * i / len(ring) - math.pi / 2
            r = radius * (1.25 if i % 2 and len(ring) > 12 else 1.0)
            angle[node] = theta % (2 * math.pi)
            positions[node] = (r * math.cos(theta), r * math.sin(theta))
    if unreachable:  # only when the ego network was edited by hand: park them below
        below = radius * 1.4 + EDGE_LENGTH
        for node, (x, y) in _grid(unreachable).items():
            positions[node] = (x - radius, y + below)
    return {n: (round(x, 1), round(y, 1)) for n, (x, y) in positions.items()}


def _component_layout(
    simple: nx.Graph, component: list[str], rng: random.Random, igraph: Any
) -> dict[str, tuple[float, float]]:
    if len(component) == 2:
        return {component[0]: (0.0, 0.0), component[1]: (EDGE_LENGTH, 0.0)}
    local = {node: i for i, node in enumerate(component)}
    edges = sorted({tuple(sorted((local[u], local[v]))) for u, v in simple.edges(component)})
    graph = igraph.Graph(n=len(component), edges=edges)
    side = math.sqrt(len(component))
    start = [[rng.uniform(-side, side), rng.uniform(-side, side)] for _ in component]
    coords = graph.layout_fruchterman_reingold(
        seed=start, niter=500, grid=len(component) >= GRID_LAYOUT_MIN_NODES
    ).coords
    lengths = sorted(math.dist(coords[a], coords[b]) for a, b in edges if coords[a] != coords[b])
    scale = EDGE_LENGTH / lengths[len(lengths) // 2] if lengths else 1.0
    # Large hub-and-spoke components come out crowded at that scale (leaves pile up around
    # their hub): spread them until each node has room for its label.
    if len(component) >= GRID_LAYOUT_MIN_NODES // 10:  # small ones may be lines: no area
        xs, ys = [c[0] for c in coords], [c[1] for c in coords]
        side = max(max(xs) - min(xs), max(ys) - min(ys)) * scale
        if side > 0:
            scale *= max(1.0, MIN_NODE_SPACING / (side / math.sqrt(len(component))))
    return {node: (coords[i][0] * scale, coords[i][1] * scale) for node, i in local.items()}


def _pack(pieces: list[dict[str, tuple[float, float]]]) -> dict[str, tuple[float, float]]:
    """Shelf packing: components left to right in rows, the largest first, the whole centred."""
    gap = EDGE_LENGTH
    boxes = []
    for piece in pieces:
        xs = [p[0] for p in piece.values()]
        ys = [p[1] for p in piece.values()]
        boxes.append((min(xs), min(ys), max(xs) - min(xs) + gap, max(ys) - min(ys) + gap))
    area = sum(w * h for _, _, w, h in boxes)
    row_width = max([math.sqrt(area) * 1.3, *(w for _, _, w, _ in boxes)])
    placed: dict[str, tuple[float, float]] = {}
    x = y = row_height = 0.0
    for piece, (left, top, width, height) in zip(pieces, boxes, strict=True):
        if x > 0 and x + width > row_width:
            x, y, row_height = 0.0, y + row_height, 0.0
        for node, (px, py) in piece.items():
            placed[node] = (px - left + x, py - top + y)
        x += width
        row_height = max(row_height, height)
    if not placed:
        return placed
    cx = (min(p[0] for p in placed.values()) + max(p[0] for p in placed.values())) / 2
    cy = (min(p[1] for p in placed.values()) + max(p[1] for p in placed.values())) / 2
    return {n: (round(px - cx, 1), round(py - cy, 1)) for n, (px, py) in placed.items()}


# ---------------------------------------------------------------------------------------------
# Template


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        keep_trailing_newline=True,
    )


@cache
def _asset(name: str) -> str:
    """An inlined asset; refuses anything that could end the ``<script>``/``<style>`` early."""
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    lowered = text.lower()
    if "</script" in lowered or "</style" in lowered or "<!--" in lowered:
        raise ValueError(f"{name} cannot be inlined: it contains </script, </style or <!--")
    return text
