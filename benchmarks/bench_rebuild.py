"""Where a one-document rebuild spends its time.

Adds the next generated document to a corpus made by ``make_corpus.py`` whose build is in
``--out``, rebuilds in this process (one worker, no maps), prints the stage times and the wall time
of the main functions of the cross-document stages, then takes the document out again. The
functions are wrapped with timers (no profiler: cProfile doubles the time of this Python-heavy
code and shifts it towards small functions). ``bench_build.py`` gives the figure to compare with
the clean build; this script says where the rebuild's seconds go.

    python benchmarks/make_corpus.py /tmp/corpus-10000 -n 10000
    python -m kg build --corpus /tmp/corpus-10000 --out /tmp/out-10000 --workers 1 --no-maps
    python benchmarks/bench_rebuild.py --corpus /tmp/corpus-10000 --out /tmp/out-10000
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_corpus  # noqa: E402
from bench_build import forget_extraction  # noqa: E402

from kg.pipeline import BuildOptions, build  # noqa: E402

# What is timed: "module:attribute" or "module:Class.method".
TIMED = (
    "kg.pipeline:unpack_rows",
    "kg.pipeline:_content_hash",
    "kg.pipeline:_resolve",
    "kg.resolve:resolve_incrementally",
    "kg.resolve:ResolutionState.loads",
    "kg.resolve:ResolutionState.dumps",
    "kg.resolve:_spelling_variants",
    "kg.resolve:_Resolution.read",
    "kg.resolve:_Resolution.output",
    "kg.pipeline:ExtractedPlaces.__init__",
    "kg.rdf:GraphBlocks.__init__",
    "kg.pipeline:network_from_data",
    "kg.analysis:analyse",
    "kg.analysis:collaboration_network",
    "kg.analysis:pagerank",
    "kg.analysis:betweenness",
    "kg.analysis:communities",
    "kg.analysis:suggest_links",
    "kg.analysis:city_matrix",
    "kg.report:render_report",
    "kg.pipeline:StagedTables.write",
    "kg.pipeline:GraphStream.add_keyed",
    "kg.rdf:GraphWriter.add_copied",
    "kg.rdf:GraphWriter.add_block",
    "kg.rdf:BlockReuse.load",
    "kg.rdf:GraphWriter.save_index",
    "kg.pipeline:_write_tables",
)


def _timed(function: Callable, name: str, seconds: dict[str, float]) -> Callable:
    @functools.wraps(function)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started

    return timed


def wrap(targets: tuple[str, ...], seconds: dict[str, float]) -> None:
    """Replace each target with a timed version, wherever a kg module holds it (a function
    imported into another module is looked up there)."""
    for target in targets:
        module_name, _, path = target.partition(":")
        module = sys.modules.get(module_name) or __import__(module_name, fromlist=["_"])
        owner_name, _, attribute = path.rpartition(".")
        owner = getattr(module, owner_name) if owner_name else module
        original = owner.__dict__[attribute] if owner_name else getattr(module, attribute)
        if isinstance(original, classmethod):
            setattr(owner, attribute, classmethod(_timed(original.__func__, path, seconds)))
            continue
        timed = _timed(original, path, seconds)
        if owner_name:
            setattr(owner, attribute, timed)
            continue
        for name, loaded in list(sys.modules.items()):
            if (name == "kg" or name.startswith("kg.")) and getattr(loaded, attribute, None) is (
                original
            ):
                setattr(loaded, attribute, timed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a make_corpus.py corpus")
    parser.add_argument("--out", type=Path, required=True, help="its build's output folder")
    parser.add_argument("--runs", type=int, default=1, help="rebuilds to time (default 1)")
    parser.epilog = "Only the first run loads the extraction pipeline (later ones reuse it)."
    args = parser.parse_args(argv)
    folder = args.corpus.resolve()
    if not folder.is_dir():
        parser.error(f"{folder}: no such folder (make one with benchmarks/make_corpus.py)")
    options = BuildOptions(corpus=folder, out=args.out, workers=1, maps=False)
    count = sum(1 for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    print(f"# one document added to {count:,}: {folder} → {args.out}", flush=True)
    seconds: dict[str, float] = {}
    wrap(TIMED, seconds)
    for run in range(args.runs):
        # The corpus without the document, in another process: this one loads the extraction
        # pipeline for the new document, as a command-line rebuild does.
        before = subprocess.run(
            [sys.executable, "-m", "kg", "build", "--corpus", str(folder), "--out", str(args.out)]
            + ["--workers", "1", "--no-maps"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if before.returncode:
            print(before.stderr.strip().splitlines()[-1], file=sys.stderr)
            return before.returncode
        added = make_corpus.write_corpus(folder, 1, start=count)[0]
        try:
            forget_extraction(args.out, added)  # extracted anew in every run, as the first time
            seconds.clear()  # (not the build without the document)
            started = time.perf_counter()
            result = build(options)
            wall = time.perf_counter() - started
        finally:
            added.unlink()
        stages = ", ".join(f"{name} {value:.2f}" for name, value in result.stage_seconds.items())
        print(
            f"\nrun {run + 1}: {wall:.2f} s in build() ({stages}); cache hits {result.cache_hits}"
        )
        for name, value in sorted(seconds.items(), key=lambda item: -item[1]):
            print(f"  {name:40} {value:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
