"""Read-only SPARQL 1.1 Protocol endpoint and offline query page: pyoxigraph behind Starlette."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from kg.errors import InputError, KGError, QueryError
from kg.ontology import standard_prefixes
from kg.query import (
    DEFAULT_GRAPH,
    MEDIA_TYPES,
    QueryResult,
    QueryTimeoutError,
    ReadOnlyError,
    check_read_only,
    format_result,
    gallery,
    gallery_query,
    oxigraph_store,
    run_query,
    serialize,
)
from kg.store import is_store_url

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7878
DEFAULT_TIMEOUT = 10.0  # seconds before a query is answered with 503
DEFAULT_MAX_ROWS = 10_000  # rows (or triples) of an answer; more are cut, see X-Result-Truncated
DEFAULT_MAX_RUNNING = 4  # queries computing at once (a timed-out query keeps its thread)

# Media types each kind of answer can be written in, to the format names of kg.query.
_RESULT_MEDIA = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "text/plain": "table",
}
_GRAPH_MEDIA = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/n-triples": "ntriples",
    "text/plain": "ntriples",
    "application/rdf+xml": "rdfxml",
    "application/xml": "rdfxml",
    "text/xml": "rdfxml",
    "application/ld+json": "jsonld",
    "application/json": "jsonld",
}
# Values of the ``format`` (or ``output``) parameter; json/xml mean the RDF flavour for graphs.
_FORMAT_NAMES = {
    "json": ("json", "jsonld"),
    "xml": ("xml", "rdfxml"),
    "csv": ("csv", None),
    "tsv": ("tsv", None),
    "table": ("table", None),
    "text": ("table", "ntriples"),
    "turtle": (None, "turtle"),
    "ttl": (None, "turtle"),
    "n3": (None, "turtle"),
    "nt": (None, "ntriples"),
    "ntriples": (None, "ntriples"),
    "n-triples": (None, "ntriples"),
    "rdfxml": (None, "rdfxml"),
    "rdf+xml": (None, "rdfxml"),
    "rdf": (None, "rdfxml"),
    "jsonld": (None, "jsonld"),
    "json-ld": (None, "jsonld"),
}


class ServeError(KGError):
    """The endpoint cannot start (port in use, bad host)."""


class _HTTPError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _accepted(accept: str) -> list[str]:
    """Media types of an Accept header, best first (q-values honoured, ties in header order)."""
    ranked = []
    for index, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        quality = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, fields[0].lower()))
    return [media for _, _, media in sorted(ranked)]


def negotiate(form: str, format_param: str | None, accept: str) -> str:
    """The format of the response for an answer of ``form``: ``format`` param, else Accept."""
    graph = form == "GRAPH"
    if format_param:
        name = format_param.strip().lower()
        if name in _FORMAT_NAMES:
            chosen = _FORMAT_NAMES[name][1 if graph else 0]
        else:
            chosen = (_GRAPH_MEDIA if graph else _RESULT_MEDIA).get(name.split(";")[0].strip())
        if chosen is None:
            kind = "CONSTRUCT/DESCRIBE" if graph else form
            raise _HTTPError(400, f"format {format_param!r} is not available for a {kind} result")
        return chosen
    table = _GRAPH_MEDIA if graph else _RESULT_MEDIA
    for media in _accepted(accept):
        if media in table:
            return table[media]
    # */*, browsers' text/html…: the protocol's usual defaults.
    return "turtle" if graph else "json"


class Endpoint:
    """The endpoint's state: the graph file, the limits, and the running-query slots."""

    def __init__(
        self,
        graph: str | Path = DEFAULT_GRAPH,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_running: int = DEFAULT_MAX_RUNNING,
    ):
        self.graph = graph if is_store_url(graph) else Path(graph)
        self.timeout = timeout
        self.max_rows = max_rows
        self._slots = threading.BoundedSemaphore(max_running)
        self.triples = len(oxigraph_store(self.graph))  # load now: a bad graph fails at start

    async def execute(self, text: str) -> QueryResult:
        """Run a query in a worker thread; give up (503) after ``timeout`` seconds."""
        if not self._slots.acquire(blocking=False):
            raise _HTTPError(503, "too many queries running; try again shortly")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[tuple[bool, Any]] = loop.create_future()
        cancel = threading.Event()

        def deliver(outcome: tuple[bool, Any]) -> None:
            if not done.done():
                done.set_result(outcome)

        def work() -> None:
            try:
                outcome = (True, run_query(text, self.graph, max_rows=self.max_rows, cancel=cancel))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the request's task
                outcome = (False, exc)
            finally:
                self._slots.release()  # only when the engine is really done
            # RuntimeError: the loop closed (server stopped) while the query ran.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(deliver, outcome)

        # A daemon thread rather than the default executor: a runaway query keeps its thread,
        # and a daemon never stops the server from shutting down.
        threading.Thread(target=work, name="sparql-endpoint", daemon=True).start()
        try:
            ok, value = await asyncio.wait_for(asyncio.shield(done), self.timeout)
        except asyncio.TimeoutError:
            cancel.set()  # stops the query at its next row, if it streams
            raise QueryTimeoutError(
                f"query timed out after {self.timeout:g} s (limit of this endpoint)"
            ) from None
        if not ok:
            raise value
        return value


