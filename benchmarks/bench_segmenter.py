"""The extraction's segmenter against bare ``jieba.lcut`` (issue 7).

    python benchmarks/bench_segmenter.py [--corpus DIR] [-n 300]

CPU seconds of ``jieba.lcut`` and of ``kg.nlp.prepared_segmenter()`` (the same words: tested in
tests/test_segmenter.py) over two texts in one process: the 20,000 random strings of
tests/test_segmenter.py (little repetition) and ``-n`` generated documents (made in
``--corpus`` if missing), whose recombined sentences repeat: the segmenter's memoised
probabilities pay off more there. The segmenter's first pass (cold memo) and a second pass are
both printed. Not part of the test suite.
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
sys.path.insert(0, str(ROOT / "tests"))


def cpu_seconds(cut: Callable[[str], list[str]], texts: list[str]) -> float:
    started = time.process_time()
    for text in texts:
        cut(text)
    return time.process_time() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/czt-bench-corpus-300"))
    parser.add_argument("-n", type=int, default=300, help="generated documents (300)")
    args = parser.parse_args(argv)

    import jieba
    import make_corpus
    from test_segmenter import _random_strings

    from kg.nlp import prepared_segmenter

    if len(list(args.corpus.glob("*.txt"))) < args.n:
        make_corpus.write_corpus(args.corpus, args.n)
    paths = sorted(args.corpus.glob("*.txt"))[: args.n]
    generated = [p.read_text(encoding="utf-8") for p in paths]
    segment = prepared_segmenter()  # (loads jieba's dictionary and the project's words)
    for name, texts in (("random strings", _random_strings(20000)), ("generated", generated)):
        chars = sum(map(len, texts))
        bare = cpu_seconds(jieba.lcut, texts)
        first = cpu_seconds(segment, texts)
        again = cpu_seconds(segment, texts)
        print(
            f"{name}: {chars:,} characters; jieba.lcut {chars / bare:,.0f}/s; segmenter "
            f"{chars / first:,.0f}/s first pass ({bare / first:.1f} ×), "
            f"{chars / again:,.0f}/s again ({bare / again:.1f} ×)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
