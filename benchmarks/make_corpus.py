"""A benchmark corpus: realistic documents made by recombining real sentences of the seed corpus.

    python benchmarks/make_corpus.py OUT_DIR [--documents 1000] [--chars 2000] [--seed 7]

Each document is a title, a date-and-source line and paragraphs of real cleaned sentences of
``corpus/`` (runs of consecutive sentences, so that lists, work-plan items and the sentences a
relation spans stay together), about ``--chars`` characters long. Names are varied the way a
larger corpus varies them: every administrative division named in a document is replaced, the
same way throughout the document, by a division of the same level from the gazetteer
(kg/data/divisions.tsv; mostly Hunan's, sometimes any), full and short forms alike. Names of the
other types are built on division names (湘潭经开区, 湘潭市发改委, 湘潭日报: a division name plus
a head noun of the lexicon), so they change with it and new agencies, parks and projects appear.

Document ``i`` depends only on ``(seed, i)``: the 100-document corpus is the start of the 1,000
one, which is the start of the 10,000 one, and ``--start N --documents 1`` makes the next
document of a corpus (the benchmark's "add one document").
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.corpus import load_corpus  # noqa: E402
from kg.gazetteer import HOME_PROVINCE_PREFIX, Division, load_gazetteer  # noqa: E402
from kg.lexicon import trie_pattern  # noqa: E402

SEED_CORPUS = ROOT / "corpus"
HOME_SHARE = 0.7  # replacements from the home province (the corpus is about Hunan)
KEEP_SHARE = 0.3  # divisions left as written: real corpora keep naming the same places
_SHORT_MIN = 2  # shorter short forms (攸 of 攸县) are too common inside other words
_END = "。！？；!?;"


@dataclass(frozen=True)
class SourceSentence:
    text: str
    new_line: bool  # a line break precedes it in its document


@dataclass(frozen=True)
class SentencePool:
    documents: tuple[tuple[SourceSentence, ...], ...]  # cleaned sentences per seed document
    titles: tuple[str, ...]


@lru_cache(maxsize=4)
def sentence_pool(corpus: Path = SEED_CORPUS) -> SentencePool:
    """The cleaned sentences of the seed corpus, per document, in order."""
    documents, _ = load_corpus(corpus)
    per_document = []
    for document in documents:
        sentences = []
        previous_end = 0
        for sentence in document.sentences:
            gap = document.text[previous_end : sentence.start]
            previous_end = sentence.end
            if len(sentence.text) >= 6:  # headings of one word or a number say nothing
                sentences.append(SourceSentence(sentence.text, "\n" in gap or not sentences))
        per_document.append(tuple(sentences))
    return SentencePool(tuple(per_document), tuple(d.title for d in documents))


class DivisionNames:
    """Finds division names (full, and short forms of two characters or more) in text."""

    def __init__(self) -> None:
        gazetteer = load_gazetteer()
        self.by_level: dict[str, list[Division]] = {}
        self.home_by_level: dict[str, list[Division]] = {}
        forms: dict[str, Division] = {}
        usable = [
            d
            for d in sorted(gazetteer._by_code.values(), key=lambda d: d.code)
            # 市直辖行政区划 and the like are bookkeeping rows, not place names.
            if d.level in ("province", "city", "county") and "直辖" not in d.name
        ]
        for division in usable:
            self.by_level.setdefault(division.level, []).append(division)
            if division.code.startswith(HOME_PROVINCE_PREFIX):
                self.home_by_level.setdefault(division.level, []).append(division)
            forms.setdefault(division.name, division)
        for division in usable:
            short = division.short
            if len(short) >= _SHORT_MIN and short not in forms and _place_word(short, division):
                # A short form stands for the division the gazetteer prefers (湘潭 → 湘潭市).
                resolved = gazetteer.resolve(short)
                if resolved is not None and resolved.level in self.by_level:
                    forms[short] = resolved
        self.forms = forms
        self.pattern = re.compile(trie_pattern(forms))

    def replacement(self, division: Division, rng: random.Random) -> Division:
        if rng.random() < KEEP_SHARE:
            return division
        pool = self.home_by_level if rng.random() < HOME_SHARE else self.by_level
        choices = pool.get(division.level) or self.by_level[division.level]
        return rng.choice(choices)


def _place_word(short: str, division: Division) -> bool:
    """Whether a short form reads as a place name: the home province's always; elsewhere only
    when jieba's dictionary knows it as a place (ns) or not at all (资源, 来宾, 高要: words)."""
    if division.code.startswith(HOME_PROVINCE_PREFIX):
        return True
    import jieba.posseg

    return jieba.posseg.dt.word_tag_tab.get(short, "ns") == "ns"


