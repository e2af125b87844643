"""The HTML maps (kg/visualize.py, kg/cli_map.py) without a browser: structure, data, escaping.

What the page does in a browser (search, filters, tooltips, no network) is in test_browser.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import networkx as nx
import pytest
from pyvis.network import Network
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import DCTERMS, SKOS

from kg.analysis import collaboration_network
from kg.cli import main
from kg.errors import EntityNotFoundError, InputError
from kg.model import ENTITY_TYPES, RELATION_PREDICATES
from kg.network import EdgeEvidence, rdf_to_networkx
from kg.ontology import CZT, NIF, term
from kg.visualize import (
    FONT_STACK,
    PHYSICS_MAX_NODES,
    TYPE_STYLES,
    build_map,
    ego_network,
    render_map,
    script_json,
    write_collaboration_map,
    write_graph_map,
)

DATA_SCRIPT = re.compile(r'<script id="map-data" type="application/json">(.*?)</script>', re.S)
XSS_SCRIPT = "<script>window.pwned=1</script>"
XSS_IMG = "<img src=x onerror=window.pwned=1>"


def page_data(html: str) -> dict:
    """The JSON the page script reads."""
    found = DATA_SCRIPT.search(html)
    assert found, "no map-data script"
    return json.loads(found.group(1))


def labels(data: dict) -> list[str]:
    return [node["label"] for node in data["vis"]["nodes"]]


# --------------------------------------------------------------------------------------------
# Fixtures: the seed graph as RDF and as networkx, and its two maps


@pytest.fixture(scope="module")
def seed_rdf(seed_kg: Path) -> Graph:
    return Graph().parse(seed_kg)


@pytest.fixture(scope="module")
def seed_network(seed_rdf: Graph) -> nx.MultiDiGraph:
    return rdf_to_networkx(seed_rdf)


@pytest.fixture(scope="module")
def seed_maps(tmp_path_factory: pytest.TempPathFactory, seed_network) -> dict[str, str]:
    out = tmp_path_factory.mktemp("maps")
    write_graph_map(seed_network, out / "graph.html", title="长株潭知识图谱")
    collab = collaboration_network(seed_network)
    write_collaboration_map(
        collab, out / "collaboration.html", title="长株潭合作网络", relations=seed_network
    )
    return {
        name: (out / f"{name}.html").read_text(encoding="utf-8")
        for name in ("graph", "collaboration")
    }


def rdf_entities(graph: Graph) -> set[URIRef]:
    return {s for name in ENTITY_TYPES for s in graph.subjects(RDF.type, term(name))}


def rdf_label(graph: Graph, node: URIRef) -> str:
    return str(graph.value(node, SKOS.prefLabel))


def rdf_node(graph: Graph, label: str) -> URIRef:
    return next(s for s in rdf_entities(graph) if rdf_label(graph, s) == label)


def rdf_neighbours(graph: Graph, label: str) -> set[URIRef]:
    """Entities linked to the one labelled ``label`` by a relation or suggestion, either way."""
    entities, node = rdf_entities(graph), rdf_node(graph, label)
    found = set()
    for name in (*RELATION_PREDICATES, "suggestedPartner"):
        found |= {o for o in graph.objects(node, term(name)) if o in entities}
        found |= {s for s in graph.subjects(term(name), node) if s in entities}
    return found - {node}


# --------------------------------------------------------------------------------------------
# Self-contained, offline


@pytest.mark.parametrize("name", ["graph", "collaboration"])
def test_map_is_one_self_contained_file(seed_maps: dict[str, str], name: str) -> None:
    html = seed_maps[name]
    tags = re.findall(r"<(script|link|img|iframe|object|embed)\b([^>]*)>", html, re.I)
    others = [(t.lower(), a) for t, a in tags if t.lower() != "script"]
    assert [t for t, a in others if not (t == "link" and 'href="data:' in a)] == []
    for _tag, attributes in tags:
        assert not re.search(r"\b(src|href)\s*=\s*[\"']?(https?:)?//", attributes, re.I), attributes
    # data, vis-network, map.js (vis-network holds a "<script>" string, but no closing tag)
    assert len(re.findall(r"</script\s*>", html, re.I)) == 3
    assert "@import" not in html
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    assert "vis-network" in html and "vis.Network" in html  # the library is inlined


def test_map_font_stack_names_the_linux_cjk_fonts(seed_maps: dict[str, str]) -> None:
    data = page_data(seed_maps["graph"])
    for face in ("Noto Sans CJK SC", "WenQuanYi Micro Hei", "Source Han Sans SC"):
        assert face in FONT_STACK
        assert face in seed_maps["graph"].split("<script", 1)[0]  # the page's CSS
    assert data["vis"]["options"]["nodes"]["font"]["face"] == FONT_STACK
    assert data["vis"]["options"]["edges"]["font"]["face"] == FONT_STACK


# --------------------------------------------------------------------------------------------
# The whole graph


def test_graph_map_has_every_entity_and_relation_of_the_rdf(
    seed_maps: dict[str, str], seed_rdf: Graph
) -> None:
    data = page_data(seed_maps["graph"])
    entities = rdf_entities(seed_rdf)
    relations = [
        (s, name, o)
        for name in RELATION_PREDICATES
        for s, o in seed_rdf.subject_objects(term(name))
        if s in entities and o in entities
    ]
    suggestions = set(seed_rdf.subjects(RDF.type, CZT.SuggestedLink))
    assert len(data["vis"]["nodes"]) == len(entities) > 200
    assert len(data["vis"]["edges"]) == len(relations) + len(suggestions)
    assert 0 < len(suggestions) <= 20  # the analysis keeps the best 20
    assert sorted(labels(data)) == sorted(rdf_label(seed_rdf, e) for e in entities)
    # vis ids are the positions in the lists, which the page's info tables share
    assert [n["id"] for n in data["vis"]["nodes"]] == list(range(len(entities)))
    assert [e["id"] for e in data["vis"]["edges"]] == list(range(len(data["edgeInfo"])))


def test_nodes_coloured_and_shaped_by_type_with_a_legend(
    seed_maps: dict[str, str], seed_rdf: Graph
) -> None:
    html = seed_maps["graph"]
    data = page_data(html)
    legend = {t["key"]: t for t in data["types"]}
    assert set(legend) == set(ENTITY_TYPES)  # the seed graph has every type
    assert len({(t["color"], t["shape"]) for t in legend.values()}) == len(legend)
    for node, info in zip(data["vis"]["nodes"], data["nodeInfo"], strict=True):
        kind = data["types"][info["t"]]
        assert (node["color"], node["shape"]) == TYPE_STYLES[kind["key"]]
        assert "group" not in node  # a vis group would override the colour
        assert "title" not in node  # vis renders a title as HTML: tooltips are our own
    for entry in data["types"]:  # each type in the legend, with its Chinese name and count
        assert entry["label"] in html
    cities = set(seed_rdf.subjects(RDF.type, CZT.City))
    assert legend["City"]["label"] == "地级市" and legend["City"]["count"] == len(cities)


def test_nodes_sized_by_pagerank(seed_maps: dict[str, str], seed_network) -> None:
    data = page_data(seed_maps["graph"])
    assert data["sizeBy"] == "pagerank"
    by_label = {n["label"]: n for n in data["vis"]["nodes"]}
    assert max(by_label.values(), key=lambda n: n["size"])["label"] == "湘潭市"
    ranked = sorted(seed_network.nodes.values(), key=lambda a: -a["pagerank"])
    sizes = [by_label[a["label"]]["size"] for a in ranked]
    assert sizes == sorted(sizes, reverse=True)  # monotone in PageRank
    # the hub's label is drawn bigger, so that it is readable with the whole map in view
    assert by_label["湘潭市"]["font"]["size"] > by_label[ranked[-1]["label"]]["font"]["size"]


def test_nodes_sized_by_degree_without_pagerank() -> None:
    network = nx.MultiDiGraph()
    for name in "ABCD":
        network.add_node(name, label=name, type="Agency")
    for other in "BCD":
        network.add_edge("A", other, key="partOf", predicate="partOf", weight=1, evidence=[])
    data = build_map(network).page_data("t")
    assert data["sizeBy"] == "degree"
    sizes = {n["label"]: n["size"] for n in data["vis"]["nodes"]}
    assert sizes["A"] > sizes["B"] == sizes["C"] == sizes["D"]


def test_edges_coloured_and_labelled_by_relation(seed_maps: dict[str, str]) -> None:
    data = page_data(seed_maps["graph"])
    relations = data["relations"]
    assert len({r["color"] for r in relations}) == len(relations)
    for edge, info in zip(data["vis"]["edges"], data["edgeInfo"], strict=True):
        relation = relations[info["r"][0]]
        assert edge["color"] == relation["color"]
        if relation["key"] == "suggestedPartner":
            assert edge["label"].startswith("建议合作 ") and edge["dashes"] is True
            assert "e" not in info and info["sc"] > 0 and info["p"]  # score, shared partners
        else:
            assert edge["label"] == relation["label"] and "dashes" not in edge
            assert edge["arrows"] == ("" if relation["key"] == "cooperatesWith" else "to")
    labels_by_key = {r["key"]: r["label"] for r in relations}
    assert labels_by_key["cooperatesWith"] == "合作"
    assert labels_by_key["partOf"] == "隶属"
    assert labels_by_key["suggestedPartner"] == "建议合作（预测）"


def test_edge_info_carries_the_rdf_evidence_and_document(
    seed_maps: dict[str, str], seed_rdf: Graph
) -> None:
    """Every cooperatesWith edge shows the sentences and documents the RDF records for it."""
    data = page_data(seed_maps["graph"])
    names = labels(data)
    shown = {}
    for edge, info in zip(data["vis"]["edges"], data["edgeInfo"], strict=True):
        if data["relations"][info["r"][0]]["key"] == "cooperatesWith":
            docs = [data["documents"][d] for _, d in info["e"]]
            shown[(names[edge["from"]], names[edge["to"]])] = (
                {s for s, _ in info["e"]},
                {(title, date) for _id, title, date in docs},
                info["n"],
            )
    statements = list(seed_rdf.subjects(RDF.predicate, CZT.cooperatesWith))
    assert len(shown) == len(statements) >= 28  # one edge per cooperatesWith statement
    for statement in statements:
        pair = (
            rdf_label(seed_rdf, seed_rdf.value(statement, RDF.subject)),
            rdf_label(seed_rdf, seed_rdf.value(statement, RDF.object)),
        )
        evidence = list(seed_rdf.objects(statement, CZT.evidence))
        sentences, documents, count = shown[pair]
        assert count == len(evidence)
        expected = set()
        for item in evidence:
            doc = seed_rdf.value(item, NIF.referenceContext)
            title = str(seed_rdf.value(doc, DCTERMS.title) or "")
            expected.add((title, str(seed_rdf.value(doc, DCTERMS.date) or "")))
            if len(evidence) <= 3:
                assert str(seed_rdf.value(item, NIF.anchorOf)) in sentences
        assert documents <= expected
    sentences, documents, _ = shown[("株洲市发展和改革委员会", "萍乡市发展和改革委员会")]
    assert "长株潭三市发改委与萍乡市发改委共同签署跨区域社会信用体系建设合作协议。" in sentences
    assert documents == {("将长株潭作为一座特大城市一体打造!", "2024-12-10")}


def test_node_info_lists_aliases_documents_and_strongest_relations(
    seed_maps: dict[str, str], seed_rdf: Graph, seed_network
) -> None:
    data = page_data(seed_maps["graph"])
    names = labels(data)
    city = names.index("湘潭市")
    info = data["nodeInfo"][city]
    assert data["types"][info["t"]]["key"] == "City"
    aliases = {str(a) for a in seed_rdf.objects(rdf_node(seed_rdf, "湘潭市"), SKOS.altLabel)}
    assert "湘潭" in set(info["a"]) and set(info["a"]) <= aliases
    titles = {data["documents"][d][1] for d in info["d"]}
    documents = list(seed_rdf.objects(rdf_node(seed_rdf, "湘潭市"), CZT.mentionedIn))
    assert len(info["d"]) == len(documents) >= 5
    assert "将长株潭作为一座特大城市一体打造!" in titles
    strongest = [data["edgeInfo"][i]["w"] for i in info["r"]]
    assert len(strongest) == 5 and strongest == sorted(strongest, reverse=True)
    node = str(rdf_node(seed_rdf, "湘潭市"))
    weights = [d["weight"] for *_, d in seed_network.in_edges(node, data=True)]
    weights += [d["weight"] for *_, d in seed_network.out_edges(node, data=True)]
    assert strongest[0] == max(weights) >= 5  # 湘潭经济技术开发区 partOf 湘潭市
    assert {"pagerank", "degree", "betweenness"} <= set(info["m"])


def test_small_map_settles_with_physics_then_stops(seed_maps: dict[str, str]) -> None:
    data = page_data(seed_maps["graph"])
    physics = data["vis"]["options"]["physics"]
    assert data["physics"] is True and physics["enabled"] is True
    assert physics["stabilization"]["enabled"] is True
    assert 0 < physics["stabilization"]["iterations"] <= 500  # bounded; map.js then stops it
    assert all("x" in n and "y" in n for n in data["vis"]["nodes"])  # a precomputed start
    assert data["lazyLabels"] is False


def test_large_map_is_laid_out_in_python_with_physics_off() -> None:
    size = PHYSICS_MAX_NODES + 200
    random_graph = nx.gnm_random_graph(size, size, seed=3)
    network = nx.MultiDiGraph()
    for node in random_graph:
        network.add_node(f"n{node}", label=f"单位{node}", type=ENTITY_TYPES[node % 14])
    for u, v in random_graph.edges:
        network.add_edge(f"n{u}", f"n{v}", key="partOf", predicate="partOf", weight=1)
    data = build_map(network).page_data("large")
    assert data["physics"] is False
    assert data["vis"]["options"]["physics"]["enabled"] is False
    positions = {(n["x"], n["y"]) for n in data["vis"]["nodes"]}
    assert len(positions) > 0.99 * size  # every node placed, hardly any on top of another
    # labels are measured lazily by map.js: edge labels travel in edgeInfo, set on focus
    assert data["lazyLabels"] is True
    assert all("label" not in e for e in data["vis"]["edges"])
    assert {i["l"] for i in data["edgeInfo"]} == {"隶属"}


def test_rendering_is_deterministic(seed_network) -> None:
    first = render_map(seed_network, title="t")
    assert render_map(seed_network, title="t") == first


def test_pyvis_assembles_the_vis_items() -> None:
    network = nx.MultiDiGraph()
    network.add_node("a", label="湘潭市", type="City")
    network.add_node("b", label="长沙市", type="City")
    network.add_edge("a", "b", key="cooperatesWith", predicate="cooperatesWith", weight=2)
    network.add_edge("a", "b", key="partOf", predicate="partOf", weight=1)  # a parallel edge
    model = build_map(network)
    assert isinstance(model.net, Network)
    assert model.net.get_nodes() == [0, 1]
    assert [(e["from"], e["to"], e["label"]) for e in model.net.get_edges()] == [
        (0, 1, "合作"),
        (0, 1, "隶属"),
    ]
    assert model.net.get_edges()[1]["smooth"]["roundness"] > 0  # parallels do not overlap


# --------------------------------------------------------------------------------------------
# The collaboration network


def test_collaboration_map_shows_the_analysis_network_and_suggestions(
    seed_maps: dict[str, str], seed_network, seed_rdf: Graph
) -> None:
    data = page_data(seed_maps["collaboration"])
    collab = collaboration_network(seed_network)
    suggestions = list(seed_rdf.subjects(RDF.type, CZT.SuggestedLink))
    assert len(data["vis"]["nodes"]) == collab.number_of_nodes() > 50
    assert len(data["vis"]["edges"]) == collab.number_of_edges() + len(suggestions)
    keys = {r["key"] for r in data["relations"]}
    assert keys == {"cooperation", "co-party", "shared-responsibility", "co-participation",
                    "suggestedPartner"}  # fmt: skip
    dashed = [e for e in data["vis"]["edges"] if e.get("dashes")]
    assert len(dashed) == len(suggestions)
    names = labels(data)
    for suggestion in suggestions:
        pair = sorted(
            rdf_label(seed_rdf, e) for e in seed_rdf.objects(suggestion, CZT.suggestionOf)
        )
        assert any(sorted((names[e["from"]], names[e["to"]])) == pair for e in dashed)


def test_collaboration_map_of_a_relation_graph_keeps_cooperation_and_suggestions(
    tmp_path: Path, seed_network
) -> None:
    path = write_collaboration_map(seed_network, tmp_path / "c.html", title="合作")
    data = page_data(path.read_text(encoding="utf-8"))
    keys = {data["relations"][i["r"][0]]["key"] for i in data["edgeInfo"]}
    assert keys == {"cooperatesWith", "suggestedPartner"}
    cooperation = [
        e for e in seed_network.edges(data=True) if e[2]["predicate"] == "cooperatesWith"
    ]
    suggested = [e for e in seed_network.edges(data=True) if e[2]["suggested"]]
    assert len(data["vis"]["edges"]) == len(cooperation) + len(suggested) > 20


# --------------------------------------------------------------------------------------------
# Escaping


def _hostile_network() -> nx.MultiDiGraph:
    evidence = EdgeEvidence(
        sentence=f"{XSS_SCRIPT}与{XSS_IMG}开展合作。",
        doc_id="doc</script>",
        doc_title=XSS_IMG,
        doc_date="2024-01-01",
        start=0,
        end=10,
        rule="test",
    )
    network = nx.MultiDiGraph(documents={})
    network.add_node("a", label=XSS_SCRIPT, type="Organization", aliases=[XSS_IMG])
    network.add_node("b", label=XSS_IMG, type="Agency", documents=["doc</script>"])
    network.add_edge(
        "a", "b", key="cooperatesWith", predicate="cooperatesWith", weight=1,
        evidence=[evidence], role="</script><script>window.pwned=1</script>",
    )  # fmt: skip
    return network


def test_names_and_sentences_cannot_break_out_of_the_page() -> None:
    html = render_map(_hostile_network(), title=f"{XSS_SCRIPT}地图")
    assert "<script>window" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;地图" in html  # the title, escaped
    assert len(re.findall(r"</script\s*>", html, re.I)) == 3
    data = page_data(html)
    assert labels(data) == [XSS_SCRIPT, XSS_IMG]  # the JSON gives the text back unchanged
    assert data["edgeInfo"][0]["e"][0][0] == f"{XSS_SCRIPT}与{XSS_IMG}开展合作。"


def test_script_json_escapes_markup_and_line_separators() -> None:
    text = script_json({"a": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


# --------------------------------------------------------------------------------------------
# Ego maps and the map command


def test_ego_network_reaches_neighbours_in_both_directions(seed_network, seed_rdf) -> None:
    ego = ego_network(seed_network, "湘潭市", depth=1)
    names = {a["label"] for a in ego.nodes.values()}
    # 湘潭市 is partOf 湖南省 (outgoing) and 湘潭经济技术开发区 is partOf 湘潭市 (incoming)
    assert {"湘潭市", "湖南省", "湘潭经济技术开发区", "长沙市", "株洲市"} <= names
    assert len(names) == len(rdf_neighbours(seed_rdf, "湘潭市")) + 1
    assert ego.graph["centre"] == next(n for n, a in ego.nodes.items() if a["label"] == "湘潭市")
    assert ego_network(seed_network, "湘潭", depth=0).number_of_nodes() == 1  # an alias works


def test_ego_network_type_filter_walks_only_through_those_types(seed_network) -> None:
    ego = ego_network(seed_network, "湘潭市", depth=2, types=["City", "Park"])
    kinds = {a["type"] for n, a in ego.nodes.items() if n != ego.graph["centre"]}
    assert kinds == {"City", "Park"}
    assert ego.number_of_nodes() > 5


def test_ego_network_errors_name_the_problem(seed_network) -> None:
    with pytest.raises(EntityNotFoundError, match="湘潭高新区"):
        ego_network(seed_network, "湘潭高新")
    with pytest.raises(InputError, match="unknown entity type.*Town"):
        ego_network(seed_network, "湘潭市", types=["Town"])


def test_ego_map_is_radial_around_its_centre(seed_network) -> None:
    data = build_map(ego_network(seed_network, "株洲市", depth=1), kind="ego").page_data("t")
    centre = next(
        n for n, i in zip(data["vis"]["nodes"], data["nodeInfo"], strict=True) if "c" in i
    )
    assert centre["label"] == "株洲市" and (centre["x"], centre["y"]) == (0, 0)
    assert data["physics"] is False  # the rings are kept as laid out


def test_map_command_writes_an_ego_map(seed_kg: Path, seed_rdf, tmp_path: Path, capsys) -> None:
    out = tmp_path / "ego.html"
    code = main(["map", "湘潭市", "--depth", "1", "--graph", str(seed_kg), "--out", str(out)])
    assert code == 0
    expected = len(rdf_neighbours(seed_rdf, "湘潭市")) + 1
    assert f"湘潭市: {expected} entities" in capsys.readouterr().out
    data = page_data(out.read_text(encoding="utf-8"))
    assert data["kind"] == "ego" and len(data["vis"]["nodes"]) == expected


def test_map_command_default_path_and_types(seed_kg: Path, tmp_path: Path, capsys) -> None:
    graph = tmp_path / "kg.ttl"
    graph.write_bytes(seed_kg.read_bytes())
    assert main(["map", "株洲市", "--types", "City", "Province", "--graph", str(graph)]) == 0
    written = tmp_path / "map-株洲市-1.html"
    assert str(written) in capsys.readouterr().out
    kinds = {t["key"] for t in page_data(written.read_text(encoding="utf-8"))["types"]}
    assert kinds <= {"City", "Province"}


def test_map_command_errors_are_one_line(seed_kg: Path, tmp_path: Path, capsys) -> None:
    assert main(["map", "不存在的单位", "--graph", str(seed_kg)]) == 1
    assert capsys.readouterr().err.strip() == "Error: no entity named 不存在的单位"
    assert main(["map", "湘潭市", "--graph", str(tmp_path / "none.ttl")]) == 1
    assert "no such graph file" in capsys.readouterr().err
    assert main(["map", "湘潭市", "--graph", str(seed_kg), "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith(f"Error: {tmp_path}: cannot write the map")
