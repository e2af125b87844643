"""The build workflow: corpus → per-document reading and extraction (parallel, cached) →
resolution → analysis → RDF (streamed to kg.ttl / kg.jsonld) → validation → outputs (every file
moved into place atomically, and only once the graph validates).

Per-document work is one pure function of one file (:func:`process_file`), run in-process, in a
process pool (``workers``) or on a Dask cluster (``executor="dask"``); its results are cached under
``outputs/.cache/<pipeline version>/`` keyed by the file's path and content hash, so a rebuild
redoes only the files that changed plus the cross-document stages. The cross-document stages hold
the resolved data and the relation network, never the whole RDF graph: triples are generated
node by node and written, validated and counted as they go (a 10,000-document graph is millions
of triples, several GB as an rdflib Graph).
"""

from __future__ import annotations

import ast
import dataclasses
import gc
import hashlib
import importlib.metadata
import importlib.util
import json
import marshal
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import chain, count, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

import networkx as nx

from kg.corpus import check_corpus_folder, read_document
from kg.errors import InputError, NoDocumentsError, ValidationError
from kg.files import (
    ChunkReuse,
    Copier,
    CsvWriter,
    InThread,
    chunk_key,
    content_cut,
    file_identity,
    replace_soon_free,
    settle,
)
from kg.io import shareable_temp, write_atomic
from kg.model import (
    RELATION_PREDICATES,
    Document,
    DocumentExtraction,
    Evidence,
    ExtractionRows,
    KnowledgeGraphData,
    LinkPart,
    Mention,
    MentionLinks,
    MentionRow,
    Relation,
    Sentence,
    SentenceSpans,
    SkippedFile,
    evidence_fields,
    mention_row,
)
from kg.rdf import BlockReuse, GraphBlocks, GraphWriter, Segment, entity_iri, keyed_blocks
from kg.resolve import ResolutionState, resolve_incrementally
from kg.validate import SHACL_MAX_TRIPLES, FastValidator, ValidationReport, validate_graph

Log = Callable[[str], None]
PACKAGE_DIR = Path(__file__).resolve().parent
# The modules whose code shapes per-document results: the reader and the extractor (and every
# kg module they import, found by reading their imports). A change there invalidates the cache.
PER_DOCUMENT_MODULES = ("kg.corpus", "kg.extract")
PER_DOCUMENT_LIBRARIES = ("spacy", "jieba", "opencc", "trafilatura", "charset-normalizer")
CACHE_FORMAT = 4  # bump when FileResult / the cache layout changes
BLOCK_INDEX = "graph-blocks.marshal"  # in OUT/.cache: the previous build's blocks (kg.rdf)
TABLE_INDEX = "table-chunks.marshal"  # and the chunks of its CSV tables (StagedTables)
RESOLUTION_STATE = "resolution.marshal"  # and its resolution (kg.resolve.ResolutionState)
TABLE_FORMAT = 4
TABLE_PART = 32  # about one document (or relation subject) in TABLE_PART starts a table chunk
# Betweenness is exact on collaboration networks up to this many nodes; above, this many sampled
# sources with a fixed seed (exact betweenness is O(nodes × edges): the collaboration network of
# 1,000 generated documents has 1,600 nodes and 130,000 edges; 500 sources took 18 s, 200 ~7 s).
BETWEENNESS_SAMPLE = 200
VALIDATION_MODES = ("auto", "shacl", "fast")
# With two processes writing the graph, each takes this many blocks at a time from its end.
CLAIM_BLOCKS = 256


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
    validation: str = "auto"  # "auto": pySHACL up to SHACL_MAX_TRIPLES triples, then "fast"


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
    validator: str = "pySHACL"  # which validator checked the graph
    # What the outputs were made from: the resolved data, the relation network and its analysis
    # (None with analysis=False). Freed with the result, not when the build returns: a
    # command-line build ends without freeing them (kg.cli.exit_process; ~1.5 s at 10,000).
    data: KnowledgeGraphData | None = field(default=None, repr=False, compare=False)
    network: nx.MultiDiGraph | None = field(default=None, repr=False, compare=False)
    analysis: Any = field(default=None, repr=False, compare=False)
    # The build's other working data (graph blocks, validator, tables), kept for the same reason.
    _working: tuple = field(default=(), repr=False, compare=False)

    def summary(self) -> str:
        lines = [f"Documents read: {len(self.documents)}; skipped: {len(self.skipped)}"]
        lines += [f"  skipped {s.path}: {s.reason}" for s in self.skipped]
        lines.append("Entities per type:")
        lines += [f"  {t:<13}{n:>6}" for t, n in sorted(self.entity_counts.items())]
        lines.append("Relations per predicate:")
        lines += [f"  {p:<15}{n:>6}" for p, n in sorted(self.relation_counts.items())]
        lines.append(f"Triples: {self.triples}")
        lines.append(f"{self.validation.summary()} (checked by {self.validator})")
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in self.stage_seconds.items())
        lines.append(f"Time: {self.seconds:.2f}s ({stages}); cache hits: {self.cache_hits}")
        lines.append(f"Outputs in {self.out}/")
        return "\n".join(lines)


# ------------------------------------------------------------------------------ per document


def _module_path(module: str) -> Path | None:
    relative = Path(*module.split(".")[1:])
    for candidate in (
        PACKAGE_DIR / relative.with_suffix(".py"),
        PACKAGE_DIR / relative / "__init__.py",
    ):
        if candidate.is_file():
            return candidate
    return None


