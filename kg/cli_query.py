"""The ``query`` and ``serve`` subcommands (argparse wiring; the work is in kg.query/kg.serve)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kg.cli import bounded_int, positive_seconds
from kg.errors import QueryError
from kg.query import (
    DEFAULT_GRAPH,
    ENGINES,
    FORMATS,
    GalleryQuery,
    format_gallery_list,
    format_result,
    gallery_query,
    load_query_file,
    name_suggestions,
    parse_param_args,
    parse_query_text,
    run_query,
)


def add_query_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``query``: SPARQL from the command line, a file, or the gallery by name."""
    parser = subparsers.add_parser(
        "query",
        help="ask the graph a SPARQL question (inline, --file or gallery --name)",
        description=(
            "Run a SPARQL query over the built graph. The czt: prefix and the standard ones "
            "(rdf, rdfs, owl, skos, org, schema, prov, dcterms, xsd, nif, czr, czd) are bound. "
            "Gallery questions take --param name=value (see --list)."
        ),
    )
    parser.add_argument("query", nargs="?", help="the SPARQL query text ('-' reads stdin)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--file", "-f", type=Path, help="read the query from a .rq file")
    source.add_argument("--name", "-n", help="run the gallery question NAME")
    source.add_argument("--list", "-l", action="store_true", help="list the gallery questions")
    parser.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter of the question (repeatable); the others keep their defaults",
    )
    parser.add_argument(
        "--graph", "-g", type=Path, default=DEFAULT_GRAPH, help=f"graph file ({DEFAULT_GRAPH})"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="output: aligned table (default), SPARQL results csv/tsv/json/xml, "
        "or turtle/ntriples/jsonld/rdfxml for CONSTRUCT/DESCRIBE",
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        help="query the graph of a SPARQL store instead of a file: its Graph Store Protocol "
        "URL, as given to `kg build --store` (see docs/scale.md)",
    )
    parser.add_argument("--engine", choices=ENGINES, default="oxigraph", help="query engine")
    parser.add_argument(
        "--timeout", type=positive_seconds, default=None, help="give up after SECONDS"
    )
    parser.add_argument(
        "--max-width",
        type=bounded_int(0),
        default=60,
        help="clip table cells to this many columns (0: never clip)",
    )
    parser.add_argument(
        "--print-query",
        action="store_true",
        help="print the query with its parameters substituted, and exit",
    )
    parser.set_defaults(func=run_query_command)
    return parser


def add_serve_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``serve``: the read-only SPARQL endpoint and the offline query page."""
    from kg.serve import DEFAULT_HOST, DEFAULT_MAX_ROWS, DEFAULT_PORT, DEFAULT_TIMEOUT

    parser = subparsers.add_parser(
        "serve",
        help="serve the graph as a read-only SPARQL endpoint with a query page",
        description=(
            "SPARQL 1.1 Protocol endpoint at /sparql (GET/POST; JSON, XML, CSV, TSV, Turtle by "
            "Accept header or format=) and an offline query page at /. Read-only."
        ),
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"interface ({DEFAULT_HOST})")
    parser.add_argument(
        "--port", type=bounded_int(0, 65535), default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})"
    )
    parser.add_argument(
        "--graph", "-g", type=Path, default=DEFAULT_GRAPH, help=f"graph file ({DEFAULT_GRAPH})"
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        help="serve the graph of a SPARQL store (its Graph Store Protocol URL), fetched at start",
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT,
        help=f"seconds before a query is answered 503 ({DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--max-rows",
        type=bounded_int(1),
        default=DEFAULT_MAX_ROWS,
        help=f"rows/triples per answer; more are cut ({DEFAULT_MAX_ROWS})",
    )
    parser.set_defaults(func=run_serve_command)
    return parser


def _query_from_args(args: argparse.Namespace) -> tuple[GalleryQuery, dict[str, str]]:
    given = [bool(args.query), bool(args.file), bool(args.name)]
    if sum(given) != 1:
        raise QueryError("give exactly one of: a QUERY, --file FILE, --name NAME (or --list)")
    params = parse_param_args(args.param)
    if args.name:
        return gallery_query(args.name), params
    if args.file:
        return load_query_file(args.file), params
    text = sys.stdin.read() if args.query == "-" else args.query
    return parse_query_text(text, "query"), params


def run_query_command(args: argparse.Namespace) -> int:
    """``kg query``: print the answer; exit 0 (also when empty, with a note on stderr)."""
    if args.list:
        sys.stdout.write(format_gallery_list())
        return 0
    query, params = _query_from_args(args)
    text = query.render(params)
    if args.print_query:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return 0
    graph = _graph_source(args)
    result = run_query(text, graph, engine=args.engine, timeout=args.timeout)
    sys.stdout.write(format_result(result, args.format, max_width=args.max_width))
    sys.stdout.flush()
    if result.is_empty:
        print("No results.", file=sys.stderr)
        _explain_empty(query, params, graph)
    elif result.form == "SELECT" and args.format == "table":
        rows = "row" if len(result) == 1 else "rows"
        print(f"({len(result)} {rows}, {result.elapsed * 1000:.1f} ms)", file=sys.stderr)
    return 0


def _graph_source(args: argparse.Namespace) -> Path | str:
    """--store URL (checked now, so a malformed one is a one-line error) or the --graph file."""
    if not args.store:
        return args.graph
    from kg.store import is_store_url, parse_store_url

    parse_store_url(args.store)
    if not is_store_url(args.store):
        raise QueryError(f"{args.store}: --store takes an http(s):// URL")
    return args.store


def _explain_empty(query: GalleryQuery, params: dict[str, str], graph: Path | str) -> None:
    """After an empty answer: say which name parameter matches no entity, and the closest."""
    for param in query.params:
        if param.type != "name":
            continue
        value = params.get(param.name, param.default)
        close = name_suggestions(value, graph)
        if close:
            print(
                f"No entity is named {value} ({param.name}); closest names: {', '.join(close)}",
                file=sys.stderr,
            )


def run_serve_command(args: argparse.Namespace) -> int:
    """``kg serve``: run the endpoint until Ctrl+C."""
    from kg.serve import serve

    return serve(
        _graph_source(args), args.host, args.port, timeout=args.timeout, max_rows=args.max_rows
    )
