"""Tests of kg.query and the query subcommand on the hand-made sample graph."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from sample_kg import SAMPLE_TTL, sample_turtle

from kg import query as q
from kg.cli_query import add_query_parser, add_serve_parser
from kg.errors import InputError, KGError, QueryError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = str(SAMPLE_TTL)
CZR = "https://w3id.org/czt-kg/id/"


def rows(name: str, engine: str = "oxigraph", **params: str) -> list[dict[str, str]]:
    return q.run_gallery(name, params, SAMPLE, engine=engine).dicts()


def pick(records: list[dict[str, str]], *keys: str) -> list[tuple[str | None, ...]]:
    return [tuple(record.get(key) for key in keys) for record in records]


# ------------------------------------------------------------------------------ the sample graph


def test_sample_graph_file_is_up_to_date() -> None:
    assert SAMPLE_TTL.read_text(encoding="utf-8") == sample_turtle(), (
        "tests/data/sample_kg.ttl is stale: run python tests/sample_kg.py"
    )


def test_sample_graph_has_every_relation_and_analysis_node() -> None:
    from kg.model import RELATION_PREDICATES

    counts = {
        p: q.run_query(f"ASK {{ ?s czt:{p} ?o }}", SAMPLE).boolean for p in RELATION_PREDICATES
    }
    assert all(counts.values()), counts
    for cls in ("SuggestedLink", "Task", "Community", "Evidence", "Document"):
        assert q.run_query(f"ASK {{ ?s a czt:{cls} }}", SAMPLE).boolean, cls


# -------------------------------------------------------------------------------------- gallery


def test_gallery_has_at_least_twelve_documented_questions() -> None:
    queries = q.gallery()
    assert len(queries) >= 12
    for query in queries.values():
        assert query.title_zh and query.title_en and query.description, query.name
        for chinese in (query.title_zh, query.description_zh):
            assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), query.name
        assert q.placeholder_names(query.text) == {p.name for p in query.params}, query.name
        for param in query.params:
            assert param.type in q.PARAM_TYPES and param.description, (query.name, param)
            param.to_term(param.default)  # every default is a valid value


@pytest.mark.parametrize("name", sorted(q.gallery()))
def test_gallery_question_gives_same_answer_on_both_engines(name: str) -> None:
    oxigraph = q.run_gallery(name, graph=SAMPLE, engine="oxigraph")
    rdflib = q.run_gallery(name, graph=SAMPLE, engine="rdflib")
    assert not oxigraph.is_empty, f"{name}: the sample should answer every gallery question"
    assert oxigraph.normalized() == rdflib.normalized()


def test_unit_tasks() -> None:
    got = rows("unit-tasks")  # 市发改委 is an alias of 湘潭市发展和改革委员会
    assert pick(got, "unitLabel", "taskLabel", "role") == [
        ("湘潭市发展和改革委员会", "二.(一).1 着力产业创新协力协同", "配合"),
        ("湘潭市发展和改革委员会", "二.(一).2 着力基础设施互联互通", "牵头"),
    ]
    assert pick(rows("unit-tasks", unit="湘潭市工业和信息化局"), "taskLabel", "role") == [
        ("二.(一).1 着力产业创新协力协同", "牵头")
    ]


def test_task_units() -> None:
    assert pick(rows("task-units"), "unitLabel", "role") == [
        ("湘潭市工业和信息化局", "牵头"),
        ("湘潭市发展和改革委员会", "配合"),
    ]
    assert pick(rows("task-units", task="基础设施"), "unitLabel", "role") == [
        ("湘潭市发展和改革委员会", "牵头")
    ]


def test_city_cooperation_with_evidence() -> None:
    got = rows("city-cooperation")
    assert pick(got, "aLabel", "bLabel", "title", "date") == [
        ("长沙市", "湘潭市", "长株潭一体化发展第六届市委书记联席会议召开", "2024-12-10")
    ]
    assert got[0]["sentence"] == "长沙市与湘潭市共建融城干道,长沙、湘潭深化合作。"
    # aliases work, and the order of the two cities does not matter
    assert pick(rows("city-cooperation", city_a="湘潭", city_b="长沙"), "aLabel", "bLabel") == [
        ("湘潭市", "长沙市")
    ]
    assert rows("city-cooperation", city_a="株洲市", city_b="湘潭市") == []


def test_park_partners() -> None:
    sentence = "湘潭经开区与湘江新区、深圳科技园开展园区合作共建。"
    assert pick(rows("park-partners"), "partnerLabel", "type", "weight", "sentence", "date") == [
        ("深圳科技园", str(q.term("Park")), "1", sentence, "2024-06-11"),
        ("湘江新区", str(q.term("Park")), "1", sentence, "2024-06-11"),
    ]
    assert {row["doc"] for row in rows("park-partners")} == {"https://w3id.org/czt-kg/doc/plan_xt"}
    assert pick(rows("park-partners", park="湖南湘江新区"), "partnerLabel") == [("湘潭经开区",)]


def test_agreements_and_parties() -> None:
    expected = [
        ("跨区域社会信用体系建设合作协议", "萍乡市发改委", "2024-12-10"),
        ("跨区域社会信用体系建设合作协议", "长沙市发改委", "2024-12-10"),
    ]
    assert pick(rows("agreements"), "agreementLabel", "partyLabel", "date") == expected
    assert pick(rows("agreements", keyword="社会信用"), "agreementLabel", "partyLabel", "date") == (
        expected
    )
    assert rows("agreements", keyword="战略合作") == []


def test_person_posts() -> None:
    member, leads = str(q.term("memberOf")), str(q.term("leads"))
    assert pick(rows("person-posts"), "orgLabel", "relation", "role") == [
        ("湘乡市人民政府", leads, "市长"),
        ("湘乡市人民政府", member, "市长"),
        ("湘乡市委", member, "副书记"),
    ]
    assert pick(rows("person-posts", person="吴小月"), "orgLabel", "relation", "role") == [
        ("湖南省发展和改革委员会", member, "党组成员"),
        ("省长株潭一体化发展事务中心", leads, None),
        ("省长株潭一体化发展事务中心", member, "主任"),
    ]


def test_entity_documents() -> None:
    got = rows("entity-documents")
    assert pick(got, "date", "publisher", "mentions") == [
        ("2023-10-11", "湖南日报", "1"),
        ("2024-06-11", "湘潭市人民政府", "3"),
        ("2024-12-10", "新闻株洲", "3"),
    ]
    assert got[0]["doc"] == "https://w3id.org/czt-kg/doc/news_press"


def test_pagerank_ranking() -> None:
    got = rows("pagerank-ranking", limit="3")
    assert pick(got, "label") == [
        ("湘潭市发展和改革委员会",),
        ("省长株潭一体化发展事务中心",),
        ("湘潭市工业和信息化局",),
    ]
    assert float(got[0]["pageRank"]) == pytest.approx(0.08)
    assert got[0]["load"] == "2"
    assert pick(rows("pagerank-ranking", type="City"), "label") == [
        ("湘潭市",),
        ("长沙市",),
        ("株洲市",),
    ]


def test_city_subdivisions() -> None:
    assert sorted(pick(rows("city-subdivisions"), "label", "parentLabel")) == [
        ("天易经开区", "湘潭县"),
        ("湘乡市", "湘潭市"),
        ("湘潭县", "湘潭市"),
        ("湘潭经开区", "湘潭市"),
        ("韶山市", "湘潭市"),
    ]
    assert rows("city-subdivisions", city="长沙市") == []


def test_cross_city_projects() -> None:
    assert pick(rows("cross-city-projects"), "projectLabel", "places", "placeLabels") == [
        ("昭云大道—株洲云峰大道", "2", "株洲市、湘潭市"),
        ("融城干道", "2", "湘潭市、长沙市"),
    ]
    assert rows("cross-city-projects", min_places="3") == []


def test_suggested_links() -> None:
    assert pick(
        rows("suggested-links"), "aLabel", "bLabel", "score", "sharedPartners", "reason"
    ) == [
        ("深圳科技园", "湘江新区", "1.44", "1", "二者都与湘潭经开区合作"),
        ("株洲市", "湘潭市", "0.91", "1", "二者都与长沙市合作"),
    ]
    assert len(rows("suggested-links", limit="1")) == 1


def test_timeline() -> None:
    assert pick(rows("timeline"), "date", "label") == [
        ("2024-06-11", "湘潭市融入长株潭一体化发展工作方案"),
        ("2024-12-10", "跨区域社会信用体系建设合作协议"),
        ("2024-12-10", "长株潭一体化发展第六届市委书记联席会议"),
    ]
    assert pick(rows("timeline", since="2024-07-01"), "date") == [("2024-12-10",)] * 2
    assert rows("timeline", until="2024-01-01") == []


def test_entity_profile() -> None:
    assert pick(
        rows("entity-profile"), "label", "alias", "documents", "statements", "evidence"
    ) == [("湘潭经开区", "湘潭经济技术开发区", "1", "3", "2")]
    city = rows("entity-profile", entity="湘潭")
    assert pick(city, "label", "alias", "documents", "statements") == [("湘潭市", "湘潭", "3", "8")]


def test_publisher_documents() -> None:
    assert pick(rows("publisher-documents"), "title", "date") == [
        ("湖南务实推进长株潭一体化发展", "2023-10-11")
    ]
    assert pick(rows("publisher-documents", publisher="湘潭"), "publisher") == [("湘潭市人民政府",)]


def test_entity_relations() -> None:
    got = pick(rows("entity-relations"), "direction", "relation", "otherLabel", "weight")
    assert ("→", str(q.term("partOf")), "湖南省", "1") in got
    assert ("←", str(q.term("partOf")), "湘乡市", "1") in got
    assert ("←", str(q.term("cooperatesWith")), "长沙市", "1") in got
    assert ("→", str(q.term("participatesIn")), "融城干道", "1") in got
    assert len(got) == 8


def test_community_members() -> None:
    assert pick(rows("community-members"), "memberLabel") == [("湘潭市",), ("长沙市",), ("株洲市",)]
    assert pick(rows("community-members", entity="湘潭经开区"), "memberLabel") == [
        ("湘潭经开区",),
        ("深圳科技园",),
        ("湘江新区",),
    ]


# ----------------------------------------------------------------------------------- parameters


def test_parameters_cannot_inject_query_text() -> None:
    hostile = '市发改委"@zh } ?x ?y ?z . FILTER(true) # '
    text = q.gallery_query("unit-tasks").render({"unit": hostile})
    assert '"市发改委\\"@zh } ?x ?y ?z . FILTER(true) # "@zh' in text
    assert q.run_query(text, SAMPLE).is_empty
    with pytest.raises(q.UnknownParameterError, match="integer"):
        q.gallery_query("pagerank-ranking").render({"limit": "10 } DELETE WHERE { ?s ?p ?o"})
    with pytest.raises(q.UnknownParameterError, match="date"):
        q.gallery_query("timeline").render({"since": '2024-01-01"^^xsd:date) || true || ("'})
    with pytest.raises(q.UnknownParameterError, match="Agency"):
        q.gallery_query("pagerank-ranking").render({"type": "owl:Thing"})


def test_placeholders_in_strings_and_comments_stay() -> None:
    text = 'SELECT * WHERE { ?s ?p "?_x" } # ?_x\nLIMIT ?_x'
    assert q.substitute(text, {"x": "5"}) == 'SELECT * WHERE { ?s ?p "?_x" } # ?_x\nLIMIT 5'


def test_unknown_parameter_lists_the_valid_ones() -> None:
    with pytest.raises(
        q.UnknownParameterError, match=r"no parameter 'cty'.*valid parameters: city"
    ):
        q.run_gallery("city-subdivisions", {"cty": "湘潭市"}, SAMPLE)


def test_unknown_gallery_name_lists_the_valid_ones() -> None:
    with pytest.raises(q.UnknownQueryError, match=r"did you mean 'unit-tasks'.*valid names:.*"):
        q.run_gallery("unit-task", graph=SAMPLE)


def test_param_header_parsing() -> None:
    query = q.parse_query_text(
        "# title-zh: 标题\n# title-en: Title\n# description: d\n"
        "# param: plan = 行动计划(2021-2025年) (the plan)\n"
        "# param: word:string =  (empty default)\n"
        "SELECT * WHERE { ?s rdfs:label ?_plan FILTER(CONTAINS(STR(?s), ?_word)) }\n"
    )
    assert [(p.name, p.type, p.default, p.description) for p in query.params] == [
        ("plan", "name", "行动计划(2021-2025年)", "the plan"),
        ("word", "string", "", "empty default"),
    ]
    assert q.parse_param_args(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(q.UnknownParameterError):
        q.parse_param_args(["novalue"])


# --------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("engine", q.ENGINES)
def test_syntax_error_gives_line_and_column(engine: str) -> None:
    with pytest.raises(q.QuerySyntaxError, match=r"line 3, column \d+") as info:
        q.run_query("SELECT ?s\nWHERE {\n  ?s ?p }", SAMPLE, engine=engine)
    assert info.value.exit_code == 2 and info.value.line == 3


def test_unknown_prefix_lists_the_valid_ones() -> None:
    with pytest.raises(q.UnknownPrefixError, match=r"unknown prefix foaf:.*czt:.*skos:"):
        q.run_query("SELECT * WHERE { ?s foaf:name ?n }", SAMPLE)
    # a declared prefix is fine, and prefixes inside strings/IRIs are not prefixes
    declared = "PREFIX foaf: <http://xmlns.com/foaf/0.1/>\nASK { ?s foaf:name 'a:b' }"
    assert q.run_query(declared, SAMPLE).boolean is False


def test_missing_graph_names_the_file_and_the_build(tmp_path: Path) -> None:
    missing = tmp_path / "nope.ttl"
    with pytest.raises(q.GraphNotFoundError, match=r"nope\.ttl.*build_graph\.py") as info:
        q.run_query("ASK {}", missing)
    assert isinstance(info.value, InputError)


def test_updates_are_refused() -> None:
    before = q.triple_count(SAMPLE)
    for update in (
        "INSERT DATA { <a:a> <a:b> <a:c> }",
        "PREFIX x: <a:>\nDELETE WHERE { ?s ?p ?o }",
    ):
        with pytest.raises(q.ReadOnlyError, match="read-only"):
            q.run_query(update, SAMPLE)
    assert q.triple_count(SAMPLE) == before


def test_timeout() -> None:
    with pytest.raises(q.QueryTimeoutError, match="timed out after 0.1 s"):
        q.call_with_timeout(lambda cancel: time.sleep(2), 0.1)
    assert q.call_with_timeout(lambda cancel: 42, 1) == 42


def test_max_rows_truncates() -> None:
    result = q.run_query("SELECT ?s WHERE { ?s ?p ?o }", SAMPLE, max_rows=5)
    assert len(result) == 5 and result.truncated
    assert not q.run_query("SELECT ?s WHERE { ?s a czt:City }", SAMPLE, max_rows=5).truncated


def test_store_is_cached_and_reloaded_when_the_file_changes(tmp_path: Path) -> None:
    graph = tmp_path / "kg.ttl"
    shutil.copy(SAMPLE_TTL, graph)
    assert q.oxigraph_store(graph) is q.oxigraph_store(graph)
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s a czt:City }"
    assert q.run_query(count, graph).column("n") == ["3"]
    with graph.open("a", encoding="utf-8") as handle:
        handle.write(f"\n<{CZR}City/x> a czt:City .\n")
    os.utime(graph, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert q.run_query(count, graph).column("n") == ["4"]
    assert q.run_query(count, graph, engine="rdflib").column("n") == ["4"]


# ------------------------------------------------------------------------------------- formats


def test_table_is_aligned_with_wide_characters() -> None:
    result = q.run_gallery("city-subdivisions", graph=SAMPLE)
    lines = q.format_result(result).splitlines()
    assert lines[0].split() == ["label", "|", "type", "|", "parentLabel"]
    bars = {tuple(i for i, _ in _columns_of(line, "|+")) for line in lines}
    assert len(bars) == 1, lines  # every separator at the same display column
    assert "czt:County" in lines[2]  # IRIs compacted with the standard prefixes


def _columns_of(line: str, marks: str) -> list[tuple[int, str]]:
    out, column = [], 0
    for char in line:
        if char in marks:
            out.append((column, char))
        column += q.text_width(char)
    return out


def test_text_width_and_clipping() -> None:
    assert q.text_width("湘潭市ab") == 8
    assert q.text_width("ｅ") == 2  # fullwidth
    table = q.format_table(["a"], [["长株潭一体化发展事务中心"]], max_width=9)
    assert "长株潭一…" in table


def test_compact_iris() -> None:
    prefixes = q.standard_prefixes()
    assert q.compact(CZR + "City/湘潭市", prefixes) == "czr:City/湘潭市"
    assert q.compact(str(q.term("City")), prefixes) == "czt:City"
    assert q.compact("http://example.org/x", prefixes) == "<http://example.org/x>"


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
@pytest.mark.parametrize("engine", q.ENGINES)
def test_result_formats_round_trip(fmt: str, engine: str) -> None:
    result = q.run_gallery("person-posts", graph=SAMPLE, engine=engine)
    text = q.format_result(result, fmt)
    if fmt == "csv":  # lossy by design: pyoxigraph does not parse it back
        assert q.read_csv(text) == [list(result.variables)] + [
            [record.get(v, "") for v in result.variables] for record in result.dicts()
        ]
        return
    parsed = ox.parse_query_results(text, format=getattr(ox.QueryResultsFormat, fmt.upper()))
    assert [v.value for v in parsed.variables] == list(result.variables)
    parsed_rows = [tuple(row[v] for v in result.variables) for row in parsed]
    assert q.QueryResult("SELECT", result.variables, parsed_rows).normalized() == (
        result.normalized()
    )


def test_ask_and_construct_output() -> None:
    assert q.format_result(q.run_query("ASK { ?s a czt:City }", SAMPLE)) == "true\n"
    assert q.format_result(q.run_query("ASK { ?s a czt:Region }", SAMPLE), "json").endswith(
        '"boolean":false}'
    )
    graph = q.run_query("CONSTRUCT { ?s a czt:City } WHERE { ?s a czt:City }", SAMPLE)
    turtle = q.format_result(graph)
    assert "@prefix czt:" in turtle
    assert len(list(ox.parse(turtle, format=ox.RdfFormat.TURTLE))) == 3
    described = q.run_query("DESCRIBE ?s WHERE { ?s rdfs:label '吴小月'@zh }", SAMPLE)
    assert len(described) > 3
    with pytest.raises(QueryError, match="CONSTRUCT/DESCRIBE result is RDF"):
        q.format_result(graph, "csv")
    with pytest.raises(QueryError, match="cannot be written as turtle"):
        q.format_result(q.run_query("SELECT * WHERE { ?s ?p ?o } LIMIT 1", SAMPLE), "turtle")


def test_lexer_reads_query_form_and_prefixes() -> None:
    text = "PREFIX ex: <http://ex/#> BASE <http://b/>\n# SELECT in a comment\nask { ?s ex:p 'x:y' }"
    assert q.query_form(text) == "ASK"
    assert q.declared_prefixes(text) == {"ex": "http://ex/#"}
    assert q.used_prefixes(text) == {"ex"}
    assert q.query_form("WITH <g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }") == "WITH"


# ------------------------------------------------------------------------------------------ CLI


def _cli(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kg")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_query_parser(subparsers)
    add_serve_parser(subparsers)
    return parser.parse_args(list(argv))


def run_cli(*argv: str) -> int:
    args = _cli(*argv)
    return args.func(args)


def test_cli_gallery_question(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli("query", "--graph", SAMPLE, "--name", "unit-tasks", "--param", "unit=市工信局")
    out, err = capsys.readouterr()
    assert code == 0
    assert "二.(一).1 着力产业创新协力协同" in out and "牵头" in out
    assert "(1 row" in err


def test_cli_inline_file_and_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("query", "--graph", SAMPLE, "ASK { ?s a czt:Task }") == 0
    assert capsys.readouterr().out == "true\n"
    rq = tmp_path / "q.rq"
    rq.write_text(
        "# param: city = 湘潭市 (a city)\nSELECT ?l WHERE { ?c rdfs:label ?_city . "
        "?x czt:partOf ?c ; rdfs:label ?l } ORDER BY ?l\n",
        encoding="utf-8",
    )
    assert run_cli("query", "-g", SAMPLE, "--file", str(rq), "--format", "csv") == 0
    assert capsys.readouterr().out.splitlines() == ["l", "湘乡市", "湘潭县", "湘潭经开区", "韶山市"]
    assert (
        run_cli("query", "-g", SAMPLE, "-f", str(rq), "-p", "city=湘潭县", "--format", "tsv") == 0
    )
    assert capsys.readouterr().out.splitlines() == ["?l", '"天易经开区"@zh']
    construct = "CONSTRUCT { ?s a czt:Task } WHERE { ?s a czt:Task }"
    assert run_cli("query", "-g", SAMPLE, construct) == 0
    assert "czt:Task" in capsys.readouterr().out


def test_cli_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("query", "--list") == 0
    out = capsys.readouterr().out
    for query in q.gallery().values():
        assert query.name in out and query.title_zh in out and query.title_en in out
    assert "unit=市发改委" in out


def test_cli_empty_result_is_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("query", "-g", SAMPLE, "-n", "unit-tasks", "-p", "unit=湘潭市发改") == 0
    err = capsys.readouterr().err
    assert "No results." in err
    assert "No entity is named 湘潭市发改 (unit); closest names: 湘潭市发改委" in err


def test_cli_print_query(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("query", "-n", "timeline", "-p", "since=2024-01-01", "--print-query") == 0
    assert '"2024-01-01"^^<http://www.w3.org/2001/XMLSchema#date>' in capsys.readouterr().out


def test_cli_errors_are_kg_errors() -> None:
    with pytest.raises(QueryError, match="exactly one"):
        run_cli("query", "-g", SAMPLE)
    with pytest.raises(QueryError, match="line 1") as info:
        run_cli("query", "-g", SAMPLE, "SELECT WHERE")
    assert info.value.exit_code == 2
    with pytest.raises(KGError, match="graph file not found"):
        run_cli("query", "-g", "no/such/kg.ttl", "ASK {}")


def test_python_m_kg_query() -> None:
    def kg(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kg", "query", "--graph", SAMPLE, *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        )

    ok = kg("--name", "city-subdivisions")
    assert ok.returncode == 0 and "湘乡市" in ok.stdout
    bad = kg("SELECT ?s WHERE {")
    assert bad.returncode == 2 and "line 1" in bad.stderr
    empty = kg("SELECT ?s WHERE { ?s a czt:Region }")
    assert empty.returncode == 0 and "No results" in empty.stderr
    unknown = kg("--name", "unit-task")
    assert unknown.returncode == 2 and "did you mean 'unit-tasks'" in unknown.stderr
    assert "valid names: agreements, " in unknown.stderr
    prefix = kg("SELECT * WHERE { ?s foaf:name ?o }")
    assert prefix.returncode == 2 and "unknown prefix foaf:" in prefix.stderr
    assert "czt:, dcterms:" in prefix.stderr
