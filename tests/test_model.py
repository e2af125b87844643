"""kg.model: the model classes' ``__init__`` (kg.model.slots_init) behaves as the dataclass's."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from kg import model
from kg.model import (
    Document,
    Mention,
    MentionLinks,
    Sentence,
    SentenceSpans,
    mention_row,
    slots_init,
)

DIRECT = [
    cls
    for cls in vars(model).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == model.__name__
]


def _reference(cls: type) -> type:
    """The same fields as a plain frozen slots dataclass (its generated ``__init__``)."""
    fields = [
        (f.name, f.type, dataclasses.field(default=f.default))
        if f.default is not dataclasses.MISSING
        else (f.name, f.type)
        for f in dataclasses.fields(cls)
    ]
    return dataclasses.make_dataclass(f"Reference{cls.__name__}", fields, frozen=True, slots=True)


def test_the_hot_model_classes_use_the_direct_init() -> None:
    for name in ("Mention", "Sentence", "Document", "Evidence", "RelationCandidate", "Entity"):
        code = getattr(model, name).__init__.__code__
        assert code.co_names and all(n.startswith("_set_") for n in code.co_names), name


@pytest.mark.parametrize("cls", DIRECT, ids=lambda cls: cls.__name__)
def test_direct_init_matches_the_dataclass_init(cls: type) -> None:
    reference = _reference(cls)
    fields = dataclasses.fields(cls)
    assert [(p.name, p.default) for p in inspect.signature(cls.__init__).parameters.values()][
        1:
    ] == [(p.name, p.default) for p in inspect.signature(reference.__init__).parameters.values()][
        1:
    ]
    values = [object() for _ in fields]  # distinct sentinels, one per field
    for made in (cls(*values), cls(**{f.name: v for f, v in zip(fields, values, strict=True)})):
        expected = reference(*values)
        for f in fields:
            assert getattr(made, f.name) is getattr(expected, f.name), f.name
    required = [f for f in fields if f.default is dataclasses.MISSING]
    bare = cls(*values[: len(required)])  # the other fields take their defaults
    for f in fields[len(required) :]:
        assert getattr(bare, f.name) == f.default
    with pytest.raises(TypeError):
        cls(*values, object())  # one argument too many
    with pytest.raises(TypeError):
        cls(**{f.name: v for f, v in zip(fields, values, strict=True)}, unknown=1)
    if required:
        with pytest.raises(TypeError):
            cls(*values[: len(required) - 1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(cls(*values), fields[0].name, None)


def test_mentions_compare_hash_and_replace_as_before() -> None:
    a = Mention("doc_1", 0, 3, "长沙市", "City", "gazetteer", "长沙市", "430100")
    b = Mention(
        doc_id="doc_1", start=0, end=3, text="长沙市", type="City", rule="gazetteer",
        canonical="长沙市", code="430100",
    )  # fmt: skip
    assert a == b and hash(a) == hash(b) and a.expands_to == ()
    assert dataclasses.replace(a, start=5).start == 5
    assert repr(a).startswith("Mention(doc_id='doc_1', start=0")


def test_slots_init_refuses_fields_it_cannot_fill() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class WithFactory:
        items: list = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="WithFactory.items"):
        slots_init(WithFactory)


def test_sentence_spans_behave_as_the_tuple_of_their_sentences() -> None:
    text = "长沙市与株洲市签约。湘潭市参加。未完"
    spans = ((0, 10), (10, 16), (16, 18))
    made = tuple(Sentence(start, end, text[start:end]) for start, end in spans)
    lazy = SentenceSpans(text, spans)
    assert len(lazy) == 3 and lazy._made is None  # nothing made until asked for
    assert lazy == made and made == lazy and hash(lazy) == hash(made)
    assert lazy[1] == Sentence(10, 16, "湘潭市参加。") and lazy[-1].text == "未完"
    assert lazy[1:] == made[1:] and list(lazy) == list(made) and repr(lazy) == repr(made)
    assert lazy == SentenceSpans(text, spans) and lazy != made[:2]
    assert pickle.loads(pickle.dumps(lazy)) == made
    with pytest.raises(IndexError):
        lazy[3]


def test_documents_with_lazy_sentences_equal_those_made_at_once() -> None:
    text = "长沙市与株洲市签约。湘潭市参加。"
    spans = ((0, 10), (10, 16))
    fields = {"id": "d", "path": "d.txt", "title": "t", "text": text}
    made = Document(**fields, sentences=tuple(Sentence(s, e, text[s:e]) for s, e in spans))
    lazy = Document(**fields, sentences=SentenceSpans(text, spans))
    assert lazy == made and hash(lazy) == hash(made)
    assert lazy.sentence_at(12) == made.sentence_at(12) == Sentence(10, 16, "湘潭市参加。")
    assert pickle.loads(pickle.dumps(lazy)) == made


def test_mention_links_behave_as_the_tuple_of_their_pairs() -> None:
    a = Mention("a", 0, 3, "长沙市", "City", "gazetteer", "长沙市", "430100")
    b = Mention("a", 4, 7, "株洲市", "City", "gazetteer", "株洲市", "430200")
    respelled = Mention("b", 0, 4, "行动计划", "Plan", "book-title|plan-spelling", "某行动计划")
    rows = (mention_row(a), mention_row(b))
    # Document a's mentions by their rows' indexes (b's twice: it stands for two entities).
    lazy = MentionLinks(
        [
            ("a", rows, [(0, "City/a"), (1, "City/b"), (1, "Region/b")]),
            ("b", (), [(respelled, "Plan/c")]),
        ]
    )
    made = ((a, "City/a"), (b, "City/b"), (b, "Region/b"), (respelled, "Plan/c"))
    assert len(lazy) == 4 and lazy._made is None  # nothing made until read
    assert lazy == made and made == lazy and hash(lazy) == hash(made)
    assert lazy[1] == (b, "City/b") and lazy[-1][0] is respelled and lazy[1:3] == made[1:3]
    assert list(lazy) == list(made) and repr(lazy) == repr(made)
    assert lazy != made[:3]
    grouped = MentionLinks.of(made)  # made elsewhere: grouped by document, kept as Mentions
    assert grouped == lazy and [part[0] for part in grouped.parts] == ["a", "b"]
    assert MentionLinks.of(lazy) is lazy and MentionLinks.of(()) == ()
