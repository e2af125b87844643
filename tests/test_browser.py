"""The HTML maps in headless Chromium: offline, no errors, search, filters, tooltips, no XSS.

Uses Debian's ``chromium`` through Playwright (CI installs it, with ``fonts-noto-cjk``). Pages are
opened from ``file://`` with every other request aborted and recorded.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import pytest
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import DCTERMS, SKOS

from kg.analysis import analyse, collaboration_network, write_metrics
from kg.model import (
    ENTITY_TYPES,
    RELATION_PREDICATES,
    Document,
    Entity,
    Evidence,
    KnowledgeGraphData,
    Relation,
    Sentence,
)
from kg.network import rdf_to_networkx
from kg.ontology import CZT, NIF, term
from kg.rdf import build_rdf
from kg.visualize import (
    PHYSICS_MAX_NODES,
    ego_network,
    write_collaboration_map,
    write_graph_map,
)

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} not found: install Debian's chromium (and fonts-noto-cjk)",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")

XSS_SCRIPT = "<script>window.pwned=1</script>"
XSS_IMG = "<img src=x onerror=window.pwned=1>"
READY = "window.cztReady === true"


# --------------------------------------------------------------------------------------------
# Maps written for the tests


@pytest.fixture(scope="module")
def seed_rdf(seed_kg: Path) -> Graph:
    return Graph().parse(seed_kg)


@pytest.fixture(scope="module")
def seed_maps(tmp_path_factory: pytest.TempPathFactory, seed_rdf: Graph) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("browser_maps")
    network = rdf_to_networkx(seed_rdf)
    return {
        "graph": write_graph_map(network, out / "graph.html", title="长株潭知识图谱"),
        "collaboration": write_collaboration_map(
            collaboration_network(network),
            out / "collaboration.html",
            title="长株潭合作网络",
            relations=network,
        ),
        "ego": write_graph_map(
            ego_network(network, "湘潭市", depth=1), out / "ego.html", title="湘潭市"
        ),
    }


def _hostile_data() -> KnowledgeGraphData:
    """Two organisations named like markup, linked to one city: names, aliases, a document title
    and evidence sentences that would run script if any of them were parsed as HTML."""
    sentences = (
        f"{XSS_SCRIPT}与湘潭市开展合作。",
        f"{XSS_IMG}与湘潭市签署协议。",
        "湘潭市属湖南省。",
    )
    spans, offset = [], 0
    for text in sentences:
        spans.append(Sentence(offset, offset + len(text), text))
        offset += len(text)
    doc = Document(
        id="evil_01",
        path="corpus/evil_01.txt",
        title=f"{XSS_IMG}新闻",
        text="".join(sentences),
        sentences=tuple(spans),
        date="2024-05-01",
    )

    def evidence(i: int) -> Evidence:
        return Evidence(doc.id, spans[i].start, spans[i].end, spans[i].text, "test")

    entities = (
        Entity("City/湘潭市", "City", "湘潭市", mention_counts=((doc.id, 3),)),
        Entity("Province/湖南省", "Province", "湖南省", mention_counts=((doc.id, 1),)),
        Entity(
            "Organization/evil-script",
            "Organization",
            XSS_SCRIPT,
            alt_labels=("<b onmouseover=window.pwned=1>别名</b>",),
            mention_counts=((doc.id, 1),),
        ),
        Entity("Organization/evil-img", "Organization", XSS_IMG, mention_counts=((doc.id, 1),)),
    )
    relations = (
        Relation("Organization/evil-script", "cooperatesWith", "City/湘潭市", (evidence(0),)),
        Relation("Organization/evil-img", "cooperatesWith", "City/湘潭市", (evidence(1),)),
        Relation("City/湘潭市", "partOf", "Province/湖南省", (evidence(2),)),
    )
    return KnowledgeGraphData(documents=(doc,), entities=entities, relations=relations)


@pytest.fixture(scope="module")
def large_map(tmp_path_factory: pytest.TempPathFactory, seed_rdf: Graph) -> Path:
    """The seed graph's nodes and edges, copied until there are more than PHYSICS_MAX_NODES."""
    seed = rdf_to_networkx(seed_rdf)
    copies = PHYSICS_MAX_NODES // seed.number_of_nodes() + 1
    network = nx.MultiDiGraph(**seed.graph)
    for k in range(copies):
        for node, attrs in seed.nodes(data=True):
            network.add_node(f"{node}#{k}", **{**attrs, "label": f"{attrs['label']}·{k}"})
        for u, v, key, data in seed.edges(keys=True, data=True):
            network.add_edge(f"{u}#{k}", f"{v}#{k}", key=key, **data)
    out = tmp_path_factory.mktemp("large_map")
    return write_graph_map(network, out / "large.html", title="large")


