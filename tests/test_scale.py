"""Scale: the benchmark corpus generator, parallel / incremental / Dask builds identical to a
serial clean build, the fast SHACL validator against pySHACL, the relation network built from the
data, and the external store (an ``oxigraph serve`` started on loopback by the test).

Builds run on a few generated documents with the fast validator (pySHACL takes ~10 s per
build); speed and memory are measured by benchmarks/bench_build.py, not here.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, XSD

import kg.pipeline
from kg.clean import split_sentences
from kg.errors import NoDocumentsError
from kg.model import (
    DocumentExtraction,
    ExtractionRows,
    Mention,
    RelationCandidate,
    mention_row,
)
from kg.ontology import CZT, NIF
from kg.pipeline import (
    RESOLUTION_STATE,
    BuildOptions,
    ExtractionCache,
    build,
    network_from_data,
    process_file,
    resolution_version,
)
from kg.resolve import ResolutionState, _Resolution, resolve_incrementally

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = 6
OUTPUT_FILES = ("kg.ttl", "kg.jsonld", "entities.csv", "relations.csv", "mentions.csv", "report.md")


def _load_make_corpus():
    spec = importlib.util.spec_from_file_location(
        "make_corpus", ROOT / "benchmarks" / "make_corpus.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules["make_corpus"] = module
    spec.loader.exec_module(module)
    return module


make_corpus = _load_make_corpus()


def _options(corpus: Path, out: Path, **changes) -> BuildOptions:
    settings = {"workers": 1, "maps": False, "validation": "fast", **changes}
    return BuildOptions(corpus=corpus, out=out, **settings)


def _outputs(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in OUTPUT_FILES}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated") / "corpus"
    make_corpus.write_corpus(folder, DOCUMENTS)
    return folder


@pytest.fixture(scope="module")
def serial_build(corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    """A clean serial build of the generated corpus (its cache is filled for the other tests)."""
    return build(_options(corpus, tmp_path_factory.mktemp("serial"), use_cache=False))


# ------------------------------------------------------------------------------ the generator


def test_generated_documents_are_deterministic_and_prefix_stable(tmp_path: Path) -> None:
    first = make_corpus.make_document(3)
    assert first == make_corpus.make_document(3)
    assert first != make_corpus.make_document(4)
    assert first != make_corpus.make_document(3, seed=8)
    make_corpus.write_corpus(tmp_path, 1, start=3)
    assert (tmp_path / "doc_00003.txt").read_text(encoding="utf-8") == first
    lengths = [len(make_corpus.make_document(i)) for i in range(10)]
    assert all(1700 <= n <= 2600 for n in lengths), lengths


def test_generated_documents_recombine_real_sentences_with_other_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = make_corpus.sentence_pool()
    real = {s.text for document in pool.documents for s in document}

    def sentences(document: str) -> list[str]:
        return [s.text for line in document.splitlines()[2:] for s in split_sentences(line)]

    varied = [sentences(make_corpus.make_document(i)) for i in range(10)]
    monkeypatch.setattr(make_corpus, "KEEP_SHARE", 1.0)  # every division name kept
    kept = [sentences(make_corpus.make_document(i)) for i in range(10)]
    assert all(sentence in real for document in kept for sentence in document)
    changed = [
        (a, b)
        for doc_a, doc_b in zip(varied, kept, strict=True)
        for a, b in zip(doc_a, doc_b, strict=False)
    ]
    differing = [(a, b) for a, b in changed if a != b]
    assert len(differing) > 20  # names replaced…
    assert sum(a == b for a, b in changed) > 50  # …in sentences otherwise as written


def test_generated_corpus_builds_with_named_entities(serial_build) -> None:
    assert len(serial_build.documents) == DOCUMENTS and not serial_build.skipped
    assert serial_build.validation.conforms
    assert serial_build.entity_counts.get("City", 0) >= 3
    assert serial_build.relation_counts.get("cooperatesWith", 0) >= 1


# ------------------------------------------------------------------------------ identical builds


def test_parallel_build_is_byte_identical(serial_build, corpus: Path, tmp_path: Path) -> None:
    parallel = build(_options(corpus, tmp_path, workers=2))
    assert parallel.cache_hits == 0
    assert _outputs(parallel.out) == _outputs(serial_build.out)


def test_both_ends_written_in_small_claims_are_byte_identical(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two workers a child process writes the graph's blocks from the front and the main
    process from the back; claims of three blocks make dozens of segments to join, copied ones
    (from the previous build) among them."""
    from kg import pipeline

    monkeypatch.setattr(pipeline, "CLAIM_BLOCKS", 3)
    folder = tmp_path / "corpus"
    shutil.copytree(corpus, folder)

    def serial() -> dict[str, bytes]:
        return _outputs(build(_options(folder, tmp_path / "serial", use_cache=False)).out)

    out = tmp_path / "out"
    assert _outputs(build(_options(folder, out, workers=2, use_cache=False)).out) == serial()
    make_corpus.write_corpus(folder, 1, start=DOCUMENTS)
    again = build(_options(folder, out, workers=2))
    assert again.cache_hits == DOCUMENTS
    assert _outputs(again.out) == serial()


