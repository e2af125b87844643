"""The build workflow: corpus → per-document extraction (parallel, cached) → resolution → RDF →
analysis → validation → outputs (written atomically, only once the graph validates)."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import os
import pickle
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rdflib import Graph

from kg.corpus import load_corpus
from kg.errors import InputError, ValidationError
from kg.io import write_atomic
from kg.model import Document, DocumentExtraction, KnowledgeGraphData, SkippedFile
from kg.rdf import build_rdf, entity_iri, to_jsonld, to_turtle
from kg.resolve import resolve
from kg.validate import ValidationReport, validate_graph

Log = Callable[[str], None]
PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class BuildOptions:
    corpus: Path = Path("corpus")
    out: Path = Path("outputs")
    workers: int = 0  # 0: one per core
    use_cache: bool = True
    executor: str = "process"  # "process" or "dask"
    scheduler: str | None = None  # dask scheduler address; None: a LocalCluster
    store: str | None = None  # Graph Store Protocol URL to upload the graph to
    maps: bool = True
    analysis: bool = True


@dataclass(frozen=True)
class BuildResult:
    out: Path
    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...]
    entity_counts: dict[str, int]
    relation_counts: dict[str, int]
    triples: int
    validation: ValidationReport
    seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)
    cache_hits: int = 0

    def summary(self) -> str:
        lines = [f"Documents read: {len(self.documents)}; skipped: {len(self.skipped)}"]
        lines += [f"  skipped {s.path}: {s.reason}" for s in self.skipped]
        lines.append("Entities per type:")
        lines += [f"  {t:<13}{n:>6}" for t, n in sorted(self.entity_counts.items())]
        lines.append("Relations per predicate:")
        lines += [f"  {p:<15}{n:>6}" for p, n in sorted(self.relation_counts.items())]
        lines.append(f"Triples: {self.triples}")
        lines.append(self.validation.summary())
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in self.stage_seconds.items())
        lines.append(f"Time: {self.seconds:.2f}s ({stages}); cache hits: {self.cache_hits}")
        lines.append(f"Outputs in {self.out}/")
        return "\n".join(lines)


@lru_cache(maxsize=1)
def pipeline_version() -> str:
    """A hash of the code and data that shape per-document results (invalidates the cache)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.suffix in (".py", ".toml", ".tsv", ".txt") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def process_document(document: Document) -> DocumentExtraction:
    """The per-document stages for one document (run in a worker process)."""
    from kg.extract import extract_document

    return extract_document(document)


