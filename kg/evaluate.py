"""Evaluation harness: the built graph against gold annotations (format: tests/data/gold/README.md).

Entities are scored per document: a gold entity is found when an entity of the same type that is
mentioned in that document carries its name or one of its mentions as a label; a graph entity
mentioned in the document that matches no gold entity of its type is a false positive. Optional
gold items are neither rewarded nor punished. Relations are matched on (subject, predicate,
object) through the entities' labels (cooperatesWith either way round), per evidence document.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import RDF, RDFS, SKOS, Graph, URIRef
from rdflib.namespace import DCTERMS

from kg.errors import InputError
from kg.model import CORE_TYPES, ENTITY_TYPES, RELATION_PREDICATES
from kg.ontology import CZT, NIF, term


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: Score) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn


@dataclass
class EvaluationReport:
    entities: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    relations: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    tasks: Score = field(default_factory=Score)
    splits: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)
    false_negatives: list[str] = field(default_factory=list)
    relation_misses: list[str] = field(default_factory=list)

    def micro(self, types: tuple[str, ...] | None = None) -> Score:
        total = Score()
        for type_name, score in self.entities.items():
            if types is None or type_name in types:
                total.add(score)
        return total

    def relations_micro(self) -> Score:
        total = Score()
        for score in self.relations.values():
            total.add(score)
        return total

    def render(self, details: bool = False) -> str:
        def row(name: str, s: Score) -> str:
            return f"{name:<16}{s.tp:>5}{s.fp:>5}{s.fn:>5}  {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f}"

        header = f"{'':<16}{'TP':>5}{'FP':>5}{'FN':>5}  {'P':>6} {'R':>6} {'F1':>6}"
        lines = ["Entities", header]
        lines += [row(t, self.entities[t]) for t in ENTITY_TYPES if t in self.entities]
        lines.append(row("core (micro)", self.micro(CORE_TYPES)))
        lines.append(row("all (micro)", self.micro()))
        lines.append(
            f"split gold entities: {len(self.splits)}"
            + (f" ({', '.join(self.splits)})" if self.splits else "")
        )
        lines += ["", "Relations", header]
        lines += [row(p, self.relations[p]) for p in RELATION_PREDICATES if p in self.relations]
        lines.append(row("all (micro)", self.relations_micro()))
        if self.tasks.tp + self.tasks.fn:
            lines += [
                "",
                "Work-plan tasks: (unit, task) pairs",
                header,
                row("responsibleFor", self.tasks),
            ]
        if details:
            lines += ["", "False negatives (entities):", *self.false_negatives]
            lines += ["", "False positives (entities):", *self.false_positives]
            lines += ["", "Relation misses:", *self.relation_misses]
        return "\n".join(lines)


@dataclass(frozen=True)
class GraphView:
    """What scoring needs from the graph, read once."""

    labels: dict[URIRef, frozenset[str]]
    types: dict[URIRef, str]
    docs_of: dict[URIRef, frozenset[str]]
    relations: list[tuple[URIRef, str, URIRef, frozenset[str], str]]  # s, p, o, docs, rule


def read_graph(graph: Graph) -> GraphView:
    doc_ids = {
        d: str(graph.value(d, DCTERMS.identifier)) for d in graph.subjects(RDF.type, CZT.Document)
    }
    labels: dict[URIRef, frozenset[str]] = {}
    types: dict[URIRef, str] = {}
    docs_of: dict[URIRef, frozenset[str]] = {}
    for type_name in ENTITY_TYPES:
        for node in graph.subjects(RDF.type, term(type_name)):
            names = {
                str(o)
                for p in (RDFS.label, SKOS.prefLabel, SKOS.altLabel)
                for o in graph.objects(node, p)
            }
            labels[node] = frozenset(names)
            types[node] = type_name
            docs_of[node] = frozenset(
                doc_ids.get(d, "") for d in graph.objects(node, CZT.mentionedIn)
            )
    relations = []
    for statement in graph.subjects(RDF.type, RDF.Statement):
        predicate = graph.value(statement, RDF.predicate)
        name = str(predicate).rsplit("#", 1)[-1]
        if name not in RELATION_PREDICATES:
            continue
        docs, rules = set(), set()
        for ev in graph.objects(statement, CZT.evidence):
            docs.add(doc_ids.get(graph.value(ev, NIF.referenceContext), ""))
            rules.add(str(graph.value(ev, CZT.rule)))
        relations.append(
            (
                graph.value(statement, RDF.subject),
                name,
                graph.value(statement, RDF.object),
                frozenset(docs),
                "|".join(sorted(rules)),
            )
        )
    return GraphView(labels, types, docs_of, relations)


def _doc_key(file_name: str) -> str:
    return Path(file_name).stem


def evaluate(graph: Graph, gold_dir: Path) -> EvaluationReport:
    files = sorted(Path(gold_dir).glob("*.json"))
    if not files:
        raise InputError(f"{gold_dir}: no gold *.json files")
    view = read_graph(graph)
    report = EvaluationReport()
    for path in files:
        try:
            gold = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: not a readable gold file ({exc})") from exc
        _score_document(view, gold, _doc_key(gold.get("doc", path.name)), report)
    return report


def _score_document(view: GraphView, gold: dict, doc: str, report: EvaluationReport) -> None:
    # Tasks are scored as (unit, task) pairs below, not as entities.
    nodes = [n for n, docs in view.docs_of.items() if doc in docs and view.types[n] != "Task"]
    gold_names: dict[str, set[str]] = {}
    matched_nodes: set[URIRef] = set()
    for item in gold["entities"]:
        names = {item["name"], *item.get("mentions", [])}
        gold_names[item["name"]] = names
        hits = [n for n in nodes if view.types[n] == item["type"] and view.labels[n] & names]
        matched_nodes.update(hits)
        if item.get("optional"):
            continue
        score = report.entities[item["type"]]
        if hits:
            score.tp += 1
            if len(hits) > 1:
                report.splits.append(f"{doc}:{item['name']}")
        else:
            score.fn += 1
            report.false_negatives.append(f"  {doc} {item['type']:<12} {item['name']}")
    for node in nodes:
        if node not in matched_nodes:
            report.entities[view.types[node]].fp += 1
            label = sorted(view.labels[node], key=len)[-1]
            report.false_positives.append(f"  {doc} {view.types[node]:<12} {label}")
    _score_relations(view, gold, doc, gold_names, report)
    _score_tasks(view, gold, doc, report)


def _names(gold_names: dict[str, set[str]], name: str) -> set[str]:
    return gold_names.get(name, {name})


def _score_relations(
    view: GraphView, gold: dict, doc: str, gold_names: dict[str, set[str]], report: EvaluationReport
) -> None:
    graph_rels = [
        r
        for r in view.relations
        if doc in r[3]
        and r[1] != "responsibleFor"
        or (doc in r[3] and view.types.get(r[2]) != "Task" and r[1] == "responsibleFor")
    ]
    used: set[int] = set()

    def matches(rel: tuple, item: dict) -> bool:
        s, p, o = rel[0], rel[1], rel[2]
        if p != item["predicate"]:
            return False
        subj, obj = _names(gold_names, item["subject"]), _names(gold_names, item["object"])
        straight = bool(view.labels.get(s, frozenset()) & subj) and bool(
            view.labels.get(o, frozenset()) & obj
        )
        if straight:
            return True
        return (
            p == "cooperatesWith"
            and bool(view.labels.get(o, frozenset()) & subj)
            and bool(view.labels.get(s, frozenset()) & obj)
        )

    for item in gold["relations"]:
        hits = [i for i, rel in enumerate(graph_rels) if matches(rel, item)]
        used.update(hits)
        if item.get("optional"):
            continue
        score = report.relations[item["predicate"]]
        if hits:
            score.tp += 1
        else:
            score.fn += 1
            report.relation_misses.append(
                f"  {doc} miss {item['subject']} {item['predicate']} {item['object']}"
            )
    for i, rel in enumerate(graph_rels):
        if i not in used:
            report.relations[rel[1]].fp += 1
            s = sorted(view.labels.get(rel[0], {"?"}), key=len)[-1]
            o = sorted(view.labels.get(rel[2], {"?"}), key=len)[-1]
            report.relation_misses.append(f"  {doc} extra {s} {rel[1]} {o} [{rel[4]}]")


def _score_tasks(view: GraphView, gold: dict, doc: str, report: EvaluationReport) -> None:
    tasks = gold.get("tasks") or []
    if not tasks:
        return
    pairs = [
        (s, o, rule)
        for s, p, o, docs, rule in view.relations
        if p == "responsibleFor" and doc in docs and view.types.get(o) == "Task"
    ]
    for task in tasks:
        task_nodes = {
            o
            for _, o, _ in pairs
            if any(label.startswith(task["id"] + " ") for label in view.labels[o])
        }
        units = [(s, rule) for s, o, rule in pairs if o in task_nodes]
        found = set()
        for name in task["responsible"]:
            hit = [s for s, _ in units if name in view.labels[s]]
            if hit:
                report.tasks.tp += 1
                found.update(hit)
            else:
                report.tasks.fn += 1
                report.relation_misses.append(f"  {doc} task {task['id']} misses {name}")
        for s, rule in units:
            if s not in found and not (task.get("responsible_generic") and "各县市区" in rule):
                report.tasks.fp += 1
                report.relation_misses.append(
                    f"  {doc} task {task['id']} extra {sorted(view.labels[s])[0]}"
                )


def evaluate_build(
    gold_dir: Path, corpus: Path, out: Path | None = None, rebuild: bool = False
) -> EvaluationReport:
    """Build the corpus (or load ``out/kg.ttl``) and score it against ``gold_dir``."""
    if not Path(gold_dir).is_dir():
        raise InputError(f"{gold_dir}: gold folder not found")
    if out is not None and (Path(out) / "kg.ttl").exists() and not rebuild:
        return evaluate(Graph().parse(Path(out) / "kg.ttl", format="turtle"), gold_dir)
    from kg.pipeline import BuildOptions, build

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(out) if out is not None else Path(tmp)
        build(BuildOptions(corpus=corpus, out=target, workers=1, use_cache=False, maps=False))
        return evaluate(Graph().parse(target / "kg.ttl", format="turtle"), gold_dir)
