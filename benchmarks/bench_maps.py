"""Map size, layout time and time until interactive in headless Chromium, for growing graphs.

    python benchmarks/bench_maps.py [--graph outputs/kg.ttl] [--sizes 200 2000 10000] [--runs 3]

Synthetic graphs have the real graph's shape: every synthetic entity copies a random entity of
the real graph (``--graph``; its type, aliases, documents and, as expected degree, its number of
distinct neighbours), edges come from a Chung–Lu random graph on those degrees (so the degree
distribution, hubs and isolated entities are like the real graph's), and every edge copies a
real edge between the same two types (its predicate, evidence sentences and documents),
suggested links included. PageRank is computed as the build does (kg.analysis.pagerank).

Printed per size: nodes, edges, HTML size, layout time in Python (kg.visualize
.layout_positions), the whole map build (layout included), and in Chromium (Debian's
/usr/bin/chromium, headless, file://, network blocked) the time from navigation start until the
page reports it is interactive (``window.cztReadyAt``: first drawing after physics stopped),
median of ``--runs`` page loads, plus how long a type filter, a search (the list of matches)
and highlighting a node's neighbours (a click) take once loaded, until drawn.
Targets: 10,000 nodes laid out in under 10 s, interactive within 5 s. Not part of the tests.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import networkx as nx
from rdflib import Graph

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.analysis import pagerank  # noqa: E402
from kg.network import rdf_to_networkx  # noqa: E402
from kg.visualize import layout_positions, render_map  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
DEFAULT_GRAPH = ROOT / "outputs" / "kg.ttl"
FALLBACK_GRAPH = ROOT / "tests" / "data" / "sample_kg.ttl"
LAYOUT_TARGET_S, INTERACTIVE_TARGET_S = 10.0, 5.0


def synthetic_network(real: nx.MultiDiGraph, size: int, seed: int = 7) -> nx.MultiDiGraph:
    """A graph of ``size`` entities shaped like ``real`` (see the module docstring)."""
    rng = random.Random(seed)
    real_nodes = sorted(real)
    undirected = real.to_undirected(as_view=True)
    real_degree = {n: len(set(undirected[n]) - {n}) for n in real_nodes}
    by_types: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for u, v, data in real.edges(data=True):
        pair = tuple(sorted((real.nodes[u]["type"], real.nodes[v]["type"])))
        by_types[pair].append(data | {"_forward": real.nodes[u]["type"] == pair[0]})
    every_edge = [d for edges in by_types.values() for d in edges]

    network = nx.MultiDiGraph(documents=dict(real.graph.get("documents", {})))
    template = [rng.choice(real_nodes) for _ in range(size)]
    for i, original in enumerate(template):
        attrs = real.nodes[original]
        network.add_node(
            f"n{i}",
            label=f"{attrs['label']}·{i}",
            type=attrs["type"],
            aliases=[f"{a}·{i}" for a in attrs.get("aliases", ())],
            documents=list(attrs.get("documents", ())),
        )
    weights = [real_degree[original] for original in template]
    shape = nx.expected_degree_graph(weights, seed=seed, selfloops=False)
    for a, b in sorted(shape.edges()):
        u, v = f"n{a}", f"n{b}"
        pair = tuple(sorted((network.nodes[u]["type"], network.nodes[v]["type"])))
        data = dict(rng.choice(by_types.get(pair) or every_edge))
        if network.nodes[u]["type"] != (pair[0] if data.pop("_forward") else pair[1]):
            u, v = v, u
        network.add_edge(u, v, key=data["predicate"], **data)
    ranks = pagerank(network)
    for node, rank in ranks.items():
        network.nodes[node]["pagerank"] = rank
    return network


def measure_browser(paths: list[Path], runs: int) -> dict[Path, dict[str, float]]:
    """Per map: median ms until interactive, and ms for a type filter and a search."""
    from playwright.sync_api import sync_playwright

    found: dict[Path, dict[str, float]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for path in paths:
            ready, filters, searches, focuses = [], [], [], []
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                blocked: list[str] = []
                context.route(
                    "**/*",
                    lambda route, blocked=blocked: (
                        route.continue_()
                        if route.request.url.startswith("file://")
                        else (blocked.append(route.request.url), route.abort())
                    ),
                )
                page = context.new_page()
                page.goto(path.as_uri())
                page.wait_for_function("window.cztReady === true", timeout=120_000, polling=20)
                ready.append(page.evaluate("window.cztReadyAt"))
                filters.append(
                    page.evaluate(
                        """() => new Promise(done => { const t = performance.now();
                             cztMap.network.once('afterDrawing', () => done(performance.now() - t));
                             cztMap.setType('Agency', false); })"""
                    )
                )
                searches.append(
                    page.evaluate(
                        """() => { const t = performance.now(); const box = document
                             .getElementById('search'); box.value = '湘潭';
                             box.dispatchEvent(new Event('input')); return performance.now() - t; }"""
                    )
                )
                focuses.append(
                    page.evaluate(
                        """() => new Promise(done => { const t = performance.now();
                             cztMap.network.once('afterDrawing', () => done(performance.now() - t));
                             cztMap.focusNode(cztMap.find('湘潭')[0].id, false); })"""
                    )
                )
                assert not blocked, f"{path.name} tried to fetch {blocked}"
                context.close()
            found[path] = {
                "ready": statistics.median(ready),
                "filter": statistics.median(filters),
                "search": statistics.median(searches),
                "focus": statistics.median(focuses),
            }
        browser.close()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", type=Path, default=None, help="real graph to imitate")
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000, 10000])
    parser.add_argument("--runs", type=int, default=3, help="page loads per map (median)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the maps in this folder")
    args = parser.parse_args()

    source = args.graph or (DEFAULT_GRAPH if DEFAULT_GRAPH.exists() else FALLBACK_GRAPH)
    real = rdf_to_networkx(Graph().parse(source))
    types = Counter(a["type"] for a in real.nodes.values())
    print(f"shape from {source}: {real.number_of_nodes()} entities, {real.number_of_edges()} edges")
    print("  types: " + ", ".join(f"{t} {n / len(real):.0%}" for t, n in types.most_common()))

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_maps_"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in args.sizes:
        network = synthetic_network(real, size)
        started = time.perf_counter()
        layout_positions(network)
        layout = time.perf_counter() - started
        started = time.perf_counter()
        html = render_map(network, title=f"synthetic {size}")
        build = time.perf_counter() - started
        path = folder / f"map-{size}.html"
        path.write_text(html, encoding="utf-8")
        rows.append((size, network.number_of_edges(), path, layout, build))
        print(f"  {size} nodes: layout {layout:.2f} s, map {build:.2f} s → {path}", flush=True)

    browser = measure_browser([r[2] for r in rows], args.runs) if Path(CHROMIUM).exists() else {}
    if not browser:
        print(f"({CHROMIUM} not found: no browser timings)")
    print()
    print(
        "| nodes | edges | HTML | layout (Python) | map build (incl. layout) "
        "| interactive (Chromium) | type filter | search | highlight neighbours |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size, edges, path, layout, build in rows:
        timing = browser.get(path)
        in_browser = (
            f"{timing['ready'] / 1000:.2f} s | {timing['filter']:.0f} ms | {timing['search']:.0f} ms "
            f"| {timing['focus']:.0f} ms"
            if timing
            else "– | – | – | –"
        )
        print(
            f"| {size:,} | {edges:,} | {path.stat().st_size / 1e6:.1f} MB | {layout:.2f} s "
            f"| {build:.2f} s | {in_browser} |"
        )
    biggest = rows[-1]
    ok_layout = biggest[3] < LAYOUT_TARGET_S
    ok_ready = bool(browser) and browser[biggest[2]]["ready"] / 1000 < INTERACTIVE_TARGET_S
    print(
        f"\ntargets at {biggest[0]:,} nodes: layout < {LAYOUT_TARGET_S:.0f} s "
        f"{'met' if ok_layout else 'MISSED'}, interactive < {INTERACTIVE_TARGET_S:.0f} s "
        f"{'met' if ok_ready else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
