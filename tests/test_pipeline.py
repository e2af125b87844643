"""Foundation tests on the real seed corpus: cleaning, metadata, encodings, skipping, SHACL,
determinism, evidence offsets, extraction floors and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from kg.clean import clean_text, remove_inserted_pinyin, split_sentences, to_simplified
from kg.corpus import load_corpus, read_document
from kg.errors import InputError, NoDocumentsError
from kg.ontology import CZT, NIF
from kg.validate import validate_graph

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED = {p.name[:3]: p for p in sorted(CORPUS.glob("*.txt"))}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("長(zhǎng)株潭", "長株潭"),
        ("紅網(wǎng)時刻", "紅網時刻"),
        ("行动计划(2021-2025年)", "行动计划(2021-2025年)"),
        ("(责任单位:市工信局)", "(责任单位:市工信局)"),
        ("雨花经开区(韶山)智能制造产业园", "雨花经开区(韶山)智能制造产业园"),
        ("(一)强化", "(一)强化"),
        ("PM2.5(PM)", "PM2.5(PM)"),
    ],
)
def test_pinyin_removed_real_parentheses_kept(raw: str, expected: str) -> None:
    assert remove_inserted_pinyin(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("長株潭一體化發展", "长株潭一体化发展"),
        ("湘鄉經開區", "湘乡经开区"),
        ("（一期）", "(一期)"),
    ],
)
def test_simplified_and_normalised(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected or to_simplified(raw) == expected


def test_spam_and_navigation_removed_from_001() -> None:
    document = read_document(SEED["001"])
    for junk in ("亚洲AV", "一区二区", "首页", "查看内容", "回顶部", "最新新闻", "关键词"):
        assert junk not in document.text
    assert document.text.startswith("谱好长株潭一体化发展协奏曲")
    assert "(zh" not in document.text and "ǎ" not in document.text


def test_sidebar_of_003_removed_and_article_kept() -> None:
    document = read_document(SEED["003"])
    for junk in ("太原", "埃菲尔铁塔", "阿拉善", "墨脱", "东莞", "翠山湖", "天天要闻", "声明"):
        assert junk not in document.text
    assert "韶山市政府与萍乡市安源区政府签署战略合作协议" in document.text


def test_sidebar_never_reaches_the_graph(seed_kg: Path) -> None:
    text = seed_kg.read_text(encoding="utf-8")
    for junk in ("太原", "埃菲尔铁塔", "阿拉善", "墨脱", "翠山湖"):
        assert junk not in text


@pytest.mark.parametrize(
    ("key", "title", "date", "publisher"),
    [
        ("000", None, None, "红网时刻"),
        ("001", "谱好长株潭一体化发展协奏曲(声音)", "2021-09-02", None),
        ("002", "省市联动,各展所长,强化考核", None, "湖南日报"),
        ("003", "将长株潭作为一座特大城市一体打造!", "2024-12-10", "新闻株洲"),
        ("004", "湘潭市区域共进行动 “点面互动 区际互融”工作方案", "2024-06-11", "湘潭县人民政府"),
    ],
)
def test_seed_metadata(
    key: str, title: str | None, date: str | None, publisher: str | None
) -> None:
    document = read_document(SEED[key])
    assert document.id == SEED[key].stem
    if title is not None:
        assert document.title == title
    assert document.title
    assert document.date == date
    if publisher is not None:
        assert document.publisher == publisher


def test_seed_authors() -> None:
    assert read_document(SEED["000"]).authors == ("唐钰娇", "沈亚强")
    assert {"孟姣燕", "郑旋", "朱佳妮", "秦洁蕊"} <= set(read_document(SEED["002"]).authors)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "big5", "utf-16", "utf-8-sig"])
def test_same_document_in_other_encodings(tmp_path: Path, encoding: str) -> None:
    original = read_document(SEED["000"])
    raw = SEED["000"].read_text(encoding="utf-8")
    if encoding == "big5":
        raw = raw.replace("(", "(").replace(")", ")")  # Big5 lacks the pinyin tone letters:
        raw = remove_inserted_pinyin(raw)  # the same text without the inserted pinyin
    target = tmp_path / SEED["000"].name
    target.write_bytes(raw.encode(encoding, errors="strict"))
    document = read_document(target)
    assert document.text == original.text
    assert document.title == original.title
    assert document.date == original.date


def test_bad_files_skipped_with_reason(tmp_path: Path) -> None:
    (tmp_path / "a_good.txt").write_text(SEED["003"].read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "b_empty.txt").write_bytes(b"")
    (tmp_path / "c_binary.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "d_undecodable.txt").write_bytes(bytes([0x80, 0xFF]) * 200)
    (tmp_path / "e_notes.pdf").write_bytes(b"%PDF-1.4")
    documents, skipped = load_corpus(tmp_path)
    assert [d.id for d in documents] == ["a_good"]
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert set(reasons) == {"b_empty.txt", "c_binary.txt", "d_undecodable.txt", "e_notes.pdf"}
    assert "empty" in reasons["b_empty.txt"]
    assert all(reasons.values())


def test_folder_without_usable_document(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(NoDocumentsError, match="no usable document"):
        load_corpus(tmp_path)
    with pytest.raises(NoDocumentsError):
        load_corpus(tmp_path / "missing")


def test_unreadable_file_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(b"\x00\x01\x02")
    with pytest.raises(InputError, match="x.txt"):
        read_document(path)


def test_sentences_slice_the_text() -> None:
    for path in SEED.values():
        document = read_document(path)
        assert document.sentences
        for sentence in document.sentences:
            assert document.text[sentence.start : sentence.end] == sentence.text
    assert [s.text for s in split_sentences("甲。乙!\n丙")] == ["甲。", "乙!", "丙"]


def test_shacl_passes_on_build_and_fails_on_broken_graph(seed_kg: Path) -> None:
    graph = Graph().parse(seed_kg, format="turtle")
    assert validate_graph(graph).conforms
    broken = Graph()
    for triple in graph:
        broken.add(triple)
    agreement = next(graph.subjects(RDF.type, CZT.Agreement))
    for party in list(broken.subjects(CZT.partyTo, agreement))[1:]:
        broken.remove((party, CZT.partyTo, agreement))
    bad = URIRef("https://w3id.org/czt-kg/id/City/无名")
    broken.add((bad, RDF.type, CZT.City))
    doc = next(graph.subjects(RDF.type, CZT.Document))
    broken.add((doc, DCTERMS.date, Literal("not a date")))
    report = validate_graph(broken)
    assert not report.conforms
    text = report.summary()
    assert "at least two parties" in text
    assert "preferred label" in text


def test_two_builds_give_identical_turtle(seed_build, tmp_path: Path) -> None:
    from kg.pipeline import BuildOptions, build

    again = build(BuildOptions(corpus=CORPUS, out=tmp_path, workers=2, use_cache=False, maps=False))
    assert (again.out / "kg.ttl").read_bytes() == (seed_build.out / "kg.ttl").read_bytes()


def test_evidence_offsets_slice_the_cleaned_text(seed_kg: Path) -> None:
    graph = Graph().parse(seed_kg, format="turtle")
    texts = {d: str(graph.value(d, NIF.isString)) for d in graph.subjects(RDF.type, CZT.Document)}
    evidence = list(graph.subjects(RDF.type, CZT.Evidence))
    assert len(evidence) > 50
    for node in evidence:
        text = texts[graph.value(node, NIF.referenceContext)]
        start, end = int(graph.value(node, NIF.beginIndex)), int(graph.value(node, NIF.endIndex))
        assert text[start:end] == str(graph.value(node, NIF.anchorOf))


def test_outputs_written(seed_build) -> None:
    for name in ("kg.ttl", "kg.jsonld", "entities.csv", "relations.csv", "mentions.csv"):
        assert (seed_build.out / name).stat().st_size > 0
    header = (seed_build.out / "relations.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",")[-4:] == ["start", "end", "rule", "sentence"]


def test_turtle_parses_in_pyoxigraph(seed_kg: Path) -> None:
    import pyoxigraph

    store = pyoxigraph.Store()
    store.load(path=str(seed_kg), format=pyoxigraph.RdfFormat.TURTLE)
    assert len(store) == len(Graph().parse(seed_kg, format="turtle"))


def test_cli_help_lists_commands_and_every_command_has_help() -> None:
    from kg.cli import parser

    main = parser()
    sub = next(a for a in main._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in ("build", "entity", "eval", "query", "serve", "collab", "path", "suggest", "map"):
        assert name in sub.choices, name
    for action in sub._choices_actions:
        assert action.help, f"command {action.dest} has no help text"


def test_cli_help_does_not_load_the_analysis_stack() -> None:
    """``--help`` and the query commands start without numpy, scipy, igraph and networkx."""
    probe = (
        "import sys; from kg.cli import parser; parser().format_help(); "
        "print(sorted(m for m in ('kg.analysis', 'networkx', 'scipy', 'igraph') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


EVERY_TRIPLE = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"


def test_cli_output_to_a_pipe_closed_before_it_is_written_ends_quietly(seed_kg: Path) -> None:
    """``python -m kg … | head`` with the reader gone before the output (flushed at exit): the
    command ends with 141, as a Unix tool, and no traceback or "Exception ignored"."""
    command = [sys.executable, "-m", "kg", "query", "--graph", str(seed_kg), EVERY_TRIPLE]
    reader = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # (long before the query has run)
    error = reader.stderr.read().decode()
    assert reader.wait(timeout=120) == 141
    assert "Traceback" not in error and "Exception ignored" not in error, error


def test_cli_output_to_a_pipe_closed_while_writing_ends_quietly(
    seed_kg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails in the middle of a command (the reader left) ends it with 141, and
    standard output goes nowhere from then on (nothing fails again at exit)."""
    import io
    import os

    from kg.cli import EXIT_READER_GONE, main

    read_end, write_end = os.pipe()
    os.close(read_end)
    stdout = io.TextIOWrapper(io.FileIO(write_end, "w"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stdout)
    code = main(["query", "--graph", str(seed_kg), "--format", "csv", EVERY_TRIPLE])
    assert code == EXIT_READER_GONE
    stdout.write("more")
    stdout.flush()  # (into /dev/null now)
    stdout.close()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["build", "--workers", "-3"], "argument --workers: -3 is out of range (at least 0)"),
        (["serve", "--port", "99999"], "argument --port: 99999 is out of range (from 0 to 65535)"),
        (["serve", "--max-rows", "0"], "argument --max-rows: 0 is out of range (at least 1)"),
        (
            ["serve", "--timeout", "nan"],
            "argument --timeout: nan is not a number of seconds above 0",
        ),
        (["query", "--timeout", "-1"], "argument --timeout: -1 is not a number of seconds above 0"),
        (["query", "--max-width", "x"], "argument --max-width: 'x' is not a whole number"),
        (["collab", "甲", "--limit", "0"], "argument --limit: 0 is out of range (at least 1)"),
        (["map", "甲", "--depth", "-1"], "argument --depth: -1 is out of range (at least 0)"),
    ],
)
def test_cli_numbers_out_of_range_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from kg.cli import parser

    with pytest.raises(SystemExit) as stop:
        parser().parse_args(argv)
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().endswith(message)