def test_a_new_document_changes_few_blocks_of_an_entity_mentioned_everywhere() -> None:
    """An entity mentioned in many documents is written in content-defined parts: one more
    document changes the entity's own triples and the parts around the document, not the rest."""
    from collections import Counter

    from kg.model import Document, Entity, KnowledgeGraphData
    from kg.rdf import PLAIN, GraphBlocks, add_entity, build_rdf

    def data(documents: list[str]) -> KnowledgeGraphData:
        docs = tuple(Document(d, f"{d}.txt", d, "", ()) for d in documents)
        city = Entity("City/甲市", "City", "甲市", mention_counts=tuple((d, 2) for d in documents))
        return KnowledgeGraphData(docs, (city,), ())

    before = [f"doc{i:04d}" for i in range(0, 1000, 2)]
    after = sorted([*before, "doc0501"])
    old, new = GraphBlocks(data(before)), GraphBlocks(data(after))
    assert len(new.entity_parts) > 8  # the city is written in parts
    old_keys = {key for key, _ in old.span(0, len(old))}
    changed = {i for i, (key, _) in enumerate(new.span(0, len(new))) if key not in old_keys}
    position = after.index("doc0501")
    holding = next(
        p for p, (_, start, stop) in enumerate(new.entity_parts) if start <= position < stop
    )
    around = {len(after) + p for p in (0, holding - 1, holding)}  # its own triples, the part
    assert position in changed and changed - {position} <= around  # holding it and the one before

    made = [triple for _, make in new.span(0, len(new)) for triple in make().triples()]
    assert len(build_rdf(data(after))) == len(made) == len(set(made))

    class Triples(list):
        add = list.append

    whole = Triples()
    add_entity(whole, data(after).entities[0], PLAIN)  # the entity in one piece
    parts = [triple for _, make in new.span(len(after), len(new)) for triple in make().triples()]
    assert Counter(parts) == Counter(whole)


def _entity_and_relation(documents: list[str], dangling: str | None = None):
    """A city mentioned in ``documents`` and a relation with evidence from each of them."""
    from kg.model import Document, Entity, Evidence, KnowledgeGraphData, Relation

    docs = tuple(Document(d, f"{d}.txt", d, "", ()) for d in documents)
    named = documents + ([dangling] if dangling else [])
    cities = (
        Entity("City/甲市", "City", "甲市", mention_counts=tuple((d, 2) for d in sorted(named))),
        Entity("City/乙市", "City", "乙市", mention_counts=tuple((d, 1) for d in documents)),
    )
    evidence = tuple(Evidence(d, 0, 4, "甲乙合作", "A与B合作") for d in documents)
    relation = Relation("City/甲市", "cooperatesWith", "City/乙市", evidence)
    return KnowledgeGraphData(docs, cities, (relation,))


def test_a_new_document_changes_few_blocks_of_a_relation_with_much_evidence() -> None:
    from collections import Counter

    from kg.rdf import PLAIN, GraphBlocks, add_relation

    before = [f"doc{i:04d}" for i in range(0, 1000, 2)]
    after = sorted([*before, "doc0501"])
    old, new = GraphBlocks(_entity_and_relation(before)), GraphBlocks(_entity_and_relation(after))
    assert len(new.relation_parts) > 8  # the relation is written in parts
    old_keys = {key for key, _ in old.span(0, len(old))}
    first = len(after) + len(new.entity_parts)
    changed = [i - first for i, (key, _) in enumerate(new.span(0, len(new))) if key not in old_keys]
    changed = [i for i in changed if i >= 0]  # (the entities' parts: the test above)
    position = after.index("doc0501")
    holding = next(
        p for p, (_, start, stop) in enumerate(new.relation_parts) if start <= position < stop
    )
    assert set(changed) <= {0, holding - 1, holding} and holding in changed

    class Triples(list):
        add = list.append

    whole = Triples()
    add_relation(whole, _entity_and_relation(after).relations[0], PLAIN)
    parts = [triple for _, make in new.span(first, len(new)) for triple in make().triples()]
    assert Counter(parts) == Counter(whole)


def test_the_fast_validator_checks_every_part_of_an_entity() -> None:
    """A later part of an entity repeats no type: its documents are checked all the same."""
    from kg.rdf import GraphBlocks
    from kg.validate import FastValidator

    documents = [f"doc{i:04d}" for i in range(0, 400, 2)]
    message = "czt:mentionedIn must point to a czt:Document"
    for dangling in (None, "doc0003", "doc0399"):  # none, in the first part, in the last
        blocks = GraphBlocks(_entity_and_relation(documents, dangling))
        validator = FastValidator()
        for _, make in blocks.span(0, len(blocks)):
            block = make()
            validator.add_block(block, block.statements)
        found = [(v.focus, v.path, v.message) for v in validator.report().violations]
        assert found == ([("City/甲市", "mentionedIn", message)] if dangling else [])
    last = max(start for entity, start, _ in blocks.entity_parts if entity == 0)
    assert last > 0 and blocks.entities[0].mention_counts[last][0] < "doc0399"


@pytest.mark.parametrize("workers", [1, 2])
def test_incremental_add_change_delete_match_clean_builds(
    serial_build, corpus: Path, tmp_path: Path, workers: int
) -> None:
    """A rebuild extracts the changed files in worker processes (with one worker, one process)
    while it reads the cache (_start_file_tasks)."""
    folder = tmp_path / "corpus"
    shutil.copytree(corpus, folder)
    out = tmp_path / "out"
    first = build(_options(folder, out))
    assert first.cache_hits == 0

    def check(expected_hits: int, name: str) -> None:
        again = build(_options(folder, out, workers=workers))
        assert again.cache_hits == expected_hits, name
        clean = build(_options(folder, tmp_path / f"clean-{name}", use_cache=False))
        assert clean.cache_hits == 0
        assert _outputs(out) == _outputs(clean.out), name
        # Documents read from the cache (sentences kept as offsets) equal those read anew.
        assert again.documents == clean.documents, name
        assert [d.sentences[-1] for d in again.documents] == [
            d.sentences[-1] for d in clean.documents
        ]

    make_corpus.write_corpus(folder, 1, start=DOCUMENTS)  # add one
    check(DOCUMENTS, "add")
    changed = folder / make_corpus.document_name(1)
    changed.write_text(make_corpus.make_document(1, seed=99), encoding="utf-8")  # change one
    check(DOCUMENTS, "change")
    (folder / make_corpus.document_name(2)).unlink()  # delete one
    check(DOCUMENTS, "delete")
    entries = list(ExtractionCache(out / ".cache").folder.iterdir())
    assert len(entries) == DOCUMENTS  # the changed and deleted documents' entries are gone


