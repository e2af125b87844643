"""Tests of the SPARQL endpoint: a real server on loopback queried with SPARQLWrapper."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from sample_kg import ROOT, SAMPLE_TTL, kg_cli_wired
from SPARQLWrapper import CSV, JSON, POST, TSV, TURTLE, XML, SPARQLWrapper

from kg import query as q
from kg import serve as s

SAMPLE = str(SAMPLE_TTL)
START_TIMEOUT = 30.0  # seconds to wait for the server to answer


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(base: str, alive: callable) -> None:  # type: ignore[valid-type]
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the server stopped while starting")
        try:
            with urllib.request.urlopen(base + "/info", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within {START_TIMEOUT:g} s")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """Base URL of ``kg serve`` on a free loopback port: ``python -m kg serve`` in a subprocess
    when the CLI has the subcommand, else uvicorn in a thread. Always stopped afterwards."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    if kg_cli_wired("serve"):
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "kg", "serve", "--graph", SAMPLE, "--port", str(port)],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            try:
                try:
                    _wait_until_up(base, lambda: process.poll() is None)
                except RuntimeError as exc:
                    log.seek(0)
                    pytest.fail(f"{exc}: {log.read().decode('utf-8', 'replace')[-2000:]}")
                yield base
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        return
    import uvicorn

    config = uvicorn.Config(
        s.create_app(SAMPLE), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, name="test-uvicorn", daemon=True)
    thread.start()
    try:
        _wait_until_up(base, thread.is_alive)
        yield base
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=10)


