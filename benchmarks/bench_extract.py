"""Extraction throughput against bare ``jieba.lcut`` on the same generated text (issue 7).

    python benchmarks/bench_extract.py [-n 100] [--corpus DIR] [--repeat 3] [--stages]

Reads a generated corpus (``benchmarks/make_corpus.py``; made in ``--corpus`` if missing), then
in one process: bare ``jieba.lcut`` over the documents' cleaned text (jieba's own dictionary,
before the pipeline adds its words), the pipeline load, and ``kg.extract.extract_document``
(mentions and relation candidates) over the same documents. Each is timed ``--repeat`` times;
the best pass is reported with wall-clock and CPU seconds (the CPU figures are steadier on a
shared machine), and the first extraction pass (cold per-word caches) as well. ``--stages``
adds the time of the tokenizer and of each pipeline component. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TARGET_JIEBA_SHARE = 0.40


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def best(times: list[tuple[float, float]]) -> tuple[float, float]:
    return min(t[0] for t in times), min(t[1] for t in times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--documents", type=int, default=100)
    parser.add_argument("--corpus", type=Path, help="default: /tmp/czt-bench-extract-N")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stages", action="store_true", help="time each pipeline component")
    args = parser.parse_args(argv)

    import make_corpus

    from kg.corpus import read_document

    folder = args.corpus or Path(f"/tmp/czt-bench-extract-{args.documents}")
    if len(list(folder.glob("*.txt"))) < args.documents:
        make_corpus.write_corpus(folder, args.documents)
    paths = sorted(folder.glob("*.txt"))[: args.documents]
    documents = [read_document(path) for path in paths]
    texts = [document.text for document in documents]
    chars = sum(map(len, texts))
    print(f"{len(documents)} documents, {chars:,} characters (cleaned) from {folder}")

    import jieba

    jieba.initialize()
    lcut = best([timed(lambda: [jieba.lcut(text) for text in texts]) for _ in range(args.repeat)])

    from kg.extract import extract_document
    from kg.pipeline import prepare_worker

    load = timed(prepare_worker)
    runs = [
        timed(lambda: [extract_document(document) for document in documents])
        for _ in range(args.repeat)
    ]
    first, extract = runs[0], best(runs)

    print(f"pipeline load: {load[0]:.2f} s")
    print(f"{'':24}{'wall s':>8}{'chars/s':>10}{'cpu s':>8}{'chars/s':>10}")
    for label, (wall, cpu) in (
        ("jieba.lcut (best)", lcut),
        ("extraction (first pass)", first),
        ("extraction (best)", extract),
    ):
        print(f"{label:24}{wall:8.2f}{chars / wall:10,.0f}{cpu:8.2f}{chars / cpu:10,.0f}")
    wall_ratio, cpu_ratio = lcut[0] / extract[0], lcut[1] / extract[1]
    print(
        f"ratio extraction / jieba.lcut: wall {wall_ratio:.2f}, cpu {cpu_ratio:.2f} "
        f"(target for the whole build: {TARGET_JIEBA_SHARE:.2f})"
    )

    if args.stages:
        from kg.extract import extract_mentions
        from kg.nlp import shared_pipeline
        from kg.relations import extract_relations

        nlp = shared_pipeline()
        totals: dict[str, float] = {}

        def add(name: str, seconds: float) -> None:
            totals[name] = totals.get(name, 0.0) + seconds

        for document in documents:
            started = time.process_time()
            doc = nlp.make_doc(document.text)
            now = time.process_time()
            add("tokenizer", now - started)
            for name, component in nlp.pipeline:
                started = now
                doc = component(doc)
                now = time.process_time()
                add(name, now - started)
            mentions = extract_mentions(document)
            add("extract_mentions", time.process_time() - now)
            now = time.process_time()
            extract_relations(document, mentions)
            add("extract_relations", time.process_time() - now)
        pipeline = sum(v for k, v in totals.items() if not k.startswith("extract_"))
        totals["extract_mentions"] -= pipeline  # what it does after the spaCy pipeline
        totals = {
            k.replace("extract_mentions", "mentions after pipeline"): v for k, v in totals.items()
        }
        print("cpu s per stage: " + " · ".join(f"{k} {v:.2f}" for k, v in totals.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
