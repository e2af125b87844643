"""Collaboration analysis: who works with whom, central units, communities, brokers, suggestions."""

from __future__ import annotations

import copy
import difflib
import hashlib
import math
import random
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations, groupby, pairwise
from operator import itemgetter
from typing import Any

import igraph
import networkx as nx
import numpy as np
from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from scipy import sparse

from kg.errors import EntityNotFoundError
from kg.model import KINDS, ORGANISATION_TYPES, RELATION_PREDICATES
from kg.network import EdgeEvidence, node_by_name, rdf_to_networkx
from kg.ontology import COMMUNITY_BASE, CZT, SUGGESTION_BASE

# Which relation to a shared third node makes two subjects collaborators, and on what targets
# (None: any target). Co-participation is restricted because taking part in the same plan or
# organisation is not working together on something.
_SHARED_TARGET_KINDS: dict[str, tuple[str, frozenset[str] | None]] = {
    "partyTo": ("co-party", None),
    "responsibleFor": ("shared-responsibility", None),
    "participatesIn": ("co-participation", frozenset({"Project", "Event"})),
}
LEAD_MARK, SUPPORT_MARK = "牵头", "配合"
PLACE_PREDICATES: frozenset[str] = frozenset({"partOf", "locatedIn"})
DIGITS = 6  # rounding of every float written out, so that outputs are byte-stable
COMMUNITY_LABEL_SIZE = 3
# Path search: a collaboration hop costs 1, any other relation 2, so that a path through
# collaboration links is preferred unless it is more than twice as long.
COLLABORATION_HOP_COST, RELATION_HOP_COST = 1.0, 2.0
# A shared agreement, task, project or event with more subjects than this is a hub: through it,
# only subjects named in the same document are linked (see collaboration_network). The seed's
# largest responsibility list names 18 units in one document; hubs of a large corpus are generic
# names (战略合作协议) merged across hundreds of documents.
HUB_SUBJECTS = 20


@dataclass(frozen=True, slots=True)
class Community:
    """A Louvain community of the collaboration network, named after its most central members."""

    id: str  # stable: a digest of the member IRIs
    label: str  # e.g. "湘潭市 · 湘潭市发改委 · 湘潭经开区"
    members: tuple[str, ...]  # node IRIs, highest PageRank first
    member_labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Broker:
    """A unit bridging communities: high betweenness, neighbours in two or more communities."""

    node: str
    label: str
    rank: int
    score: float  # betweenness × participation coefficient
    betweenness: float
    participation: float  # 1 − Σ (share of link weight into each community)²
    communities: tuple[str, ...]  # labels of the communities its neighbours belong to


@dataclass(frozen=True, slots=True)
class CityLink:
    """A collaboration link between two City nodes themselves."""

    a: str
    b: str
    a_label: str
    b_label: str
    kinds: tuple[str, ...]
    via: tuple[str, ...]
    weight: int


@dataclass(frozen=True, slots=True)
class CityMatrix:
    """Collaboration links between the entities of each pair of cities (symmetric)."""

    cities: tuple[str, ...]  # City IRIs in display order (most links first)
    labels: tuple[str, ...]
    sizes: tuple[int, ...]  # entities counted as belonging to each city
    counts: tuple[tuple[int, ...], ...]  # counts[i][j]: links between city i and city j
    direct: tuple[CityLink, ...]

    def count(self, a: str, b: str) -> int:
        """Links between cities ``a`` and ``b``, given as IRIs or labels."""
        return self.counts[self._index(a)][self._index(b)]

    def _index(self, city: str) -> int:
        if city in self.cities:
            return self.cities.index(city)
        return self.labels.index(city)


@dataclass(frozen=True, slots=True)
class ResponsibilityLoad:
    """How many distinct tasks/projects a unit is responsible for, leading or supporting."""

    node: str
    label: str
    type: str
    total: int
    lead: int  # role says 牵头
    support: int  # role says 配合
    targets: tuple[str, ...]  # labels of the tasks/projects

    @property
    def unspecified(self) -> int:
        return self.total - self.lead - self.support


@dataclass(frozen=True, slots=True)
class SuggestedLink:
    """A predicted collaboration (Adamic–Adar), kept apart from asserted facts."""

    a: str
    b: str
    a_label: str
    b_label: str
    score: float  # rounded to DIGITS
    shared: tuple[str, ...]  # IRIs of the shared partners (the explanation)
    shared_labels: tuple[str, ...]

    @property
    def iri(self) -> URIRef:
        return suggestion_iri(self.a, self.b)

    @property
    def reason(self) -> str:
        """A readable explanation in Chinese."""
        names = "、".join(self.shared_labels[:5]) + ("等" if len(self.shared_labels) > 5 else "")
        return (
            f"{self.a_label}与{self.b_label}尚无直接合作记录，"
            f"但有{len(self.shared)}个共同合作伙伴：{names}（Adamic–Adar 得分 {self.score:.3f}）"
        )