def _client(base: str, query: str, fmt: str = JSON) -> SPARQLWrapper:
    client = SPARQLWrapper(base + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(fmt)
    client.setTimeout(30)
    return client


def _term(binding: dict[str, str]) -> q.Term:
    """A SPARQL JSON results binding as a pyoxigraph term."""
    if binding["type"] == "uri":
        return ox.NamedNode(binding["value"])
    if binding["type"] == "bnode":
        return ox.BlankNode(binding["value"])
    if "xml:lang" in binding:
        return ox.Literal(binding["value"], language=binding["xml:lang"])
    if "datatype" in binding:
        return ox.Literal(binding["value"], datatype=ox.NamedNode(binding["datatype"]))
    return ox.Literal(binding["value"])


def _count(base: str) -> int:
    data = _client(base, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").queryAndConvert()
    return int(data["results"]["bindings"][0]["n"]["value"])


# ---------------------------------------------------------------------------- real-client tests


@pytest.mark.parametrize("name", sorted(q.gallery()))
def test_gallery_over_http_equals_the_cli(server: str, name: str) -> None:
    text = q.gallery_query(name).render()
    data = _client(server, text).queryAndConvert()
    variables = tuple(data["head"]["vars"])
    rows = [
        tuple(_term(b[v]) if v in b else None for v in variables)
        for b in data["results"]["bindings"]
    ]
    over_http = q.QueryResult("SELECT", variables, rows)
    assert over_http.normalized() == q.run_gallery(name, graph=SAMPLE).normalized()


def test_post_and_other_result_formats(server: str) -> None:
    text = q.gallery_query("city-subdivisions").render()
    expected = q.run_gallery("city-subdivisions", graph=SAMPLE)

    client = _client(server, text, CSV)
    client.setMethod(POST)
    csv_text = client.queryAndConvert().decode("utf-8")
    assert q.read_csv(csv_text)[0] == list(expected.variables)
    assert len(q.read_csv(csv_text)) == len(expected) + 1

    tsv = _client(server, text, TSV).queryAndConvert().decode("utf-8")
    assert tsv == q.format_result(expected, "tsv")

    xml = _client(server, text, XML).query().response.read()
    parsed = ox.parse_query_results(xml, format=ox.QueryResultsFormat.XML)
    assert len(list(parsed)) == len(expected)

    ask = _client(server, "ASK { ?s a czt:Task }").queryAndConvert()
    assert ask["boolean"] is True


def test_construct_returns_turtle(server: str) -> None:
    query = "CONSTRUCT { ?s a czt:City } WHERE { ?s a czt:City }"
    turtle = _client(server, query, TURTLE).queryAndConvert()
    assert len(list(ox.parse(turtle, format=ox.RdfFormat.TURTLE))) == 3


def test_update_is_refused_and_the_graph_unchanged(server: str) -> None:
    before = _count(server)
    client = _client(server, "INSERT DATA { <urn:x:a> <urn:x:b> <urn:x:c> }")
    client.setMethod(POST)
    with pytest.raises(urllib.error.HTTPError) as info:
        client.query()
    assert info.value.code == 403
    assert b"read-only" in info.value.read()
    # an update smuggled in the query parameter, and the update content type
    client = _client(server, "DELETE WHERE { ?s ?p ?o }")  # SPARQLWrapper sends update=
    client.setMethod(POST)
    with pytest.raises(urllib.error.HTTPError) as info:
        client.query()
    assert info.value.code == 403
    for data, media in (
        (b"query=" + urllib.parse.quote("DROP ALL").encode(), "application/x-www-form-urlencoded"),
        (b"CLEAR DEFAULT", "application/sparql-update"),
    ):
        request = urllib.request.Request(
            server + "/sparql", data=data, headers={"Content-Type": media}
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=10)
        assert info.value.code == 403
    assert _count(server) == before


def _get(url: str, accept: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_content_negotiation_and_format_param(server: str) -> None:
    url = server + "/sparql?query=" + urllib.parse.quote("SELECT ?l WHERE { ?s a czt:City ; rdfs:label ?l }")
    status, headers, body = _get(url, "text/csv;q=0.5, text/tab-separated-values")
    assert status == 200 and headers["content-type"].startswith("text/tab-separated-values")
    status, headers, body = _get(url, "text/html,*/*;q=0.8")
    assert headers["content-type"] == "application/sparql-results+json"
    status, headers, body = _get(url + "&format=xml", "application/json")
    assert headers["content-type"] == "application/sparql-results+xml"
    status, headers, body = _get(url + "&format=table")
    assert "湘潭市" in body.decode("utf-8") and "-+-" not in body.decode("utf-8")[:2]
    status, _, body = _get(url + "&format=turtle")
    assert status == 400 and b"not available" in body
    construct = server + "/sparql?query=" + urllib.parse.quote("DESCRIBE czr:x")
    status, headers, _ = _get(construct, "application/n-triples")
    assert status == 200 and headers["content-type"] == "application/n-triples"


def test_bad_queries_give_clear_4xx(server: str) -> None:
    status, _, body = _get(server + "/sparql?query=" + urllib.parse.quote("SELECT * {\n?s ?p }"))
    assert status == 400 and re.search(rb"line 2, column \d+", body)
    status, _, body = _get(server + "/sparql?query=" + urllib.parse.quote("SELECT * { ?s foo:p ?o }"))
    assert status == 400 and b"unknown prefix foo:" in body and b"czt:" in body
    status, _, body = _get(server + "/sparql")
    assert status == 400 and b"missing query" in body


def test_page_and_gallery_are_served_offline(server: str) -> None:
    status, headers, page = _get(server + "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    html = page.decode("utf-8")
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(not re.match(r"(?i)(https?:)?//", asset) for asset in assets)
    for asset in assets:
        assert _get(server + "/" + asset)[0] == 200, asset
    for file in s.STATIC_DIR.iterdir():  # no CDN anywhere: scripts, styles, @import, images
        assert not re.search(r"(?i)https?://", file.read_text(encoding="utf-8")), file.name
    status, _, body = _get(server + "/gallery")
    listed = json.loads(body)
    assert [entry["name"] for entry in listed] == list(q.gallery())
    assert all(entry["title_zh"] and entry["params"] is not None for entry in listed)
    status, _, body = _get(server + "/gallery/unit-tasks?unit=" + urllib.parse.quote('市"工信局'))
    assert '"市\\"工信局"@zh' in json.loads(body)["query"]
    status, _, body = _get(server + "/gallery/unit-tasks?nope=1")
    assert status == 400 and b"valid parameters: unit" in body


# ------------------------------------------------------------------------- in-process app tests


class _Response:
    def __init__(self, status: int, headers: dict[str, str], text: str):
        self.status_code, self.headers, self.text = status, headers, text


def _call(app: object, params: dict[str, str]) -> _Response:
    """One GET /sparql through the ASGI app in process (httpx's ASGI transport)."""
    import asyncio

    import httpx

    async def go() -> _Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/sparql", params=params)
            return _Response(response.status_code, dict(response.headers), response.text)

    return asyncio.run(go())


def test_timeout_gives_503(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(*args: object, **kwargs: object) -> q.QueryResult:
        time.sleep(1.0)
        return q.QueryResult("ASK", boolean=True)

    monkeypatch.setattr(s, "run_query", slow)
    response = _call(s.create_app(SAMPLE, timeout=0.2), {"query": "ASK {}"})
    assert response.status_code == 503 and "timed out after 0.2 s" in response.text


def test_result_size_limit_truncates_with_headers() -> None:
    app = s.create_app(SAMPLE, max_rows=5)
    response = _call(app, {"query": "SELECT * WHERE { ?s ?p ?o }", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["x-result-truncated"] == "true"
    assert response.headers["x-result-limit"] == "5"
    assert len(q.read_csv(response.text)) == 6  # header + 5 rows


def test_missing_graph_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(q.GraphNotFoundError, match="missing.ttl"):
        s.create_app(tmp_path / "missing.ttl")


def test_port_in_use_and_loopback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(s.ServeError, match="choose another --port"):
            s._check_port("127.0.0.1", taken.getsockname()[1])
    assert s.is_loopback("127.0.0.1") and s.is_loopback("::1") and s.is_loopback("localhost")
    assert not s.is_loopback("0.0.0.0")


def test_accept_header_ranking() -> None:
    assert s._accepted("text/csv;q=0.5, application/json, */*;q=0.1") == [
        "application/json",
        "text/csv",
        "*/*",
    ]
    assert s.negotiate("GRAPH", "json", "") == "jsonld"
    assert s.negotiate("SELECT", None, "application/xml") == "xml"
    assert s.negotiate("GRAPH", None, "") == "turtle"
