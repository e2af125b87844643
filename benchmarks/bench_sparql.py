"""Gallery latencies (median ms) on a graph and a synthetic million-triple one, pyoxigraph vs rdflib.

    python benchmarks/bench_sparql.py [--graph outputs/kg.ttl] [--triples 1000000] [--runs 5]

The synthetic graph replicates the seed graph: every entity, document, statement, evidence,
suggestion and community IRI is renamed per replica (``…/City/湘潭市`` → ``…/City/湘潭市~r17``)
and so are the labels and titles (``湘潭市·17``); replica 0 keeps the real names, so the gallery's
default parameters select one replica among many, as a real lookup would in a bigger graph.
rdflib queries run in a forked child that is killed after ``--rdflib-timeout`` seconds.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph as ox
from rdflib import __version__ as rdflib_version

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg import query as q  # noqa: E402
from kg.ontology import (  # noqa: E402
    COMMUNITY_BASE,
    DOCUMENT_BASE,
    ENTITY_BASE,
    EVIDENCE_BASE,
    STATEMENT_BASE,
    SUGGESTION_BASE,
    standard_prefixes,
)

SAMPLE = ROOT / "tests" / "data" / "sample_kg.ttl"
TARGET_MS = 200.0
_RENAMED_BASES = tuple(
    str(base)
    for base in (
        ENTITY_BASE,
        DOCUMENT_BASE,
        STATEMENT_BASE,
        EVIDENCE_BASE,
        SUGGESTION_BASE,
        COMMUNITY_BASE,
    )
)
_PREFIXES = standard_prefixes()
_LABELS = frozenset(
    _PREFIXES[prefix] + local
    for prefix, local in (
        ("rdfs", "label"),
        ("skos", "prefLabel"),
        ("skos", "altLabel"),
        ("dcterms", "title"),
        ("dcterms", "identifier"),
    )
)


# ------------------------------------------------------------------------------- synthetic graph


def _replica(triples: list[ox.Triple], k: int) -> Iterator[ox.Triple]:
    """Replica ``k`` of the seed triples: resource IRIs and labels renamed, the rest kept."""
    if k == 0:
        yield from triples
        return
    iri_suffix, label_suffix = f"~r{k}", f"·{k}"
    renamed: dict[str, ox.NamedNode] = {}

    def node(term: ox.NamedNode) -> ox.NamedNode:
        value = term.value
        if value not in renamed:
            own = value.startswith(_RENAMED_BASES)
            renamed[value] = ox.NamedNode(value + iri_suffix) if own else term
        return renamed[value]

    for triple in triples:
        subject, predicate, obj = triple.subject, triple.predicate, triple.object
        if isinstance(obj, ox.NamedNode):
            obj = node(obj)
        elif predicate.value in _LABELS and isinstance(obj, ox.Literal):
            obj = ox.Literal(obj.value + label_suffix, language=obj.language)
        yield ox.Triple(node(subject), predicate, obj)


def synthesize(seed: Path, target: int, cache_dir: Path) -> Path:
    """An N-Triples file of about ``target`` triples replicating ``seed`` (cached by content)."""
    digest = hashlib.sha1(seed.read_bytes()).hexdigest()[:12]
    out = cache_dir / f"synthetic-{digest}-{target}.nt"
    if out.exists():
        return out
    triples = [quad.triple for quad in ox.parse(path=seed, format=ox.RdfFormat.TURTLE)]
    replicas = max(1, math.ceil(target / len(triples)))
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".tmp")
    with partial.open("wb") as handle:
        for k in range(replicas):
            ox.serialize(_replica(triples, k), handle, format=ox.RdfFormat.N_TRIPLES)
    partial.replace(out)
    return out


# -------------------------------------------------------------------------------------- timing


def _median_ms(run: Callable[[], object], runs: int, budget: float) -> tuple[float, float]:
    """Medians (wall clock, process CPU) in ms of up to ``runs`` timed runs after one warm-up;
    stops early past ``budget`` s. CPU time shows the engine's own cost on a busy machine."""
    run()
    walls: list[float] = []
    cpus: list[float] = []
    started = time.perf_counter()
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        run()
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
        if time.perf_counter() - started > budget:
            break
    return statistics.median(walls), statistics.median(cpus)


def _child(name: str, graph: str, runs: int, budget: float, pipe) -> None:  # noqa: ANN001
    try:
        ms, _ = _median_ms(lambda: q.run_gallery(name, graph=graph, engine="rdflib"), runs, budget)
        pipe.send(("ok", ms))
    except Exception as exc:  # noqa: BLE001 - reported in the table
        pipe.send(("error", str(exc)))


