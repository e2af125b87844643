"""Collaboration analysis: who works with whom, central units, communities, brokers, suggestions."""

from __future__ import annotations

import copy
import difflib
import hashlib
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations, pairwise

import networkx as nx
from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef

from kg.errors import EntityNotFoundError
from kg.model import RELATION_PREDICATES
from kg.network import EdgeEvidence, node_by_name, rdf_to_networkx
from kg.ontology import COMMUNITY_BASE, CZT, SUGGESTION_BASE

# Collaboration kinds, in the order evidence is shown (the explicit statement first).
KINDS: tuple[str, ...] = ("cooperation", "co-party", "shared-responsibility", "co-participation")
KIND_LABELS: dict[str, str] = {
    "cooperation": "合作",
    "co-party": "共同签署",
    "shared-responsibility": "共同负责",
    "co-participation": "共同参与",
}
# Which relation to a shared third node makes two subjects collaborators, and on what targets
# (None: any target). Co-participation is restricted because taking part in the same plan or
# organisation is not working together on something.
_SHARED_TARGET_KINDS: dict[str, tuple[str, frozenset[str] | None]] = {
    "partyTo": ("co-party", None),
    "responsibleFor": ("shared-responsibility", None),
    "participatesIn": ("co-participation", frozenset({"Project", "Event"})),
}
ORGANISATION_TYPES: tuple[str, ...] = ("Agency", "Park", "Organization", "City", "County")
LEAD_MARK, SUPPORT_MARK = "牵头", "配合"
PLACE_PREDICATES: frozenset[str] = frozenset({"partOf", "locatedIn"})
DIGITS = 6  # rounding of every float written out, so that outputs are byte-stable
COMMUNITY_LABEL_SIZE = 3
# Path search: a collaboration hop costs 1, any other relation 2, so that a path through
# collaboration links is preferred unless it is more than twice as long.
COLLABORATION_HOP_COST, RELATION_HOP_COST = 1.0, 2.0


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


def _relation_edges(network: nx.MultiDiGraph) -> Iterable[tuple[str, str, str, dict]]:
    """Asserted relations only, in a fixed order (suggested links are not facts)."""
    edges = network.edges(keys=True, data=True)
    for u, v, key, data in sorted(edges, key=lambda e: (e[0], e[1], e[2])):
        if not data.get("suggested"):
            yield u, v, key, data


def _location(evidence: EdgeEvidence) -> tuple[str, int, int]:
    return (evidence.doc_id, evidence.start, evidence.end)


# ---------------------------------------------------------------------------------------------
# The collaboration network