class ExtractionCache:
    """Per-document results on disk, keyed by document id, content hash and pipeline version."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _path(self, document: Document) -> Path:
        key = f"{document.id}\x1f{document.content_hash}\x1f{document.text}\x1f{pipeline_version()}"
        return self.folder / (hashlib.sha256(key.encode("utf-8")).hexdigest() + ".pickle")

    def get(self, document: Document) -> DocumentExtraction | None:
        path = self._path(document)
        if not path.exists():
            return None
        try:
            return pickle.loads(path.read_bytes())
        except Exception:  # a corrupt entry is a miss, never a failed build
            return None

    def put(self, extraction: DocumentExtraction) -> None:
        write_atomic(self._path(extraction.document), pickle.dumps(extraction))

    def prune(self, keep: Iterable[Document]) -> None:
        wanted = {self._path(d).name for d in keep}
        for path in self.folder.glob("*.pickle"):
            if path.name not in wanted:
                path.unlink(missing_ok=True)


def _run_parallel(
    documents: Sequence[Document], options: BuildOptions, log: Log
) -> list[DocumentExtraction]:
    workers = options.workers or os.cpu_count() or 1
    if options.executor == "dask":
        from kg.distributed import run_on_dask

        return run_on_dask(documents, options.scheduler, log)
    if workers == 1 or len(documents) <= 1:
        results = []
        for i, document in enumerate(documents, 1):
            results.append(process_document(document))
            _progress(log, i, len(documents))
        return results
    chunk = max(1, min(64, len(documents) // (workers * 8) or 1))
    results = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for i, result in enumerate(pool.map(process_document, documents, chunksize=chunk), 1):
            results.append(result)
            _progress(log, i, len(documents))
    return results


def _progress(log: Log, done: int, total: int) -> None:
    if total >= 20 and (done == total or done % max(1, total // 10) == 0):
        log(f"  extracted {done}/{total} documents")


def extract_all(
    documents: Sequence[Document], options: BuildOptions, log: Log
) -> tuple[list[DocumentExtraction], int]:
    cache = ExtractionCache(options.out / ".cache") if options.use_cache else None
    results: dict[str, DocumentExtraction] = {}
    todo = []
    for document in documents:
        hit = cache.get(document) if cache else None
        if hit is not None:
            results[document.id] = hit
        else:
            todo.append(document)
    hits = len(documents) - len(todo)
    if todo:
        log(f"Extracting {len(todo)} document(s) ({hits} from cache)…")
        for extraction in _run_parallel(todo, options, log):
            results[extraction.document.id] = extraction
            if cache:
                cache.put(extraction)
    if cache:
        cache.prune(documents)
    return [results[d.id] for d in documents], hits


def build(options: BuildOptions, log: Log = lambda _msg: None) -> BuildResult:
    """Build the knowledge graph of ``options.corpus`` into ``options.out``."""
    started = time.perf_counter()
    stages: dict[str, float] = {}

    def stage(name: str, t0: float) -> float:
        now = time.perf_counter()
        stages[name] = round(now - t0, 3)
        return now

    t = time.perf_counter()
    log(f"Reading {options.corpus}/ …")
    documents, skipped = load_corpus(Path(options.corpus), progress=None)
    for item in skipped:
        log(f"warning: skipped {item.path}: {item.reason}")
    t = stage("read", t)
    extractions, hits = extract_all(documents, options, log)
    t = stage("extract", t)
    data = resolve(extractions)
    t = stage("resolve", t)
    graph = build_rdf(data)
    t = stage("rdf", t)
    analysis = None
    if options.analysis:
        from kg.analysis import analyse, write_metrics

        analysis = analyse(graph)
        write_metrics(graph, analysis)
        t = stage("analysis", t)
    log("Validating with SHACL…")
    report = validate_graph(graph)
    t = stage("validate", t)
    if not report.conforms:
        raise ValidationError(report.summary())
    _write_outputs(options, data, graph, analysis, log)
    stage("write", t)
    if options.store:
        from kg.store import upload_graph

        upload_graph(graph, options.store)
    entity_counts = Counter(e.type for e in data.entities)
    relation_counts = Counter(r.predicate for r in data.relations)
    return BuildResult(
        out=Path(options.out),
        documents=tuple(documents),
        skipped=tuple(skipped),
        entity_counts=dict(entity_counts),
        relation_counts=dict(relation_counts),
        triples=len(graph),
        validation=report,
        seconds=round(time.perf_counter() - started, 3),
        stage_seconds=stages,
        cache_hits=hits,
    )


def _csv(rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _write_outputs(
    options: BuildOptions, data: KnowledgeGraphData, graph: Graph, analysis: object, log: Log
) -> None:
    out = Path(options.out)
    log(f"Writing {out}/ …")
    write_atomic(out / "kg.ttl", to_turtle(graph))
    write_atomic(out / "kg.jsonld", to_jsonld(graph))
    write_atomic(out / "entities.csv", _csv(entity_rows(data)))
    write_atomic(out / "relations.csv", _csv(relation_rows(data)))
    write_atomic(out / "mentions.csv", _csv(mention_rows(data)))
    if analysis is not None:
        from kg.report import render_report

        write_atomic(out / "report.md", render_report(analysis, data.documents))
    if options.maps and importlib.util.find_spec("kg.visualize") is not None:
        from kg.network import rdf_to_networkx
        from kg.visualize import write_collaboration_map, write_graph_map

        network = rdf_to_networkx(graph)
        write_graph_map(network, out / "graph.html", title="长株潭知识图谱")
        collaboration = network
        if analysis is not None:
            from kg.analysis import collaboration_network

            collaboration = collaboration_network(network)
        write_collaboration_map(collaboration, out / "collaboration.html", title="长株潭合作网络")


def entity_rows(data: KnowledgeGraphData) -> list[list[object]]:
    rows: list[list[object]] = [["iri", "type", "label", "alt_labels", "documents", "mentions", "code"]]
    for entity in data.entities:
        rows.append(
            [
                str(entity_iri(entity.id)),
                entity.type,
                entity.label,
                "|".join(entity.alt_labels),
                "|".join(d for d, _ in entity.mention_counts),
                sum(n for _, n in entity.mention_counts),
                entity.code or "",
            ]
        )
    return rows


def relation_rows(data: KnowledgeGraphData) -> list[list[object]]:
    labels = {e.id: e.label for e in data.entities}
    rows: list[list[object]] = [
        ["subject", "predicate", "object", "qualifiers", "doc_id", "start", "end", "rule", "sentence"]
    ]
    for relation in data.relations:
        quals = json.dumps(dict(relation.qualifiers), ensure_ascii=False) if relation.qualifiers else ""
        for ev in relation.evidence:
            rows.append(
                [
                    labels[relation.subject],
                    relation.predicate,
                    labels[relation.object],
                    quals,
                    ev.doc_id,
                    ev.start,
                    ev.end,
                    ev.rule,
                    ev.sentence,
                ]
            )
    return rows


def mention_rows(data: KnowledgeGraphData) -> list[list[object]]:
    rows: list[list[object]] = [
        ["doc_id", "start", "end", "text", "type", "rule", "canonical", "entity"]
    ]
    for mention, target in data.mentions:
        rows.append(
            [mention.doc_id, mention.start, mention.end, mention.text, mention.type, mention.rule,
             mention.canonical, target]
        )
    return rows


def check_corpus_folder(path: Path) -> None:
    if not path.is_dir():
        raise InputError(f"{path}: not a folder (give the corpus folder with --corpus)")