async def _request_params(request: Request) -> dict[str, str]:
    """The protocol's parameters from the URL, a form body or an application/sparql-query body."""
    params: dict[str, str] = dict(request.query_params)
    if request.method != "POST":
        return params
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/sparql-update":
        raise _HTTPError(403, "SPARQL UPDATE is not allowed: this endpoint is read-only")
    if media == "application/sparql-query":
        body = await request.body()
        try:
            params["query"] = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _HTTPError(400, "the query body is not UTF-8") from None
    elif media == "application/x-www-form-urlencoded":
        # Parsed here: Starlette's request.form() needs python-multipart, for one line of work.
        body = (await request.body()).decode("utf-8", errors="replace")
        params.update(parse_qsl(body, keep_blank_values=True))
    elif media:
        raise _HTTPError(
            415,
            f"unsupported content type {media}; send application/sparql-query "
            "or application/x-www-form-urlencoded",
        )
    return params


def _error(status: int, message: str) -> PlainTextResponse:
    return PlainTextResponse(message + "\n", status_code=status)


def create_app(
    graph: str | Path = DEFAULT_GRAPH,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_running: int = DEFAULT_MAX_RUNNING,
) -> Starlette:
    """The ASGI app: ``/sparql`` (SPARQL 1.1 Protocol, read-only), ``/`` page, ``/gallery``."""
    endpoint = Endpoint(graph, timeout=timeout, max_rows=max_rows, max_running=max_running)

    async def sparql(request: Request) -> Response:
        try:
            params = await _request_params(request)
            if "update" in params:
                raise _HTTPError(403, "SPARQL UPDATE is not allowed: this endpoint is read-only")
            if params.get("default-graph-uri") or params.get("named-graph-uri"):
                raise _HTTPError(
                    400, "default-graph-uri/named-graph-uri: the endpoint has one graph"
                )
            text = params.get("query")
            if not text or not text.strip():
                raise _HTTPError(400, "missing query: pass ?query=… or POST a query")
            check_read_only(text)
            result = await endpoint.execute(text)
            fmt = negotiate(
                result.form,
                params.get("format") or params.get("output"),
                request.headers.get("accept", ""),
            )
            body = (
                format_result(result, "table").encode("utf-8")
                if fmt == "table"
                else serialize(result, fmt)
            )
        except _HTTPError as exc:
            return _error(exc.status, str(exc))
        except ReadOnlyError as exc:
            return _error(403, str(exc))
        except QueryTimeoutError as exc:
            return _error(503, str(exc))
        except QueryError as exc:
            return _error(400, str(exc))
        except InputError as exc:  # the graph file vanished or broke since start
            return _error(503, str(exc))
        headers = {"X-Result-Rows": str(len(result)), "Cache-Control": "no-store"}
        if result.truncated:
            headers["X-Result-Truncated"] = "true"
            headers["X-Result-Limit"] = str(endpoint.max_rows)
        return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)

    async def gallery_list(request: Request) -> Response:
        return JSONResponse([query.as_json() for query in gallery().values()])

    async def gallery_render(request: Request) -> Response:
        try:
            query = gallery_query(request.path_params["name"])
            return JSONResponse(
                {"name": query.name, "query": query.render(dict(request.query_params))}
            )
        except QueryError as exc:
            return _error(404 if "no gallery query" in str(exc) else 400, str(exc))

    async def prefixes(request: Request) -> Response:
        return JSONResponse(standard_prefixes())

    async def info(request: Request) -> Response:
        return JSONResponse(
            {
                "graph": str(endpoint.graph),
                "triples": len(oxigraph_store(endpoint.graph)),
                "timeout_seconds": endpoint.timeout,
                "max_rows": endpoint.max_rows,
            }
        )

    async def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    routes = [
        Route("/", index),
        Route("/sparql", sparql, methods=["GET", "POST"]),
        Route("/gallery", gallery_list),
        Route("/gallery/{name}", gallery_render),
        Route("/prefixes", prefixes),
        Route("/info", info),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    return Starlette(routes=routes)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    """Fail with one clear line instead of uvicorn's traceback when the port is taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ServeError(f"cannot resolve host {host}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ServeError(
                f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port"
            ) from None


def serve(
    graph: str | Path = DEFAULT_GRAPH,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_rows: int = DEFAULT_MAX_ROWS,
    log_level: str = "warning",
    extra: Mapping[str, Any] | None = None,
) -> int:
    """Serve the graph until interrupted (Ctrl+C); returns the exit code."""
    import uvicorn

    app = create_app(graph, timeout=timeout, max_rows=max_rows)
    _check_port(host, port)
    if not is_loopback(host):
        print(
            f"Warning: listening on {host}, not loopback: anyone who can reach this machine "
            "can query the graph",
            file=sys.stderr,
        )
    shown = f"[{host}]" if ":" in host else host
    triples = len(oxigraph_store(graph))
    print(
        f"Serving {graph} ({triples} triples): query page http://{shown}:{port}/ , "
        f"SPARQL endpoint http://{shown}:{port}/sparql (Ctrl+C to stop)",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level, **dict(extra or {}))
    return 0