def per_document_modules(roots: Sequence[str] = PER_DOCUMENT_MODULES) -> list[str]:
    """``roots`` (the per-document stages' modules) and every kg module they import (read from
    their source)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        module = todo.pop()
        path = _module_path(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kg"):
                todo.append(node.module)
                todo += [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names if alias.name.startswith("kg.")]
    return sorted(seen)


@lru_cache(maxsize=1)
def pipeline_version() -> str:
    """A hash of the code, data and library versions that shape per-document results."""
    layout = f"cache format {CACHE_FORMAT}, marshal {marshal.version}, {sys.version_info[:2]}"
    digest = hashlib.sha256(layout.encode())
    _hash_modules(digest, PER_DOCUMENT_MODULES)
    for path in sorted((PACKAGE_DIR / "data").rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    for library in PER_DOCUMENT_LIBRARIES:
        try:
            digest.update(f"{library}={importlib.metadata.version(library)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{library}=missing".encode())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def resolution_version() -> str:
    """A hash of what shapes a saved resolution (kg.resolve.ResolutionState): the per-document
    results it was made of and the code of resolution."""
    digest = hashlib.sha256(pipeline_version().encode())
    _hash_modules(digest, ("kg.resolve",))
    return digest.hexdigest()[:16]


def _hash_modules(digest: Any, roots: Sequence[str]) -> None:
    """Add the names and source of ``roots`` and every kg module they import to ``digest``."""
    for module in per_document_modules(roots):
        digest.update(module.encode())
        digest.update(_module_path(module).read_bytes())  # type: ignore[union-attr]


@dataclass(frozen=True, slots=True)
class FileResult:
    """What the per-document stages make of one file: its extraction, or why it was skipped."""

    path: str
    extraction: DocumentExtraction | None = None
    skipped: SkippedFile | None = None
    packed: bytes | None = None  # the extraction packed by a worker (also the cache entry)


@lru_cache(maxsize=1)
def prepare_worker() -> None:
    """Load the extraction pipeline (spaCy, jieba's dictionary and added words) once per process.

    Used as the process pool's initializer and called before the first document everywhere, so
    every document is read and extracted with the same jieba state whatever runs it.
    """
    from kg.nlp import shared_pipeline

    shared_pipeline()


def process_document(document: Document) -> DocumentExtraction:
    """The extraction stages for one document."""
    from kg.extract import extract_document

    return extract_document(document)


def _reason(exc: InputError) -> str:
    return str(exc).split(": ", 1)[-1]  # the message without the path (as load_corpus)


def process_file(path: str) -> FileResult:
    """The per-document stages for one file: read and clean, then extract (a pure function)."""
    prepare_worker()
    try:
        document = read_document(Path(path))
    except InputError as exc:
        return FileResult(path, skipped=SkippedFile(path, _reason(exc)))
    return FileResult(path, extraction=process_document(document))


def _process_file_packed(path: str) -> FileResult:
    """process_file in a pool worker: the extraction travels packed once, and the main process
    writes those same bytes to the cache instead of packing it again."""
    result = process_file(path)
    if result.extraction is None:
        return result
    return FileResult(path, packed=pack_rows(result.extraction)[0])


def process_file_bytes(path: str, raw: bytes) -> FileResult:
    """:func:`process_file` on a file's bytes, for workers that cannot see the corpus folder."""
    with tempfile.TemporaryDirectory(prefix="czt-kg-") as folder:
        local = Path(folder) / Path(path).name
        local.write_bytes(raw)
        result = process_file(str(local))
    if result.extraction is not None:
        document = dataclasses.replace(result.extraction.document, path=path)
        return FileResult(
            path, extraction=dataclasses.replace(result.extraction, document=document)
        )
    assert result.skipped is not None
    return FileResult(path, skipped=SkippedFile(path, result.skipped.reason))


# ------------------------------------------------------------------------------ the cache


def pack_rows(extraction: DocumentExtraction) -> tuple[bytes, ExtractionRows]:
    """The extraction as bytes (marshal of its rows: unpacking them is several times faster than
    unpickling dataclasses), and its rows as :func:`unpack_rows` reads them back: read from the
    cache or extracted anew, a document's extraction has the same rows in the same places (what
    keys the tables' chunks: :class:`ExtractedPlaces`)."""
    rows = ExtractionRows.of(extraction)
    d = extraction.document
    sentences = tuple((s.start, s.end) for s in d.sentences)
    if any(d.text[s.start : s.end] != s.text for s in d.sentences):
        sentences = tuple((s.start, s.end, s.text) for s in d.sentences)
    document = (
        d.id,
        d.path,
        d.title,
        d.text,
        sentences,
        d.date,
        d.publisher,
        tuple(d.authors),
        d.encoding,
        d.content_hash,
    )
    evidence = tuple(map(evidence_fields, rows.evidence))
    packed = marshal.dumps(
        (CACHE_FORMAT, document, rows.table, rows.mentions, evidence, rows.candidates)
    )
    return packed, rows


def unpack_rows(packed: bytes) -> ExtractionRows:
    """The rows of :func:`pack_rows` (only the evidence made objects)."""
    version, document, table, mentions, evidence, candidates = marshal.loads(packed)
    if version != CACHE_FORMAT:
        raise ValueError(f"cache format {version}")
    doc_id, path, title, text, sentences, *rest = document
    if sentences and len(sentences[0]) == 2:  # (start, end): the text's own slices
        sentences = SentenceSpans(text, sentences)
    else:
        sentences = tuple(Sentence(*s) for s in sentences)
    return ExtractionRows(
        Document(doc_id, path, title, text, sentences, *rest),
        table,
        mentions,
        tuple(Evidence(*row) for row in evidence),
        candidates,
    )


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: the cross-document stages make hundreds of
    thousands of acyclic objects, and each collection walks all of them (~25 % of the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class ExtractionCache:
    """Per-document results on disk: ``<folder>/<pipeline version>/<hash of path and content>``.

    Entries of other pipeline versions are removed by :meth:`prune`; a missing or unreadable
    entry is a miss, never a failed build.
    """

    def __init__(self, folder: Path):
        self.root = Path(folder)
        self.folder = self.root / pipeline_version()

    @staticmethod
    def key(path: str, content_hash: str) -> str:
        return hashlib.sha256(f"{path}\x1f{content_hash}".encode()).hexdigest()[:40] + ".marshal"

    def stored(self) -> set[str]:
        """The names of the entries on disk (to tell hits from misses before reading any)."""
        try:
            return set(os.listdir(self.folder))
        except OSError:
            return set()

    def get(self, path: str, content_hash: str) -> ExtractionRows | None:
        try:
            # (os.path and open rather than pathlib: a third of the time for 10,000 entries)
            with open(os.path.join(self.folder, self.key(path, content_hash)), "rb") as entry:
                packed = entry.read()
            extraction = unpack_rows(packed)
        except Exception:  # missing, truncated or from an incompatible layout
            return None
        document = getattr(extraction, "document", None)
        if document is None or document.path != path or document.content_hash != content_hash:
            return None
        return extraction

    def put(self, document: Document, packed: bytes) -> None:
        """Store a document's extraction, packed (:func:`pack_rows`)."""
        target = self.folder / self.key(document.path, document.content_hash)
        # Renamed into place (readers never see half a file); unsynced: a lost entry is a miss.
        write_atomic(target, packed, sync=False)

    def prune(self, keep: Iterable[tuple[str, str]]) -> None:
        """Remove every entry but those of ``keep`` ((path, content hash) pairs)."""
        wanted = {self.key(path, content_hash) for path, content_hash in keep}
        if self.root.is_dir():
            for entry in self.root.iterdir():
                if entry.is_dir() and entry != self.folder:
                    shutil.rmtree(entry, ignore_errors=True)  # another pipeline version
                elif entry.is_file() and entry.name not in (
                    BLOCK_INDEX,
                    TABLE_INDEX,
                    RESOLUTION_STATE,
                ):
                    entry.unlink(missing_ok=True)  # the flat layout of earlier versions
        if self.folder.is_dir():
            for entry in self.folder.iterdir():
                if entry.name not in wanted:
                    entry.unlink(missing_ok=True)


# ------------------------------------------------------------------------------ executors


def corpus_files(folder: Path) -> list[Path]:
    """The files of a corpus folder, as kg.corpus.load_corpus lists them (sorted, no dotfiles)."""
    folder = Path(folder)
    check_corpus_folder(folder)
    with os.scandir(folder) as entries:  # (file types from the directory: no stat per file)
        names = [e.name for e in entries if not e.name.startswith(".") and e.is_file()]
    return [folder / name for name in sorted(names)]


def _content_hash(path: Path) -> str | None:
    try:
        with open(path, "rb") as file:
            return hashlib.sha256(file.read()).hexdigest()
    except OSError:
        return None  # the worker reports why it cannot be read


def worker_count(options: BuildOptions) -> int:
    return options.workers if options.workers > 0 else (os.cpu_count() or 1)


def run_file_tasks(paths: Sequence[str], options: BuildOptions, log: Log) -> Iterator[FileResult]:
    """Results of :func:`process_file` for ``paths``, in order, on the configured executor."""
    workers = worker_count(options)
    if options.executor == "dask":
        from kg.distributed import run_on_dask

        yield from run_on_dask(paths, options.scheduler, workers=workers, log=log)
        return
    if workers == 1 or len(paths) <= 1:
        for path in paths:
            yield process_file(path)
        return
    if multiprocessing.get_start_method() == "fork":
        prepare_worker()  # forked workers inherit the loaded pipeline instead of each loading it
    yield from _start_file_tasks(paths, options)


def _start_file_tasks(
    paths: Sequence[str], options: BuildOptions
) -> Generator[FileResult, None, None]:
    """Results of :func:`process_file` for ``paths`` from a process pool, in order: the pool's
    workers start now (each loads the extraction pipeline, unless forked from a process that
    did) while the caller goes on; the results are waited for when iterated. Close the
    iterator to stop the pool."""
    workers = min(worker_count(options), len(paths))
    # Small chunks keep both cores busy to the end; larger ones save inter-process round trips.
    chunk = max(1, min(16, len(paths) // (workers * 8)))
    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context(), initializer=prepare_worker
    )
    try:
        results = pool.map(_process_file_packed, paths, chunksize=chunk)
    except BaseException:
        pool.shutdown(cancel_futures=True)
        raise

    def collect() -> Generator[FileResult, None, None]:
        try:
            yield from results
        finally:
            pool.shutdown(cancel_futures=True)

    return collect()


def _progress(log: Log, done: int, total: int) -> None:
    if total >= 20 and (done == total or done % max(1, total // 10) == 0):
        log(f"  extracted {done}/{total} documents")


@dataclass
class CorpusExtraction:
    documents: list[Document]
    skipped: list[SkippedFile]
    extractions: list[ExtractionRows]
    cache_hits: int


def extract_corpus(options: BuildOptions, log: Log, timer: StageTimer) -> CorpusExtraction:
    """Every file of the corpus through the per-document stages, from the cache when unchanged."""
    with timer("read"):
        paths = corpus_files(Path(options.corpus))
        # Without use_cache (--no-cache) nothing is read from the cache, but it is rebuilt.
        cache = ExtractionCache(Path(options.out) / ".cache")
        hashes: dict[str, str] = {}  # the files with an entry in the cache
        if options.use_cache:
            stored = cache.stored()
            for path in paths:
                content_hash = _content_hash(path)
                if content_hash and cache.key(str(path), content_hash) in stored:
                    hashes[str(path)] = content_hash
        todo = [str(p) for p in paths if str(p) not in hashes]
    # A rebuild after a few changes: the worker processes load the extraction pipeline and
    # extract the changed files while this process reads the cache (both ~1 s at 10,000
    # documents). With one worker too, that worker is a process of its own here (a clean build
    # with one worker runs in this process: there is nothing to read meanwhile).
    early = bool(hashes and todo) and options.executor != "dask"
    extracting = _start_file_tasks(todo, options) if early else None
    try:
        found = _read_cached(cache, hashes, timer)
        unreadable = [path for path in hashes if path not in found]  # (extracted again)
        for path in unreadable:
            del hashes[path]
        hits = len(found)
        with timer("extract"):
            if todo or unreadable:
                total = len(todo) + len(unreadable)
                log(f"Reading and extracting {total} document(s) ({hits} from the cache)…")
                results = chain(
                    extracting or (),
                    run_file_tasks(unreadable if early else todo + unreadable, options, log),
                )
                for done, result in enumerate(results, 1):
                    if result.skipped is not None:
                        found[result.path] = result.skipped
                    else:
                        if result.packed is None:  # (extracted in this process)
                            assert result.extraction is not None
                            packed, rows = pack_rows(result.extraction)
                        else:  # (by a worker: its bytes are the cache entry)
                            packed, rows = result.packed, unpack_rows(result.packed)
                        hashes[result.path] = rows.document.content_hash
                        cache.put(rows.document, packed)
                        found[result.path] = rows  # (kept without its bytes: 250 MB at 10,000)
                    # Kept to the end of the build as well: frozen, each document's objects are
                    # not walked again by the collections the next documents trigger (as those
                    # read from the cache).
                    gc.freeze()
                    _progress(log, done, total)
    finally:
        if extracting is not None:
            extracting.close()
    ordered = [found.pop(str(p)) for p in paths]
    skipped = [r for r in ordered if isinstance(r, SkippedFile)]
    for item in skipped:
        log(f"warning: skipped {item.path}: {item.reason}")
    extractions = [r for r in ordered if isinstance(r, ExtractionRows)]
    if not extractions:
        reasons = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in skipped) or "no files"
        raise NoDocumentsError(f"{options.corpus}: no usable document ({reasons})")
    cache.prune(hashes.items())
    return CorpusExtraction([e.document for e in extractions], skipped, extractions, hits)


def _read_cached(
    cache: ExtractionCache, hashes: dict[str, str], timer: StageTimer
) -> dict[str, ExtractionRows | SkippedFile]:
    """The cached extractions of ``hashes``' files (those whose entries can be read)."""
    found: dict[str, ExtractionRows | SkippedFile] = {}
    with timer("read"), gc_paused():
        for path, content_hash in hashes.items():
            hit = cache.get(path, content_hash)
            if hit is not None:
                found[path] = hit
        # The documents read from the cache (1.6 million objects at 10,000 documents) are
        # kept to the end of the build: frozen until then (build unfreezes), the collections
        # that extracting new documents triggers do not walk them again and again (~2 s).
        # Frozen before collection resumes, or the first one walks them all (~1 s).
        gc.freeze()
    return found


# ------------------------------------------------------------------------------ the build


class StageTimer:
    """Seconds per named stage; a stage may be entered several times (the times add up)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[name] = self.seconds.get(name, 0.0) + elapsed

    ORDER = (
        "read",
        "extract",
        "resolve",
        "analysis",
        "stream-wait",
        "rdf",
        "validate",
        "write",
        "store",
    )

    def rounded(self) -> dict[str, float]:
        names = sorted(self.seconds, key=lambda n: (self.ORDER + (n,)).index(n))
        return {name: round(self.seconds[name], 3) for name in names}


def build(options: BuildOptions, log: Log = lambda _msg: None) -> BuildResult:
    """Build the knowledge graph of ``options.corpus`` into ``options.out``."""
    if options.validation not in VALIDATION_MODES:
        raise InputError(
            f"unknown validation {options.validation!r} (use {', '.join(VALIDATION_MODES)})"
        )
    if options.store:
        from kg.store import parse_store_url

        parse_store_url(options.store)  # a malformed URL fails now, not after the build
    started = time.perf_counter()
    timer = StageTimer()
    log(f"Reading {options.corpus}/ …")
    try:
        corpus = extract_corpus(options, log, timer)
        with gc_paused():
            result = _build_graph(options, corpus, log, timer, started)
            # What the result keeps (millions of objects at 10,000 documents) frozen too, or
            # the first collection walks it all (build unfreezes).
            gc.freeze()
    except BaseException:
        with suppress(Exception):
            settle()  # syncs and removals started on threads (kg.files): the error comes first
        raise
    finally:
        gc.unfreeze()
    with timer("write"):
        settle()
    return result


def _build_graph(
    options: BuildOptions, corpus: CorpusExtraction, log: Log, timer: StageTimer, started: float
) -> BuildResult:
    """The cross-document stages: resolution, analysis, the graph, the tables and maps."""
    with timer("resolve"):
        data = _resolve(options, corpus.extractions)
        places = ExtractedPlaces(data, corpus.extractions)
        del corpus.extractions  # the resolved data keeps what is needed
        blocks = GraphBlocks(data, places.relation_evidence)
    out = Path(options.out)
    # With more than one worker, a forked child process writes the graph's blocks from the
    # front while this one runs the analysis and writes the tables, then the blocks from the back.
    child = _StreamChild.start(blocks, out, options) if _overlap_streaming(options) else None
    # In one process the graph's blocks come first: what they copy from the previous build is
    # copied on a thread (kg.rdf.GraphWriter) while the analysis runs and the tables are written.
    stream = None if child is not None else GraphStream.open(out, options)
    analysis = None
    metrics: list = []
    network = None
    back: _BackSegments | None = None
    tables: StagedTables | None = None
    log("Writing and validating the graph…")  # (the child process has begun, if there is one)
    try:
        if stream is not None:
            stream.add_keyed(blocks.span(0, len(blocks)), timer)
        if options.analysis:
            with timer("analysis"):
                from kg.analysis import analyse, metric_blocks

                network = network_from_data(data)
                analysis = analyse(network, betweenness_k=BETWEENNESS_SAMPLE)
                # The triples write_metrics would add, as blocks of plain terms.
                metrics = list(metric_blocks(analysis))
        with timer("write"):
            tables = StagedTables.write(out, data, options.use_cache, places)
            del places  # (its indexes: ~100 MB at 10,000 documents)
        if child is not None:
            back = _BackSegments.write(blocks, child.claims, metrics, out, options, timer)
    except BaseException:
        if child is not None:
            child.discard()
        if stream is not None:
            stream.writer.discard()
        if tables is not None:
            tables.discard()
        raise
    assert tables is not None
    if child is not None:
        assert back is not None
        try:
            with timer("stream-wait"):
                stream = child.result(timer)
        except BaseException:
            back.writer.discard()
            tables.discard()
            raise
    assert stream is not None
    try:
        if back is not None:
            with timer("write"):
                stream.join(back)
        else:
            stream.add_keyed(keyed_blocks(metrics), timer)
            stream.close_reuse()
        report, validator = stream.conclude(log, timer)
        if not report.conforms:
            raise ValidationError(report.summary())
        with timer("write"):
            index = block_index_path(out)
            index.unlink(missing_ok=True)  # it describes the files about to be replaced
            stream.writer.commit()
            stream.writer.save_index(index, pipeline_version())
    except BaseException:
        stream.writer.discard()
        if back is not None:
            back.writer.discard()
        tables.discard()
        raise
    with timer("write"):
        _write_tables(out, data, analysis, log, tables)
        if options.maps:
            _write_maps(out, data, network, analysis)
    if options.store:
        from kg.store import upload_file

        with timer("store"):
            log(f"Uploading the graph to {options.store} …")
            upload_file(out / "kg.ttl", options.store)
    return BuildResult(
        out=out,
        documents=tuple(corpus.documents),
        skipped=tuple(corpus.skipped),
        entity_counts=dict(Counter(e.type for e in data.entities)),
        relation_counts=dict(Counter(r.predicate for r in data.relations)),
        triples=stream.writer.triples,
        validation=report,
        seconds=round(time.perf_counter() - started, 3),
        stage_seconds=timer.rounded(),
        cache_hits=corpus.cache_hits,
        validator=validator,
        data=data,
        network=network,
        analysis=analysis,
        _working=(blocks, stream, tables, metrics, back),
    )


def _resolve(options: BuildOptions, extractions: list[ExtractionRows]) -> KnowledgeGraphData:
    """Resolution, going on from the previous build's where only documents were added (its
    state is kept in the cache folder; read unless ``use_cache`` is off, always written)."""
    path = Path(options.out) / ".cache" / RESOLUTION_STATE
    version = resolution_version()
    previous = None
    if options.use_cache:
        with suppress(OSError), open(path, "rb") as file:
            previous = ResolutionState.loads(file.read(), version)
    data, state = resolve_incrementally(extractions, previous)
    if state is None:  # (two files of one document id: not kept)
        path.unlink(missing_ok=True)
    else:
        # Written while the build goes on (~100 MB at 10,000 documents; settled at its end),
        # renamed into place, unsynced: a lost state means a full resolution next time.
        InThread(partial(write_atomic, path, state.dumps(version), sync=False))
    return data


@dataclass
class GraphStream:
    """Triples on their way out: written (GraphWriter) and checked by the fast validator; a graph
    small enough for pySHACL (always, with ``validation="shacl"``) is read back from the written
    Turtle and checked by pySHACL instead. Blocks the previous build wrote (``reuse``) are copied
    from its outputs, with what the validator found in them, instead of being made again."""

    writer: GraphWriter
    fast: FastValidator
    validation: str
    reuse: BlockReuse | None = None

    @classmethod
    def open(
        cls, out: Path, options: BuildOptions, writer: GraphWriter | None = None
    ) -> GraphStream:
        reuse = None
        if options.use_cache:
            reuse = BlockReuse.load(
                block_index_path(out), out / "kg.ttl", out / "kg.jsonld", pipeline_version()
            )
        writer = writer or GraphWriter(out / "kg.ttl", out / "kg.jsonld")
        return cls(writer, FastValidator(), options.validation, reuse)

    def add_keyed(
        self, blocks: Iterator[tuple[bytes, Callable[[], list]]], timer: StageTimer
    ) -> None:
        """Blocks of kg.rdf.GraphBlocks: copied from the previous build when it wrote them."""
        writer, fast, reuse = self.writer, self.fast, self.reuse
        place = reuse.place if reuse is not None else lambda _key: None
        clock = time.perf_counter
        seconds = {"rdf": 0.0, "validate": 0.0, "write": 0.0}  # (a timer per block costs)
        started = clock()
        for key, make in blocks:  # (the key is computed in next(): counted as "rdf")
            found = place(key)
            if found is not None:
                made = clock()
                fast.add_facts(found[5])
                checked = clock()
                writer.add_copied(reuse, found, key)  # type: ignore[arg-type]
            else:
                block = make()
                made = clock()
                facts = fast.add_block(block, block.statements)
                checked = clock()
                writer.add_block(block, key, facts)
            written = clock()
            seconds["rdf"] += made - started
            seconds["validate"] += checked - made
            seconds["write"] += written - checked
            started = written
        seconds["rdf"] += clock() - started
        for name, value in seconds.items():
            timer.seconds[name] = timer.seconds.get(name, 0.0) + value

    def close_reuse(self) -> None:
        """Done with the previous build's files (the blocks still to copy from them first)."""
        if self.reuse is not None:
            try:
                self.writer.flush()
            finally:
                self.reuse.close()
                self.reuse = None

    def join(self, back: _BackSegments) -> None:
        """Append the segments written from the back (and what the validator found in them)."""
        for segment in back.segments:
            self.writer.append_segment(back.writer, segment)
            self.fast.merge(segment.facts)
        back.writer.discard()

    def conclude(self, log: Log, timer: StageTimer) -> tuple[ValidationReport, str]:
        with timer("validate"):
            small = self.writer.triples <= SHACL_MAX_TRIPLES
            if self.validation == "shacl" or (self.validation == "auto" and small):
                log("Validating with SHACL (pySHACL)…")
                return validate_graph(self.writer.read_turtle()), "pySHACL"
            return self.fast.report(), "the fast SHACL validator"


def block_index_path(out: Path) -> Path:
    """Where the build records the blocks of kg.ttl / kg.jsonld for the next build."""
    return Path(out) / ".cache" / BLOCK_INDEX


def _overlap_streaming(options: BuildOptions) -> bool:
    return (
        options.analysis
        and options.executor == "process"
        and worker_count(options) > 1
        and "fork" in multiprocessing.get_all_start_methods()
    )


def _claim(claims: Any, from_front: bool) -> tuple[int, int] | None:
    """The next CLAIM_BLOCKS blocks not yet taken, from the front or the back of the sequence
    (``claims``: a shared array [first not taken, last not taken + 1])."""
    with claims.get_lock():
        front, back = claims[0], claims[1]
        if front >= back:
            return None
        if from_front:
            claims[0] = min(front + CLAIM_BLOCKS, back)
            return front, claims[0]
        claims[1] = max(back - CLAIM_BLOCKS, front)
        return claims[1], back


@dataclass
class _BackSegments:
    """The blocks written from the back by the main process, as segments of a writer of its
    own, each with its own validator (merged in order: the result is the sequential one)."""

    writer: GraphWriter
    segments: list[Segment]

    @classmethod
    def write(
        cls,
        blocks: GraphBlocks,
        claims: Any,
        metrics: list,
        out: Path,
        options: BuildOptions,
        timer: StageTimer,
    ) -> _BackSegments:
        writer = GraphWriter(out / "kg.ttl", out / "kg.jsonld", header=False)
        part = cls(writer, [])
        stream = None

        def segment(start: int, items: Iterator[tuple[bytes, Callable[[], list]]]) -> None:
            assert stream is not None
            stream.fast = FastValidator()  # one per segment, merged in sequence order by join
            writer.begin_segment(start)
            stream.add_keyed(items, timer)
            part.segments.append(writer.end_segment(stream.fast))

        try:
            stream = GraphStream.open(out, options, writer)
            segment(len(blocks), keyed_blocks(metrics))  # the metrics come after every block
            while (span := _claim(claims, from_front=False)) is not None:
                segment(span[0], blocks.span(*span))
        except BaseException:
            writer.discard()
            raise
        finally:
            if stream is not None:
                stream.close_reuse()
        part.segments.sort(key=lambda segment: segment.start)
        return part


class _StreamChild:
    """A forked child process writing the graph's blocks from the front (see _claim)."""

    def __init__(self, process: Any, connection: Any, out: Path, claims: Any):
        self.process, self.connection, self.out, self.claims = process, connection, out, claims

    @classmethod
    def start(cls, blocks: GraphBlocks, out: Path, options: BuildOptions) -> _StreamChild:
        context = multiprocessing.get_context("fork")
        claims = context.Array("q", [0, len(blocks)])
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_stream_in_child, args=(blocks, claims, out, options, sender), daemon=True
        )
        process.start()
        sender.close()
        return cls(process, receiver, out, claims)

    def result(self, timer: StageTimer) -> GraphStream:
        try:
            outcome = self.connection.recv()
        except EOFError:
            outcome = ("error", "the process writing the graph died")
        finally:
            self.process.join()
        if outcome[0] == "error":
            raise RuntimeError(f"{self.out}: writing the graph failed: {outcome[1]}")
        _, writer_state, fast, validation, seconds = outcome
        for name, value in seconds.items():
            timer.seconds[name] = timer.seconds.get(name, 0.0) + value
        return GraphStream(GraphWriter.resume(writer_state), fast, validation)

    def discard(self) -> None:
        """Wait for the child and remove what it wrote (the build failed meanwhile)."""
        with self.claims.get_lock():
            self.claims[0] = self.claims[1]  # nothing more to take
        with suppress(RuntimeError):
            self.result(StageTimer()).writer.discard()


def _stream_in_child(
    blocks: GraphBlocks, claims: Any, out: Path, options: BuildOptions, sender: Any
) -> None:
    stream = None
    try:
        timer = StageTimer()
        stream = GraphStream.open(out, options)
        while (span := _claim(claims, from_front=True)) is not None:
            stream.add_keyed(blocks.span(*span), timer)
        stream.close_reuse()
        state = stream.writer.pause()
        sender.send(("ok", state, stream.fast, stream.validation, timer.seconds))
    except BaseException as exc:  # reported by the parent as one line
        if stream is not None:
            stream.writer.discard()
        sender.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()


# ------------------------------------------------------------------------------ the network


def network_from_data(data: KnowledgeGraphData) -> nx.MultiDiGraph:
    """The relation network of kg.network.rdf_to_networkx(build_rdf(data)), from the data itself.

    Building it through RDF means an rdflib graph of every triple (several GB at 10,000
    documents); tests/test_scale.py checks that both give the same network.
    """
    from kg.network import EdgeEvidence

    documents = {
        d.id: {"id": d.id, "title": d.title, "date": d.date or "", "publisher": d.publisher or ""}
        for d in data.documents
    }
    network = nx.MultiDiGraph(documents=dict(documents))
    iri_of = {e.id: str(entity_iri(e.id)) for e in data.entities}
    by_iri = {iri_of[e.id]: e for e in data.entities}
    type_order = {name: str(_type_iri(name)) for name in {e.type for e in data.entities}}
    for iri in sorted(by_iri, key=lambda i: (type_order[by_iri[i].type], i)):
        entity = by_iri[iri]
        network.add_node(
            iri,
            label=entity.label,
            type=entity.type,
            aliases=sorted(a for a in entity.alt_labels if a != entity.label),
            # (mention_counts is sorted by document)
            documents=[doc for doc, _ in entity.mention_counts if doc in documents],
        )
    title_and_date = {doc_id: (d["title"], d["date"]) for doc_id, d in documents.items()}
    unknown = ("", "")
    by_predicate: dict[str, list] = {p: [] for p in RELATION_PREDICATES}
    for relation in data.relations:
        subject, obj = iri_of.get(relation.subject), iri_of.get(relation.object)
        if subject is None or obj is None:
            continue  # not an entity of the network
        by_predicate[relation.predicate].append((subject, obj, relation))
    # Each piece of evidence → its EdgeEvidence (immutable, so shared by the edges a sentence
    # supports: most support two or more), by identity: no tuple of fields per piece. A
    # relation's evidence is distinct and in order (kg.model.Relation).
    shown: dict[int, EdgeEvidence] = {}

    def show(piece: Evidence) -> EdgeEvidence:
        doc_id = piece.doc_id
        item = shown[id(piece)] = EdgeEvidence(
            piece.sentence,
            doc_id,
            *title_and_date.get(doc_id, unknown),
            piece.start,
            piece.end,
            piece.rule,
        )
        return item

    for predicate in RELATION_PREDICATES:
        for subject, obj, relation in sorted(by_predicate[predicate], key=itemgetter(0, 1)):
            items = [shown.get(id(piece)) or show(piece) for piece in relation.evidence]
            network.add_edge(
                subject,
                obj,
                key=predicate,
                predicate=predicate,
                weight=max(1, len(items)),
                role=dict(relation.qualifiers).get("role", ""),
                evidence=items,
                suggested=False,
            )
    return network


def _type_iri(name: str) -> str:
    from kg.ontology import term

    return str(term(name))


def network_with_metrics(network: nx.MultiDiGraph, analysis: Any) -> nx.MultiDiGraph:
    """The network as rdf_to_networkx reads it back after write_metrics: metrics, community and
    suggested links on it (for the maps)."""
    from kg.analysis import DIGITS
    from kg.network import add_suggested_edge

    def double(value: float) -> float:
        return round(float(value), DIGITS) + 0.0

    result = network.copy()
    community_of = {m: c.id for c in analysis.communities for m in c.members}
    for node, attrs in result.nodes(data=True):
        attrs["pagerank"] = double(analysis.pagerank.get(node, 0.0))
        attrs["degree"] = int(analysis.degree.get(node, 0))
        attrs["betweenness"] = double(analysis.betweenness.get(node, 0.0))
        if node in analysis.responsibility:
            attrs["responsibilityload"] = int(analysis.responsibility[node].total)
        if node in community_of:
            attrs["community"] = community_of[node]
    for suggestion in sorted(analysis.suggestions, key=lambda s: str(s.iri)):
        a, b = sorted((suggestion.a, suggestion.b))
        if a not in result or b not in result:
            continue
        shared = sorted(result.nodes[p]["label"] for p in suggestion.shared if p in result)
        add_suggested_edge(result, a, b, double(suggestion.score), shared)
    return result


# ------------------------------------------------------------------------------ other outputs


@dataclass
class StagedTables:
    """The CSV tables written to temporary siblings, renamed into place by :meth:`publish` once
    the graph is committed (or removed by :meth:`discard`): a build that fails validation leaves
    the previous tables as they were. Staged while the graph is streamed by a child process, the
    tables cost the parallel build nothing; each is synced to disk on a thread meanwhile.

    The mention and relation tables are written in content-defined chunks (about one document
    or subject in :data:`TABLE_PART` starts one); a chunk the previous build wrote is copied
    from its table (``OUT/.cache/`` + :data:`TABLE_INDEX` says where) instead of formatted."""

    out: Path
    files: list[tuple[Path, Path]] = field(default_factory=list)  # (temporary, target)
    syncs: list[InThread] = field(default_factory=list)
    chunks: dict[str, dict[bytes, tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def write(
        cls,
        out: Path,
        data: KnowledgeGraphData,
        reuse: bool = True,
        places: ExtractedPlaces | None = None,
    ) -> StagedTables:
        """``places``: what keys the tables' chunks (see :class:`ExtractedPlaces`)."""
        out.mkdir(parents=True, exist_ok=True)
        # One for both tables: it keys every relation's evidence when made.
        places = places or ExtractedPlaces(data)
        staged = cls(out)
        previous = _table_index(out) if reuse else {}
        try:
            for name, header, chunks in (
                ("entities.csv", ENTITY_HEADER, keyed_by_rows([entity_rows(data)])),
                ("relations.csv", RELATION_HEADER, relation_chunks(data, places)),
                ("mentions.csv", MENTION_HEADER, mention_chunks(data, places)),
            ):
                fd, temp = shareable_temp(out / name)
                staged.files.append((temp, out / name))
                source = None
                if name in previous:
                    source = ChunkReuse.open(out / name, *previous[name])
                copier = Copier()  # (the chunks copied go on while the next table is made)
                try:
                    with os.fdopen(fd, "wb", closefd=False) as handle:
                        writer = CsvWriter(handle, source, copier)
                        writer.write([header])
                        for key, make in chunks:
                            writer.write_keyed(key, make)
                        writer.flush()
                    staged.chunks[name] = writer.chunks
                except BaseException:
                    _finish_table(copier, source, fd, sync=False)
                    raise
                staged.syncs.append(InThread(partial(_finish_table, copier, source, fd)))
        except BaseException:
            staged.discard()
            raise
        return staged

    def _wait(self) -> None:
        syncs, self.syncs = self.syncs, []
        for sync in syncs:
            sync.wait()

    def publish(self) -> None:
        """Rename the tables into place, then record their chunks for the next build."""
        self._wait()
        index = table_index_path(self.out)
        index.unlink(missing_ok=True)  # it describes the files about to be replaced
        tables = {}
        for temp, target in self.files:
            replace_soon_free(temp, target)
            tables[target.name] = (file_identity(target.stat()), self.chunks[target.name])
        self.files = []
        # (Unsynced: a lost index only means formatting anew.)
        write_atomic(index, marshal.dumps({"format": TABLE_FORMAT, "tables": tables}), sync=False)

    def discard(self) -> None:
        with suppress(OSError):
            self._wait()
        for temp, _target in self.files:
            temp.unlink(missing_ok=True)
        self.files = []


def table_index_path(out: Path) -> Path:
    return Path(out) / ".cache" / TABLE_INDEX


def _table_index(out: Path) -> dict[str, tuple]:
    """The chunks of the tables the previous build wrote: {name: (file identity, chunks)}."""
    try:
        index = marshal.loads(table_index_path(out).read_bytes())
        if index["format"] != TABLE_FORMAT:
            return {}
        return dict(index["tables"])
    except Exception:  # missing, truncated, of another layout: nothing to reuse
        return {}


def _finish_table(copier: Copier, source: ChunkReuse | None, fd: int, sync: bool = True) -> None:
    """Wait for a staged table's copied chunks, then close the table it copies from and sync
    and close the staged one (``sync=False``: after a failure, only close them)."""
    try:
        if sync:
            copier.wait()
            os.fsync(fd)
        else:
            with suppress(OSError):
                copier.wait()
    finally:
        if source is not None:
            source.close()
        os.close(fd)


def _write_tables(
    out: Path, data: KnowledgeGraphData, analysis: Any, log: Log, staged: StagedTables | None = None
) -> None:
    log(f"Writing {out}/ …")
    (staged or StagedTables.write(out, data)).publish()
    if analysis is not None:
        from kg.report import render_report

        write_atomic(out / "report.md", render_report(analysis, data.documents))


def _write_maps(
    out: Path, data: KnowledgeGraphData, network: nx.MultiDiGraph | None, analysis: Any
) -> None:
    if importlib.util.find_spec("kg.visualize") is None:
        return
    from kg.visualize import write_collaboration_map, write_graph_map

    network = network if network is not None else network_from_data(data)
    collaboration = network
    if analysis is not None:
        from kg.analysis import collaboration_network

        network = network_with_metrics(network, analysis)
        collaboration = collaboration_network(network)
    write_graph_map(network, out / "graph.html", title="长株潭知识图谱")
    write_collaboration_map(
        collaboration, out / "collaboration.html", title="长株潭合作网络", relations=network
    )


ENTITY_HEADER = ("iri", "type", "label", "alt_labels", "documents", "mentions", "code")
RELATION_HEADER = (
    *("subject", "predicate", "object", "qualifiers"),
    *("doc_id", "start", "end", "rule", "sentence"),
)
MENTION_HEADER = ("doc_id", "start", "end", "text", "type", "rule", "canonical", "entity")


def entity_rows(data: KnowledgeGraphData) -> list[tuple]:
    base = str(entity_iri(""))
    return [
        (
            base + entity.id,
            entity.type,
            entity.label,
            "|".join(entity.alt_labels),
            "|".join(d for d, _ in entity.mention_counts),
            sum(n for _, n in entity.mention_counts),
            entity.code or "",
        )
        for entity in data.entities
    ]


class ExtractedPlaces:
    """What keys the objects of each document's extraction in the tables' chunks and the graph's
    blocks.

    Left as extracted by resolution, a mention or piece of evidence is whatever its document's
    file (path and content hash) makes it under the pipeline's version, so the table chunks made
    of it are keyed by its file and index rather than by its fields: the marshal bytes of the
    fields took ~3 s at 10,000 documents, and rows are only made for chunks the previous build
    did not write. An object not found (respelled by resolution, of a document not read from a
    file) is keyed by its fields.

    ``file[doc_id]``: what keys the document's objects (its id, path and content hash; only its
    id when it was not read from a file); ``relation_evidence``: what keys each relation's
    evidence (:func:`_evidence_keys`)."""

    def __init__(self, data: KnowledgeGraphData, extractions: Iterable[ExtractionRows] = ()):
        self.version = pipeline_version()
        from_files = [e for e in extractions if e.document.content_hash]
        # Two files of one document id (x.txt, x.md): neither's places key its objects.
        files_of = Counter(e.document.id for e in from_files)
        extracted = {e.document.id: e for e in from_files if files_of[e.document.id] == 1}
        self.file = {
            d.id: f"{d.id}\x1f{d.path}\x1f{d.content_hash}" if d.id in extracted else d.id
            for d in data.documents
        }
        self.relation_evidence = _evidence_keys(data.relations, extracted, self.file)


def _evidence_keys(
    relations: Sequence[Relation],
    extracted: Mapping[str, ExtractionRows],
    files: Mapping[str, str],
) -> list[tuple[tuple, ...]]:
    """Per relation, each piece of its evidence as (a digest of what keys its document, its index
    among the document's relation candidates), or as its fields when not found: what keys both
    the relations table and the graph's blocks (the sentences made their keys' bytes: 83 MB at
    10,000 documents). Looked up in C: ~340,000 pieces at 10,000 documents."""
    places: dict[int, tuple[bytes, int]] = {}  # id() of a piece → its place
    for doc_id, extraction in extracted.items():
        pieces = list(map(extraction.evidence.__getitem__, map(_EVIDENCE, extraction.candidates)))
        digest = chunk_key(files[doc_id])
        places.update(zip(map(id, pieces), zip(repeat(digest), count()), strict=False))
    place = places.get
    keyed = [tuple(map(place, map(id, relation.evidence))) for relation in relations]
    for index, found in enumerate(keyed):
        if None in found:  # (a piece resolution made, or of a document not from a file)
            keyed[index] = tuple(
                evidence_fields(piece) if at is None else at
                for at, piece in zip(found, relations[index].evidence, strict=True)
            )
    return keyed


_EVIDENCE = itemgetter(3)  # (of a candidate row)


def relation_chunks(
    data: KnowledgeGraphData, places: ExtractedPlaces | None = None
) -> Iterator[KeyedChunk]:
    """The rows of relations.csv (one per relation and evidence) in chunks that begin at
    subjects chosen by content (:func:`kg.files.content_cut`), keyed (see
    :class:`ExtractedPlaces`)."""
    places = places or ExtractedPlaces(data)
    labels = {e.id: e.label for e in data.entities}
    relations = data.relations
    start = 0
    heads: list[tuple] = []
    subject = None
    for index, (relation, evidence) in enumerate(
        zip(relations, places.relation_evidence, strict=True)
    ):
        if relation.subject != subject:
            subject = relation.subject
            if index and content_cut(subject, TABLE_PART):
                key = chunk_key("relations", places.version, heads)
                yield key, partial(_relation_rows, relations[start:index], labels)
                start, heads = index, []
        head = (labels[relation.subject], relation.predicate, labels[relation.object])
        heads.append((*head, relation.qualifiers, evidence))
    if relations:
        key = chunk_key("relations", places.version, heads)
        yield key, partial(_relation_rows, relations[start:], labels)


def _relation_rows(relations: Sequence[Relation], labels: Mapping[str, str]) -> list[tuple]:
    rows = []
    for relation in relations:
        quals = (
            json.dumps(dict(relation.qualifiers), ensure_ascii=False) if relation.qualifiers else ""
        )
        head = (labels[relation.subject], relation.predicate, labels[relation.object], quals)
        rows += [
            (*head, ev.doc_id, ev.start, ev.end, ev.rule, ev.sentence) for ev in relation.evidence
        ]
    return rows


# A chunk of a table: its key (equal keys, equal rows) and what makes its rows.
KeyedChunk = tuple[bytes, Callable[[], list[tuple]]]


def keyed_by_rows(chunks: Iterable[list[tuple]]) -> Iterator[KeyedChunk]:
    """Chunks of rows keyed by the rows themselves."""
    for rows in chunks:
        yield chunk_key(rows), (lambda rows=rows: rows)


def mention_chunks(
    data: KnowledgeGraphData, places: ExtractedPlaces | None = None
) -> Iterator[KeyedChunk]:
    """The rows of mentions.csv (a mention and its entity each) in chunks that begin at
    documents chosen by content, keyed (see :class:`ExtractedPlaces`): a mention as extracted by
    its row's index when its document was read from a file, else by its fields."""
    places = places or ExtractedPlaces(data)
    parts = MentionLinks.of(data.mentions).parts
    start = 0
    documents: list[tuple[str, int]] = []  # (what keys it, where its mentions begin)
    mentions: list[int | tuple] = []
    targets: list[str] = []
    for index, (doc_id, rows, pairs) in enumerate(parts):
        if index and content_cut(doc_id, TABLE_PART):
            key = chunk_key("mentions", places.version, documents, mentions, targets)
            yield key, partial(_mention_rows, parts[start:index])
            start, documents, mentions, targets = index, [], [], []
        file = places.file.get(doc_id, doc_id)
        documents.append((file, len(mentions)))
        placed = file != doc_id  # (not read from a file, its rows' indexes say nothing)
        for ref, target in pairs:
            mentions.append(ref if placed and type(ref) is int else _fields(ref, rows))
            targets.append(target)
    if parts:
        key = chunk_key("mentions", places.version, documents, mentions, targets)
        yield key, partial(_mention_rows, parts[start:])


def _fields(ref: int | Mention, rows: Sequence[MentionRow]) -> MentionRow:
    """A link's mention as its row of fields (the index of its row, or a Mention)."""
    return rows[ref] if type(ref) is int else mention_row(ref)  # type: ignore[index,arg-type]


def _mention_rows(parts: Sequence[LinkPart]) -> list[tuple]:
    found = []
    for _doc_id, rows, pairs in parts:
        for ref, target in pairs:
            doc_id, start, end, text, type_name, rule, canonical, *_ = _fields(ref, rows)
            found.append((doc_id, start, end, text, type_name, rule, canonical, target))
    return found