def test_build_over_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "build_graph.py", "--corpus", str(tmp_path), "--out", str(tmp_path / "o")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("Error:")
    assert "Traceback" not in result.stderr


def test_build_into_an_unusable_folder_is_a_clear_error(tmp_path: Path) -> None:
    """An output folder that cannot be made (here: under a file) is one line naming it."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "one.txt").write_bytes((ROOT / "corpus" / "002_4318fbb41800f889.txt").read_bytes())
    out = blocker / "out"
    result = subprocess.run(
        [sys.executable, "build_graph.py", "--corpus", str(corpus), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: {out}") and "Not a directory" in last, last
    assert "Traceback" not in result.stderr
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("given", ["a-file.txt", "missing"])
def test_a_corpus_that_is_no_folder_is_a_clear_error(tmp_path: Path, given: str) -> None:
    from kg.corpus import load_corpus
    from kg.pipeline import corpus_files

    (tmp_path / "a-file.txt").write_text("湘潭市与株洲市合作。", encoding="utf-8")
    expected = "a file, not a corpus folder" if given == "a-file.txt" else "corpus folder not found"
    for read in (corpus_files, load_corpus):
        with pytest.raises(NoDocumentsError, match=expected):
            read(tmp_path / given)


def test_build_command_exits_with_its_summary_and_outputs_complete(tmp_path: Path) -> None:
    """The command ends the process without freeing its heap (os._exit): the summary must still
    reach a pipe, and every output must be in place."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "one.txt").write_bytes((ROOT / "corpus" / "002_4318fbb41800f889.txt").read_bytes())
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "build_graph.py", "--corpus", str(corpus), "--out", str(out), "--no-maps"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().splitlines()[-1] == f"Outputs in {out}/"
    for name in ("kg.ttl", "kg.jsonld", "entities.csv", "relations.csv", "mentions.csv"):
        assert (out / name).stat().st_size > 0, name
    assert len(Graph().parse(out / "kg.ttl", format="turtle")) > 100
    assert not list(out.glob(".*.tmp"))


def test_outputs_get_the_permissions_of_new_files(seed_kg: Path) -> None:
    """Temporary files are 0600; the renamed outputs must be readable as the umask allows."""
    import os
    import stat

    umask = os.umask(0)
    os.umask(umask)
    expected = 0o666 & ~umask
    for name in (
        "kg.ttl",
        "kg.jsonld",
        "entities.csv",
        "relations.csv",
        "mentions.csv",
        "report.md",
    ):
        assert stat.S_IMODE((seed_kg.parent / name).stat().st_mode) == expected, name
