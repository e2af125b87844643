"""External SPARQL stores: write the graph through the SPARQL 1.1 Graph Store HTTP Protocol and
read it back (for ``kg query`` / ``kg serve``), with the standard library's HTTP client.

A store URL is the store's Graph Store Protocol endpoint, optionally naming the graph:

- ``http://127.0.0.1:7878/store`` (Oxigraph; ``?default`` is added: the default graph),
- ``http://127.0.0.1:3030/czt/data?graph=https://w3id.org/czt-kg/graph`` (Apache Jena Fuseki),
- ``http://127.0.0.1:7200/repositories/czt/rdf-graphs/service?default`` (GraphDB),
- ``http://user:password@127.0.0.1:8890/sparql-graph-crud-auth?graph=…`` (Virtuoso).

Credentials in the URL are sent as HTTP Basic, or Digest when the server asks for it.
Uploading replaces the graph (HTTP ``PUT``), so a rebuild leaves exactly the new graph.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.errors import InputError, KGError

TURTLE = "text/turtle"
N_TRIPLES = "application/n-triples"
TIMEOUT_SECONDS = 600.0  # a large graph takes a while to load on the server side


class StoreError(KGError):
    """The store could not be reached or refused a request."""


@dataclass(frozen=True)
class StoreTarget:
    """A Graph Store Protocol request target: the URL to call (graph selected) and credentials."""

    url: str
    user: str | None = None
    password: str | None = None

    @property
    def shown(self) -> str:
        """The URL without credentials (for messages)."""
        return self.url


def parse_store_url(url: str) -> StoreTarget:
    """Check a store URL and select the default graph unless it names one (``?graph=IRI``)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{url}: not a store URL (give http(s)://host:port/path of the store)")
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    names = {key for key, _ in query}
    if not names & {"default", "graph", "graph-uri"}:
        query.append(("default", ""))
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port:
        netloc += f":{parts.port}"
    encoded = "&".join(
        key if key == "default" and not value else urllib.parse.urlencode({key: value})
        for key, value in query
    )
    clean = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path or "/", encoded, ""))
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password else None
    return StoreTarget(clean, user, password)


def is_store_url(value: object) -> bool:
    """Whether a ``--graph``/``--store`` value names a store rather than a file."""
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _opener(target: StoreTarget) -> urllib.request.OpenerDirector:
    handlers: list[Any] = []
    if target.user is not None:
        passwords = urllib.request.HTTPPasswordMgrWithPriorAuth()
        passwords.add_password(None, target.url, target.user, target.password or "", True)
        handlers += [
            urllib.request.HTTPBasicAuthHandler(passwords),
            urllib.request.HTTPDigestAuthHandler(passwords),
        ]
    return urllib.request.build_opener(*handlers)


def _request(
    target: StoreTarget,
    method: str,
    *,
    body: bytes | Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> tuple[int, bytes, str]:
    request = urllib.request.Request(target.url, data=body, method=method, headers=headers or {})
    try:
        with _opener(target).open(request, timeout=timeout) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip().splitlines()
        reason = f"HTTP {exc.code} {exc.reason}" + (f": {detail[0]}" if detail else "")
        raise StoreError(f"{target.shown}: {method} refused ({reason})") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StoreError(f"{target.shown}: cannot reach the store ({reason})") from exc


def upload_turtle(turtle: str | bytes, url: str) -> int:
    """Replace the store's graph with this Turtle (HTTP PUT); returns the HTTP status."""
    target = parse_store_url(url)
    body = turtle.encode("utf-8") if isinstance(turtle, str) else turtle
    status, _, _ = _request(
        target, "PUT", body=body, headers={"Content-Type": f"{TURTLE}; charset=utf-8"}
    )
    return status


def upload_graph(graph: Any, url: str) -> int:
    """Replace the store's graph with ``graph`` (an rdflib Graph, or Turtle text/bytes)."""
    if isinstance(graph, str | bytes):
        return upload_turtle(graph, url)
    from kg.rdf import to_turtle

    return upload_turtle(to_turtle(graph), url)


def fetch_turtle(url: str) -> bytes:
    """The store's graph as Turtle (HTTP GET through the Graph Store Protocol)."""
    target = parse_store_url(url)
    _, body, content_type = _request(target, "GET", headers={"Accept": TURTLE})
    if content_type and "turtle" not in content_type and "n-triples" not in content_type:
        raise StoreError(f"{target.shown}: answered {content_type}, not Turtle")
    return body


def load_store(url: str) -> Any:
    """The store's graph in an in-memory pyoxigraph Store (what ``kg query``'s engine runs on)."""
    import pyoxigraph as ox

    data = fetch_turtle(url)
    store = ox.Store()
    try:
        store.bulk_load(data, format=ox.RdfFormat.TURTLE)
    except (SyntaxError, ValueError) as exc:
        raise StoreError(f"{url}: the store's answer is not valid Turtle ({exc})") from exc
    return store


def load_store_graph(url: str) -> Any:
    """The store's graph as an rdflib Graph (for the analysis commands)."""
    from rdflib import Graph

    data = fetch_turtle(url)
    try:
        return Graph().parse(data=data, format="turtle")
    except Exception as exc:  # rdflib raises several parser exception types
        raise StoreError(f"{url}: the store's answer is not valid Turtle ({exc})") from exc


def clear_graph(url: str) -> None:
    """Delete the store's graph (HTTP DELETE); a graph that does not exist is not an error."""
    target = parse_store_url(url)
    try:
        _request(target, "DELETE")
    except StoreError as exc:
        if "HTTP 404" not in str(exc):
            raise


def upload_file(path: str | Path, url: str) -> int:
    """Replace the store's graph with a Turtle file, streamed (a large graph is not read whole)."""
    target = parse_store_url(url)
    size = Path(path).stat().st_size
    with open(path, "rb") as body:
        status, _, _ = _request(
            target,
            "PUT",
            body=body,  # type: ignore[arg-type]  # urllib streams a file object
            headers={"Content-Type": f"{TURTLE}; charset=utf-8", "Content-Length": str(size)},
        )
    return status