@pytest.fixture(scope="module")
def hostile_maps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    graph = build_rdf(_hostile_data())
    write_metrics(graph, analyse(graph))  # PageRank and a suggested link between the two
    network = rdf_to_networkx(graph)
    assert any(d["suggested"] for *_, d in network.edges(data=True))
    out = tmp_path_factory.mktemp("hostile_maps")
    return {
        "graph": write_graph_map(network, out / "graph.html", title=f"{XSS_SCRIPT}图谱"),
        "collaboration": write_collaboration_map(
            collaboration_network(network),
            out / "collaboration.html",
            title=XSS_IMG,
            relations=network,
        ),
    }


# --------------------------------------------------------------------------------------------
# Browser


@dataclass
class Visit:
    """A page opened from disk, with what it tried to fetch and what it complained about."""

    page: object
    url: str
    blocked: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def js(self, expression: str, arg: object = None) -> object:
        return self.page.evaluate(expression, arg)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture()
def open_map(browser) -> Iterator:
    contexts = []

    def visit(path: Path) -> Visit:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        url = path.resolve().as_uri()
        opened = Visit(page=context.new_page(), url=url)

        def route(request_route) -> None:
            request_url = request_route.request.url
            opened.requested.append(request_url)
            if request_url.startswith("file://"):
                request_route.continue_()
            else:
                opened.blocked.append(request_url)
                request_route.abort()

        context.route("**/*", route)
        page = opened.page
        page.on("console", lambda m: m.type == "error" and opened.errors.append(m.text))
        page.on("pageerror", lambda e: opened.errors.append(str(e)))
        page.goto(url)
        page.wait_for_function(READY, timeout=30_000, polling=50)
        return opened

    yield visit
    for context in contexts:
        context.close()


def _rdf_entities(graph: Graph) -> set[URIRef]:
    return {s for name in ENTITY_TYPES for s in graph.subjects(RDF.type, term(name))}


def _visible_types(visit: Visit) -> set[str]:
    return set(
        visit.js(
            """() => cztMap.nodes.get({filter: n => !n.hidden})
                .map(n => cztMap.data.types[cztMap.data.nodeInfo[n.id].t].key)"""
        )
    )


# --------------------------------------------------------------------------------------------
# Tests


@pytest.mark.parametrize("name", ["graph", "collaboration", "ego"])
def test_map_loads_offline_without_errors(open_map, seed_maps, name: str) -> None:
    visit = open_map(seed_maps[name])
    assert visit.blocked == []
    assert visit.requested == [visit.url]  # the page itself, nothing else
    assert visit.errors == []
    counts = visit.js(
        """() => [cztMap.nodes.length, cztMap.edges.length,
                  cztMap.network.body.nodeIndices.length, cztMap.network.body.edgeIndices.length]"""
    )
    assert counts[0] == counts[2] > 0 and counts[1] == counts[3] > 0


def test_graph_map_counts_equal_the_graph(open_map, seed_maps, seed_rdf: Graph) -> None:
    entities = _rdf_entities(seed_rdf)
    relations = sum(
        1
        for name in RELATION_PREDICATES
        for s, o in seed_rdf.subject_objects(term(name))
        if s in entities and o in entities
    )
    suggestions = len(set(seed_rdf.subjects(RDF.type, CZT.SuggestedLink)))
    visit = open_map(seed_maps["graph"])
    assert visit.js("() => cztMap.network.body.nodeIndices.length") == len(entities)
    assert visit.js("() => cztMap.network.body.edgeIndices.length") == relations + suggestions
    labels = visit.js("() => cztMap.nodes.get().map(n => n.label)")
    assert sorted(labels) == sorted(str(seed_rdf.value(e, SKOS.prefLabel)) for e in entities)


def test_physics_settles_then_stops(open_map, seed_maps) -> None:
    visit = open_map(seed_maps["graph"])
    before = visit.js("() => cztMap.network.getPositions()")
    visit.page.wait_for_timeout(500)
    assert visit.js("() => cztMap.network.getPositions()") == before
    assert visit.js("() => cztMap.network.physics.physicsEnabled") is False


