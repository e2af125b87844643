"""Tests of the SPARQL endpoint: a real server on loopback queried with SPARQLWrapper."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from sample_kg import ROOT, SAMPLE_TTL
from SPARQLWrapper import CSV, JSON, POST, TSV, TURTLE, XML, SPARQLWrapper

from kg import query as q
from kg import serve as s
from kg.cli import main

SAMPLE = str(SAMPLE_TTL)
START_TIMEOUT = 30.0  # seconds to wait for the server to answer


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped while starting (exit {process.returncode})")
        try:
            with urllib.request.urlopen(base + "/info", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within {START_TIMEOUT:g} s")


@contextlib.contextmanager
def _serving(graph: Path) -> Iterator[str]:
    """``python -m kg serve --graph GRAPH`` on a free loopback port; its base URL while it runs."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "kg", "serve", "--graph", str(graph), "--port", str(port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            try:
                _wait_until_up(base, process)
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


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """``kg serve`` over the hand-made sample graph."""
    with _serving(SAMPLE_TTL) as base:
        yield base


@pytest.fixture(scope="module")
def seed_server(seed_kg: Path) -> Iterator[str]:
    """``kg serve`` over the graph built from the seed corpus."""
    with _serving(seed_kg) as base:
        yield base


def _client(base: str, query: str, fmt: str = JSON) -> SPARQLWrapper:
    client = SPARQLWrapper(base + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(fmt)
    client.setTimeout(30)
    return client


def _count(base: str) -> int:
    data = _client(base, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").queryAndConvert()
    return int(data["results"]["bindings"][0]["n"]["value"])


# ---------------------------------------------------------------------------- real-client tests


def _bindings(results: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Variables and rows of a SPARQL JSON result; rows sorted (ties may come in any order)."""
    rows = sorted(
        json.dumps(row, sort_keys=True, ensure_ascii=False)
        for row in results["results"]["bindings"]
    )
    return results["head"]["vars"], rows


@pytest.mark.parametrize("graph", ["sample", "seed"])
@pytest.mark.parametrize("name", sorted(q.gallery()))
def test_gallery_over_http_equals_the_cli(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str], graph: str, name: str
) -> None:
    base = request.getfixturevalue("server" if graph == "sample" else "seed_server")
    path = SAMPLE if graph == "sample" else str(request.getfixturevalue("seed_kg"))
    # Sent without the header comments: SPARQLWrapper looks for LOAD, ADD, … anywhere in the
    # text to guess an update, and its comment stripping skips every other comment line.
    body = q.gallery_query(name).render().split("\nSELECT", 1)[1]
    over_http = _client(base, "SELECT" + body).queryAndConvert()
    assert main(["query", "--graph", path, "--name", name, "--format", "json"]) == 0
    from_cli = json.loads(capsys.readouterr().out)
    assert _bindings(over_http) == _bindings(from_cli)
    if graph == "sample":  # the sample answers every question
        assert from_cli["results"]["bindings"], name


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
    url = (
        server
        + "/sparql?query="
        + urllib.parse.quote("SELECT ?l WHERE { ?s a czt:City ; rdfs:label ?l }")
    )
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
    status, _, body = _get(
        server + "/sparql?query=" + urllib.parse.quote("SELECT * { ?s foo:p ?o }")
    )
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


# ------------------------------------------------------------------------ the page in a browser

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not found")
def test_query_page_runs_a_gallery_question_offline(server: str) -> None:
    """Pick a gallery question on the page: it runs and shows its table, and the page asks
    nothing of any other host (every other request is recorded and refused)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is missing")
    elsewhere: list[str] = []
    errors: list[str] = []

    def only_the_server(route) -> None:  # noqa: ANN001 - playwright's Route
        if route.request.url.startswith(server):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route("**/*", only_the_server)
            page.on(
                "console", lambda message: message.type == "error" and errors.append(message.text)
            )
            page.goto(server + "/")
            page.wait_for_selector("#gallery option[value='park-partners']", state="attached")
            page.select_option("#gallery", "park-partners")
            page.wait_for_selector("#results table tbody tr")
            cells = page.locator("#results tbody tr td:first-child").all_inner_texts()
            assert cells == ["深圳科技园", "湘江新区"]
            assert "2 行 rows" in page.inner_text("#status")
            assert page.input_value("#params input[name=park]") == "湘潭经开区"
            assert errors == []
            # A syntax error is reported on the page with its line (and logged as a 400).
            page.fill("#query", "SELECT * WHERE {\n?s ?p }")
            page.click("#run")
            page.wait_for_selector("#status.error")
            assert "line 2" in page.inner_text("#status")
        finally:
            browser.close()
    assert elsewhere == []