@lru_cache(maxsize=1)
def division_names() -> DivisionNames:
    return DivisionNames()


def _written_as(form: str, original: Division, replacement: Division) -> str:
    """The replacement written the way the original was (full name or short form)."""
    if form == original.name or not replacement.short or len(replacement.short) < _SHORT_MIN:
        return replacement.name
    return replacement.short


class DocumentNames:
    """One document's consistent substitution of division names."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.names = division_names()
        self.mapping: dict[str, Division] = {}  # original code → replacement

    def substitute(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            form = match.group()
            original = self.names.forms[form]
            if original.code not in self.mapping:
                self.mapping[original.code] = self.names.replacement(original, self.rng)
            return _written_as(form, original, self.mapping[original.code])

        return self.names.pattern.sub(replace, text)


def _strip_end(sentence: str) -> str:
    return sentence.rstrip(_END + "。 ")


def make_document(
    index: int, seed: int = 7, chars: int = 2000, pool: SentencePool | None = None
) -> str:
    """The text of generated document ``index`` (a function of ``seed`` and ``index`` only)."""
    pool = pool or sentence_pool()
    rng = random.Random(f"{seed}:{index}")  # which sentences
    names = DocumentNames(random.Random(f"{seed}:{index}:names"))  # which names
    title = names.substitute(_strip_end(rng.choice(pool.titles)))
    year, month, day = rng.randint(2019, 2025), rng.randint(1, 12), rng.randint(1, 28)
    city = names.substitute(rng.choice(("长沙", "株洲", "湘潭")))
    source = f"{city}{rng.choice(('日报', '晚报', '新闻网', '发布'))}"
    lines = [title, f"{year}年{month:02d}月{day:02d}日 来源:{source}"]
    target = int(chars * rng.uniform(0.9, 1.1))
    body: list[str] = []
    length = 0
    while length < target:
        sentences = rng.choice(pool.documents)
        start = rng.randrange(len(sentences))
        run = sentences[start : start + rng.randint(2, 6)]
        for i, sentence in enumerate(run):
            text = names.substitute(sentence.text)
            if not body or sentence.new_line or i == 0:
                body.append(text)
            else:
                body[-1] += text
            length += len(text)
    return "\n".join(lines + body) + "\n"


def document_name(index: int) -> str:
    return f"doc_{index:05d}.txt"


def write_corpus(
    out: Path, documents: int, *, start: int = 0, seed: int = 7, chars: int = 2000
) -> list[Path]:
    """Write documents ``start … start+documents-1`` into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    pool = sentence_pool()
    paths = []
    for index in range(start, start + documents):
        path = out / document_name(index)
        path.write_text(make_document(index, seed, chars, pool), encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the .txt documents into")
    parser.add_argument("--documents", "-n", type=int, default=1000, help="how many (1000)")
    parser.add_argument("--start", type=int, default=0, help="index of the first document (0)")
    parser.add_argument("--chars", type=int, default=2000, help="characters per document (2000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (7)")
    args = parser.parse_args(argv)
    paths = write_corpus(
        args.out, args.documents, start=args.start, seed=args.seed, chars=args.chars
    )
    total = sum(len(p.read_text(encoding="utf-8")) for p in paths)
    print(f"{len(paths)} documents, {total:,} characters → {args.out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
