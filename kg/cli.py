"""Command line: a thin layer over the library. Errors become one ``Error: …`` line and an exit
code; ``--debug`` shows the traceback instead."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path

from kg.errors import KGError

EPILOG = """examples:
  python -m kg build                       # corpus/ → outputs/ (kg.ttl, maps, report)
  python -m kg entity 湘潭市                # an entity: IRI, type, labels, documents, mentions
  python -m kg eval --gold tests/data/gold  # precision/recall/F1 against gold annotations
  python -m kg collab 湘潭高新区             # ranked partners with evidence
  python -m kg path 韶山高新区 雨花经开区      # shortest path, every hop with its evidence
  python -m kg query --list                 # the gallery of SPARQL questions
  python -m kg map 湘潭市 --depth 2          # an ego map around one entity
  python -m kg serve                        # a SPARQL endpoint on http://127.0.0.1:7878/
"""


# A finished build's result, kept to the end of the process: what is left in memory then is
# only to be freed (see exit_process).
_kept_until_exit: list[object] = []


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high`` (None: no upper bound)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            allowed = f"at least {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"{text} is out of range ({allowed})")
        return value

    return parse


def positive_seconds(text: str) -> float:
    """An argparse type: a number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:  # (NaN too)
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds above 0")
    return value


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corpus", type=Path, default=Path("corpus"), help="input folder (default: corpus/)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("outputs"), help="output folder (default: outputs/)"
    )
    parser.add_argument(
        "--workers",
        type=bounded_int(0),
        default=0,
        help="worker processes for the per-document stages (default: one per core)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="ignore and rebuild the per-document cache (outputs/.cache/)",
    )
    parser.add_argument(
        "--executor",
        choices=["process", "dask"],
        default="process",
        help="where per-document stages run (default: a local process pool)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        help="dask scheduler address (with --executor dask; default: a LocalCluster)",
    )
    parser.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="also write the graph to a SPARQL store through the Graph Store Protocol "
        "(e.g. http://127.0.0.1:7878/store; see docs/scale.md)",
    )
    parser.add_argument("--no-maps", action="store_true", help="skip the HTML maps")
    parser.add_argument(
        "--no-analysis",
        action="store_true",
        help="skip the collaboration analysis (no report.md, no metrics in the graph)",
    )
    parser.add_argument(
        "--validation",
        choices=["auto", "shacl", "fast"],
        default="auto",
        help="SHACL check: pySHACL (shacl), the one-pass validator of the same shapes (fast), "
        "or pySHACL up to 10,000 triples and fast above (auto, the default)",
    )


def run_build(args: argparse.Namespace) -> int:
    from kg.pipeline import BuildOptions, build

    options = BuildOptions(
        corpus=args.corpus,
        out=args.out,
        workers=args.workers,
        use_cache=not args.no_cache,
        executor=args.executor,
        scheduler=args.scheduler,
        store=args.store,
        maps=not args.no_maps,
        analysis=not args.no_analysis,
        validation=args.validation,
    )
    result = build(options, log=_log)
    print(result.summary())
    _kept_until_exit.append(result)  # (freed by the process's end, not object by object)
    return 0


def run_entity(args: argparse.Namespace) -> int:
    from kg.inspect import describe_entity

    print(describe_entity(args.name, graph_path=args.graph, mentions_path=args.mentions))
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from kg.evaluate import evaluate_build

    report = evaluate_build(
        gold_dir=args.gold, corpus=args.corpus, out=args.out, rebuild=args.rebuild
    )
    print(report.render(details=args.details))
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="python -m kg",
        description="CZT-KG: a knowledge graph of 长株潭 integration from Chinese news and policy documents.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    main_parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = main_parser.add_subparsers(dest="command", metavar="COMMAND")

    build_parser = sub.add_parser("build", help="build the knowledge graph: corpus/ → outputs/")
    add_build_arguments(build_parser)
    build_parser.set_defaults(func=run_build)

    entity_parser = sub.add_parser(
        "entity", help="show an entity: IRI, type, labels, documents, mentions, merges"
    )
    entity_parser.add_argument("name", help="a name or alias, e.g. 湘潭市")
    entity_parser.add_argument(
        "--graph",
        type=Path,
        default=Path("outputs/kg.ttl"),
        help="graph file (default: outputs/kg.ttl)",
    )
    entity_parser.add_argument(
        "--mentions",
        type=Path,
        default=Path("outputs/mentions.csv"),
        help="mentions file (default: outputs/mentions.csv)",
    )
    entity_parser.set_defaults(func=run_entity)

    eval_parser = sub.add_parser(
        "eval", help="score extraction against gold annotations (P/R/F1 per type)"
    )
    eval_parser.add_argument(
        "--gold",
        type=Path,
        required=True,
        help="folder of gold JSON files (see tests/data/gold/README.md)",
    )
    eval_parser.add_argument(
        "--corpus", type=Path, default=Path("corpus"), help="corpus folder (default: corpus/)"
    )
    eval_parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="build folder to load (default: build into a temporary folder)",
    )
    eval_parser.add_argument(
        "--rebuild", action="store_true", help="rebuild even if --out holds a graph"
    )
    eval_parser.add_argument(
        "--details",
        action="store_true",
        help="also list false negatives, false positives and missed relations",
    )
    eval_parser.set_defaults(func=run_eval)

    for module, adder in (
        ("kg.cli_analysis", "add_analysis_parsers"),
        ("kg.cli_query", "add_query_parser"),
        ("kg.cli_query", "add_serve_parser"),
        ("kg.cli_map", "add_map_parser"),
    ):
        import importlib
        import importlib.util

        if importlib.util.find_spec(module) is not None:
            getattr(importlib.import_module(module), adder)(sub)
    return main_parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parser()
    args = arguments.parse_args(argv)
    if not getattr(args, "func", None):
        arguments.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KGError as exc:
        if args.debug:
            raise
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_gone()
    except OSError as exc:  # a file or folder the command cannot read or write (--out /dev/null/x)
        if args.debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"Error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1


# What a shell reports for a writer whose reader went away (128 + SIGPIPE).
EXIT_READER_GONE = 141


def _reader_gone() -> int:
    """The reader of standard output went away (``… | head``): stop quietly, as a Unix tool
    does, with standard output sent nowhere so that flushing it at exit cannot fail again."""
    with suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_READER_GONE


def exit_process(code: int) -> None:
    """End the command-line process with ``code``. After a build, without tearing down its
    heap: freeing millions of objects one by one takes seconds (2.9 s of a 10,000-document
    build), and the operating system reclaims the memory at once. Outputs are complete and
    synced by then; other commands exit as usual (their atexit handlers run)."""
    try:
        sys.stdout.flush()  # (what is still buffered: its reader may be gone by now)
    except BrokenPipeError:
        code = _reader_gone()
    if not _kept_until_exit:
        sys.exit(code)
    sys.stderr.flush()
    os._exit(code)


def build_main(argv: Sequence[str] | None = None) -> int:
    """``python build_graph.py [--corpus DIR] [--out DIR]``: the same as ``python -m kg build``."""
    return main(["build", *(sys.argv[1:] if argv is None else argv)])