def test_two_files_of_one_document_id_rebuild_as_they_build_clean(
    corpus: Path, tmp_path: Path
) -> None:
    """x.txt and x.md are both document x: neither file keys x's mentions and evidence by their
    places (resolution links the first one's mentions by their rows, and keyed by the other
    file those rows would be copied after the first changed); a rebuild equals a clean build."""
    from kg.pipeline import ExtractedPlaces, pack_rows
    from kg.resolve import resolve

    folder, out = tmp_path / "corpus", tmp_path / "out"
    folder.mkdir()
    for index in range(3):
        shutil.copy(corpus / make_corpus.document_name(index), folder)
    twin = (folder / make_corpus.document_name(0)).with_suffix(".md")  # (before x.txt)
    title, dateline, body = make_corpus.make_document(7, seed=5).split("\n", 2)
    twin.write_text(f"{title}\n{dateline}\n{body}", encoding="utf-8")
    build(_options(folder, out))
    # The same mentions of the same entities, each a few characters later.
    twin.write_text(f"{title}\n{dateline}\n会议指出。{body}", encoding="utf-8")
    again = build(_options(folder, out))
    assert again.cache_hits == 3
    clean = build(_options(folder, tmp_path / "clean", use_cache=False))
    assert _outputs(out) == _outputs(clean.out)
    twins = [
        pack_rows(process_file(str(path)).extraction)[1]
        for path in sorted(folder.glob(f"{twin.stem}.*"))
    ]
    assert ExtractedPlaces(resolve(twins), twins).file == {twin.stem: twin.stem}


def test_a_document_respelling_another_ones_mention_remakes_its_rows(tmp_path: Path) -> None:
    """The mention table's chunks are keyed by their documents' files and the mentions' places
    in them: a mention that resolution respells because of another document (a plan's fuller
    spelling) is keyed by its new fields, so its rows are made again, not copied."""
    folder, out = tmp_path / "corpus", tmp_path / "out"
    folder.mkdir()
    short, full = (
        "湘江流域协同发展行动计划(2022-2024年)",
        "湘江流域协同发展三年行动计划(2022-2024年)",
    )
    (folder / "a.txt").write_text(
        f"湘潭市推进产业协同\n\n湘潭市发展和改革委员会印发《{short}》，推动长沙市与湘潭市合作。\n",
        encoding="utf-8",
    )
    build(_options(folder, out))
    (folder / "b.txt").write_text(
        f"株洲市部署重点工作\n\n株洲市人民政府印发《{full}》，株洲市与长沙市签署合作协议。\n",
        encoding="utf-8",
    )
    again = build(_options(folder, out))
    assert again.cache_hits == 1
    rows = (out / "mentions.csv").read_text(encoding="utf-8").splitlines()
    assert any(row.startswith("a,") and f"plan-spelling,{full}," in row for row in rows)
    clean = build(_options(folder, tmp_path / "clean", use_cache=False))
    assert _outputs(out) == _outputs(clean.out)


def test_an_extraction_has_the_same_rows_fresh_or_cached() -> None:
    """A document's extraction as rows (kg.model.ExtractionRows) is the same whether it comes from
    the extractor (through pack_rows) or from the cache (unpack_rows), each mention and piece of
    evidence at the same place (the table chunks are keyed by those places), equal mentions one
    row and equal pieces one; made objects again, it is the extraction."""
    from kg.pipeline import pack_rows, unpack_rows

    shared_somewhere = False
    for path in sorted((ROOT / "corpus").glob("*.txt")):
        extracted = process_file(str(path)).extraction
        assert extracted is not None
        packed, fresh = pack_rows(extracted)
        cached = unpack_rows(packed)
        assert fresh == cached
        objects = [Mention(*row) for row in fresh.table]
        assert extracted == DocumentExtraction(
            fresh.document,
            tuple(objects[i] for i in fresh.mentions),
            tuple(
                RelationCandidate(objects[s], predicate, objects[o], fresh.evidence[e], qualifiers)
                for s, predicate, o, e, qualifiers in fresh.candidates
            ),
        )
        for rows in (fresh, cached):
            assert len(set(rows.table)) == len(rows.table)
            assert len(set(rows.evidence)) == len(rows.evidence)
            assert [Mention(*rows.table[i]) for i in rows.mentions] == list(extracted.mentions)
            ends = [
                (rows.table[s], rows.table[o], rows.evidence[e])
                for s, _, o, e, _ in rows.candidates
            ]
            assert ends == [
                (mention_row(c.subject), mention_row(c.object), c.evidence)
                for c in extracted.relations
            ]
        shared_somewhere |= len(fresh.table) < len(extracted.mentions) + 2 * len(
            extracted.relations
        ) and len(fresh.evidence) < len(extracted.relations)
    assert shared_somewhere  # (the seed has repeated mentions and evidence)