def time_rdflib(name: str, graph: Path, runs: int, timeout: float) -> str:
    """rdflib's median in a forked child (it inherits the loaded graph); killed on timeout."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(name, str(graph), runs, timeout / 2, sender))
    child.start()
    try:
        if not receiver.poll(timeout):
            return "timeout"
        status, value = receiver.recv()
        return f"{value:.1f}" if status == "ok" else f"error: {value[:30]}"
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)


def bench_graph(
    graph: Path, runs: int, rdflib: bool, rdflib_timeout: float
) -> tuple[dict[str, dict[str, str]], dict[str, float]]:
    """Per question: {'oxigraph': ms, 'rdflib': ms|timeout}; and the loading times."""
    loads: dict[str, float] = {}
    t0 = time.perf_counter()
    q.oxigraph_store(graph)
    loads["oxigraph"] = time.perf_counter() - t0
    if rdflib:
        t0 = time.perf_counter()
        q.rdflib_graph(graph)
        loads["rdflib"] = time.perf_counter() - t0
    table: dict[str, dict[str, str]] = {}
    for name in q.gallery():
        row = table.setdefault(name, {})
        ms, cpu = _median_ms(lambda n=name: q.run_gallery(n, graph=graph), runs, budget=30)
        row["oxigraph"], row["cpu"] = f"{ms:.1f}", f"{cpu:.1f}"
        row["rows"] = str(len(q.run_gallery(name, graph=graph)))
        if rdflib:
            row["rdflib"] = time_rdflib(name, graph, runs, rdflib_timeout)
        print(f"  {name}: {row}", file=sys.stderr, flush=True)
    return table, loads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", type=Path, default=ROOT / "outputs" / "kg.ttl")
    parser.add_argument("--triples", type=int, default=1_000_000, help="synthetic graph size")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per question")
    parser.add_argument("--rdflib-timeout", type=float, default=20.0, help="seconds per question")
    parser.add_argument("--no-rdflib", action="store_true", help="time pyoxigraph only")
    parser.add_argument("--no-synthetic", action="store_true", help="skip the synthetic graph")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "czt-kg-bench")
    args = parser.parse_args(argv)

    started_load = os.getloadavg()[0]
    seed = args.graph
    if not seed.exists():
        print(f"{seed} not found (run python build_graph.py); using {SAMPLE}", file=sys.stderr)
        seed = SAMPLE
    graphs = [("seed", seed)]
    if not args.no_synthetic:
        t0 = time.perf_counter()
        synthetic = synthesize(seed, args.triples, args.cache)
        print(f"synthetic graph {synthetic} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        graphs.append(("synthetic", synthetic))

    results = {}
    for label, graph in graphs:
        print(f"benchmarking {label}: {graph}", file=sys.stderr, flush=True)
        table, loads = bench_graph(graph, args.runs, not args.no_rdflib, args.rdflib_timeout)
        results[label] = (graph, q.triple_count(graph), table, loads)

    header = ["question"]
    for label in results:
        header += [f"{label} rows", f"{label} oxigraph ms", "(cpu ms)"]
        if not args.no_rdflib:
            header.append(f"{label} rdflib ms")
    rows = []
    for name in q.gallery():
        row = [name]
        for _, _, table, _ in results.values():
            row += [table[name]["rows"], table[name]["oxigraph"], table[name]["cpu"]]
            if not args.no_rdflib:
                row.append(table[name]["rdflib"])
        rows.append(row)
    print()
    for label, (graph, count, _, loads) in results.items():
        load = ", ".join(f"{engine} load {seconds:.1f} s" for engine, seconds in loads.items())
        print(f"{label}: {graph} — {count:,} triples ({load})")
    print(f"median of {args.runs} runs after a warm-up; rdflib timeout {args.rdflib_timeout:g} s")
    print(
        f"pyoxigraph {ox.__version__}, rdflib {rdflib_version}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {started_load:.2f} at start"
    )
    print()
    print(q.format_table(header, rows), end="")
    if "synthetic" in results:
        worst = max(float(t["oxigraph"]) for t in results["synthetic"][2].values())
        verdict = "met" if worst <= TARGET_MS else "NOT met"
        print(
            f"\ntarget {TARGET_MS:g} ms per question on the synthetic graph (pyoxigraph): "
            f"{verdict} (slowest {worst:.1f} ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