def collaboration_network(network: nx.MultiDiGraph) -> nx.Graph:
    """Who works with whom: an undirected graph derived from the relation multigraph.

    Two entities are linked for an explicit ``cooperatesWith`` ("cooperation"), for being parties
    to the same agreement ("co-party"), for being responsible for the same task or project
    ("shared-responsibility") and for taking part in the same project or event
    ("co-participation"). Edges carry ``kinds``, ``via`` (labels of the shared agreements, tasks,
    projects, events), ``weight`` (distinct (document, offsets) pieces of evidence) and
    ``evidence``. Only entities with at least one such link are nodes.
    """
    kinds: dict[tuple[str, str], set[str]] = defaultdict(set)
    via: dict[tuple[str, str], set[str]] = defaultdict(set)
    evidence: dict[tuple[str, str], list[tuple[int, EdgeEvidence]]] = defaultdict(list)

    def link(u: str, v: str, kind: str, items: Iterable[EdgeEvidence], through: str = "") -> None:
        if u == v:
            return
        pair = (u, v) if u < v else (v, u)
        kinds[pair].add(kind)
        if through:
            via[pair].add(through)
        evidence[pair].extend((KINDS.index(kind), item) for item in items)

    shared: dict[tuple[str, str], list[tuple[str, list[EdgeEvidence]]]] = defaultdict(list)
    for u, v, _key, data in _relation_edges(network):
        predicate = data["predicate"]
        if predicate == "cooperatesWith":
            link(u, v, "cooperation", data["evidence"])
        elif predicate in _SHARED_TARGET_KINDS:
            kind, target_types = _SHARED_TARGET_KINDS[predicate]
            if target_types is None or network.nodes[v].get("type") in target_types:
                shared[(kind, v)].append((u, data["evidence"]))
    for (kind, target), subjects in sorted(shared.items()):
        for (a, a_items), (b, b_items) in combinations(sorted(subjects, key=lambda s: s[0]), 2):
            link(a, b, kind, [*a_items, *b_items], through=target)

    collab = nx.Graph(kind="collaboration", documents=dict(network.graph.get("documents", {})))
    # Sorted insertion: Louvain and Dijkstra depend on node/edge order, outputs must not.
    for node in sorted({n for pair in kinds for n in pair}):
        collab.add_node(node, **copy.deepcopy(dict(network.nodes[node])))  # input stays untouched
    for pair in sorted(kinds):
        items: list[EdgeEvidence] = []
        seen: set[tuple[str, int, int]] = set()
        for _rank, item in sorted(
            evidence[pair], key=lambda e: (e[0], *_location(e[1]), e[1].rule)
        ):
            if _location(item) not in seen:
                seen.add(_location(item))
                items.append(item)
        through = sorted(via[pair])
        collab.add_edge(
            *pair,
            kinds=sorted(kinds[pair]),
            via=sorted(_label(network, t) for t in through),
            via_nodes=through,
            weight=max(1, len(items)),
            evidence=items,
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
    """
    if k is not None and k >= collab.number_of_nodes():
        k = None  # sampling every node is the exact computation
    found = nx.betweenness_centrality(collab, k=k, normalized=True, seed=seed)
    return dict(sorted(found.items()))


def pagerank(network: nx.MultiDiGraph, *, alpha: float = 0.85) -> dict[str, float]:
    """PageRank on the whole relation graph, undirected, weighted by pieces of evidence.

    The undirected view is deliberate: relations such as ``responsibleFor`` or ``partOf`` point
    from units to tasks and places, so a directed PageRank would leave the units themselves with
    little more than the teleport share.
    """
    simple = nx.Graph()
    simple.add_nodes_from(sorted(network))
    for u, v, _key, data in _relation_edges(network):
        if u == v:
            continue
        weight = float(data.get("weight", 1))
        if simple.has_edge(u, v):
            simple[u][v]["weight"] += weight
        else:
            simple.add_edge(u, v, weight=weight)
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


def city_membership(network: nx.MultiDiGraph) -> dict[str, frozenset[str]]:
    """Entity → the City nodes it belongs to, via ``partOf``/``locatedIn`` followed transitively.

    A city belongs to itself only. An entity can belong to several cities (a road between two).
    """
    parents: dict[str, set[str]] = defaultdict(set)
    for u, v, _key, data in _relation_edges(network):
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


def city_matrix(network: nx.MultiDiGraph, collab: nx.Graph) -> CityMatrix:
    """Collaboration links between the entities of every pair of cities, plus direct city links.

    An edge counts once for each unordered pair of cities its two ends belong to; the diagonal
    holds links inside one city.
    """
    membership = city_membership(network)
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

    def total(city: str) -> int:
        return sum(n for pair, n in pair_counts.items() if city in pair)

    cities.sort(key=lambda c: (-total(c), _label(network, c), c))
    sizes = defaultdict(int)
    for found in membership.values():
        for city in found:
            sizes[city] += 1
    direct.sort(key=lambda link: (-link.weight, link.a_label, link.b_label))
    return CityMatrix(
        cities=tuple(cities),
        labels=tuple(_label(network, c) for c in cities),
        sizes=tuple(sizes[c] for c in cities),
        counts=tuple(tuple(pair_counts.get(frozenset((a, b)), 0) for b in cities) for a in cities),
        direct=tuple(direct),
    )


def responsibility_load(network: nx.MultiDiGraph) -> dict[str, ResponsibilityLoad]:
    """For each unit that is ``responsibleFor`` something: distinct targets, lead and support."""
    roles: dict[str, dict[str, str]] = defaultdict(dict)
    for u, v, _key, data in _relation_edges(network):
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


def suggest_links(
    collab: nx.Graph,
    *,
    types: Iterable[str] | None = ORGANISATION_TYPES,
    limit: int | None = 20,
) -> list[SuggestedLink]:
    """Pairs not yet linked, scored by Adamic–Adar, with their shared partners as the reason.

    Both ends must have one of ``types`` (None: any type); shared partners may be of any type.
    Ordered by score (descending), then labels.
    """
    allowed = None if types is None else frozenset(types)
    labels = {node: _label(collab, node) for node in collab}
    eligible = sorted(
        (n for n in collab if allowed is None or collab.nodes[n].get("type") in allowed),
        key=lambda n: (labels[n], n),
    )
    order = {node: i for i, node in enumerate(eligible)}  # label order, to orient each pair

    # Adamic–Adar (as nx.adamic_adar_index): Σ 1/log(degree) over shared partners. Summed per
    # shared partner, so only pairs with one are ever visited, in a fixed order.
    scores: dict[tuple[str, str], float] = defaultdict(float)
    for middle in sorted(collab):
        around = sorted((n for n in collab[middle] if n in order), key=order.__getitem__)
        if len(around) < 2:
            continue
        share = 1.0 / math.log(collab.degree(middle))
        for a, b in combinations(around, 2):
            if not collab.has_edge(a, b):
                scores[(a, b)] += share
    scored = sorted(
        ((round(score, DIGITS), a, b) for (a, b), score in scores.items()),
        key=lambda t: (-t[0], labels[t[1]], labels[t[2]], t[1], t[2]),
    )
    found = []
    for score, a, b in scored if limit is None else scored[:limit]:
        shared = sorted(nx.common_neighbors(collab, a, b), key=lambda n: (labels[n], n))
        found.append(
            SuggestedLink(
                a=a,
                b=b,
                a_label=labels[a],
                b_label=labels[b],
                score=score,
                shared=tuple(shared),
                shared_labels=tuple(labels[n] for n in shared),
            )
        )
    return found


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
        _relation_edges(network), key=lambda e: (order.get(e[2], len(order)), e[0], e[1])
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
    collab = collaboration_network(network)
    ranks = pagerank(network)
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
        city_matrix=city_matrix(network, collab),
        responsibility=responsibility_load(network),
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


def _double(value: float) -> Literal:
    return Literal(round(float(value), DIGITS) + 0.0, datatype=XSD.double)  # + 0.0: no "-0"


def clear_metrics(graph: Graph) -> None:
    """Remove what an earlier write_metrics wrote, so writing again replaces it."""
    for cls in (CZT.Community, CZT.SuggestedLink):
        for node in list(graph.subjects(RDF.type, cls)):
            graph.remove((node, None, None))
    for prop in _WRITTEN_PROPERTIES:
        graph.remove((None, prop, None))


def write_metrics(graph: Graph, result: AnalysisResult) -> None:
    """Write the metrics, communities and suggested links into ``graph`` (replacing older ones).

    Every entity gets czt:pageRank, czt:degree and czt:betweenness (0 outside the collaboration
    network), so SPARQL can rank without OPTIONAL; units with tasks get czt:responsibilityLoad,
    brokers czt:isBroker true. Suggestions become czt:SuggestedLink nodes plus a direct
    czt:suggestedPartner triple, never czt:cooperatesWith.
    """
    clear_metrics(graph)
    for node in sorted(result.network):
        iri = URIRef(node)
        graph.add((iri, CZT.pageRank, _double(result.pagerank.get(node, 0.0))))
        graph.add((iri, CZT.degree, Literal(result.degree.get(node, 0), datatype=XSD.integer)))
        graph.add((iri, CZT.betweenness, _double(result.betweenness.get(node, 0.0))))
    for node, load in sorted(result.responsibility.items()):
        graph.add((URIRef(node), CZT.responsibilityLoad, Literal(load.total, datatype=XSD.integer)))
    for broker in result.brokers:
        graph.add((URIRef(broker.node), CZT.isBroker, Literal(True, datatype=XSD.boolean)))
    for community in result.communities:
        iri = COMMUNITY_BASE[community.id]
        graph.add((iri, RDF.type, CZT.Community))
        graph.add((iri, RDFS.label, Literal(community.label, lang="zh")))
        for member in community.members:
            graph.add((URIRef(member), CZT.inCommunity, iri))
    for suggestion in result.suggestions:
        iri = suggestion.iri
        a, b = URIRef(suggestion.a), URIRef(suggestion.b)
        graph.add((iri, RDF.type, CZT.SuggestedLink))
        graph.add(
            (
                iri,
                RDFS.label,
                Literal(f"建议合作：{suggestion.a_label}—{suggestion.b_label}", lang="zh"),
            )
        )
        graph.add((iri, RDFS.comment, Literal(suggestion.reason, lang="zh")))
        graph.add((iri, CZT.suggestionOf, a))
        graph.add((iri, CZT.suggestionOf, b))
        graph.add((iri, CZT.score, _double(suggestion.score)))
        for partner in suggestion.shared:
            graph.add((iri, CZT.sharedPartner, URIRef(partner)))
        graph.add((a, CZT.suggestedPartner, b))