def test_resolving_from_the_previous_state_equals_resolving_anew(tmp_path: Path) -> None:
    """Generated and seed documents added (every other step), and added, changed and removed at
    random: resolution from the previous state (saved and read back, as a build does) equals
    resolution from nothing at every step, and after additions it reads only the new documents
    and those whose links or relations read an entity that came to be."""
    rng = random.Random(3)
    folder = tmp_path / "corpus"
    make_corpus.write_corpus(folder, 12)
    for seed_file in sorted((ROOT / "corpus").glob("*.txt")):
        shutil.copy(seed_file, folder / seed_file.name)
    extracted: dict[tuple[Path, str], ExtractionRows] = {}

    def rows() -> list[ExtractionRows]:
        found = []
        for path in sorted(folder.iterdir()):
            text = path.read_text(encoding="utf-8")
            if (path, text) not in extracted:
                extraction = process_file(str(path)).extraction
                assert extraction is not None
                extracted[path, text] = ExtractionRows.of(extraction)
            found.append(extracted[path, text])
        return found

    _, state = resolve_incrementally(rows(), None)
    assert state is not None
    read: list[tuple[str, bool]] = []  # (document, counted) as resolution reads them
    original = _Resolution.read

    def recorded(self: _Resolution, doc_id: str, group: list, count: bool = False) -> object:
        read.append((doc_id, count))
        return original(self, doc_id, group, count)

    next_index = 12
    for step in range(10):
        added = []
        for _ in range(rng.randint(1, 2)):
            existing = sorted(folder.iterdir())
            action = "add" if step % 2 == 0 else rng.choice(("add", "change", "remove"))
            if action == "add":
                added += make_corpus.write_corpus(folder, 1, start=next_index)
                next_index += 1
            elif action == "change":
                target = rng.choice(existing)
                other = make_corpus.make_document(rng.randrange(100), seed=step)
                target.write_text(other, encoding="utf-8")
            elif len(existing) > 4:
                rng.choice(existing).unlink()
        corpus_rows = rows()
        before = ResolutionState.loads(state.dumps("v"), "v")
        assert before is not None
        read.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_Resolution, "read", recorded)
            incremental, state = resolve_incrementally(corpus_rows, before)
        assert incremental == resolve_incrementally(corpus_rows, None)[0], step
        assert state is not None
        if step % 2 == 0 and before.spellings == state.spellings:
            # Only the new documents go into the entities; others are at most read again.
            assert sorted(d for d, counted in read if counted) == [p.stem for p in added]
            assert len(read) < len(corpus_rows)


def test_relation_evidence_is_keyed_by_its_place_and_equal_keys_are_equal_evidence(
    corpus: Path,
) -> None:
    """The relations table and the graph's blocks key each piece of evidence by its document's
    file and its index there (kg.pipeline.ExtractedPlaces.relation_evidence): one key per piece
    of evidence and one piece per key, across all relations; without extractions (no file to
    key by) a piece is keyed by its fields."""
    from kg.model import evidence_fields
    from kg.pipeline import ExtractedPlaces, pack_rows
    from kg.resolve import resolve

    extractions = [
        pack_rows(process_file(str(path)).extraction)[1] for path in sorted(corpus.iterdir())
    ]
    data = resolve(extractions)
    keyed = ExtractedPlaces(data, extractions).relation_evidence
    assert len(keyed) == len(data.relations)
    key_of: dict[tuple, tuple] = {}
    fields_of: dict[tuple, tuple] = {}
    for relation, keys in zip(data.relations, keyed, strict=True):
        assert len(keys) == len(relation.evidence)
        for piece, key in zip(relation.evidence, keys, strict=True):
            fields = evidence_fields(piece)
            assert [type(part) for part in key] == [bytes, int]  # (every document is a file)
            assert key_of.setdefault(fields, key) == key
            assert fields_of.setdefault(key, fields) == fields
    assert len(fields_of) > len(data.relations) / 2  # (many pieces, some shared by relations)
    unplaced = ExtractedPlaces(data).relation_evidence
    assert unplaced == [tuple(map(evidence_fields, r.evidence)) for r in data.relations]


