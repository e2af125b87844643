"""SPARQL over the built graph: engines (pyoxigraph, rdflib), the query gallery, result formats."""

from __future__ import annotations

import csv
import difflib
import io
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import pyoxigraph as ox

from kg.errors import InputError, KGError, QueryError
from kg.model import ENTITY_TYPES
from kg.ontology import standard_prefixes, term
from kg.store import is_store_url

DEFAULT_GRAPH = Path("outputs/kg.ttl")
QUERIES_DIR = Path(__file__).resolve().parent / "queries"
ENGINES: tuple[str, ...] = ("oxigraph", "rdflib")
RESULT_FORMATS: tuple[str, ...] = ("table", "csv", "tsv", "json", "xml")
GRAPH_FORMATS: tuple[str, ...] = ("turtle", "ntriples", "jsonld", "rdfxml")
FORMATS: tuple[str, ...] = RESULT_FORMATS + GRAPH_FORMATS
PARAM_TYPES: tuple[str, ...] = ("name", "string", "integer", "decimal", "date", "class")
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}
)
QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})
XSD = "http://www.w3.org/2001/XMLSchema#"
_NUMERIC_TYPES = frozenset(
    XSD + name
    for name in [
        "integer",
        "decimal",
        "double",
        "float",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "negativeInteger",
        "nonPositiveInteger",
        "unsignedInt",
        "unsignedLong",
        "unsignedShort",
        "unsignedByte",
    ]
)

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
T = TypeVar("T")


# --------------------------------------------------------------------------------------- errors


class GraphNotFoundError(InputError):
    """The graph file to query does not exist."""

    def __init__(self, path: Path):
        super().__init__(
            f"graph file not found: {path} (build it first with `python build_graph.py`, "
            "or pass --graph FILE)"
        )


class QuerySyntaxError(QueryError):
    """The query does not parse; the message gives the line and column."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.line, self.column = line, column
        super().__init__(message)


class UnknownPrefixError(QueryError):
    """The query uses a prefix that it does not declare and that is not a standard one."""


class UnknownQueryError(QueryError):
    """No gallery question has the given name."""


class UnknownParameterError(QueryError):
    """A parameter is not declared by the query, or its value has the wrong type."""


class ReadOnlyError(QueryError):
    """SPARQL UPDATE was sent to a read-only engine or endpoint."""


class QueryTimeoutError(QueryError):
    """The query ran longer than the allowed time."""


class GalleryError(KGError):
    """A gallery .rq file is malformed (a bug in the package, not a user error)."""


# ---------------------------------------------------------------------------------------- lexer

# Just enough of the SPARQL grammar to tell comments, strings and IRIs from the tokens we rewrite
# (placeholder variables) or inspect (prefixed names, PREFIX declarations, the query form).
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
               |'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][\w\u00b7\u0300-\u036f\u203f-\u2040]+)
  | (?P<pname>(?P<prefix>[^\W\d_][\w.\-]*)?:(?:[\w\-:%\\]|\.(?=[\w\-:%\\]))*)
  | (?P<word>[A-Za-z_]\w*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    start: int
    prefix: str | None = None


def tokenize(text: str) -> list[Token]:
    """The query's tokens (whitespace included, so that joining the texts gives ``text`` back)."""
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind == "prefix":  # the named subgroup of pname wins lastgroup
            kind = "pname"
        prefix = match.group("prefix") or "" if kind == "pname" else None
        tokens.append(Token(kind, match.group(0), match.start(), prefix))
    return tokens


def _significant(tokens: Iterable[Token]) -> list[Token]:
    return [token for token in tokens if token.kind not in ("ws", "comment")]


def declared_prefixes(text: str) -> dict[str, str]:
    """The ``PREFIX p: <iri>`` declarations of a query."""
    tokens = _significant(tokenize(text))
    found = {}
    for index, token in enumerate(tokens[:-2]):
        if token.kind == "word" and token.text.upper() == "PREFIX":
            name, iri = tokens[index + 1], tokens[index + 2]
            if name.kind == "pname" and iri.kind == "iri":
                found[name.text[:-1]] = iri.text[1:-1]
    return found


