"""The fast jieba segmenter and tokenizer of kg.nlp give exactly jieba's and spaCy's tokens.

kg.nlp.JiebaSegmenter re-implements jieba's default cut for speed; these tests hold it to
``jieba.lcut`` on real text (the seed corpus and the held-out documents), on random strings mixing
known words, unknown characters, digits, Latin letters and punctuation, and after the dictionary
changes (``add_word``), and the Doc built by the tokenizer to spaCy's own ChineseTokenizer; the
automaton of kg.nlp.DivisionMatcher to a regular expression of its forms.
"""

from __future__ import annotations

import random
from pathlib import Path

import jieba
import pytest
import spacy
from jieba import finalseg

from kg.corpus import read_document
from kg.nlp import JiebaSegmenter, prepared_segmenter, words_and_spaces

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [
    *sorted((ROOT / "corpus").glob("*.txt")),
    *sorted((ROOT / "tests" / "data" / "heldout" / "corpus").glob("*")),
]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [read_document(path).text for path in TEXTS if path.is_file()]


def _random_strings(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    words = list(jieba.dt.FREQ)[:20000]
    rare = "龘靐齉爩鱻麤貔貅饕餮魑魅魍魉"
    other = [
        "2021",
        "10月",
        "GDP",
        "5G",
        "(",
        ")",
        "《",
        "》",
        "、",
        ",",
        "。",
        " ",
        "\n",
        "-",
        "·",
    ]
    result = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 25)):
            roll = rng.random()
            if roll < 0.6:
                parts.append(rng.choice(words))
            elif roll < 0.8:
                parts.append("".join(rng.choice(rare) for _ in range(rng.randint(1, 4))))
            else:
                parts.append(rng.choice(other))
        result.append("".join(parts))
    return result


def test_segmenter_runs_its_fast_path_on_the_installed_jieba() -> None:
    assert JiebaSegmenter().fast, "the fast cut failed its self-check: jieba.lcut is used instead"


def test_segmenter_equals_jieba_on_real_text(texts: list[str]) -> None:
    segment = prepared_segmenter()
    assert segment.fast
    assert len(texts) >= 10
    for text in texts:
        assert segment(text) == jieba.lcut(text)


def test_segmenter_equals_jieba_on_random_strings() -> None:
    segment = prepared_segmenter()
    for text in _random_strings(2000):
        assert segment(text) == jieba.lcut(text), text


def test_segmenter_sees_words_added_later() -> None:
    tokenizer = jieba.Tokenizer()  # a private dictionary: the global one stays as it is
    segment = JiebaSegmenter(tokenizer)
    text = "龘靐齉产业园与龘靐齉科创中心签署协议"
    assert segment(text) == tokenizer.lcut(text)
    tokenizer.add_word("龘靐齉产业园", freq=100000)
    assert "龘靐齉产业园" in segment(text)
    assert segment(text) == tokenizer.lcut(text)


def test_segmenter_memo_starts_afresh_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fragments that begin no word are memoised too; past the limit the memo starts again and
    the words stay jieba's."""
    import kg.nlp

    monkeypatch.setattr(kg.nlp, "_MEMO_LIMIT", 50)
    segment = JiebaSegmenter(jieba.dt)
    sizes = []
    for text in _random_strings(300):
        assert segment(text) == jieba.lcut(text), text
        sizes.append(len(segment._logp))
    assert max(sizes) > 50 and min(sizes[1:]) < 50  # (it grew past the limit, and was cleared)


def test_segmenter_sees_words_deleted_later() -> None:
    # jieba.del_word sets the frequency to 0 (the total stays) and force-splits the word.
    tokenizer = jieba.Tokenizer()
    segment = JiebaSegmenter(tokenizer)
    text = "两市共建产业园区,推进科技创新"
    assert "产业园" in segment(text)
    try:
        tokenizer.del_word("产业园")
        assert "产业园" not in segment(text)
        assert segment(text) == tokenizer.lcut(text)
    finally:
        finalseg.Force_Split_Words.discard("产业园")  # (a global set of jieba's)


def test_tokenizer_matches_spacy_chinese_tokenizer(texts: list[str]) -> None:
    from kg.nlp import build_pipeline

    ours = build_pipeline()
    theirs = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    for text in [*texts, *_random_strings(200, seed=5)]:
        doc, reference = ours.make_doc(text), theirs.make_doc(text)
        assert [t.text for t in doc] == [t.text for t in reference]
        assert [t.whitespace_ for t in doc] == [t.whitespace_ for t in reference]
        assert doc.text == text


def test_words_and_spaces_equal_spacys() -> None:
    from spacy.util import get_words_and_spaces

    for text in [
        "长株潭  一体化",
        " 前导空格",
        "结尾空格 ",
        "a b\n\nc",
        *_random_strings(100, seed=3),
    ]:
        words = jieba.lcut(text)
        assert words_and_spaces(words, text) == tuple(get_words_and_spaces(words, text))


def test_word_tags_are_jieba_possegs_and_survive_a_broken_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    import jieba.posseg

    from kg import nlp

    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    nlp._word_tags.cache_clear()
    try:
        parsed = nlp._word_tags()  # parsed from dict.txt, then kept in tmp_path
        assert parsed == jieba.posseg.dt.word_tag_tab
        (cached,) = tmp_path.glob("czt-kg-word-tags.*.marshal")
        nlp._word_tags.cache_clear()
        assert nlp._word_tags() == parsed  # read back
        cached.write_bytes(b"\x00not marshal")
        nlp._word_tags.cache_clear()
        assert nlp._word_tags() == parsed  # parsed again
    finally:
        nlp._word_tags.cache_clear()


def test_jieba_initialised_from_its_cache_as_jieba_does() -> None:
    from kg.nlp import initialize_jieba

    jieba.initialize()  # makes sure jieba's cache exists
    ours, theirs = jieba.Tokenizer(), jieba.Tokenizer()
    initialize_jieba(ours)
    theirs.initialize()
    assert ours.initialized and ours.total == theirs.total and ours.FREQ == theirs.FREQ
    assert ours.lcut("长株潭城市群一体化发展") == theirs.lcut("长株潭城市群一体化发展")


def test_division_matcher_finds_what_a_regular_expression_of_its_forms_finds(
    texts: list[str],
) -> None:
    """The matcher's automaton finds the forms a regular expression of them finds (leftmost,
    longest, not overlapping), and the same longest form at the start of a name."""
    import re

    from kg.lexicon import trie_pattern
    from kg.nlp import division_matcher

    matcher = division_matcher()
    pattern = re.compile(trie_pattern(sorted(matcher.forms)))
    found = 0
    for text in texts:
        spans = matcher.spans(text)
        assert spans == [match.span() for match in pattern.finditer(text)]
        found += len(spans)
        for start, _ in spans[:50]:
            for name in (text[start:], text[start + 1 :]):
                match = pattern.match(name)
                assert matcher.prefix(name) == (match.group() if match else None)
    assert found > 300 and matcher.prefix("") is None