@dataclass(frozen=True, slots=True)
class Partner:
    """A collaboration partner of an entity, with why they are linked."""

    node: str
    label: str
    type: str
    kinds: tuple[str, ...]
    via: tuple[str, ...]
    weight: int
    evidence: tuple[EdgeEvidence, ...]  # explicit cooperation evidence first


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a path: a collaboration link or, failing that, a plain relation."""

    source: str
    target: str
    source_label: str
    target_label: str
    kinds: tuple[str, ...]  # collaboration kinds; empty for a plain relation
    via: tuple[str, ...]
    predicate: str  # the relation for a plain hop ("" for a collaboration hop)
    forward: bool  # plain hop: True when the triple reads source → target
    evidence: tuple[EdgeEvidence, ...]


@dataclass(frozen=True, eq=False)
class AnalysisResult:
    """Everything the analysis computes from one knowledge graph."""

    network: nx.MultiDiGraph  # the relation graph (kg.network.rdf_to_networkx)
    collaboration: nx.Graph  # collaboration_network(network)
    pagerank: dict[str, float]  # relation graph, weighted
    degree: dict[str, int]  # distinct neighbours in the relation graph
    betweenness: dict[str, float]  # collaboration network
    communities: tuple[Community, ...]
    community_of: dict[str, str]  # node → Community.id
    brokers: tuple[Broker, ...]
    city_matrix: CityMatrix
    responsibility: dict[str, ResponsibilityLoad]
    suggestions: tuple[SuggestedLink, ...]

    def label(self, node: str) -> str:
        return str(self.network.nodes[node].get("label", node))


def _digest(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:16]


def suggestion_iri(a: str, b: str) -> URIRef:
    """The IRI of the suggested link between ``a`` and ``b`` (order does not matter)."""
    return SUGGESTION_BASE[_digest(*sorted((a, b)))]


def _label(graph: nx.Graph, node: str) -> str:
    return str(graph.nodes[node].get("label", node))


# A relation of the network: subject, object, key (the predicate), attributes.
RelationEdge = tuple[str, str, str, dict]


def relation_edges(network: nx.MultiDiGraph) -> list[RelationEdge]:
    """Asserted relations only, in a fixed order (suggested links are not facts): by subject,
    object and key, sorted level by level (sorting every edge by the triple cost twice as much).

    Several metrics read them; a caller computing more than one (analyse) lists them once and
    passes them as ``relations``.
    """
    found = []
    for u, successors in sorted(network.adjacency()):
        for v, edges in sorted(successors.items()):
            for key, data in sorted(edges.items()) if len(edges) > 1 else edges.items():
                if not data.get("suggested"):
                    found.append((u, v, key, data))
    return found


def _relation_edges(
    network: nx.MultiDiGraph, relations: Sequence[RelationEdge] | None = None
) -> Sequence[RelationEdge]:
    return relation_edges(network) if relations is None else relations


_ATOMIC_TYPES = frozenset({str, int, float, bool, type(None)})


def _detached(attributes: Mapping[str, object]) -> dict[str, object]:
    """A deep copy of node attributes, fast for what nodes hold (strings, lists of strings):
    ``copy.deepcopy`` took a third of collaboration_network on a large corpus."""
    copied: dict[str, object] = {}
    for name, value in attributes.items():
        if type(value) in _ATOMIC_TYPES:
            copied[name] = value
        elif type(value) is list and all(type(item) in _ATOMIC_TYPES for item in value):
            copied[name] = value.copy()
        else:
            copied[name] = copy.deepcopy(value)
    return copied


def _location(evidence: EdgeEvidence) -> tuple[str, int, int]:
    return (evidence.doc_id, evidence.start, evidence.end)


# ---------------------------------------------------------------------------------------------
# The collaboration network


class LinkEvidence(Sequence[EdgeEvidence]):
    """The evidence of one collaboration link, read on demand from the relations behind it.

    A link through a shared task refers to the two relations' own evidence lists instead of
    holding a merged copy: the quadratic part of the network is the number of pairs, and copying
    both subjects' evidence into every pair made memory grow with pairs × evidence. Reading gives
    what the copy held: explicit cooperation first, then by document, offsets and rule, one item
    per (document, offsets). ``len`` is known when the link is built (it is the link's weight).
    """

    __slots__ = ("_count", "_parts")

    def __init__(self, parts: tuple[tuple[int, Sequence[EdgeEvidence]], ...], count: int) -> None:
        self._parts = parts  # (rank of the kind in KINDS, evidence list of one relation)
        self._count = count  # distinct (document, offsets) over all parts

    def _items(self) -> list[EdgeEvidence]:
        ranked = sorted(
            ((rank, item) for rank, items in self._parts for item in items),
            key=lambda e: (e[0], *_location(e[1]), e[1].rule),
        )
        found: list[EdgeEvidence] = []
        seen: set[tuple[str, int, int]] = set()
        for _rank, item in ranked:
            if _location(item) not in seen:
                seen.add(_location(item))
                found.append(item)
        return found

    def __len__(self) -> int:
        return self._count

    def documents(self) -> set[str]:
        """The documents the evidence is from (without reading it in order: the report lists
        them for links with tens of thousands of pieces)."""
        return {item.doc_id for _rank, items in self._parts for item in items}

    def __getitem__(self, index):  # type: ignore[override]  # int or slice, as a list
        return self._items()[index]

    def __iter__(self) -> Iterator[EdgeEvidence]:
        return iter(self._items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LinkEvidence | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # compares by content, like a list

    def __repr__(self) -> str:
        return f"LinkEvidence({self._items()!r})"


# A source of link evidence: (rank of the kind, the relation's evidence) and its locations.
_Source = tuple[tuple[int, Sequence[EdgeEvidence]], frozenset[tuple[str, int, int]]]


def _source(rank: int, items: Sequence[EdgeEvidence]) -> _Source:
    return (rank, items), frozenset(map(_location, items))


def collaboration_network(
    network: nx.MultiDiGraph,
    *,
    hub_subjects: int | None = HUB_SUBJECTS,
    relations: Sequence[RelationEdge] | None = None,
) -> nx.Graph:
    """Who works with whom: an undirected graph derived from the relation multigraph.

    Two entities are linked for an explicit ``cooperatesWith`` ("cooperation"), for being parties
    to the same agreement ("co-party"), for being responsible for the same task or project
    ("shared-responsibility") and for taking part in the same project or event
    ("co-participation"). Edges carry ``kinds``, ``via`` (labels of the shared agreements, tasks,
    projects, events), ``via_nodes``, ``weight`` (distinct (document, offsets) pieces of
    evidence) and ``evidence`` (a :class:`LinkEvidence`). Only entities with at least one such
    link are nodes.

    A shared target with more than ``hub_subjects`` subjects (None: no limit) is a *hub*: the
    same generic agreement, project or event named by hundreds of units across a corpus says
    little about any two of them, and linking all k²/2 pairs made the network quadratic in the
    corpus. Through a hub, only subjects named for it in the same document are linked, with the
    evidence of that document. Targets up to the limit link every pair, as a small corpus
    always did. The hubs and their subject counts are in ``graph["hubs"]``.
    """
    # pair → [kinds, targets it goes through, evidence sources]
    links: dict[tuple[str, str], tuple[set[str], set[str], list[_Source]]] = {}

    def link(a: str, b: str, kind: str, sources: Iterable[_Source], through: str = "") -> None:
        if a == b:
            return
        pair = (a, b) if a < b else (b, a)
        if pair not in links:
            links[pair] = (set(), set(), [])
        kinds, via, found = links[pair]
        kinds.add(kind)
        if through:
            via.add(through)
        found.extend(sources)

    shared: dict[tuple[str, str], list[tuple[str, list[EdgeEvidence]]]] = defaultdict(list)
    for u, v, _key, data in _relation_edges(network, relations):
        predicate = data["predicate"]
        if predicate == "cooperatesWith":
            link(u, v, "cooperation", [_source(0, data["evidence"])])
        elif predicate in _SHARED_TARGET_KINDS:
            kind, target_types = _SHARED_TARGET_KINDS[predicate]
            if target_types is None or network.nodes[v].get("type") in target_types:
                shared[(kind, v)].append((u, data["evidence"]))
    hubs: dict[str, int] = {}
    for (kind, target), subjects in sorted(shared.items()):
        rank = KINDS.index(kind)
        subjects.sort(key=lambda s: s[0])
        if hub_subjects is None or len(subjects) <= hub_subjects:
            sources = [(u, _source(rank, items)) for u, items in subjects]
            for (a, a_source), (b, b_source) in combinations(sources, 2):
                link(a, b, kind, (a_source, b_source), through=target)
            continue
        hubs[target] = max(hubs.get(target, 0), len(subjects))
        # Per document, the subjects named for the hub there, each with that document's evidence
        # (a partition of its evidence list: nothing is copied per pair).
        by_document: dict[str, list[tuple[str, _Source]]] = defaultdict(list)
        for u, items in subjects:
            parts: dict[str, list[EdgeEvidence]] = defaultdict(list)
            for item in items:
                parts[item.doc_id].append(item)
            for doc_id, part in parts.items():
                by_document[doc_id].append((u, _source(rank, part)))
        for doc_id in sorted(by_document):
            for (a, a_source), (b, b_source) in combinations(by_document[doc_id], 2):
                link(a, b, kind, (a_source, b_source), through=target)

    collab = nx.Graph(
        kind="collaboration",
        documents=dict(network.graph.get("documents", {})),
        hubs=dict(sorted(hubs.items())),
    )
    # Sorted insertion: Louvain and Dijkstra depend on node/edge order, outputs must not.
    for node in sorted({n for pair in links for n in pair}):
        collab.add_node(node, **_detached(network.nodes[node]))  # input stays untouched
    for pair in sorted(links):
        kinds, via, sources = links.pop(pair)
        parts, locations = zip(*sources, strict=True)
        count = len(frozenset().union(*locations))
        through = sorted(via)
        collab.add_edge(
            *pair,
            kinds=sorted(kinds),
            via=sorted(_label(network, t) for t in through),
            via_nodes=through,
            weight=max(1, count),
            evidence=LinkEvidence(parts, count),
        )
    return collab


def collaboration_partners(collab: nx.Graph, node: str) -> list[Partner]:
    """The partners of ``node``, strongest first (weight, then explicit cooperation, then label)."""
    if node not in collab:
        return []
    partners = []
    for other in collab[node]:
        data = collab[node][other]
        partners.append(
            Partner(
                node=other,
                label=_label(collab, other),
                type=str(collab.nodes[other].get("type", "")),
                kinds=tuple(data["kinds"]),
                via=tuple(data["via"]),
                weight=int(data["weight"]),
                evidence=tuple(data["evidence"]),
            )
        )
    partners.sort(key=lambda p: (-p.weight, "cooperation" not in p.kinds, p.label, p.node))
    return partners


# ---------------------------------------------------------------------------------------------
# Metrics


def degree(graph: nx.Graph) -> dict[str, int]:
    """Distinct neighbours of each node, ignoring direction, self-loops and suggested links."""
    neighbours: dict[str, set[str]] = {node: set() for node in graph}
    for u, v, data in graph.edges(data=True):
        if u != v and not data.get("suggested"):
            neighbours[u].add(v)
            neighbours[v].add(u)
    return {node: len(found) for node, found in sorted(neighbours.items())}


def betweenness(collab: nx.Graph, *, k: int | None = None, seed: int = 42) -> dict[str, float]:
    """Normalised betweenness centrality, counting hops (exact; ``k`` sampled sources if given).

    Edge weights are not used: they measure how strong a link is, not how far apart two units
    are, and betweenness reads weights as distances.

    The values are those of ``nx.betweenness_centrality(collab, k=k, normalized=True,
    seed=seed)`` (networkx ≥ 3.5: the same sampled sources, the same rescaling), computed by
    igraph's C implementation of Brandes' algorithm: networkx's Python BFS took 16 s for 200
    sources on the collaboration network of 10,000 generated documents, igraph 0.2 s.
    """
    nodes = list(collab)  # networkx's order: the sample must be drawn from the same list
    n = len(nodes)
    if k is not None and k >= n:
        k = None  # sampling every node is the exact computation
    if n <= 2:
        return dict.fromkeys(sorted(nodes), 0.0)  # no node lies between two others
    index = {node: i for i, node in enumerate(nodes)}
    graph = igraph.Graph(n=n, edges=[(index[u], index[v]) for u, v in collab.edges() if u != v])
    pairs = n - 2  # targets other than the source and the node itself
    if k is None:
        # igraph sums over unordered pairs, networkx over ordered ones: twice igraph's value.
        raw = graph.betweenness(directed=False)
        scale = [2.0 / ((n - 1) * pairs)] * n
    else:
        sources = random.Random(seed).sample(nodes, k)  # as networkx's seed.sample
        raw = graph.betweenness(directed=False, sources=[index[s] for s in sources])
        # A sampled source cannot lie on its own paths: it has k − 1 sources to count from.
        sampled = {index[s] for s in sources}
        scale = [
            2.0 / ((k - 1 if i in sampled else k) * pairs) if k > 1 or i not in sampled else 0.0
            for i in range(n)
        ]
    return {node: raw[index[node]] * scale[index[node]] for node in sorted(nodes)}


def pagerank(
    network: nx.MultiDiGraph,
    *,
    alpha: float = 0.85,
    relations: Sequence[RelationEdge] | None = None,
) -> dict[str, float]:
    """PageRank on the whole relation graph, undirected, weighted by pieces of evidence.

    The undirected view is deliberate: relations such as ``responsibleFor`` or ``partOf`` point
    from units to tasks and places, so a directed PageRank would leave the units themselves with
    little more than the teleport share.
    """
    # Weights summed per pair, then the edges added in the order their pairs were first seen:
    # the graph an add_edge per relation built (same adjacency order, which nx.pagerank's sums
    # follow), at a third of the cost.
    weights: dict[tuple[str, str], float] = {}
    for u, v, _key, data in _relation_edges(network, relations):
        if u == v:
            continue
        weight = float(data.get("weight", 1))
        pair = (v, u) if (v, u) in weights else (u, v)
        if pair in weights:
            weights[pair] += weight
        else:
            weights[pair] = weight
    simple = nx.Graph()
    simple.add_nodes_from(sorted(network))
    simple.add_weighted_edges_from((u, v, weight) for (u, v), weight in weights.items())
    if simple.number_of_nodes() == 0:
        return {}
    return dict(sorted(nx.pagerank(simple, alpha=alpha, weight="weight").items()))


def _central_first(nodes: Iterable[str], graph: nx.Graph, rank: Mapping[str, float]) -> list[str]:
    return sorted(nodes, key=lambda n: (-round(rank.get(n, 0.0), 12), _label(graph, n), n))


def communities(
    collab: nx.Graph,
    pagerank: Mapping[str, float] | None = None,
    *,
    seed: int = 42,
    resolution: float = 1.0,
) -> list[Community]:
    """Louvain communities (weighted, seeded), each labelled by its three most central members.

    Largest communities first, then by label. Members are ordered by ``pagerank`` (weighted
    degree when not given).
    """
    if pagerank is None:
        pagerank = {n: float(d) for n, d in collab.degree(weight="weight")}
    found = nx.community.louvain_communities(
        collab, weight="weight", resolution=resolution, seed=seed
    )
    result = []
    for members in found:
        ordered = _central_first(members, collab, pagerank)
        labels = tuple(_label(collab, n) for n in ordered)
        result.append(
            Community(
                id=_digest(*sorted(members)),
                label=" · ".join(labels[:COMMUNITY_LABEL_SIZE]),
                members=tuple(ordered),
                member_labels=labels,
            )
        )
    result.sort(key=lambda c: (-len(c.members), c.label, c.id))
    return result


def community_membership(found: Iterable[Community]) -> dict[str, str]:
    """Node → id of its community."""
    return dict(sorted((node, c.id) for c in found for node in c.members))


def brokers(
    collab: nx.Graph,
    betweenness: Mapping[str, float],
    found: Sequence[Community],
) -> list[Broker]:
    """Units that bridge communities, best first.

    A broker has betweenness above zero and at least the network's mean (the "high" part), and
    neighbours in two or more communities. Its score is betweenness × participation coefficient
    (1 − Σ_c (w_c / w)², w_c the link weight into community c), so bridging evenly counts more
    than one stray link.
    """
    membership = community_membership(found)
    labels = {c.id: c.label for c in found}
    mean = statistics.fmean(betweenness.values()) if betweenness else 0.0
    candidates = []
    for node in sorted(collab):
        value = betweenness.get(node, 0.0)
        if value <= 0.0 or value < mean:
            continue
        into: dict[str, float] = defaultdict(float)
        for other, data in collab[node].items():
            if other in membership:
                into[membership[other]] += float(data.get("weight", 1))
        if len(into) < 2:
            continue
        total = sum(into.values())
        participation = 1.0 - sum((w / total) ** 2 for w in into.values())
        spanned = sorted(into, key=lambda c: (-into[c], labels[c]))
        candidates.append((value * participation, value, participation, node, spanned))
    candidates.sort(key=lambda c: (-round(c[0], 12), _label(collab, c[3]), c[3]))
    return [
        Broker(
            node=node,
            label=_label(collab, node),
            rank=rank,
            score=round(score, DIGITS),
            betweenness=round(value, DIGITS),
            participation=round(participation, DIGITS),
            communities=tuple(labels[c] for c in spanned),
        )
        for rank, (score, value, participation, node, spanned) in enumerate(candidates, 1)
    ]


def city_membership(
    network: nx.MultiDiGraph, *, relations: Sequence[RelationEdge] | None = None
) -> dict[str, frozenset[str]]:
    """Entity → the City nodes it belongs to, via ``partOf``/``locatedIn`` followed transitively.

    A city belongs to itself only. An entity can belong to several cities (a road between two).
    """
    parents: dict[str, set[str]] = defaultdict(set)
    for u, v, _key, data in _relation_edges(network, relations):
        if data["predicate"] in PLACE_PREDICATES and u != v:
            parents[u].add(v)
    is_city = {n for n, t in network.nodes(data="type") if t == "City"}
    membership: dict[str, frozenset[str]] = {}
    for node in sorted(network):
        if node in is_city:
            membership[node] = frozenset({node})
            continue
        seen, stack, found = {node}, [node], set()
        while stack:
            for parent in parents.get(stack.pop(), ()):
                if parent in seen:
                    continue
                seen.add(parent)
                if parent in is_city:
                    found.add(parent)  # stop here: what contains the city is not the city
                else:
                    stack.append(parent)
        if found:
            membership[node] = frozenset(found)
    return membership


def city_matrix(
    network: nx.MultiDiGraph,
    collab: nx.Graph,
    *,
    relations: Sequence[RelationEdge] | None = None,
) -> CityMatrix:
    """Collaboration links between the entities of every pair of cities, plus direct city links.

    An edge counts once for each unordered pair of cities its two ends belong to; the diagonal
    holds links inside one city.
    """
    membership = city_membership(network, relations=relations)
    cities = sorted(n for n, t in network.nodes(data="type") if t == "City")
    pair_counts: dict[frozenset[str], int] = defaultdict(int)
    direct = []
    for u, v, data in sorted(collab.edges(data=True), key=lambda e: tuple(sorted(e[:2]))):
        pairs = {frozenset((a, b)) for a in membership.get(u, ()) for b in membership.get(v, ())}
        for pair in pairs:
            pair_counts[pair] += 1
        if network.nodes[u].get("type") == "City" == network.nodes[v].get("type"):
            a, b = sorted((u, v), key=lambda n: (_label(network, n), n))
            direct.append(
                CityLink(
                    a=a,
                    b=b,
                    a_label=_label(network, a),
                    b_label=_label(network, b),
                    kinds=tuple(data["kinds"]),
                    via=tuple(data["via"]),
                    weight=int(data["weight"]),
                )
            )

    totals: dict[str, int] = defaultdict(int)
    for pair, n in pair_counts.items():
        for city in pair:
            totals[city] += n
    cities.sort(key=lambda c: (-totals[c], _label(network, c), c))
    sizes = defaultdict(int)
    for found in membership.values():
        for city in found:
            sizes[city] += 1
    direct.sort(key=lambda link: (-link.weight, link.a_label, link.b_label))
    # Filled from the pairs that have links (a frozenset per cell cost 0.1 s for 300 cities).
    position = {city: i for i, city in enumerate(cities)}
    counts = [[0] * len(cities) for _city in cities]
    for pair, n in pair_counts.items():
        a, b = pair if len(pair) == 2 else (*pair, *pair)  # links inside one city: one member
        counts[position[a]][position[b]] = counts[position[b]][position[a]] = n
    return CityMatrix(
        cities=tuple(cities),
        labels=tuple(_label(network, c) for c in cities),
        sizes=tuple(sizes[c] for c in cities),
        counts=tuple(map(tuple, counts)),
        direct=tuple(direct),
    )


def responsibility_load(
    network: nx.MultiDiGraph, *, relations: Sequence[RelationEdge] | None = None
) -> dict[str, ResponsibilityLoad]:
    """For each unit that is ``responsibleFor`` something: distinct targets, lead and support."""
    roles: dict[str, dict[str, str]] = defaultdict(dict)
    for u, v, _key, data in _relation_edges(network, relations):
        if data["predicate"] == "responsibleFor":
            roles[u][v] = str(data.get("role") or "")
    loads = {}
    for node, targets in sorted(roles.items()):
        loads[node] = ResponsibilityLoad(
            node=node,
            label=_label(network, node),
            type=str(network.nodes[node].get("type", "")),
            total=len(targets),
            lead=sum(LEAD_MARK in role for role in targets.values()),
            support=sum(
                SUPPORT_MARK in role and LEAD_MARK not in role for role in targets.values()
            ),
            targets=tuple(sorted(_label(network, t) for t in targets)),
        )
    return loads


# ---------------------------------------------------------------------------------------------
# Suggested links


# Suggestions are computed by sparse products over blocks of rows of about this many stored
# values, so that memory stays bounded however many pairs share a partner.
_SUGGESTION_BLOCK = 4_000_000
# Scores are compared rounded to DIGITS: a pair within half a unit of the last kept score may tie
# with it (plus float noise between the sparse product and a sum in another order).
_SCORE_MARGIN = 0.5 * 10**-DIGITS + 1e-9


def suggest_links(
    collab: nx.Graph,
    *,
    types: Iterable[str] | None = ORGANISATION_TYPES,
    limit: int | None = 20,
) -> list[SuggestedLink]:
    """Pairs not yet linked, scored by Adamic–Adar, with their shared partners as the reason.

    Both ends must have one of ``types`` (None: any type); shared partners may be of any type.
    Ordered by score (descending), then labels; the best ``limit`` (None: all).

    Only pairs at distance two are candidates. Their scores come from the sparse product
    Bᵀ·D·B (B: who is a partner of which eligible node, D: 1/log degree of each partner), one
    block of rows at a time, keeping the best ``limit`` so far: visiting the pairs around every
    partner in Python was quadratic in the degree of the best-connected partners.
    """
    allowed = None if types is None else frozenset(types)
    labels = {node: _label(collab, node) for node in collab}
    eligible = sorted(
        (n for n in collab if allowed is None or collab.nodes[n].get("type") in allowed),
        key=lambda n: (labels[n], n),
    )
    if len(eligible) < 2 or (limit is not None and limit <= 0):
        return []
    middles = sorted(collab)
    order = {node: i for i, node in enumerate(eligible)}  # label order, to orient each pair
    row_of = {node: i for i, node in enumerate(middles)}
    rows, cols, linked_rows, linked_cols = [], [], [], []
    for node in eligible:
        for partner in collab[node]:
            if partner != node:
                rows.append(row_of[partner])
                cols.append(order[node])
                if partner in order:
                    linked_rows.append(order[partner])
                    linked_cols.append(order[node])
    partners = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(middles), len(eligible))
    )
    size = len(eligible)
    linked = sparse.csr_matrix(
        (np.ones(len(linked_rows)), (linked_rows, linked_cols)), shape=(size, size)
    )
    degrees = np.array([collab.degree(m) for m in middles], dtype=float)
    shares = np.zeros_like(degrees)  # a partner of degree 1 is shared by nobody
    shares[degrees >= 2] = 1.0 / np.log(degrees[degrees >= 2])
    weighted = sparse.diags(shares) @ partners  # middle × eligible, 1/log degree
    by_node = partners.T.tocsr()  # eligible × middle
    # Stored values of row i of the product: Σ over its partners of their eligible neighbours.
    work = by_node @ np.asarray(partners.sum(axis=1)).ravel()

    def adamic_adar(a: str, b: str) -> tuple[float, list[str]]:
        # Σ 1/log(degree) over the shared partners (nx.adamic_adar_index), summed in a fixed
        # order (partners by IRI) so that the rounded score never depends on the product's order.
        shared = sorted(set(collab[a]) & set(collab[b]))
        score = 0.0
        for middle in shared:
            score += 1.0 / math.log(collab.degree(middle))
        return round(score, DIGITS), sorted(shared, key=lambda n: (labels[n], n))

    best: list[tuple[tuple[float, str, str, str, str], list[str]]] = []
    start = 0
    while start < len(eligible):
        stop = start + 1
        budget = work[start]
        while stop < len(eligible) and budget + work[stop] <= _SUGGESTION_BLOCK:
            budget += work[stop]
            stop += 1
        product = by_node[start:stop] @ weighted
        # Pairs already linked are not suggestions: zero them before choosing the best.
        block = (product - product.multiply(linked[start:stop])).tocoo()
        a_index, b_index, scores = block.row + start, block.col, block.data
        keep = (b_index > a_index) & (scores > 0)  # each unlinked pair once, oriented by label
        a_index, b_index, scores = a_index[keep], b_index[keep], scores[keep]
        if limit is not None:
            # Only pairs that can still enter the best `limit` (ties on the rounded score too).
            floor = -best[limit - 1][0][0] if len(best) >= limit else -math.inf
            if len(scores) > limit:
                floor = max(floor, float(np.partition(scores, -limit)[-limit]))
            keep = scores >= floor - _SCORE_MARGIN
            a_index, b_index = a_index[keep], b_index[keep]
        for i, j in zip(a_index.tolist(), b_index.tolist(), strict=True):
            a, b = eligible[i], eligible[j]
            score, shared = adamic_adar(a, b)
            best.append(((-score, labels[a], labels[b], a, b), shared))
        best.sort()
        if limit is not None:
            del best[limit:]
        start = stop
    return [
        SuggestedLink(
            a=a,
            b=b,
            a_label=labels[a],
            b_label=labels[b],
            score=-negative,
            shared=tuple(shared),
            shared_labels=tuple(labels[n] for n in shared),
        )
        for (negative, _a_label, _b_label, a, b), shared in best
    ]


# ---------------------------------------------------------------------------------------------
# Names and paths


def closest_names(network: nx.MultiDiGraph, name: str, n: int = 5) -> list[str]:
    """The ``n`` labels or aliases most like ``name`` (difflib), best first, one per entity."""
    labels: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for node, attrs in sorted(network.nodes(data=True)):
        labels.setdefault(str(attrs.get("label", "")), node)
        for alias in attrs.get("aliases", ()):
            aliases.setdefault(alias, node)
    owner = {**aliases, **labels}  # labels win over aliases, as in node_by_name
    owner.pop("", None)
    candidates = sorted(owner)
    found: list[str] = []
    seen: set[str] = set()
    # Ask difflib for more than n: a label and its aliases often match together.
    for match in difflib.get_close_matches(name, candidates, n=len(candidates), cutoff=0.4):
        node = owner[match]
        if node not in seen:
            seen.add(node)
            found.append(match)
        if len(found) == n:
            break
    return found


def find_entity(network: nx.MultiDiGraph, name: str) -> str:
    """The node whose label or alias is ``name``; raises EntityNotFoundError with close names."""
    node = node_by_name(network, name.strip())
    if node is None:
        raise EntityNotFoundError(name, closest_names(network, name.strip()))
    return node


def find_path(
    network: nx.MultiDiGraph, collab: nx.Graph, source: str, target: str
) -> list[Hop] | None:
    """A shortest path between two entities, or None.

    The relation graph is read undirected. Collaboration links (with the agreement, task or
    event they go through) cost 1, any other relation 2, so collaboration hops are preferred and
    plain relations (``partOf``, ``locatedIn`` …) are the fallback.
    """
    hops = nx.Graph()
    hops.add_nodes_from(sorted(network))
    for u, v in sorted(tuple(sorted(e)) for e in collab.edges()):
        hops.add_edge(u, v, cost=COLLABORATION_HOP_COST, collaboration=True)
    order = {p: i for i, p in enumerate(RELATION_PREDICATES)}
    for u, v, key, _data in sorted(
        relation_edges(network), key=lambda e: (order.get(e[2], len(order)), e[0], e[1])
    ):
        if u == v or hops.has_edge(u, v):
            continue  # a collaboration link, or a relation listed first, already covers the pair
        hops.add_edge(u, v, cost=RELATION_HOP_COST, collaboration=False, triple=(u, v, key))
    try:
        nodes = nx.shortest_path(hops, source, target, weight="cost")
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return None
    path = []
    for a, b in pairwise(nodes):
        if hops[a][b]["collaboration"]:
            data = collab[a][b]
            kinds, via, predicate, forward = tuple(data["kinds"]), tuple(data["via"]), "", True
            evidence = tuple(data["evidence"])
        else:
            u, v, key = hops[a][b]["triple"]
            data = network[u][v][key]
            kinds, via, predicate, forward = (), (), str(data["predicate"]), u == a
            evidence = tuple(data["evidence"])
        path.append(
            Hop(
                source=a,
                target=b,
                source_label=_label(network, a),
                target_label=_label(network, b),
                kinds=kinds,
                via=via,
                predicate=predicate,
                forward=forward,
                evidence=evidence,
            )
        )
    return path


# ---------------------------------------------------------------------------------------------
# The whole analysis, and writing it back into the RDF


def analyse(
    graph: Graph | nx.MultiDiGraph,
    *,
    seed: int = 42,
    suggestion_types: Iterable[str] | None = ORGANISATION_TYPES,
    suggestion_limit: int | None = 20,
    betweenness_k: int | None = None,
) -> AnalysisResult:
    """Every analysis of the knowledge graph (the RDF graph is not modified).

    ``seed`` drives Louvain (and betweenness sampling when ``betweenness_k`` is set, for very
    large graphs; by default betweenness is exact).
    """
    # A prebuilt relation network (kg.pipeline builds it from the resolved data) skips the RDF.
    network = graph if isinstance(graph, nx.MultiDiGraph) else rdf_to_networkx(graph)
    relations = relation_edges(network)
    collab = collaboration_network(network, relations=relations)
    ranks = pagerank(network, relations=relations)
    between = betweenness(collab, k=betweenness_k, seed=seed)
    found = communities(collab, ranks, seed=seed)
    return AnalysisResult(
        network=network,
        collaboration=collab,
        pagerank=ranks,
        degree=degree(network),
        betweenness=between,
        communities=tuple(found),
        community_of=community_membership(found),
        brokers=tuple(brokers(collab, between, found)),
        city_matrix=city_matrix(network, collab, relations=relations),
        responsibility=responsibility_load(network, relations=relations),
        suggestions=tuple(suggest_links(collab, types=suggestion_types, limit=suggestion_limit)),
    )


_WRITTEN_PROPERTIES = (
    CZT.pageRank,
    CZT.degree,
    CZT.betweenness,
    CZT.responsibilityLoad,
    CZT.isBroker,
    CZT.inCommunity,
    CZT.suggestedPartner,
)


def _rounded(value: float) -> float:
    return round(float(value), DIGITS) + 0.0  # + 0.0: no "-0"


@lru_cache(maxsize=65536)
def _double(value: float) -> Literal:
    # Cached: most entities share a few values (betweenness 0), and a Literal costs ~50 µs.
    return Literal(_rounded(value), datatype=XSD.double)


@lru_cache(maxsize=4096)
def _integer(value: int) -> Literal:
    return Literal(int(value), datatype=XSD.integer)


_XSD_DOUBLE, _XSD_INTEGER, _XSD_BOOLEAN = str(XSD.double), str(XSD.integer), str(XSD.boolean)


@lru_cache(maxsize=65536)
def _plain_double(value: float) -> tuple[str, None, str]:
    # rdflib writes a float's repr as the lexical form of its xsd:double (1e-06, 0.0, 12.5)
    return (repr(_rounded(value)), None, _XSD_DOUBLE)


def _plain_integer(value: int) -> tuple[str, None, str]:
    return (str(int(value)), None, _XSD_INTEGER)


@dataclass(frozen=True, slots=True)
class _MetricTerms:
    """How the metric triples spell their terms: as rdflib terms, or as kg.rdf's plain terms
    (an IRI is its ``str``, a literal ``(lexical form, language, datatype IRI)``)."""

    iri: Callable[[str], Any]
    double: Callable[[float], Any]
    integer: Callable[[int], Any]
    zh: Callable[[str], Any]  # a literal @zh
    true: Any  # xsd:boolean true


_RDFLIB_TERMS = _MetricTerms(
    iri=URIRef,
    double=_double,
    integer=_integer,
    zh=lambda text: Literal(text, lang="zh"),
    true=Literal(True, datatype=XSD.boolean),
)
_PLAIN_TERMS = _MetricTerms(
    iri=str,
    double=_plain_double,
    integer=_plain_integer,
    zh=lambda text: (text, "zh", None),
    true=("true", None, _XSD_BOOLEAN),
)


def clear_metrics(graph: Graph) -> None:
    """Remove what an earlier write_metrics wrote, so writing again replaces it."""
    for cls in (CZT.Community, CZT.SuggestedLink):
        for node in list(graph.subjects(RDF.type, cls)):
            graph.remove((node, None, None))
    for prop in _WRITTEN_PROPERTIES:
        graph.remove((None, prop, None))


def metric_triples(result: AnalysisResult) -> Iterator[tuple[URIRef, URIRef, URIRef | Literal]]:
    """The triples write_metrics adds, for a writer that streams them without an rdflib graph.

    Every entity gets czt:pageRank, czt:degree and czt:betweenness (0 outside the collaboration
    network), so SPARQL can rank without OPTIONAL; units with tasks get czt:responsibilityLoad,
    brokers czt:isBroker true. Suggestions become czt:SuggestedLink nodes plus a direct
    czt:suggestedPartner triple, never czt:cooperatesWith.
    """
    return _metric_triples(result, _RDFLIB_TERMS)


# The czt: terms the metric triples use.
_METRIC_VOCABULARY = (
    *("pageRank", "degree", "betweenness", "responsibilityLoad", "isBroker", "inCommunity"),
    *("Community", "SuggestedLink", "suggestionOf", "score", "sharedPartner", "suggestedPartner"),
)


def _metric_triples(result: AnalysisResult, terms: _MetricTerms) -> Iterator[tuple]:
    """The triples of :func:`metric_triples`, in ``terms``."""
    iri, double, integer, zh = terms.iri, terms.double, terms.integer, terms.zh
    # The vocabulary, made once (an rdflib term per triple would cost more than the triple).
    czt = {name: iri(CZT[name]) for name in _METRIC_VOCABULARY}
    rdf_type, label, comment = iri(RDF.type), iri(RDFS.label), iri(RDFS.comment)
    for node in sorted(result.network):
        subject = iri(node)
        yield subject, czt["pageRank"], double(result.pagerank.get(node, 0.0))
        yield subject, czt["degree"], integer(result.degree.get(node, 0))
        yield subject, czt["betweenness"], double(result.betweenness.get(node, 0.0))
    for node, load in sorted(result.responsibility.items()):
        yield iri(node), czt["responsibilityLoad"], integer(load.total)
    for broker in result.brokers:
        yield iri(broker.node), czt["isBroker"], terms.true
    for community in result.communities:
        subject = iri(COMMUNITY_BASE[community.id])
        yield subject, rdf_type, czt["Community"]
        yield subject, label, zh(community.label)
        for member in community.members:
            yield iri(member), czt["inCommunity"], subject
    for suggestion in result.suggestions:
        subject = iri(suggestion.iri)
        a, b = iri(suggestion.a), iri(suggestion.b)
        yield subject, rdf_type, czt["SuggestedLink"]
        yield subject, label, zh(f"建议合作：{suggestion.a_label}—{suggestion.b_label}")
        yield subject, comment, zh(suggestion.reason)
        yield subject, czt["suggestionOf"], a
        yield subject, czt["suggestionOf"], b
        yield subject, czt["score"], double(suggestion.score)
        for partner in suggestion.shared:
            yield subject, czt["sharedPartner"], iri(partner)
        yield a, czt["suggestedPartner"], b


def metric_blocks(result: AnalysisResult) -> Iterator[list[tuple]]:
    """The metric triples as kg.rdf.graph_blocks gives them: one block per subject, subjects
    sorted, each block's triples by predicate then object, in plain terms (duplicates dropped).

    Equal to ``graph_blocks(dict.fromkeys(metric_triples(result)))``, made from plain terms
    directly: rdflib terms, their conversion and an ``n3()`` sort key per triple took seconds
    for the ~100,000 metric triples of a large corpus.
    """
    by_subject: dict[str, dict[tuple, None]] = defaultdict(dict)  # an ordered set per subject
    for triple in _metric_triples(result, _PLAIN_TERMS):
        by_subject[triple[0]][triple] = None
    for subject in sorted(by_subject):
        yield _in_graph_order(list(by_subject[subject]))


def _in_graph_order(block: list[tuple]) -> list[tuple]:
    """One subject's plain triples sorted as graph_blocks sorts them: by predicate, then by the
    object's ``n3()``. Sorts are stable, so ties keep their order there and here."""
    block.sort(key=itemgetter(1))
    if len(set(map(itemgetter(1), block))) == len(block):
        return block  # one object per predicate (most blocks)
    ordered: list[tuple] = []
    for _predicate, group in groupby(block, key=itemgetter(1)):
        triples = list(group)
        if len(triples) > 1:  # (IRIs in practice: one literal per subject and predicate)
            triples.sort(key=lambda triple: _n3(triple[2]))
        ordered.extend(triples)
    return ordered


def _n3(term: str | tuple) -> str:
    """rdflib's ``n3()`` of a plain term: ``<iri>`` (which sorts otherwise than the bare IRI:
    ``<x-1>`` before ``<x>``), or the literal's as rdflib quotes it."""
    if isinstance(term, str):
        return f"<{term}>"
    lexical, language, datatype = term
    return Literal(
        lexical, lang=language, datatype=None if datatype is None else URIRef(datatype)
    ).n3()


def write_metrics(graph: Graph, result: AnalysisResult) -> None:
    """Write the metrics, communities and suggested links into ``graph`` (replacing older ones).

    The triples are those of :func:`metric_triples`.
    """
    clear_metrics(graph)
    graph.addN((s, p, o, graph) for s, p, o in metric_triples(result))