def query_form(text: str) -> str | None:
    """The first keyword after the prologue: SELECT, ASK, …, or INSERT/DELETE/… for updates."""
    tokens = _significant(tokenize(text))
    index = 0
    while index < len(tokens):
        word = tokens[index].text.upper() if tokens[index].kind == "word" else None
        if word == "PREFIX":
            index += 3
        elif word == "BASE":
            index += 2
        else:
            return word
    return None


def used_prefixes(text: str) -> set[str]:
    return {
        token.prefix
        for token in tokenize(text)
        if token.kind == "pname" and token.prefix is not None
    }


def with_prefixes(text: str) -> tuple[str, int]:
    """The query with PREFIX lines for the standard prefixes it does not declare, and how many
    lines were added; an undeclared non-standard prefix raises :class:`UnknownPrefixError`."""
    declared = declared_prefixes(text)
    standard = standard_prefixes()
    unknown = sorted(used_prefixes(text) - set(declared) - set(standard))
    if unknown:
        valid = ", ".join(f"{name}:" for name in sorted(set(standard) | set(declared)))
        names = ", ".join(f"{name}:" for name in unknown)
        raise UnknownPrefixError(f"unknown prefix {names} (valid prefixes: {valid})")
    missing = [f"PREFIX {p}: <{iri}>" for p, iri in standard.items() if p not in declared]
    if not missing:
        return text, 0
    # One line for all of them, so error positions shift by exactly one line.
    return " ".join(missing) + "\n" + text, 1


def check_read_only(text: str) -> None:
    """Raise :class:`ReadOnlyError` for a SPARQL UPDATE (INSERT, DELETE, LOAD, DROP, …)."""
    form = query_form(text)
    if form in UPDATE_KEYWORDS:
        raise ReadOnlyError(
            f"SPARQL UPDATE ({form}) is not allowed: the graph is read-only; "
            "use SELECT, ASK, CONSTRUCT or DESCRIBE"
        )


# -------------------------------------------------------------------------------------- gallery


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter of a query: substituted for the ``?_name`` placeholder as a typed RDF term."""

    name: str
    type: str
    default: str
    description: str

    def to_term(self, value: str) -> str:
        """The SPARQL text of ``value`` as an RDF term of this parameter's type (escaped)."""
        return sparql_term(self.type, value, self.name)


@dataclass(frozen=True, slots=True)
class GalleryQuery:
    """A parameterised SPARQL query with its header (titles, description, parameters)."""

    name: str
    title_zh: str
    title_en: str
    description: str
    params: tuple[Param, ...]
    text: str
    path: Path | None = None
    description_zh: str = ""

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        valid = ", ".join(p.name for p in self.params) or "none"
        raise UnknownParameterError(
            f"query {self.name!r} has no parameter {name!r} (valid parameters: {valid})"
        )

    def render(self, values: Mapping[str, str] | None = None) -> str:
        """The query text with every placeholder replaced by its value (or default) as a term."""
        values = dict(values or {})
        for name in values:
            self.param(name)  # unknown names raise, listing the valid ones
        terms = {p.name: p.to_term(values.get(p.name, p.default)) for p in self.params}
        return substitute(self.text, terms)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "description": self.description,
            "description_zh": self.description_zh,
            "params": [
                {"name": p.name, "type": p.type, "default": p.default, "description": p.description}
                for p in self.params
            ],
            "query": self.text,
        }


_HEADER = re.compile(r"^#\s*(?P<key>[\w-]+)\s*:\s?(?P<value>.*)$")
_PARAM_NAME = re.compile(r"^(?P<name>[A-Za-z]\w*)(?::(?P<type>\w+))?$")
# "default (description)": the description is the last parenthesised group after a space, so
# defaults may hold parentheses themselves, e.g. "行动计划(2021-2025年) (the plan)".
_PARAM_REST = re.compile(r"^(?:(?P<default>.*?\S)\s+)?\((?P<description>[^()]*)\)$")


