"""What a rebuild spends finding what changed: the keys of the graph's blocks and of the tables'
chunks, in this process, on a built corpus.

Reads the extractions from the cache of a build in ``--out`` (run ``kg build`` first), resolves
them, then times ``--repeat`` times (the fastest kept: this machine's speed drifts) what the
cross-document stages compute before they know which blocks and chunks to copy: where the
mentions and pieces of evidence lie (``ExtractedPlaces``), the graph's blocks with every key
(``GraphBlocks``), and the chunk keys of ``relations.csv`` and ``mentions.csv``.

    python -m kg build --corpus /tmp/corpus-10000 --out /tmp/out-10000 --workers 1 --no-maps
    python benchmarks/bench_keys.py --corpus /tmp/corpus-10000 --out /tmp/out-10000
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.pipeline import (  # noqa: E402
    BuildOptions,
    ExtractedPlaces,
    StageTimer,
    extract_corpus,
    mention_chunks,
    relation_chunks,
)
from kg.rdf import GraphBlocks  # noqa: E402
from kg.resolve import resolve  # noqa: E402


def fastest(function: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a built corpus")
    parser.add_argument("--out", type=Path, required=True, help="its build's output folder")
    parser.add_argument("--repeat", type=int, default=5, help="timings to take the fastest of")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    options = BuildOptions(corpus=args.corpus, out=args.out, workers=1, maps=False)
    gc.disable()  # as in the build (kg.pipeline.gc_paused)
    corpus = extract_corpus(options, lambda _message: None, StageTimer())
    if corpus.cache_hits < len(corpus.documents):
        print(f"warning: {len(corpus.documents) - corpus.cache_hits} documents not from the cache")
    data = resolve(corpus.extractions)
    gc.freeze()
    print(
        f"# {len(data.documents):,} documents, {len(data.entities):,} entities, "
        f"{len(data.relations):,} relations, {len(data.mentions):,} mentions "
        f"(fastest of {args.repeat})"
    )

    def places() -> ExtractedPlaces:
        return ExtractedPlaces(data, corpus.extractions)

    def blocks() -> list[bytes]:
        graph = GraphBlocks(data, places().relation_evidence)
        return [graph[index][0] for index in range(len(graph))]

    found = places()
    timings = {
        "places and the graph's blocks with their keys": blocks,
        "relations.csv chunk keys": lambda: [k for k, _ in relation_chunks(data, found)],
        "mentions.csv chunk keys": lambda: [k for k, _ in mention_chunks(data, found)],
    }
    total = 0.0
    for name, function in timings.items():
        seconds = fastest(function, args.repeat)
        total += seconds
        print(f"  {name:48} {seconds:6.3f} s")
    print(f"  {'total':48} {total:6.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