def test_large_map_is_drawn_as_laid_out_and_labels_on_demand(open_map, large_map) -> None:
    visit = open_map(large_map)
    assert visit.errors == [] and visit.blocked == []
    assert visit.js("() => cztMap.nodes.length") > PHYSICS_MAX_NODES
    moved = visit.js(
        """() => { const pos = cztMap.network.getPositions();
                   return cztMap.data.vis.nodes.filter(n =>
                       Math.abs(pos[n.id].x - n.x) > 1 || Math.abs(pos[n.id].y - n.y) > 1)
                   .length; }"""
    )
    assert moved == 0  # physics off: the positions computed in Python (getPositions rounds)
    assert visit.js("() => cztMap.network.physics.physicsEnabled") is False
    visit.page.fill("#search", "湘潭市·0")
    visit.page.press("#search", "Enter")
    visit.page.wait_for_timeout(200)  # labels are given shortly after the view moved
    labels = visit.js(
        """() => { const id = cztMap.network.getSelectedNodes()[0];
                   return [cztMap.nodes.get(id).label,
                           cztMap.network.getConnectedEdges(id).map(e => cztMap.edges.get(e).label)]; }"""
    )
    assert labels[0] == "湘潭市·0"
    assert labels[1] and all(labels[1])  # the focused entity's relations are labelled
    unrelated = visit.js("() => cztMap.edges.get({filter: e => !!e.label}).length")
    assert unrelated == len(labels[1])


def test_search_selects_and_focuses_an_entity(open_map, seed_maps) -> None:
    visit = open_map(seed_maps["graph"])
    page = visit.page
    page.fill("#search", "湘潭")  # a partial name: a list of matches, the city first
    hits = page.locator("#search-results li .hit").all_inner_texts()
    assert hits[0] == "湘潭市" and len(hits) > 5
    assert all("湘潭" in hit for hit in hits[:5])
    page.fill("#search", "湘潭市")
    page.press("#search", "Enter")
    selected = visit.js(
        "() => cztMap.network.getSelectedNodes().map(i => cztMap.nodes.get(i).label)"
    )
    assert selected == ["湘潭市"]
    # the view moves (animated) until the entity is in the middle of the map
    page.wait_for_function(
        """() => { const id = cztMap.network.getSelectedNodes()[0];
                   const p = cztMap.network.canvasToDOM(cztMap.network.getPositions([id])[id]);
                   const box = document.getElementById('map').getBoundingClientRect();
                   return Math.abs(p.x - box.width / 2) < 3 && Math.abs(p.y - box.height / 2) < 3;
                 }""",
        timeout=15_000,  # vis animates frame by frame: slow on a busy machine
    )
    assert "湘潭市" in page.locator("#details").inner_text()


def test_search_finds_an_entity_by_alias(open_map, seed_maps, seed_rdf: Graph) -> None:
    entity, alias = next(
        (s, str(a))
        for s, a in sorted(seed_rdf.subject_objects(SKOS.altLabel))
        if s in _rdf_entities(seed_rdf) and len(str(a)) >= 4
    )
    visit = open_map(seed_maps["graph"])
    visit.page.fill("#search", alias[1:])  # part of the alias
    hits = visit.page.locator("#search-results li").all_inner_texts()
    label = str(seed_rdf.value(entity, SKOS.prefLabel))
    assert any(hit.startswith(label) for hit in hits), (alias, hits)


def test_type_filter_hides_other_types(open_map, seed_maps, seed_rdf: Graph) -> None:
    visit = open_map(seed_maps["graph"])
    page = visit.page
    page.click('#legend-types button[data-on="0"]')  # 全不选
    assert _visible_types(visit) == set()
    page.locator("#legend-types label.legend-item", has_text="地级市").click()
    assert _visible_types(visit) == {"City"}
    cities = set(seed_rdf.subjects(RDF.type, CZT.City))
    assert len(visit.js("() => cztMap.visibleNodeIds()")) == len(cities)
    hidden_edges = visit.js(
        """() => cztMap.edges.get().filter(e => !e.hidden).every(e =>
                 [e.from, e.to].every(i => !cztMap.nodes.get(i).hidden))"""
    )
    assert hidden_edges is True  # no edge left dangling to a hidden node
    page.click('#legend-types button[data-on="1"]')  # 全选
    assert len(_visible_types(visit)) == len(ENTITY_TYPES)