def parse_query_text(text: str, name: str = "query", path: Path | None = None) -> GalleryQuery:
    """Read a query's header comments (``# title-zh:``, ``# param:`` …) into a GalleryQuery."""
    header: dict[str, str] = {}
    params: list[Param] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        match = _HEADER.match(stripped)
        if not stripped.startswith("#"):
            break  # the header is the leading block of comments
        if not match:
            continue
        key, value = match.group("key").lower(), match.group("value").strip()
        if key == "param":
            params.append(_parse_param(value, name))
        else:
            header[key] = value
    return GalleryQuery(
        name=name,
        title_zh=header.get("title-zh", ""),
        title_en=header.get("title-en", ""),
        description=header.get("description", ""),
        description_zh=header.get("description-zh", ""),
        params=tuple(params),
        text=text,
        path=path,
    )


def _parse_param(spec: str, query_name: str) -> Param:
    left, sep, right = spec.partition("=")
    match = _PARAM_NAME.match(left.strip())
    if not sep or not match:
        raise GalleryError(f"{query_name}: malformed parameter line {spec!r}")
    kind = match.group("type") or "name"
    if kind not in PARAM_TYPES:
        raise GalleryError(
            f"{query_name}: parameter {match.group('name')!r} has unknown type {kind!r} "
            f"(valid types: {', '.join(PARAM_TYPES)})"
        )
    rest = right.strip()
    described = _PARAM_REST.match(rest)
    default, description = (
        (described.group("default") or "", described.group("description").strip())
        if described
        else (rest, "")
    )
    return Param(match.group("name"), kind, default, description)