def test_mention_chunks_key_mentions_as_extracted_by_their_rows_and_others_by_fields(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mentions.csv in chunks: each (mention, entity) of the resolved data in order, whether it
    was resolved from objects or from rows; a mention as extracted is keyed by its row's index
    under its document's file, any other (respelled, of a document not read from a file) by its
    fields, so a changed mention changes its chunk's key."""
    from kg import pipeline
    from kg.pipeline import ExtractedPlaces, mention_chunks, pack_rows
    from kg.resolve import resolve

    monkeypatch.setattr(pipeline, "TABLE_PART", 2)  # (chunks of ~2 documents: several here)
    extracted = [process_file(str(path)).extraction for path in sorted(corpus.iterdir())]
    rows = [pack_rows(e)[1] for e in extracted if e is not None]
    data = resolve(rows)
    assert data == resolve(e for e in extracted if e is not None)
    expected = [
        (m.doc_id, m.start, m.end, m.text, m.type, m.rule, m.canonical, target)
        for m, target in data.mentions
    ]
    refs = [ref for _, _, pairs in data.mentions.parts for ref, _ in pairs]  # type: ignore[attr-defined]
    assert all(type(ref) is int or isinstance(ref, Mention) for ref in refs)
    assert sum(type(ref) is int for ref in refs) > len(refs) / 2

    def keys_and_rows(data, places=None) -> tuple[list[bytes], list[tuple]]:
        chunks = list(mention_chunks(data, places))
        return [key for key, _ in chunks], [row for _, make in chunks for row in make()]

    placed, placed_rows = keys_and_rows(data, ExtractedPlaces(data, rows))
    unplaced, unplaced_rows = keys_and_rows(data)
    assert placed_rows == unplaced_rows == expected
    assert len(placed) > 1 and len(set(placed).intersection(unplaced)) == 0
    first, target = data.mentions[0]
    changed = dataclasses.replace(
        data, mentions=((dataclasses.replace(first, text="别名"), target), *data.mentions[1:])
    )
    keys, _ = keys_and_rows(changed)
    assert keys[0] != unplaced[0] and keys[1:] == unplaced[1:]
    # A document not read from a file, its first mention's text changed: so is its chunk's key.
    first_row, *other_rows = rows[0].table
    altered = (*first_row[:3], "别名", *first_row[4:])
    data = resolve([dataclasses.replace(rows[0], table=(altered, *other_rows)), *rows[1:]])
    keys, changed_rows = keys_and_rows(data)
    assert changed_rows != expected and keys[0] != unplaced[0] and keys[1:] == unplaced[1:]


def test_no_cache_ignores_and_corrupt_entries_are_misses(
    serial_build, corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    build(_options(corpus, out))
    assert build(_options(corpus, out, use_cache=False)).cache_hits == 0
    entry = next(ExtractionCache(out / ".cache").folder.iterdir())
    entry.write_bytes(b"not a pickle")
    state = out / ".cache" / RESOLUTION_STATE
    state.write_bytes(state.read_bytes()[:1000])  # (a truncated resolution: resolved anew)
    again = build(_options(corpus, out))
    assert again.cache_hits == DOCUMENTS - 1
    assert _outputs(out) == _outputs(serial_build.out)
    assert ResolutionState.loads(state.read_bytes(), resolution_version()) is not None


@pytest.mark.parametrize("workers", [1, 2])
def test_a_rebuild_extracts_new_files_early_and_unreadable_entries_after(
    serial_build, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """In a rebuild the files without a cache entry go to worker processes (one worker: one
    process) before the cache is read; an entry that turns out unreadable is extracted after it.
    Both kinds are extracted and cached, and the build is the clean build's."""
    folder = tmp_path / "corpus"
    shutil.copytree(corpus, folder)
    out = tmp_path / "out"
    build(_options(folder, out))
    entry = next(ExtractionCache(out / ".cache").folder.iterdir())
    entry.write_bytes(b"truncated")
    make_corpus.write_corpus(folder, 1, start=DOCUMENTS)
    started_early: list[list[str]] = []
    start = kg.pipeline._start_file_tasks

    def recorded(paths, options):
        started_early.append(list(paths))
        return start(paths, options)

    monkeypatch.setattr(kg.pipeline, "_start_file_tasks", recorded)
    messages: list[str] = []
    again = build(_options(folder, out, workers=workers), log=messages.append)
    assert started_early == [[str(folder / make_corpus.document_name(DOCUMENTS))]]
    assert again.cache_hits == DOCUMENTS - 1
    assert f"Reading and extracting 2 document(s) ({DOCUMENTS - 1} from the cache)…" in messages
    clean = build(_options(folder, tmp_path / "clean", use_cache=False))
    assert _outputs(out) == _outputs(clean.out)
    assert len(ExtractionCache(out / ".cache").stored()) == DOCUMENTS + 1
    assert build(_options(folder, out, workers=workers)).cache_hits == DOCUMENTS + 1


def test_dask_build_is_identical(serial_build, corpus: Path, tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    # One in-process worker thread: the extraction pipeline is already loaded in this process.
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        result = build(
            _options(corpus, tmp_path, executor="dask", scheduler=cluster.scheduler_address)
        )
    assert result.cache_hits == 0
    assert _outputs(result.out) == _outputs(serial_build.out)


def test_unreachable_dask_scheduler_is_a_clear_error(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg import distributed
    from kg.errors import KGError

    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT", "1s")

    port = _free_port()
    with pytest.raises(KGError, match="cannot reach the Dask scheduler"):
        build(
            _options(
                corpus,
                tmp_path,
                use_cache=False,
                executor="dask",
                scheduler=f"tcp://127.0.0.1:{port}",
            )
        )


# ------------------------------------------------------------------------------ analysis network


def test_network_from_data_equals_the_network_read_from_rdf(corpus: Path) -> None:
    from kg.analysis import analyse, write_metrics
    from kg.network import rdf_to_networkx
    from kg.pipeline import BETWEENNESS_SAMPLE, network_with_metrics
    from kg.rdf import build_rdf
    from kg.resolve import resolve

    results = [process_file(str(path)) for path in sorted(corpus.iterdir())]
    data = resolve([r.extraction for r in results if r.extraction is not None])
    graph = build_rdf(data)

    def same(a, b) -> None:
        assert list(a.nodes(data=True)) == list(b.nodes(data=True))
        assert list(a.edges(keys=True, data=True)) == list(b.edges(keys=True, data=True))
        assert a.graph == b.graph

    network = network_from_data(data)
    same(network, rdf_to_networkx(graph))
    assert network.number_of_edges() > 10
    write_metrics(graph, analyse(graph, betweenness_k=BETWEENNESS_SAMPLE))
    with_metrics = network_with_metrics(network, analyse(network, betweenness_k=BETWEENNESS_SAMPLE))
    same(with_metrics, rdf_to_networkx(graph))


def test_streamed_turtle_and_jsonld_hold_the_rdflib_graph(serial_build, corpus: Path) -> None:
    turtle = Graph().parse(serial_build.out / "kg.ttl", format="turtle")
    jsonld = Graph().parse(serial_build.out / "kg.jsonld", format="json-ld")
    assert len(turtle) == serial_build.triples
    assert isomorphic(turtle, jsonld)


def test_plain_writers_write_turtle_as_pyoxigraph_and_jsonld_it_reads() -> None:
    import json

    import pyoxigraph as ox

    from kg.rdf import (
        JSONLD_CONTEXT,
        JSONLD_FOOTER,
        JSONLD_HEADER,
        STREAM_PREFIXES,
        jsonld_block,
        turtle_block,
    )

    xsd = "http://www.w3.org/2001/XMLSchema#"
    nasty = "".join(map(chr, range(128))) + "\u2028\u00a0湘\ufeff\U0001f600"
    doc = "https://w3id.org/czt-kg/doc/doc_1"
    city = "https://w3id.org/czt-kg/id/City/湘潭市"
    triples = [
        (doc, str(RDF.type), str(CZT.Document)),
        (doc, str(NIF.isString), (nasty, None, None)),
        (doc, str(DCTERMS.title), ('标题 "引号"\n', "zh", None)),
        # (escaped by str.replace: no control character but these)
        (doc, str(DCTERMS.abstract), ('反斜杠\\ 制表\t 回车\r\n"引"\\n', None, None)),
        (doc, str(DCTERMS.date), ("2024-01-02", None, xsd + "date")),
        (city, str(CZT.mentionedIn), doc),
        (city, str(CZT.mentionedIn), "https://w3id.org/czt-kg/doc/doc_2"),
        (city, str(CZT.mentionCount), ("-3", None, xsd + "integer")),
        (city, str(CZT.mentionCount), ("03x", None, xsd + "integer")),
        (city, str(NIF.beginIndex), ("5", None, xsd + "nonNegativeInteger")),
        (city, str(CZT.pageRank), ("0.25", None, xsd + "double")),
    ]

    def term(node):
        if isinstance(node, str):
            return ox.NamedNode(node)
        value, language, datatype = node
        if language:
            return ox.Literal(value, language=language)
        return ox.Literal(value, datatype=ox.NamedNode(datatype)) if datatype else ox.Literal(value)

    expected = [ox.Triple(*map(term, triple)) for triple in triples]
    turtle = ox.serialize(expected, format=ox.RdfFormat.TURTLE, prefixes=STREAM_PREFIXES)
    body = b"\n".join(line for line in turtle.split(b"\n") if not line.startswith(b"@prefix "))
    assert turtle_block(triples).encode("utf-8") == body
    # JSON-LD compacted against the context (pyoxigraph writes expanded JSON-LD only): the
    # same triples, read back by pyoxigraph and by rdflib.
    triples += [
        (city, str(RDFS.seeAlso), odd)
        for odd in (
            "http://example.org/x",
            "https://w3id.org/czt-kg///x",
            "https://w3id.org/czt-kg/",
        )
    ]
    expected = [ox.Triple(*map(term, triple)) for triple in triples]
    document = f"{JSONLD_HEADER}{jsonld_block(triples)}{JSONLD_FOOTER}"
    read = {quad.triple for quad in ox.parse(document.encode(), format=ox.RdfFormat.JSON_LD)}
    assert read == set(expected)
    assert isomorphic(
        Graph().parse(data=document, format="json-ld"),
        Graph().parse(data=ox.serialize(expected, format=ox.RdfFormat.N_TRIPLES), format="nt"),
    )
    assert '"czr:City/湘潭市"' in document and '"czt:mentionedIn"' in document
    assert json.loads(document)["@context"] == JSONLD_CONTEXT


def test_mention_statements_written_from_templates_equal_their_triples_written_one_by_one() -> None:
    """A block's mention statements are written from a template: the same Turtle and JSON-LD
    as the writers give for their triples, and the same validation (a count that is no
    integer breaks StatementShape either way)."""
    from kg.model import Entity
    from kg.rdf import (
        PLAIN,
        Block,
        add_entity_node,
        block_jsonld,
        block_turtle,
        jsonld_block,
        mention_statements,
        turtle_block,
    )
    from kg.validate import FastValidator

    odd = Entity("Park/甲 <园> {区}", "Park", "甲园区", mention_counts=(("d 1", 0), ("d2", 12)))
    city = Entity("City/乙市", "City", "乙市", mention_counts=(("d1", 3),))
    for entity in (odd, city):
        block = Block()
        add_entity_node(block, entity, PLAIN)
        block.statements = mention_statements(entity, entity.mention_counts)
        triples = block.triples()
        assert len(triples) == block.triple_count() == len(block) + 5 * len(block.statements)
        assert block_turtle(block) == turtle_block(triples)
        assert block_jsonld(block) == jsonld_block(triples)
    only = Block()
    only.statements = block.statements
    assert block_turtle(only) == turtle_block(only.triples())
    assert block_jsonld(only) == jsonld_block(only.triples())

    bad = Block()
    bad.statements = [(*row[:3], "many") for row in mention_statements(odd, odd.mention_counts)]
    expanded = bad.triples()
    reports = []
    for args in ((bad, bad.statements), (expanded,)):
        validator = FastValidator()
        validator.add_block(*args)
        reports.append(validator.report())
    assert reports[0] == reports[1] and len(reports[0].violations) == 2


def test_rebuild_copies_blocks_only_from_the_files_it_indexed(
    serial_build, corpus: Path, tmp_path: Path
) -> None:
    from kg.pipeline import block_index_path, table_index_path

    out = tmp_path / "out"
    shutil.copytree(serial_build.out, out)
    assert block_index_path(out).is_file()
    assert _outputs(build(_options(corpus, out)).out) == _outputs(serial_build.out)
    for name in ("kg.ttl", "mentions.csv"):  # edited in place: no longer the indexed files
        with open(out / name, "r+b") as handle:
            handle.seek(handle.seek(0, 2) // 2)
            handle.write(b"EDITED")
    assert _outputs(build(_options(corpus, out)).out) == _outputs(serial_build.out)
    block_index_path(out).write_bytes(b"not an index")
    table_index_path(out).write_bytes(b"not an index")
    assert _outputs(build(_options(corpus, out)).out) == _outputs(serial_build.out)


def test_copy_range_with_and_without_the_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg.rdf import copy_range

    data = bytes(range(256)) * 1000
    source = tmp_path / "source"
    source.write_bytes(data)
    fd = os.open(source, os.O_RDONLY)
    try:
        for kernel in (True, False):
            if not kernel:
                monkeypatch.delattr(os, "copy_file_range", raising=False)
            for mode in ("wb", "ab"):  # (the kernel refuses a file opened for appending)
                out = tmp_path / f"out-{kernel}-{mode}"
                with open(out, mode) as handle:
                    handle.write(b"head")
                    copy_range(fd, handle, 1000, 50_000)
                    handle.write(b"tail")
                assert out.read_bytes() == b"head" + data[1000:51_000] + b"tail"
                with open(out, mode) as handle, pytest.raises(OSError, match="cut short"):
                    copy_range(fd, handle, len(data) - 10, 100)
    finally:
        os.close(fd)


def test_a_rebuild_copying_without_the_kernel_is_identical(
    serial_build, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    build(_options(corpus, out))
    monkeypatch.delattr(os, "copy_file_range", raising=False)
    for workers in (1, 2):
        build(_options(corpus, out, workers=workers))
        assert _outputs(out) == _outputs(serial_build.out)


def test_a_build_leaves_nothing_frozen_for_the_garbage_collector(
    serial_build, corpus: Path, tmp_path: Path
) -> None:
    import gc

    out = tmp_path / "out"
    build(_options(corpus, out))
    assert build(_options(corpus, out)).cache_hits == DOCUMENTS  # (frozen after the cache read)
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    with pytest.raises(NoDocumentsError):
        build(_options(tmp_path / "missing", out))
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_syncing_while_writing_changes_no_byte(
    serial_build, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The graph's files synced on a thread after every block written (every 64 MB in a
    build), by one process and by both ends."""
    from kg.rdf import GraphWriter

    monkeypatch.setattr(GraphWriter, "SYNC_EVERY", 1)
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        build(_options(corpus, out, workers=workers, use_cache=False))
        assert _outputs(out) == _outputs(serial_build.out)
        assert not list(out.glob(".*.tmp"))


def test_an_unchanged_rebuild_copies_every_block_metrics_included(
    serial_build, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg.files import CsvWriter
    from kg.rdf import GraphWriter

    out = tmp_path / "out"
    build(_options(corpus, out))  # (a copy of a build's folder is not the files its index knows)
    made: list[int] = []
    add_block = GraphWriter.add_block

    def counting(self, block, key=None, facts=None):  # noqa: ANN001, ANN202
        made.append(len(block))
        return add_block(self, block, key, facts)

    formatted: list[int] = []
    text = CsvWriter._text

    def counting_rows(self, rows):  # noqa: ANN001, ANN202
        formatted.append(len(rows))
        return text(self, rows)

    monkeypatch.setattr(GraphWriter, "add_block", counting)
    monkeypatch.setattr(CsvWriter, "_text", counting_rows)
    again = build(_options(corpus, out))
    assert again.cache_hits == DOCUMENTS
    assert made == []
    assert formatted == [1, 1, 1]  # the tables' headers: every chunk of rows copied
    assert _outputs(out) == _outputs(serial_build.out)


# ------------------------------------------------------------------------------ validation


def test_fast_validator_finds_what_pyshacl_finds(seed_kg: Path) -> None:
    from kg.validate import validate_fast, validate_graph

    graph = Graph().parse(seed_kg, format="turtle")
    assert validate_fast(graph).conforms
    broken = Graph()
    for triple in graph:
        broken.add(triple)
    agreement = next(graph.subjects(RDF.type, CZT.Agreement))
    for party in list(broken.subjects(CZT.partyTo, agreement))[1:]:
        broken.remove((party, CZT.partyTo, agreement))  # one party left
    broken.add((URIRef("https://w3id.org/czt-kg/id/City/无名"), RDF.type, CZT.City))  # no labels
    document = next(graph.subjects(RDF.type, CZT.Document))
    broken.add((document, DCTERMS.date, Literal("not a date")))
    statement = next(s for s in graph.subjects(CZT.evidence, None))
    broken.remove((statement, CZT.evidence, None))  # a relation without evidence
    evidence = next(graph.subjects(RDF.type, CZT.Evidence))
    broken.remove((evidence, CZT.rule, None))
    broken.set((evidence, NIF.beginIndex, Literal(-3)))
    park = next(graph.subjects(RDF.type, CZT.Park))
    broken.add((park, RDF.type, CZT.Project))  # two entity classes
    broken.add(
        (park, URIRef("http://www.w3.org/2004/02/skos/core#prefLabel"), Literal("x", lang="en"))
    )
    broken.add((park, CZT.mentionedIn, URIRef("https://w3id.org/czt-kg/doc/nowhere")))
    full, fast = validate_graph(broken), validate_fast(broken)
    assert not full.conforms and not fast.conforms
    assert [(v.focus, v.path) for v in fast.violations] == [
        (v.focus, v.path) for v in full.violations
    ]
    shape_messages = {v.message for v in full.violations if "{" not in v.message}
    assert shape_messages <= {v.message for v in fast.violations}
    assert len(full.violations) >= 10


def test_auto_validation_uses_pyshacl_on_the_seed(seed_build) -> None:
    assert seed_build.validator == "pySHACL"
    assert seed_build.validation.conforms


# ------------------------------------------------------------------------------ external store


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory):
    binary = shutil.which("oxigraph")
    if binary is None:
        pytest.skip("the oxigraph server (pip install oxigraph) is not installed")
    port = _free_port()
    location = tmp_path_factory.mktemp("oxigraph")
    process = subprocess.Popen(
        [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("oxigraph serve did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _integers_as_integer(graph: Graph) -> set[tuple]:
    """The triples, with xsd:nonNegativeInteger read as xsd:integer: Oxigraph stores every
    integer literal as an xsd:integer (the same value), so that is how the offsets come back."""
    integer = XSD.integer
    return {
        (
            s,
            p,
            Literal(str(o), datatype=integer)
            if getattr(o, "datatype", None) == XSD.nonNegativeInteger
            else o,
        )
        for s, p, o in graph
    }


def test_store_upload_and_read_back(
    serial_build, corpus: Path, tmp_path: Path, oxigraph_server: str
) -> None:
    from kg.store import load_store, load_store_graph

    out = tmp_path / "out"
    shutil.copytree(serial_build.out, out)  # with its cache: only the cross-document stages run
    url = f"{oxigraph_server}/store"
    result = build(_options(corpus, out, store=url))
    assert result.cache_hits == DOCUMENTS
    local = Graph().parse(out / "kg.ttl", format="turtle")
    assert len(load_store(url)) == len(local) == result.triples
    assert _integers_as_integer(load_store_graph(url)) == _integers_as_integer(local)
    # A second upload replaces the graph, it does not add to it.
    result = build(_options(corpus, out, store=url))
    assert len(load_store(url)) == result.triples


def test_store_named_graph_and_errors(serial_build, oxigraph_server: str) -> None:
    from kg.errors import InputError
    from kg.store import StoreError, load_store, parse_store_url, upload_file

    named = f"{oxigraph_server}/store?graph=https://w3id.org/czt-kg/graph/test"
    upload_file(serial_build.out / "kg.ttl", named)
    assert len(load_store(named)) == serial_build.triples
    assert parse_store_url("http://u:p%40ss@host:1/store").user == "u"
    assert parse_store_url("http://u:p%40ss@host:1/store").password == "p@ss"
    assert parse_store_url("http://u:p@host:1/store").url == "http://host:1/store?default"
    with pytest.raises(InputError, match="not a store URL"):
        parse_store_url("ftp://example/store")
    with pytest.raises(StoreError, match="cannot reach the store"):
        load_store(f"http://127.0.0.1:{_free_port()}/store")


def test_cli_build_options_have_help_and_bad_store_url_is_one_line(tmp_path: Path) -> None:
    from kg.cli import parser

    build_parser = next(
        a for a in parser()._actions if a.__class__.__name__ == "_SubParsersAction"
    ).choices["build"]
    options = {o for a in build_parser._actions for o in a.option_strings if a.help}
    assert {
        "--workers",
        "--no-cache",
        "--executor",
        "--scheduler",
        "--store",
        "--validation",
    } <= options
    assert "--no-analysis" in options
    result = subprocess.run(
        [sys.executable, "-m", "kg", "build", "--out", str(tmp_path), "--store", "ftp://x/store"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert (
        result.stderr.strip().splitlines()[-1].startswith("Error: ftp://x/store: not a store URL")
    )
    assert "Traceback" not in result.stderr


def test_query_and_serve_read_from_the_store(serial_build, oxigraph_server: str) -> None:
    import asyncio

    import httpx

    from kg.query import run_query
    from kg.serve import create_app
    from kg.store import upload_file

    url = f"{oxigraph_server}/store?graph=https://w3id.org/czt-kg/graph/read-back"
    upload_file(serial_build.out / "kg.ttl", url)
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?e a czt:Document }"
    local = run_query(count, serial_build.out / "kg.ttl").column("n")
    assert run_query(count, url).column("n") == local == [str(DOCUMENTS)]
    assert run_query(count, url, engine="rdflib").column("n") == local

    cli = subprocess.run(
        [sys.executable, "-m", "kg", "query", "--store", url, "--format", "csv", count],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.split() == ["n", str(DOCUMENTS)]

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(url))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/sparql", params={"query": count, "format": "csv"})

    response = asyncio.run(ask())
    assert response.status_code == 200 and response.text.split() == ["n", str(DOCUMENTS)]

    missing = subprocess.run(
        [sys.executable, "-m", "kg", "query", "--store", "ftp://x/store", count],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert "not a store URL" in missing.stderr


@pytest.mark.parametrize("workers", [1, 2])
def test_a_build_that_fails_validation_keeps_the_previous_outputs(
    serial_build, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    import kg.pipeline as pipeline
    from kg.errors import ValidationError
    from kg.validate import ValidationReport

    out = tmp_path / "out"
    shutil.copytree(serial_build.out, out)
    before = _outputs(out)
    (corpus / "zz_extra.txt").write_text(
        "长沙市与岳阳市签署文旅合作协议。\n两市将共建湘江旅游带。\n", encoding="utf-8"
    )
    failing = ValidationReport(conforms=False, violations=())
    monkeypatch.setattr(
        pipeline.GraphStream, "conclude", lambda self, log, timer: (failing, "test")
    )
    try:
        with pytest.raises(ValidationError):
            build(_options(corpus, out, workers=workers))
    finally:
        (corpus / "zz_extra.txt").unlink()
    assert _outputs(out) == before
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_a_build_failing_while_both_processes_write_leaves_no_temporary_files(
    serial_build, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure in the main process's half (after the tables are staged, while the child
    writes the front) removes the staged tables and both halves of the graph."""
    import kg.pipeline as pipeline

    out = tmp_path / "out"
    shutil.copytree(serial_build.out, out)
    before = _outputs(out)

    def fail(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pipeline._BackSegments, "write", fail)
    with pytest.raises(OSError, match="disk full"):
        build(_options(corpus, out, workers=2, use_cache=False))
    assert _outputs(out) == before
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