def test_relation_filter_hides_that_relation(open_map, seed_maps) -> None:
    visit = open_map(seed_maps["graph"])
    visit.page.locator("#legend-relations label.legend-item", has_text="负责").uncheck()
    shown = visit.js(
        """() => cztMap.edges.get({filter: e => !e.hidden})
                 .map(e => cztMap.data.relations[cztMap.data.edgeInfo[e.id].r[0]].key)"""
    )
    assert shown and "responsibleFor" not in shown and "cooperatesWith" in shown


def test_clicking_a_node_highlights_its_neighbours(open_map, seed_maps) -> None:
    visit = open_map(seed_maps["ego"])  # the centre sits at the origin of the canvas
    centre = visit.js("() => cztMap.data.nodeInfo.findIndex(i => i.c)")
    point = visit.js(
        "(id) => cztMap.network.canvasToDOM(cztMap.network.getPositions([id])[id])", centre
    )
    box = visit.page.locator("#map").bounding_box()
    visit.page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    assert visit.js("() => cztMap.network.getSelectedNodes()") == [centre]
    # every node of an ego map of depth 1 is a neighbour: none dimmed; the page says so
    dimmed = visit.js("() => cztMap.nodes.get().filter(n => typeof n.color === 'object').length")
    assert dimmed == 0
    # on the whole graph, a click on 湘潭市 dims what is not linked to it
    visit = open_map(seed_maps["graph"])
    visit.js("() => cztMap.focusNode(cztMap.find('湘潭市')[0].id, false)")
    state = visit.js(
        """() => { const id = cztMap.find('湘潭市')[0].id;
                   const near = new Set(cztMap.network.getConnectedNodes(id).concat([id]));
                   return cztMap.nodes.get().map(n => [near.has(n.id), typeof n.color]); }"""
    )
    assert all(kind == "string" for near, kind in state if near)
    assert all(kind == "object" for near, kind in state if not near)
    assert sum(1 for near, _ in state if not near) > 100


def _hover_an_edge_with_evidence(visit: Visit) -> int:
    """Zoom onto an edge until it alone is under the middle of the map; hover it; its id."""
    for edge in visit.js(
        """() => cztMap.data.edgeInfo.map((info, i) => [i, info]).filter(([i, info]) =>
               info.e && !cztMap.data.vis.edges[i].smooth).map(([i]) => i)"""
    ):
        hit = visit.js(
            """(i) => { const net = cztMap.network, e = cztMap.edges.get(i);
                   const p = net.getPositions([e.from, e.to]), a = p[e.from], b = p[e.to];
                   const mid = {x: (a.x + b.x) / 2, y: (a.y + b.y) / 2};
                   net.moveTo({position: mid, scale: 1.5});
                   const dom = net.canvasToDOM(mid);
                   return net.getNodeAt(dom) === undefined && net.getEdgeAt(dom) === i ? dom : null;
               }""",
            edge,
        )
        if hit:
            box = visit.page.locator("#map").bounding_box()
            visit.page.mouse.move(box["x"] + 5, box["y"] + 5)
            visit.page.mouse.move(box["x"] + hit["x"], box["y"] + hit["y"], steps=3)
            return edge
    raise AssertionError("no edge with evidence could be hovered alone")


def test_hovering_an_edge_shows_its_evidence(open_map, seed_maps, seed_rdf: Graph) -> None:
    visit = open_map(seed_maps["graph"])
    edge = _hover_an_edge_with_evidence(visit)
    visit.page.wait_for_selector("#tooltip:not([hidden])")
    tooltip = visit.page.locator("#tooltip").inner_text()
    source, predicate, target = visit.js(
        """(i) => { const e = cztMap.edges.get(i), d = cztMap.data;
                    return [cztMap.nodes.get(e.from).label,
                            d.relations[d.edgeInfo[i].r[0]].key, cztMap.nodes.get(e.to).label]; }""",
        edge,
    )
    # the evidence of that statement, read from the RDF
    labels = {str(o): s for s, o in seed_rdf.subject_objects(SKOS.prefLabel)}
    statement = next(
        st
        for st in seed_rdf.subjects(RDF.predicate, term(predicate))
        if seed_rdf.value(st, RDF.subject) == labels[source]
        and seed_rdf.value(st, RDF.object) == labels[target]
    )
    evidence = sorted(seed_rdf.objects(statement, CZT.evidence))
    sentences = [str(seed_rdf.value(e, NIF.anchorOf)) for e in evidence]
    assert any(sentence in tooltip for sentence in sentences), (tooltip, sentences)
    titles = [
        str(seed_rdf.value(seed_rdf.value(e, NIF.referenceContext), DCTERMS.title))
        for e in evidence
    ]
    assert any(title in tooltip for title in titles)
    assert source in tooltip and target in tooltip