def load_query_file(path: str | Path) -> GalleryQuery:
    """A query from a ``.rq`` file (its header, if any, declares parameters)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"query file not found: {file}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read query file {file}: {exc}") from exc
    return parse_query_text(text, file.stem, file)


@lru_cache(maxsize=4)
def _load_gallery(directory: Path) -> dict[str, GalleryQuery]:
    queries = {}
    for file in sorted(directory.glob("*.rq")):
        query = load_query_file(file)
        placeholders = placeholder_names(query.text)
        declared = {p.name for p in query.params}
        if placeholders != declared or not (query.title_zh and query.title_en):
            raise GalleryError(
                f"{file.name}: needs title-zh, title-en and one param line per placeholder "
                f"(placeholders {sorted(placeholders)}, params {sorted(declared)})"
            )
        queries[query.name] = query
    return queries


def gallery(directory: Path | None = None) -> dict[str, GalleryQuery]:
    """The gallery questions by name (file stem), from ``kg/queries/*.rq``."""
    return dict(_load_gallery((directory or QUERIES_DIR).resolve()))


def gallery_query(name: str) -> GalleryQuery:
    queries = gallery()
    if name not in queries:
        close = difflib.get_close_matches(name, list(queries), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UnknownQueryError(
            f"no gallery query named {name!r}; {hint}valid names: {', '.join(queries)}"
        )
    return queries[name]


def placeholder_names(text: str) -> set[str]:
    """The parameter names of the ``?_name`` placeholders in a query."""
    return {t.text[2:] for t in tokenize(text) if t.kind == "var" and t.text[1] == "_"}


def substitute(text: str, terms: Mapping[str, str]) -> str:
    """Replace ``?_name``/``$_name`` placeholder tokens (never inside strings, IRIs or comments)."""
    out = []
    for token in tokenize(text):
        if token.kind == "var" and token.text[1] == "_" and token.text[2:] in terms:
            out.append(terms[token.text[2:]])
        else:
            out.append(token.text)
    return "".join(out)


def sparql_term(kind: str, value: str, name: str = "value") -> str:
    """``value`` as the SPARQL text of an RDF term of parameter type ``kind``.

    Literals are serialised by pyoxigraph (N-Triples escaping), numbers and dates are checked
    before use: a value can never close the literal and inject query text.
    """
    try:
        if kind == "name":
            return str(ox.Literal(value, language="zh"))
        if kind == "string":
            return str(ox.Literal(value))
        if kind == "integer":
            return str(int(value.strip()))  # bare integers also fit LIMIT/OFFSET
        if kind == "decimal":
            return str(ox.Literal(str(float(value)), datatype=ox.NamedNode(XSD + "double")))
        if kind == "date":
            iso = date.fromisoformat(value.strip()).isoformat()
            return str(ox.Literal(iso, datatype=ox.NamedNode(XSD + "date")))
        if kind == "class":
            if value not in ENTITY_TYPES:
                raise ValueError(f"not an entity class; valid: {', '.join(ENTITY_TYPES)}")
            return str(ox.NamedNode(str(term(value))))
    except ValueError as exc:
        raise UnknownParameterError(
            f"bad value {value!r} for {kind} parameter {name!r}: {exc}"
        ) from None
    raise GalleryError(f"unknown parameter type {kind!r}")


def parse_param_args(pairs: Sequence[str]) -> dict[str, str]:
    """``["unit=市发改委", …]`` → ``{"unit": "市发改委"}``."""
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UnknownParameterError(f"parameter {pair!r} is not of the form name=value")
        values[name.strip()] = value
    return values


# -------------------------------------------------------------------------------------- results


@dataclass(slots=True)
class QueryResult:
    """A query's answer with pyoxigraph terms, whatever the engine that computed it."""

    form: str  # "SELECT", "ASK" or "GRAPH" (CONSTRUCT/DESCRIBE)
    variables: tuple[str, ...] = ()
    rows: list[tuple[Term | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)
    truncated: bool = False
    prefixes: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0

    def __len__(self) -> int:
        return len(self.triples) if self.form == "GRAPH" else len(self.rows)

    @property
    def is_empty(self) -> bool:
        return self.form != "ASK" and len(self) == 0

    def dicts(self) -> list[dict[str, str]]:
        """Rows as ``{variable: value}`` with the plain value (IRI or lexical form) of each term."""
        return [
            {
                var: term_value(t)
                for var, t in zip(self.variables, row, strict=True)
                if t is not None
            }
            for row in self.rows
        ]

    def column(self, variable: str) -> list[str | None]:
        index = self.variables.index(variable)
        return [None if row[index] is None else term_value(row[index]) for row in self.rows]

    def normalized(self) -> Any:
        """An engine-independent, order-independent value to compare answers with."""
        if self.form == "ASK":
            return self.boolean
        if self.form == "GRAPH":
            return sorted(tuple(normalize_term(t) for t in triple) for triple in self.triples)
        rows = (tuple(normalize_term(t) for t in row) for row in self.rows)
        return (self.variables, sorted(rows, key=repr))


def term_value(term: Term) -> str:
    return term.value if hasattr(term, "value") else str(term)


def normalize_term(term: Term | None) -> tuple[Any, ...] | None:
    """Numbers compared by value (engines write 1.5e-01 or 0.15), other terms exactly."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        if datatype in _NUMERIC_TYPES:
            try:
                return ("number", round(float(term.value), 9))
            except ValueError:
                pass
        return ("literal", term.value, term.language, None if term.language else datatype)
    if isinstance(term, ox.NamedNode):
        return ("iri", term.value)
    if isinstance(term, ox.BlankNode):
        return ("bnode",)  # labels are engine-specific
    return ("triple", str(term))


# -------------------------------------------------------------------------------------- engines

_CACHE_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], tuple[tuple[int, int], Any]] = {}


def _graph_key(path: str | Path) -> tuple[Path, tuple[int, int]]:
    file = Path(path)
    try:
        stat = file.stat()
    except FileNotFoundError:
        raise GraphNotFoundError(file) from None
    if not file.is_file():
        raise InputError(f"graph path is not a file: {file}")
    return file.resolve(), (stat.st_mtime_ns, stat.st_size)


def _rdf_format(path: Path) -> ox.RdfFormat:
    found = ox.RdfFormat.from_extension(path.suffix.lstrip(".") or "ttl")
    return found or ox.RdfFormat.TURTLE


def _cached_store(engine: str, url: str, load: Callable[[str], T]) -> T:
    """A SPARQL store's graph, fetched once per process (``kg serve --store`` answers from the
    graph as it was at start; restart it after a new upload)."""
    key = (engine, url)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is None:
            hit = _CACHE[key] = ((0, 0), load(url))
        return hit[1]


def _cached(engine: str, path: str | Path, load: Callable[[Path], T]) -> T:
    """Load once per process and (path, mtime, size): a rebuilt graph is picked up by itself."""
    file, stamp = _graph_key(path)
    key = (engine, str(file))
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit and hit[0] == stamp:
            return hit[1]
        try:
            loaded = load(file)
        except (SyntaxError, ValueError) as exc:
            raise InputError(f"cannot parse graph file {file}: {exc}") from exc
        _CACHE[key] = (stamp, loaded)
        return loaded


def oxigraph_store(path: str | Path = DEFAULT_GRAPH) -> ox.Store:
    """The graph file — or the graph of a store URL (Graph Store Protocol) — in an in-memory
    pyoxigraph Store (cached)."""
    if is_store_url(path):
        from kg.store import load_store

        return _cached_store("oxigraph", str(path), load_store)

    def load(file: Path) -> ox.Store:
        store = ox.Store()
        store.bulk_load(path=file, format=_rdf_format(file))
        return store

    return _cached("oxigraph", path, load)


def rdflib_graph(path: str | Path = DEFAULT_GRAPH) -> Any:
    """The graph file (or a store URL's graph) in an rdflib Graph (cached); parsed by oxrdflib
    when it is installed."""
    if is_store_url(path):
        from kg.store import load_store_graph

        return _cached_store("rdflib", str(path), load_store_graph)

    def load(file: Path) -> Any:
        from rdflib import Graph

        suffix = file.suffix.lower()
        fmt = {".nt": "nt", ".nq": "nquads", ".jsonld": "json-ld", ".rdf": "xml"}.get(
            suffix, "turtle"
        )
        graph = Graph()
        try:  # oxrdflib's parser is several times faster; the store stays rdflib's own
            graph.parse(file, format=f"ox-{fmt}")
        except Exception:  # noqa: BLE001 - plugin missing or refusing: fall back to rdflib's
            graph = Graph().parse(file, format=fmt)
        return graph

    return _cached("rdflib", path, load)


def triple_count(path: str | Path = DEFAULT_GRAPH, engine: str = "oxigraph") -> int:
    return len(oxigraph_store(path) if engine == "oxigraph" else rdflib_graph(path))


class _Cancelled(QueryTimeoutError):
    def __init__(self) -> None:
        super().__init__("query cancelled")


def call_with_timeout(
    func: Callable[[threading.Event], T],
    timeout: float | None,
    cancel: threading.Event | None = None,
) -> T:
    """Run ``func(cancel_event)`` in a daemon thread; raise QueryTimeoutError after ``timeout`` s.

    Neither engine can interrupt a running query, so the thread is abandoned (daemon: it never
    blocks the process from exiting) and told to stop at the next row via the event.
    """
    cancel = cancel or threading.Event()
    if not timeout:
        return func(cancel)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func(cancel)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name="sparql-query", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        cancel.set()
        raise QueryTimeoutError(f"query timed out after {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


_OX_ERROR = re.compile(r"error at (\d+):(\d+):\s*(.*)", re.DOTALL)


def _syntax_error(
    message: str, line: int | None, column: int | None, text: str, offset: int
) -> QuerySyntaxError:
    message = " ".join(message.split())
    if len(message) > 160:  # pyoxigraph lists every expected token
        message = message[:157] + "..."
    if line is None or column is None:
        return QuerySyntaxError(f"syntax error: {message}")
    lines = text.splitlines() or [""]  # ``text`` is the query with the PREFIX line
    source = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    line -= offset
    near = f" in: {source[:80]}" if source else ""
    return QuerySyntaxError(
        f"syntax error at line {line}, column {column}: {message}{near}", line, column
    )


def _run_oxigraph(
    text: str, path: str | Path, offset: int, max_rows: int | None, cancel: threading.Event
) -> QueryResult:
    store = oxigraph_store(path)
    try:
        answer = store.query(text)
    except SyntaxError as exc:
        match = _OX_ERROR.match(str(exc))
        if match:
            line, column, message = int(match[1]), int(match[2]), match[3]
            raise _syntax_error(message, line, column, text, offset) from None
        raise _syntax_error(str(exc), None, None, text, offset) from None
    except OSError as exc:
        raise QueryError(f"query failed: {exc}") from exc
    if isinstance(answer, ox.QueryBoolean):
        return QueryResult("ASK", boolean=bool(answer))
    if isinstance(answer, ox.QuerySolutions):
        variables = tuple(v.value for v in answer.variables)
        rows, truncated = _take(
            (tuple(solution[i] for i in range(len(variables))) for solution in answer),
            max_rows,
            cancel,
        )
        return QueryResult("SELECT", variables, rows, truncated=truncated)
    triples, truncated = _take(iter(answer), max_rows, cancel)
    return QueryResult("GRAPH", triples=triples, truncated=truncated)


def _take(items: Iterator[T], limit: int | None, cancel: threading.Event) -> tuple[list[T], bool]:
    taken: list[T] = []
    for item in items:
        if cancel.is_set():
            raise _Cancelled
        if limit is not None and len(taken) >= limit:
            return taken, True
        taken.append(item)
    return taken, False


def _to_ox(term: Any) -> Term | None:
    """An rdflib term as the equivalent pyoxigraph term."""
    from rdflib import BNode, Literal, URIRef

    if term is None:
        return None
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise QueryError(f"unsupported term in result: {term!r}")


def _run_rdflib(
    text: str, path: str | Path, offset: int, max_rows: int | None, cancel: threading.Event
) -> QueryResult:
    from pyparsing import ParseBaseException

    graph = rdflib_graph(path)
    try:
        answer = graph.query(text)
        kind = answer.type
        if kind == "ASK":
            return QueryResult("ASK", boolean=bool(answer.askAnswer))
        if kind == "SELECT":
            variables = tuple(str(v) for v in answer.vars or ())
            rows, truncated = _take(
                (tuple(_to_ox(t) for t in row) for row in answer), max_rows, cancel
            )
            return QueryResult("SELECT", variables, rows, truncated=truncated)
        triples, truncated = _take(
            (ox.Triple(*(_to_ox(t) for t in triple)) for triple in answer), max_rows, cancel
        )
        return QueryResult("GRAPH", triples=triples, truncated=truncated)
    except ParseBaseException as exc:
        raise _syntax_error(exc.msg, exc.lineno, exc.col, text, offset) from None
    except (_Cancelled, KGError):
        raise
    except Exception as exc:  # rdflib raises bare Exceptions for evaluation errors
        raise QueryError(f"query failed: {exc}") from exc


def run_query(
    text: str,
    graph: str | Path = DEFAULT_GRAPH,
    *,
    engine: str = "oxigraph",
    timeout: float | None = None,
    max_rows: int | None = None,
    cancel: threading.Event | None = None,
) -> QueryResult:
    """Run a SPARQL query (standard prefixes bound) over a graph file; read-only.

    ``timeout`` (seconds) raises :class:`QueryTimeoutError`; ``max_rows`` truncates the answer
    (``result.truncated`` is then true); setting ``cancel`` stops a query at its next row.
    """
    if engine not in ENGINES:
        raise QueryError(f"unknown engine {engine!r} (valid engines: {', '.join(ENGINES)})")
    if not text.strip():
        raise QuerySyntaxError("empty query")
    check_read_only(text)
    full_text, offset = with_prefixes(text)
    # Load outside the timeout: loading is paid once per process, not per query.
    if engine == "oxigraph":
        oxigraph_store(graph)
    else:
        rdflib_graph(graph)
    runner = _run_oxigraph if engine == "oxigraph" else _run_rdflib
    started = time.perf_counter()
    result = call_with_timeout(
        lambda event: runner(full_text, graph, offset, max_rows, event), timeout, cancel
    )
    result.elapsed = time.perf_counter() - started
    result.prefixes = {**standard_prefixes(), **declared_prefixes(text)}
    return result


def run_gallery(
    name: str,
    params: Mapping[str, str] | None = None,
    graph: str | Path = DEFAULT_GRAPH,
    *,
    engine: str = "oxigraph",
    timeout: float | None = None,
    max_rows: int | None = None,
) -> QueryResult:
    """Run the gallery question ``name`` with ``params`` (defaults for the missing ones)."""
    text = gallery_query(name).render(params)
    return run_query(text, graph, engine=engine, timeout=timeout, max_rows=max_rows)


def name_suggestions(name: str, graph: str | Path = DEFAULT_GRAPH, limit: int = 5) -> list[str]:
    """Labels close to ``name`` (for 'no entity named …' hints after an empty answer)."""
    labels = run_query("SELECT DISTINCT ?l WHERE { ?e rdfs:label|skos:altLabel ?l }", graph).column(
        "l"
    )
    names = sorted({label for label in labels if label})
    if name in names:
        return []
    # Names containing the given one first (a shortened name), then similar ones, then names
    # the given one contains (it was too long).
    longer = sorted((n for n in names if name in n), key=len)
    close = difflib.get_close_matches(name, names, n=limit, cutoff=0.5)
    shorter = sorted((n for n in names if n in name), key=len, reverse=True)
    return list(dict.fromkeys(longer + close + shorter))[:limit]


# ------------------------------------------------------------------------------------ formatting


def compact(iri: str, prefixes: Mapping[str, str]) -> str:
    """``prefix:local`` for the longest matching namespace, else ``<iri>``."""
    matches = [p for p, namespace in prefixes.items() if iri.startswith(namespace)]
    if matches:
        best = max(matches, key=lambda p: len(prefixes[p]))
        local = iri[len(prefixes[best]) :]
        if local and not any(ch.isspace() for ch in local):
            return f"{best}:{local}"
    return f"<{iri}>"


def display(term: Term | None, prefixes: Mapping[str, str]) -> str:
    """A term as the table shows it: compact IRIs, plain literal values, doubles shortened."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return compact(term.value, prefixes)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        if term.datatype.value in (XSD + "double", XSD + "float"):
            try:
                return f"{float(term.value):.6g}"
            except ValueError:
                return term.value
        return term.value
    return str(term)


def text_width(text: str) -> int:
    """Display columns: East Asian wide/fullwidth characters take two, combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _clip(text: str, max_width: int) -> str:
    text = " ".join(text.split())  # newlines would break the table
    if max_width <= 0 or text_width(text) <= max_width:
        return text
    out, width = [], 0
    for char in text:
        char_width = text_width(char)
        if width + char_width > max_width - 1:
            break
        out.append(char)
        width += char_width
    return "".join(out) + "…"


def _pad(text: str, width: int) -> str:
    return text + " " * (width - text_width(text))


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], max_width: int = 0) -> str:
    """An aligned text table (CJK-aware) with a header rule."""
    cells = [[_clip(cell, max_width) for cell in row] for row in rows]
    head = [_clip(name, max_width) for name in header]
    widths = [text_width(name) for name in head]
    for row in cells:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], text_width(cell))
    lines = [" | ".join(_pad(name, widths[i]) for i, name in enumerate(head)).rstrip()]
    lines.append("-+-".join("-" * width for width in widths))
    for row in cells:
        lines.append(" | ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
    return "\n".join(lines) + "\n"


def _tsv(result: QueryResult) -> str:
    out = ["\t".join(f"?{var}" for var in result.variables)]
    for row in result.rows:
        out.append("\t".join("" if t is None else str(t) for t in row))
    return "\n".join(out) + "\n"


_RESULT_FORMAT = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
_GRAPH_FORMAT = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}
MEDIA_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "turtle": "text/turtle; charset=utf-8",
    "ntriples": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
    "table": "text/plain; charset=utf-8",
}


def serialize(result: QueryResult, fmt: str) -> bytes:
    """A result in a SPARQL 1.1 results format (json, xml, csv, tsv) or an RDF format (graphs).

    pyoxigraph writes every format; results of the rdflib engine (or truncated ones) are handed
    to it through the lossless TSV form, so both engines give byte-identical output.
    """
    if result.form == "GRAPH":
        if fmt not in _GRAPH_FORMAT:
            raise QueryError(
                f"a CONSTRUCT/DESCRIBE result is RDF: use one of {', '.join(GRAPH_FORMATS)}"
            )
        return ox.serialize(result.triples, format=_GRAPH_FORMAT[fmt], prefixes=result.prefixes)
    if fmt not in _RESULT_FORMAT:
        raise QueryError(
            f"a {result.form} result cannot be written as {fmt}; "
            f"use one of {', '.join(RESULT_FORMATS)}"
        )
    if result.form == "ASK":
        answer = "true" if result.boolean else "false"
        parsed = ox.parse_query_results(
            f'{{"head":{{}},"boolean":{answer}}}', format=ox.QueryResultsFormat.JSON
        )
    else:
        parsed = ox.parse_query_results(_tsv(result), format=ox.QueryResultsFormat.TSV)
    return parsed.serialize(format=_RESULT_FORMAT[fmt])


def format_result(result: QueryResult, fmt: str = "table", *, max_width: int = 0) -> str:
    """The text the CLI prints: an aligned table by default, else a standard serialisation.

    A table of a CONSTRUCT/DESCRIBE result is Turtle, of an ASK result ``true``/``false``.
    """
    if fmt not in FORMATS:
        raise QueryError(f"unknown format {fmt!r} (valid formats: {', '.join(FORMATS)})")
    if fmt == "table":
        if result.form == "ASK":
            return ("true" if result.boolean else "false") + "\n"
        if result.form == "GRAPH":
            return serialize(result, "turtle").decode("utf-8")
        rows = [[display(t, result.prefixes) for t in row] for row in result.rows]
        return format_table(result.variables, rows, max_width)
    if result.form == "GRAPH" and fmt in ("json", "xml"):
        fmt = {"json": "jsonld", "xml": "rdfxml"}[fmt]  # the RDF flavour of the same syntax
    return serialize(result, fmt).decode("utf-8")


def format_gallery_list(queries: Mapping[str, GalleryQuery] | None = None) -> str:
    """The gallery as a table: name, Chinese title, English title, parameters with defaults."""
    queries = gallery() if queries is None else queries
    rows = [
        [
            q.name,
            q.title_zh,
            q.title_en,
            ", ".join(f"{p.name}={p.default}" for p in q.params) or "-",
        ]
        for q in queries.values()
    ]
    return format_table(["name", "title-zh", "title-en", "params"], rows)


def read_csv(text: str) -> list[list[str]]:
    """Parse CSV output back (used by tests and the benchmark)."""
    return list(csv.reader(io.StringIO(text)))
