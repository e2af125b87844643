"""Time and memory of the collaboration analysis alone, on generated corpora.

    python benchmarks/make_corpus.py /tmp/corpus-1000 -n 1000
    python benchmarks/bench_analysis.py /tmp/corpus-1000 [/tmp/corpus-10000 …] [--workers 2]

For each corpus the per-document stages run once through the build's cache (``--cache-root``,
one folder per corpus), the resolved data becomes the relation network
(``kg.pipeline.network_from_data``), pickled there for the next runs; then each step of
``kg.analysis.analyse`` runs in turn, as the build calls it (betweenness sampled from
``BETWEENNESS_SAMPLE`` sources), followed by ``write_metrics``. Each corpus is measured in its own child process, so the peak RSS
printed is that corpus's: before the analysis (the resolved data and the network) and at the end.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def load_network(corpus: Path, cache_root: Path, workers: int):  # noqa: ANN201
    """The relation network of a corpus, as the build makes it (pickled once, then reused).

    The per-document cache of the build depends on the extractor's code; the pickle does not, so
    the analysis can be measured before and after a change on exactly the same network.
    """
    import pickle

    from kg.pipeline import BuildOptions, StageTimer, extract_corpus, network_from_data
    from kg.resolve import resolve

    folder = cache_root / corpus.resolve().name
    saved = folder / "network.pickle"
    if saved.is_file():
        with saved.open("rb") as file:
            return pickle.load(file)
    options = BuildOptions(corpus=corpus, out=folder, workers=workers)
    extraction = extract_corpus(options, lambda msg: print(msg, file=sys.stderr), StageTimer())
    network = network_from_data(resolve(extraction.extractions))
    with saved.open("wb") as file:
        pickle.dump(network, file, protocol=pickle.HIGHEST_PROTOCOL)
    return network


def measure(corpus: Path, cache_root: Path, workers: int) -> dict[str, object]:
    """Load one corpus's network and time every analysis step on it."""
    from rdflib import Graph

    from kg import analysis
    from kg.pipeline import BETWEENNESS_SAMPLE

    started = time.perf_counter()
    network = load_network(corpus, cache_root, workers)
    figures: dict[str, object] = {
        "corpus": str(corpus),
        "documents": len(network.graph.get("documents", {})),
        "nodes": network.number_of_nodes(),
        "relations": network.number_of_edges(),
        "load_s": round(time.perf_counter() - started, 1),
        "rss_before_mb": round(_peak_mb()),
    }
    steps: dict[str, float] = {}

    def step(name: str, run):  # noqa: ANN001, ANN202
        began = time.perf_counter()
        value = run()
        steps[name] = round(time.perf_counter() - began, 2)
        return value

    # The steps of analysis.analyse, one by one, as the build runs them.
    collab = step("collaboration", lambda: analysis.collaboration_network(network))
    ranks = step("pagerank", lambda: analysis.pagerank(network))
    between = step(
        "betweenness", lambda: analysis.betweenness(collab, k=BETWEENNESS_SAMPLE, seed=42)
    )
    found = step("communities", lambda: analysis.communities(collab, ranks, seed=42))
    brokers = step("brokers", lambda: analysis.brokers(collab, between, found))
    cities = step("city_matrix", lambda: analysis.city_matrix(network, collab))
    loads = step("responsibility", lambda: analysis.responsibility_load(network))
    degrees = step("degree", lambda: analysis.degree(network))
    suggestions = step("suggestions", lambda: analysis.suggest_links(collab))
    result = analysis.AnalysisResult(
        network=network,
        collaboration=collab,
        pagerank=ranks,
        degree=degrees,
        betweenness=between,
        communities=tuple(found),
        community_of=analysis.community_membership(found),
        brokers=tuple(brokers),
        city_matrix=cities,
        responsibility=loads,
        suggestions=tuple(suggestions),
    )
    step("write_metrics", lambda: analysis.write_metrics(Graph(), result))
    figures.update(
        collab_nodes=collab.number_of_nodes(),
        collab_edges=collab.number_of_edges(),
        hubs=len(collab.graph.get("hubs", {})),
        communities=len(found),
        brokers=len(brokers),
        top_suggestion=f"{suggestions[0].score:.3f}" if suggestions else "-",
        steps=steps,
        analysis_s=round(sum(steps.values()), 1),
        rss_peak_mb=round(_peak_mb()),
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="+", type=Path, help="corpus folders")
    parser.add_argument("--workers", type=int, default=2, help="for extracting uncached documents")
    parser.add_argument("--cache-root", type=Path, default=Path("/tmp/czt-bench-analysis"))
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.corpora[0], args.cache_root, args.workers)))
        return 0
    rows = []
    for corpus in args.corpora:
        command = [sys.executable, __file__, str(corpus), "--one"]
        command += ["--workers", str(args.workers), "--cache-root", str(args.cache_root)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps(figures, ensure_ascii=False), flush=True)
        rows.append(figures)
    print()
    print(
        "| documents | relations | collab nodes | collab edges | hubs | analysis (s) "
        "| RSS before (MB) | peak RSS (MB) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for f in rows:
        print(
            f"| {f['documents']:,} | {f['relations']:,} | {f['collab_nodes']:,} "
            f"| {f['collab_edges']:,} | {f['hubs']} | {f['analysis_s']} "
            f"| {f['rss_before_mb']:,} | {f['rss_peak_mb']:,} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