def test_hovering_a_node_shows_type_name_aliases_documents(open_map, seed_maps) -> None:
    visit = open_map(seed_maps["ego"])
    centre = visit.js("() => cztMap.data.nodeInfo.findIndex(i => i.c)")
    point = visit.js(
        "(id) => cztMap.network.canvasToDOM(cztMap.network.getPositions([id])[id])", centre
    )
    box = visit.page.locator("#map").bounding_box()
    visit.page.mouse.move(box["x"] + point["x"], box["y"] + point["y"], steps=3)
    visit.page.wait_for_selector("#tooltip:not([hidden])")
    tooltip = visit.page.locator("#tooltip").inner_text()
    for text in ("地级市", "湘潭市", "别名", "湘潭", "文档", "最强关系", "条证据"):
        assert text in tooltip


@pytest.mark.parametrize("name", ["graph", "collaboration"])
def test_markup_in_names_and_sentences_never_runs(open_map, hostile_maps, name: str) -> None:
    visit = open_map(hostile_maps[name])
    page = visit.page
    box = page.locator("#map").bounding_box()
    # hover every node and the middle of every edge, search and open the details
    points = visit.js(
        """() => { const net = cztMap.network, pos = net.getPositions();
                   const pts = Object.keys(pos).map(id => net.canvasToDOM(pos[id]));
                   cztMap.edges.get().forEach(e => pts.push(net.canvasToDOM({
                       x: (pos[e.from].x + pos[e.to].x) / 2, y: (pos[e.from].y + pos[e.to].y) / 2})));
                   return pts; }"""
    )
    tooltips = []
    for point in points:
        page.mouse.move(box["x"] + point["x"], box["y"] + point["y"], steps=2)
        page.wait_for_timeout(30)
        if page.locator("#tooltip").is_visible():
            tooltips.append(page.locator("#tooltip").inner_text())
    page.fill("#search", "<")
    results = page.locator("#search-results").inner_text()
    page.press("#search", "Enter")
    details = page.locator("#details").inner_text()
    assert visit.js("() => typeof window.pwned") == "undefined"
    assert visit.blocked == [] and visit.requested == [visit.url]  # <img src=x> never loaded
    assert visit.errors == []
    shown = "\n".join([*tooltips, results, details])
    assert XSS_SCRIPT in shown and XSS_IMG in shown  # shown as text
    assert (
        visit.js(
            "() => document.querySelectorAll('#tooltip img, #details img, #search-results img').length"
        )
        == 0
    )
    assert page.title().startswith("<") and visit.js("() => document.scripts.length") == 3


def test_cjk_font_is_available_for_labels(open_map, seed_maps) -> None:
    if not shutil.which("fc-list"):
        pytest.skip("fontconfig is not installed: cannot tell which fonts exist")
    visit = open_map(seed_maps["ego"])
    faces = visit.js(
        """() => ['Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Source Han Sans SC']
                 .filter(f => document.fonts.check('14px "' + f + '"', '湘潭市'))"""
    )
    assert faces, "no CJK font of the map's font stack is installed (apt install fonts-noto-cjk)"


def test_network_blocking_is_effective(browser, tmp_path: Path) -> None:
    """The route guard works: a page that does fetch from the web is recorded and blocked."""
    page_file = tmp_path / "remote.html"
    page_file.write_text(
        '<!DOCTYPE html><img src="https://example.org/x.png"><script>window.cztReady = true;'
        "</script>",
        encoding="utf-8",
    )
    context = browser.new_context()
    blocked: list[str] = []

    def route(request_route) -> None:
        if request_route.request.url.startswith("file://"):
            request_route.continue_()
        else:
            blocked.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    context.close()
    assert blocked == ["https://example.org/x.png"]
