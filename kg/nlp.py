"""The spaCy pipeline: ``spacy.blank("zh")`` with jieba, plus the project's registered components.

Components (in order) propose typed candidate spans; ``czt_select`` keeps the longest
non-overlapping ones (so no 湘潭 is emitted from inside 湘潭高新区) and writes them to
``doc.spans["czt"]`` and ``doc.user_data["czt.candidates"]``:

- ``czt_divisions``: the gazetteer of administrative divisions (full and short forms, 我市/我省);
- ``czt_lists``: unit lists of work plans, e.g. ``(责任单位:市工信局、市科技局,湘乡市)``;
- ``czt_persons``: names after titles of office and in bylines, media in bylines/source lines;
- ``czt_names``: structural name patterns (head nouns per type, the name's left edge found on
  jieba tokens and their dictionary POS tags), ``《…》`` titles, multi-city abbreviations;
- ``czt_select``: overlap resolution and removal of generic spans.

jieba's dictionary is extended (``jieba.add_word``) with every division name and every head
noun, so that long names are not cut across their head (天/易经/开区) and heads that are part of
a longer word (工程机械, 线上) are recognised as such.

The tokenizer (``czt.jieba_tokenizer``) gives the tokens of spaCy's jieba ``ChineseTokenizer``
(``jieba.cut`` with the HMM), about twice as fast: :class:`JiebaSegmenter` reproduces jieba's
cut, and the ``Doc`` is built from words and spaces without spaCy's quadratic alignment. The
components work on plain lists (``TokenIndex.words``/``starts``), not spaCy ``Token`` objects.
"""

from __future__ import annotations

import hashlib
import marshal
import re
import tempfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, compress
from math import log
from operator import add
from pathlib import Path
from typing import TypeVar

import jieba
import numpy
import spacy
from ahocorasick_rs import AhoCorasick, MatchKind
from jieba import finalseg
from spacy.language import Language
from spacy.tokens import Doc

from kg.gazetteer import Division, Gazetteer, level_to_type, load_gazetteer
from kg.io import write_atomic
from kg.lexicon import Lexicon, load_lexicon, trie_pattern

jieba.setLogLevel(60)

CJK = "\u4e00-\u9fff"
_NAME_TOKEN = re.compile(rf"^[{CJK}A-Za-z0-9·\-+]+$")
_STOP_TAGS = {
    "p",
    "c",
    "u",
    "uj",
    "ul",
    "uz",
    "ug",
    "uv",
    "ud",
    "d",
    "r",
    "y",
    "e",
    "o",
    "ad",
    "vd",
    "t",
    "i",
}
_ORDINAL = re.compile(
    r"^(?:第[一二三四五六七八九十百\d]+[届次期批]?|[一二三四五六七八九十]+[届次期])$"
)
_NUMERAL = re.compile(r"^[\d一二三四五六七八九十百千两几]+$")
# Function characters that jieba glues onto the first word of a name it does not know
# (对湘电集团, 由市人民政府, 占长株潭地区): prepositions, and classifiers or 年 after a number.
_GLUED_PREPOSITIONS = set("对由占在向从把被与为以于据按沿让给跟")
_CLASSIFIERS = set("条所个项座家批位名支处")
_COUNTED = _CLASSIFIERS | {"年"}  # after a number: 6 条, 2024 年
# A word ending in a preposition is no part of a name (“一道”指在…, 指沿…).
_PREPOSITION_ENDS = set("在于向从沿至")

# Priorities break ties between spans of equal length: lists and bylines are the most explicit.
PRIORITY = {"list": 5, "byline": 5, "person": 4, "source": 4, "name": 3, "division": 2, "alias": 1}


@dataclass(slots=True)
class Candidate:
    """A typed span proposed by a component (char offsets into the document text)."""

    start: int
    end: int
    type: str
    rule: str
    priority: int
    code: str | None = None
    expands_to: tuple[str, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return self.end - self.start


def _text(doc: Doc) -> str:
    """The document's text, computed once: spaCy's ``Doc.text`` joins every token on each call
    (the tokenizer stores the text it was given)."""
    text = doc.user_data.get("czt.text")
    if text is None:
        text = doc.user_data["czt.text"] = doc.text
    return text


def _candidates(doc: Doc) -> list[Candidate]:
    return doc.user_data.setdefault("czt.candidates", [])


def words_and_spaces(words: list[str], text: str) -> tuple[list[str], list[bool]]:
    """spaCy's ``util.get_words_and_spaces`` for jieba's words of ``text`` (covering it exactly,
    each whitespace character or CRLF a word of its own), in one pass.

    Whitespace words are dropped, a single space after a word becomes that word's trailing space
    and any other run of whitespace becomes a token of its own: the same tokens as spaCy's
    function, which searches each word in a fresh copy of the rest of the text (quadratic in its
    length). Only the runs of whitespace words are visited in Python (a few per document).
    """
    words = [word for word in words if word]
    blank = list(compress(range(len(words)), map(str.isspace, words)))
    if not blank:
        return words, [False] * len(words)
    out_words: list[str] = []
    out_spaces: list[bool] = []
    taken = 0  # words[:taken] are in the output
    run = 0
    while run < len(blank):
        first = last = blank[run]
        while run + 1 < len(blank) and blank[run + 1] == last + 1:
            run += 1
            last = blank[run]
        run += 1
        out_words += words[taken:first]
        out_spaces += [False] * (first - taken)
        gap = "".join(words[first : last + 1])
        if first > 0 and gap[0] == " ":  # the space after a word is its trailing space
            out_spaces[-1] = True
            gap = gap[1:]
        if gap:
            out_words.append(gap)
            out_spaces.append(False)
        taken = last + 1
    out_words += words[taken:]
    out_spaces += [False] * (len(words) - taken)
    return out_words, out_spaces


# jieba versions whose default cut ``JiebaSegmenter`` reproduces (checked again when it is made).
_JIEBA_CUT_VERSIONS = ("0.42.1",)
# Exercises every branch of jieba's cut: dictionary words, numbers and Latin letters, whitespace
# and CRLF, punctuation, and runs of unknown characters left to the HMM (made-up names).
_SEGMENTER_CHECK = (
    "2024年3月,某市发展和改革委员会与市科技局签署《战略合作框架协议》。\r\n"
    "C++ 与 .NET 占 12.5%; 甄瑶琪说:“要加快推进轨道交通建设。”\t咔叽嗒镇郗芃村\n"
    "  第十四届 综合保税区 a-b_c#d&e 盷觋鬯 鄤郿嵃"
)


_UNSEEN = object()  # a fragment not yet looked up in jieba's dictionary
_NO_PREFIX = object()  # a fragment that begins no word of jieba's dictionary
# Fragments memoised before the memo starts afresh: those that begin no word grow with the text
# (~55 MB at this size).
_MEMO_LIMIT = 1 << 19
_NO_ROUTE = float("-inf")


class JiebaSegmenter:
    """``jieba.lcut(text)`` (jieba's default cut: the maximum-probability route through the
    dictionary DAG, the HMM for runs of unknown single characters), the same words about twice
    as fast.

    jieba computes the DAG as a dict of lists, takes a ``log`` of every edge's frequency on every
    call and ``max`` over a generator of tuples per character; here one pass from the right does
    both with each word's log-probability memoised (keyed by jieba's dictionary state, so
    ``jieba.add_word`` is seen); the HMM's Viterbi decoding is unrolled and its cut of a run of
    unknown characters memoised. The arithmetic and tie-breaking are jieba's own, so the words
    are identical: this is checked
    when the segmenter is made, and any other jieba version, or a failed check, uses
    ``jieba.lcut`` itself.
    """

    def __init__(self, tokenizer: jieba.Tokenizer | None = None):
        self.dt = tokenizer or jieba.dt
        self._state_key: tuple[int, int, int] | None = None
        self._logp: dict[str, float | None] = {}
        self.fast = jieba.__version__ in _JIEBA_CUT_VERSIONS
        if self.fast and self._cut(_SEGMENTER_CHECK) != self.dt.lcut(_SEGMENTER_CHECK):
            self.fast = False

    def __call__(self, text: str) -> list[str]:
        return self._cut(text) if self.fast else self.dt.lcut(text)

    def _cut(self, text: str) -> list[str]:
        dt = self.dt
        initialize_jieba(dt)
        # (jieba.del_word sets a word's frequency to 0, leaving the total, and force-splits it;
        # a new word adds its prefixes to FREQ, which the memo may hold as none.)
        key = (id(dt.FREQ), dt.total, len(dt.FREQ), len(finalseg.Force_Split_Words))
        if key != self._state_key or len(self._logp) > _MEMO_LIMIT:
            # The dictionary changed (add_word, del_word, initialize), or the memo of fragments
            # that are no prefix has grown with the text seen: start afresh.
            self._state_key, self._logp = key, {}
        re_skip = jieba.re_skip_default
        freqs, logtotal = dt.FREQ, log(dt.total)
        out: list[str] = []
        # re_han's split alternates between text without a character of its class (even
        # places) and its own matches (odd places), the blocks jieba cuts with the dictionary.
        for place, block in enumerate(jieba.re_han_default.split(text)):
            if place % 2:
                self._cut_block(block, freqs, logtotal, out)
            elif len(block) == 1:  # (a punctuation mark or a line break: itself)
                out.append(block)
            elif block:
                for piece in re_skip.split(block):
                    if re_skip.match(piece):
                        out.append(piece)
                    else:
                        out.extend(piece)
        return out

    def _cut_block(
        self, sentence: str, freqs: dict[str, int], logtotal: float, out: list[str]
    ) -> None:
        # Each fragment's log-probability is memoised (None for a prefix that is no word,
        # _NO_PREFIX for a fragment that no word starts with, where the DAG ends): one dict
        # lookup per fragment instead of up to three.
        memo = self._logp
        known = memo.get
        n = len(sentence)
        route_p = [0.0] * (n + 1)
        route_x = [0] * (n + 1)
        for k in range(n - 1, -1, -1):
            # jieba: route[k] = max((log(FREQ[w] or 1) - logtotal + route[x + 1][0], x)
            # for x in DAG[k]); the DAG's words starting at k are its prefixes found in FREQ.
            best_p = _NO_ROUTE
            best_x = k
            i = k
            frag = sentence[k]
            lp = known(frag, _UNSEEN)
            while True:
                if lp is _UNSEEN:
                    freq = freqs.get(frag)
                    if freq is None:  # not even a prefix of a word: the DAG ends here
                        memo[frag] = _NO_PREFIX
                        break
                    lp = memo[frag] = (log(freq) - logtotal) if freq else None
                elif lp is _NO_PREFIX:
                    break
                if lp is not None:
                    p = lp + route_p[i + 1]
                    if p >= best_p:  # ties: max takes the larger x
                        best_p, best_x = p, i
                i += 1
                if i == n:
                    break
                frag = sentence[k : i + 1]
                lp = known(frag, _UNSEEN)
            if best_p == _NO_ROUTE:  # no word: the character alone
                best_p = log(freqs.get(sentence[k]) or 1) - logtotal + route_p[k + 1]
            route_p[k] = best_p
            route_x[k] = best_x
        x = 0
        buf = ""
        while x < n:
            y = route_x[x] + 1
            if y - x == 1:
                buf += sentence[x]
            else:
                if buf:
                    self._flush(buf, freqs, out)
                    buf = ""
                out.append(sentence[x:y])
            x = y
        if buf:
            self._flush(buf, freqs, out)

    @staticmethod
    def _flush(buf: str, freqs: dict[str, int], out: list[str]) -> None:
        """A run of single characters: jieba's HMM guesses words in it unless it is a word."""
        if len(buf) == 1:
            out.append(buf)
        elif not freqs.get(buf):
            out.extend(_hmm_cut(buf, len(finalseg.Force_Split_Words)))
        else:
            out.extend(buf)


@lru_cache(maxsize=1 << 16)
def _hmm_cut(run: str, force_split_size: int) -> tuple[str, ...]:
    """``jieba.finalseg.cut(run)``: the HMM's words in a run of characters (memoised, keyed by
    the size of jieba's force-split set too)."""
    del force_split_size
    out: list[str] = []
    for block in finalseg.re_han.split(run):
        if finalseg.re_han.match(block):
            for word in _viterbi_words(block):
                if word not in finalseg.Force_Split_Words:
                    out.append(word)
                else:
                    out.extend(word)
        else:
            out.extend(piece for piece in finalseg.re_skip.split(block) if piece)
    return tuple(out)


def _viterbi_words(sentence: str) -> list[str]:
    """jieba.finalseg's Viterbi decoding (states B, M, E, S) and its words, unrolled: the same
    sums in the same order, and the same ties (``max`` over ``(probability, state)`` prefers
    the later letter), with back-pointers instead of copied paths."""
    low = finalseg.MIN_FLOAT
    emit, trans, start = finalseg.emit_P, finalseg.trans_P, finalseg.start_P
    e_b, e_m, e_e, e_s = emit["B"], emit["M"], emit["E"], emit["S"]
    t_be, t_bm = trans["B"].get("E", low), trans["B"].get("M", low)
    t_eb, t_es = trans["E"].get("B", low), trans["E"].get("S", low)
    t_mm, t_me = trans["M"].get("M", low), trans["M"].get("E", low)
    t_sb, t_ss = trans["S"].get("B", low), trans["S"].get("S", low)
    char = sentence[0]
    v_b = start["B"] + e_b.get(char, low)
    v_m = start["M"] + e_m.get(char, low)
    v_e = start["E"] + e_e.get(char, low)
    v_s = start["S"] + e_s.get(char, low)
    back: list[tuple[str, str, str, str]] = []  # per character after the first: B, M, E, S
    for char in sentence[1:]:
        em = e_b.get(char, low)  # B after E or S
        p_e, p_s = v_e + t_eb + em, v_s + t_sb + em
        n_b, b_b = (p_s, "S") if p_s >= p_e else (p_e, "E")
        em = e_m.get(char, low)  # M after M or B
        p_m, p_b = v_m + t_mm + em, v_b + t_bm + em
        n_m, b_m = (p_m, "M") if p_m >= p_b else (p_b, "B")
        em = e_s.get(char, low)  # S after S or E
        p_s, p_e = v_s + t_ss + em, v_e + t_es + em
        n_s, b_s = (p_s, "S") if p_s >= p_e else (p_e, "E")
        em = e_e.get(char, low)  # E after B or M
        p_b, p_m = v_b + t_be + em, v_m + t_me + em
        n_e, b_e = (p_m, "M") if p_m >= p_b else (p_b, "B")
        v_b, v_m, v_e, v_s = n_b, n_m, n_e, n_s
        back.append((b_b, b_m, b_e, b_s))
    state = "S" if v_s >= v_e else "E"
    states = [state]
    slot = {"B": 0, "M": 1, "E": 2, "S": 3}
    for pointers in reversed(back):
        state = pointers[slot[state]]
        states.append(state)
    states.reverse()
    words = []
    begin = after = 0
    for i, state in enumerate(states):
        if state == "B":
            begin = i
        elif state == "E":
            words.append(sentence[begin : i + 1])
            after = i + 1
        elif state == "S":
            words.append(sentence[i])
            after = i + 1
    if after < len(sentence):
        words.append(sentence[after:])
    return words


@lru_cache(maxsize=1)
def segmenter() -> JiebaSegmenter:
    """The process's segmenter on jieba's global dictionary (``jieba.lcut``, faster)."""
    return JiebaSegmenter()


class JiebaTokenizer:
    """jieba's segmentation into a spaCy ``Doc``: the tokens of spaCy's ``ChineseTokenizer`` with
    ``segmenter="jieba"`` (``jieba.cut`` with its HMM for unknown words; see
    :class:`JiebaSegmenter`), built without spaCy's quadratic alignment of words to text. The
    text, words and spaces are kept in ``doc.user_data`` for the components (``czt.text``,
    ``czt.tokens``)."""

    def __init__(self, vocab):
        self.vocab = vocab
        self.segment = segmenter()

    def __call__(self, text: str) -> Doc:
        words, spaces = words_and_spaces(self.segment(text), text)
        doc = Doc(self.vocab, words=words, spaces=spaces)
        doc.user_data["czt.text"] = text
        doc.user_data["czt.tokens"] = (words, spaces)
        return doc


class TokenIndex:
    """Maps character offsets to jieba tokens, with dictionary POS tags (no HMM tagging: fast).

    ``words[i]`` and ``starts[i]`` are token ``i``'s text and offset (plain lists: no spaCy
    ``Token`` objects in the hot loops); ``token_at[offset]`` is the token covering ``offset``,
    0 for the trailing space of a token (as it always was) and ``len(words)`` at the text end.
    It keeps no reference to the Doc, whose ``user_data`` holds it: no cycle for the collector.
    """

    def __init__(self, doc: Doc):
        text = _text(doc)
        self.length = len(text)
        tokens = doc.user_data.get("czt.tokens")
        if tokens is None:
            tokens = ([t.text for t in doc], [bool(t.whitespace_) for t in doc])
        words, spaces = tokens
        self.words: list[str] = words
        # (Built from the lengths in compiled loops: a Python loop over the words cost more
        # than a whole pipeline component.)
        lengths = list(map(len, words))
        starts = list(accumulate(map(add, lengths, spaces), initial=0))
        starts.pop()
        token_at = numpy.repeat(numpy.arange(len(words)), lengths).tolist()
        # The trailing space of a token maps to token 0 (as it always did); in text order, so
        # each is inserted where it stands in the finished list.
        for i in compress(range(len(words)), spaces):
            token_at.insert(starts[i] + lengths[i], 0)
        token_at.append(len(words))
        self.starts = starts
        self.start_set = frozenset(starts)
        self.token_at = token_at

    def starts_token(self, offset: int) -> bool:
        return offset >= self.length or offset in self.start_set

    def ends_token(self, offset: int) -> bool:
        return offset >= self.length or offset in self.start_set


def initialize_jieba(tokenizer: jieba.Tokenizer | None = None) -> None:
    """``jieba.initialize()``, reading jieba's cache of its default dictionary with
    ``marshal.loads``: jieba's ``marshal.load(file)`` reads it in small pieces (1.5 s of every
    start; 0.35 s this way). Anything else is left to jieba, which builds the cache if needed."""
    dt = tokenizer or jieba.dt
    if dt.initialized:
        return
    if dt.dictionary == jieba.DEFAULT_DICT:
        cache = Path(dt.tmp_dir or tempfile.gettempdir()) / (dt.cache_file or "jieba.cache")
        with dt.lock, suppress(OSError, ValueError, EOFError, TypeError):
            if not dt.initialized:
                dt.FREQ, dt.total = marshal.loads(cache.read_bytes())
                dt.initialized = True
    dt.check_initialized()


@lru_cache(maxsize=1)
def _word_tags() -> dict[str, str]:
    """The part-of-speech tags of jieba's dictionary words: ``jieba.posseg.dt.word_tag_tab``,
    which importing jieba.posseg parses from dict.txt in every process (0.56 s of each build's
    start); kept as marshal next to jieba's own cache, keyed by the dictionary file (0.25 s)."""
    dictionary = Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME
    stat = dictionary.stat()
    key = hashlib.sha1(f"{dictionary}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    cached = Path(tempfile.gettempdir()) / f"czt-kg-word-tags.{key[:16]}.marshal"
    with suppress(OSError, ValueError, EOFError, TypeError):
        tags = marshal.loads(cached.read_bytes())
        if isinstance(tags, dict):
            return tags
    tags = {}
    with dictionary.open(encoding="utf-8") as lines:
        for line in lines:
            word, _, tag = line.strip().split(" ")  # "word frequency tag", as jieba.posseg reads
            tags[word] = tag
    with suppress(OSError):  # a read-only temporary folder: parse again next time
        write_atomic(cached, marshal.dumps(tags))
    return tags


@lru_cache(maxsize=1)
def _long_left_stops() -> tuple[str, ...]:
    return tuple(stop for stop in load_lexicon().left_stops if len(stop) >= 2)


_Answer = TypeVar("_Answer")


def _cached_for_project_lexicon(
    check: Callable[[str, Lexicon], _Answer],
) -> Callable[[str, Lexicon], _Answer]:
    """``check(word, lexicon)``, memoised per word when ``lexicon`` is the project's own (then
    a pure function of the word once the pipeline is built); computed afresh for any other."""
    cached = lru_cache(maxsize=1 << 16)(lambda word: check(word, load_lexicon()))

    def checked(word: str, lexicon: Lexicon) -> _Answer:
        return cached(word) if lexicon is load_lexicon() else check(word, lexicon)

    return checked


def _name_piece(word: str, lexicon: Lexicon) -> bool:
    """Whether a jieba word can be part of a name on its left edge."""
    if not _NAME_TOKEN.match(word) or word in lexicon.left_stops:
        return False
    if len(word) >= 2 and word[-1] in _PREPOSITION_ENDS and word not in _word_tags():
        return False  # 指在, 指沿: an unknown word ending in a preposition
    if word[0].isdigit() and not _ORDINAL.match(word):
        return False  # 13条, 2024年, 2次: counts and dates end a name on its left
    if len(word) > 2 and word.endswith(_long_left_stops()):
        return False  # 充分利用, 积极融入: a phrase ending in a verb
    tag = _word_tags().get(word)
    if tag is None or word in lexicon.name_verbs:
        return True
    if word in division_matcher().forms:
        return True  # a place's short form that jieba tags otherwise (a county read as a verb)
    if tag in _STOP_TAGS:
        return False
    if tag == "v" and word not in lexicon.name_verbs:
        return False
    return not (tag == "m" and not _ORDINAL.match(word))


_is_name_piece = _cached_for_project_lexicon(_name_piece)


_BRACKETS = {"”": "“", ")": "(", "》": "《", "」": "「"}


def _glued_function_char(doc: Doc, index: TokenIndex, token_i: int, piece: str) -> int:
    """How many leading characters of an unknown token are a function word glued onto a name.

    0 when nothing is glued. 对湘电 → 1, 由市 → 1, 6 条融城 → 1, 2024 年省 → 1, 一体化长株 → 1
    (when the previous word and the first character make a dictionary word).
    """
    if len(piece) < 2:
        return 0
    first = piece[0]
    words = index.words
    previous = words[token_i - 1] if token_i > 0 else ""
    if previous and (previous + first) in load_lexicon().left_stops:
        # 争/创新能源…: jieba took 创 from 争创; 打/造成…: nothing of the token is left.
        following = words[token_i + 1] if token_i + 1 < len(words) else ""
        rest_is_word = len(piece) > 2 or (piece[1:] + following) in _word_tags()
        return 1 if rest_is_word else len(piece)
    if piece in _word_tags() or load_gazetteer().lookup(piece):
        return 0
    if first in _GLUED_PREPOSITIONS:
        return 1
    if first in _COUNTED and _NUMERAL.match(previous):
        return 1
    if previous and (previous + first) in _word_tags():
        return 1
    return 0


def _is_work_piece(piece: str, lexicon: Lexicon) -> bool:
    """Words inside the name of a work that ordinary names refuse: the verbs that describe it
    (扩容提质, 突出内涝点整治), its phase (一期) and heads of other works (绕城高速扩容…)."""
    if piece in lexicon.name_verbs or _ORDINAL.match(piece) or piece in _all_heads():
        return True
    return _word_tags().get(piece) in ("v", "i") and piece not in lexicon.left_stops


@lru_cache(maxsize=1)
def _all_heads() -> frozenset[str]:
    lexicon = load_lexicon()
    return frozenset(h for heads in lexicon.suffixes.values() for h in heads)


def _place_connector(doc: Doc, index: TokenIndex, token_i: int, edge: int) -> bool:
    """Whether token ``token_i`` is 至/到/— between two place names inside a route's name."""
    words = index.words
    if words[token_i] not in ("至", "到", "—") or token_i == 0 or edge >= index.length:
        return False
    after = words[index.token_at[edge]]
    before = words[token_i - 1]
    gazetteer = load_gazetteer()
    tags = _word_tags()

    def is_place(word: str) -> bool:
        return bool(gazetteer.lookup(word)) or tags.get(word) == "ns"

    return is_place(after) and (is_place(before) or before.endswith(("机场", "站", "港")))


def extend_left(
    doc: Doc, index: TokenIndex, head_start: int, max_chars: int, *, allow_verbs: bool = False
) -> int:
    """The left edge of a name whose head noun starts at ``head_start``.

    Walks jieba tokens leftwards while they look like parts of a name (not a verb, preposition,
    conjunction, particle…), also taking a short quoted or bracketed part (“十四五”规划,
    潇湘(湘潭)实验室), and stops at punctuation, at the text start and after ``max_chars``.
    ``allow_verbs`` lets the verbs that describe works (扩容, 提质, 整治…) into the name, for
    projects, agreements and industries (扩容提质工程, 信用体系建设合作协议).
    """
    text = _text(doc)
    lexicon = load_lexicon()
    words, starts, token_at = index.words, index.starts, index.token_at
    start = head_start
    while start > 0 and head_start - start < max_chars:
        prev = text[start - 1]
        if prev in _BRACKETS:
            opening = text.rfind(_BRACKETS[prev], max(0, start - 60), start - 1)
            inner = text[opening + 1 : start - 1] if opening >= 0 else ""
            if opening < 0 or not inner or _CLAUSE_MARK.search(inner):
                break
            start = opening
            continue
        # The token at our edge; when it runs past the edge (jieba cut differently), its left
        # part. (The trailing space of a token maps to token 0, as it always did.)
        token_i = token_at[start - 1]
        token_start = starts[token_i]
        piece = text[token_start:start]
        if piece in _CLASSIFIERS and token_i > 0 and _NUMERAL.match(words[token_i - 1]):
            break  # 13条新兴产业链: a count, not a name
        glued = _glued_function_char(doc, index, token_i, piece)
        if glued:
            start -= len(piece) - glued
            break
        if allow_verbs and _is_work_piece(piece, lexicon):
            start = token_start
            continue
        if _place_connector(doc, index, token_i, start):
            start = token_start  # 长沙至宁乡线: a route between two places
            continue
        if not _is_name_piece(piece, lexicon):
            # A stop word glued to the name's first characters (e.g. 成立长株潭): try the
            # shorter tail of the token.
            for cut in range(1, min(len(piece) - 1, _longest_left_stop() + 1)):
                if piece[:cut] in lexicon.left_stops:
                    tail = piece[cut:]
                    if _is_name_piece(tail, lexicon):
                        start -= len(tail)
                        break
            break
        if head_start - token_start > max_chars:
            break
        start = token_start
    if allow_verbs:
        # The verbs let in for works never open the name: (开工)建设X工程 starts at X.
        while start < head_start:
            token_i = token_at[start]
            if starts[token_i] != start or words[token_i] not in lexicon.left_stops:
                break
            start = start + len(words[token_i])
    # Never start a name on an opening bracket's content edge or with leftover punctuation.
    while start < head_start and not _NAME_START.match(text, start):
        start += 1
    return start


_CLAUSE_MARK = re.compile(r"[,，。;；、:：]")
_NAME_START = re.compile(rf"[{CJK}A-Za-z0-9“《(]")


@lru_cache(maxsize=1)
def _longest_left_stop() -> int:
    return max(map(len, load_lexicon().left_stops), default=0)


# ---------------------------------------------------------------------------------------------
# czt_divisions


class DivisionMatcher:
    """Finds administrative divisions by full name and unambiguous short form."""

    def __init__(self, gazetteer: Gazetteer):
        initialize_jieba()  # FREQ is empty until jieba has loaded its dictionary
        self.gazetteer = gazetteer
        forms: set[str] = set()
        for surface, division in gazetteer.names():
            if len(surface) < 2:
                continue
            if not self._short_form_usable(surface, division) and (
                surface != division.name or len(surface) <= 2
            ):
                continue
            forms.add(surface)
        self.forms = frozenset(forms)
        # An Aho-Corasick automaton of the forms (ahocorasick-rs: leftmost-longest matching in
        # one pass of compiled code). A regular expression of them (kg.lexicon.trie_pattern)
        # took 0.2 s to compile in every process and ``re`` tries its ~900 first characters one
        # by one at every position; a dict trie walked in Python took ~4 % of the extraction.
        self._automaton = AhoCorasick(sorted(forms), matchkind=MatchKind.LeftmostLongest)
        self._longest = max(map(len, forms), default=0)
        self._resolved: dict[str, Division | None] = {}

    def spans(self, text: str) -> list[tuple[int, int]]:
        """``(start, end)`` of every form in ``text``: leftmost, longest, not overlapping (as a
        regular expression of the forms finds them)."""
        return [(start, end) for _, start, end in self._automaton.find_matches_as_indexes(text)]

    def prefix(self, text: str) -> str | None:
        """The longest form that ``text`` begins with."""
        # (Leftmost-longest: a form starting at 0 is the first match, and the longest there.)
        for _, start, end in self._automaton.find_matches_as_indexes(text[: self._longest]):
            return text[:end] if start == 0 else None
        return None

    def division(self, surface: str) -> Division | None:
        """The division a matched form names (``Gazetteer.resolve``), None when there is none."""
        try:
            return self._resolved[surface]
        except KeyError:
            candidates = self.gazetteer.lookup(surface)
            division = (self.gazetteer.resolve(surface) or candidates[0]) if candidates else None
            self._resolved[surface] = division
            return division

    @staticmethod
    def _short_form_usable(short: str, division: Division) -> bool:
        # Short forms of counties and towns collide with common words (和平, 长安, 江南): keep
        # them only when jieba knows them as place names or hardly knows them at all.
        if division.level in ("province", "city"):
            return True
        if short == division.name:  # a full name that is also a common word (城区, 郊区, 矿区)
            return jieba.dt.FREQ.get(short, 0) < 100 or _word_tags().get(short) == "ns"
        if division.level == "town":
            return False
        tag = _word_tags().get(short)
        freq = jieba.dt.FREQ.get(short, 0)
        return tag == "ns" or freq < 100


@lru_cache(maxsize=1)
def division_matcher() -> DivisionMatcher:
    return DivisionMatcher(load_gazetteer())


_CONTEXT_CITY = re.compile(r"我市|本市|全市")
_CONTEXT_PROVINCE = re.compile(r"我省|本省|全省")


@Language.component("czt_divisions", assigns=["doc.user_data"])
def czt_divisions(doc: Doc) -> Doc:
    matcher = division_matcher()
    index = doc.user_data["czt.index"]
    found = _candidates(doc)
    text = _text(doc)
    start_set = index.start_set
    for start, end in matcher.spans(text):
        # Starts a token, or follows a non-CJK character (a name's boundary).
        at_token = start in start_set
        if not at_token and start != 0 and _CJK_CHAR.match(text, start - 1):
            continue
        surface = text[start:end]
        division = matcher.division(surface)
        if division is None:
            continue
        if (
            surface != division.name
            and division.level == "county"
            and not (at_token and index.ends_token(end))
        ):
            continue
        found.append(
            Candidate(
                start,
                end,
                level_to_type(division.level),
                "gazetteer-full" if surface == division.name else "gazetteer-short",
                PRIORITY["division"],
                code=division.code,
            )
        )
    for match in _HOME_CITY.finditer(text):
        found.append(Candidate(match.start(), match.end(), "City", "context-home-city", 1))
    for match in _HOME_PROVINCE.finditer(text):
        found.append(Candidate(match.start(), match.end(), "Province", "context-home-province", 1))
    return doc


_CJK_CHAR = re.compile(rf"[{CJK}]")
_HOME_CITY = re.compile("我市|本市")
_HOME_PROVINCE = re.compile("我省|本省")


# ---------------------------------------------------------------------------------------------
# czt_lists

_UNIT_LIST = re.compile(
    r"[(（](?:责任单位|牵头单位|配合单位|参与单位|成员单位)[:：]([^()（）]*)[)）]"
)
_MEMBER_LIST = re.compile(r"成员单位包括([^。]*?)(?:等[。,，]|。)")
_ITEM_SPLIT = re.compile(r"[、，,;；]")


def classify_unit(item: str) -> str | None:
    """The type of a unit named in a responsibility list, from its form alone."""
    gazetteer = load_gazetteer()
    lexicon = load_lexicon()
    if gazetteer.lookup(item):
        return level_to_type(gazetteer.resolve(item).level)  # type: ignore[union-attr]
    for type_name in ("Park", "Organization", "Agency"):
        if any(item.endswith(head) for head in lexicon.suffixes[type_name]):
            return type_name
    if item[:1] in lexicon.level_prefixes and any(item.endswith(s) for s in lexicon.agency_short):
        return "Agency"
    return None


def split_units(item: str) -> list[tuple[int, str]]:
    """Split an item that glues two units without a separator (雨湖区湘潭经开区)."""
    gazetteer = load_gazetteer()
    for cut in range(2, len(item) - 1):
        head, tail = item[:cut], item[cut:]
        division = gazetteer.lookup(head)
        if division and any(d.name == head for d in division) and classify_unit(tail):
            return [(0, head), (cut, tail)]
    return [(0, item)]


@Language.component("czt_lists", assigns=["doc.user_data"])
def czt_lists(doc: Doc) -> Doc:
    found = _candidates(doc)
    for pattern in (_UNIT_LIST, _MEMBER_LIST):
        for match in pattern.finditer(_text(doc)):
            body_start = match.start(1)
            offset = 0
            for raw in _ITEM_SPLIT.split(match.group(1)):
                item_start = body_start + offset + (len(raw) - len(raw.lstrip()))
                offset += len(raw) + 1
                item = raw.strip()
                if item.endswith("等"):
                    item = item[:-1]
                if len(item) < 2 or item.startswith("各"):
                    continue
                for rel, part in split_units(item):
                    type_name = classify_unit(part)
                    if type_name:
                        start = item_start + rel
                        division = load_gazetteer().resolve(part)
                        found.append(
                            Candidate(
                                start,
                                start + len(part),
                                type_name,
                                "unit-list",
                                5,
                                code=division.code if division else None,
                            )
                        )
    # "与A、B、C等公司/企业" names organisations even when their names carry no head noun.
    for match in _COMPANY_LIST.finditer(_text(doc)):
        body_start = match.start(1)
        offset = 0
        for raw in match.group(1).split("、"):
            item = raw.strip()
            start = body_start + offset
            offset += len(raw) + 1
            if 2 <= len(item) <= 20 and re.fullmatch(rf"[{CJK}A-Za-z0-9()·]+", item):
                found.append(Candidate(start, start + len(item), "Organization", "company-list", 3))
    return doc


_COMPANY_LIST = re.compile(
    rf"(?:与|和|同|联系|对接)((?:[{CJK}A-Za-z0-9()·]{{2,20}}、)+[{CJK}A-Za-z0-9()·]{{2,20}})等"
    rf"[{CJK}]{{0,6}}(?:公司|企业|集团|机构)"
)


# ---------------------------------------------------------------------------------------------
# czt_persons


@lru_cache(maxsize=1)
def _person_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    lexicon = load_lexicon()
    titles = re.compile(trie_pattern(lexicon.titles))
    roles = "|".join(map(re.escape, lexicon.byline_roles))
    byline = re.compile(
        rf"({roles})\s*[丨|:：]?\s*((?:[{CJK}]{{2,4}}(?:[ \u3000]+|$|(?=[\n,，)）])))+)", re.M
    )
    return titles, byline


_AFTER_NAME = set("任来介说表在等要指强参率带出为是和与及到赴的了做同陪主讲就对向将已也均")
_NOT_IN_NAME = set("第副召组总成委书长省市县区级")


def _name_at_start(window: str, lexicon: Lexicon) -> int | None:
    """Length of a personal name at the start of ``window`` (the 3 characters from where it
    would start): 2–3 characters, or None.

    Most names have three characters; a two-character name is followed by a verb or particle
    (彭涛介绍, 刘妮来湘乡) or by punctuation.
    """
    if len(window) < 2 or not lexicon.is_surname_start(window):
        return None
    if not re.fullmatch(rf"[{CJK}]{{2}}", window[:2]) or window[1] in _AFTER_NAME | _NOT_IN_NAME:
        return None
    length = (
        3
        if len(window) == 3 and re.match(rf"[{CJK}]", window[2]) and window[2] not in _AFTER_NAME
        else 2
    )
    name = window[:length]
    # A "name" that runs into a title or a post (任副组长, 任组长) is not a name.
    if any(
        t.startswith(name[1:]) or name[1:].startswith(t[:2]) for t in lexicon.titles if len(t) >= 2
    ):
        return None
    return length


# (memoised: each title in a text checked the name after it against every title)
_name_length = _cached_for_project_lexicon(_name_at_start)


@Language.component("czt_persons", assigns=["doc.user_data"])
def czt_persons(doc: Doc) -> Doc:
    lexicon = load_lexicon()
    titles, byline = _person_patterns()
    text = _text(doc)
    found = _candidates(doc)
    index: TokenIndex = doc.user_data["czt.index"]
    for match in titles.finditer(text):
        if not index.starts_token(match.start()) and not index.ends_token(match.end()):
            continue  # 地处长沙: a "title" read across two words (处长) is none
        length = _name_length(text[match.end() : match.end() + 3], lexicon)
        if length:
            start = match.end()
            found.append(
                Candidate(
                    start,
                    start + length,
                    "Person",
                    "person-after-title",
                    4,
                    meta={"title": match.group()},
                )
            )
    for match in byline.finditer(text):
        offset = match.start(2)
        for raw in re.split(r"([ \u3000]+)", match.group(2)):
            name = raw.strip()
            if (
                2 <= len(name) <= 3
                and name not in lexicon.titles
                and name not in lexicon.byline_roles  # 记者 甲 通讯员 乙: 通讯员 is no name
                and not name.endswith(("报道", "摄"))
            ):
                found.append(Candidate(offset, offset + len(name), "Person", "byline", 5))
            offset += len(raw)
        # The medium named before the role at the start of a byline line (红网时刻通讯员 …).
        line_start = text.rfind("\n", 0, match.start()) + 1
        medium = text[line_start : match.start()].strip()
        if 2 <= len(medium) <= 10 and re.fullmatch(rf"[{CJK}]+", medium):
            found.append(
                Candidate(line_start, line_start + len(medium), "Organization", "byline-medium", 4)
            )
    # A name written before an honorific title: 习近平总书记, 张三同志.
    for match in re.finditer(rf"([{CJK}]{{2,3}})(?=总书记|同志|主席|总理)", text):
        name = match.group(1)
        if _word_tags().get(name) == "nr":
            found.append(Candidate(match.start(), match.end(), "Person", "person-before-title", 4))
    for match in re.finditer(rf"来源\s*[丨|:：]\s*([{CJK}A-Za-z]{{2,12}})", text):
        found.append(Candidate(match.start(1), match.end(1), "Organization", "source-line", 4))
    return doc


# ---------------------------------------------------------------------------------------------
# czt_names

_WORKS = {"Project", "Agreement", "Plan"}
# Project heads that name works (扩容提质工程); facility heads (站, 大桥) take no verbs:
# 地铁列车准备驶入坪塘站 is a sentence, not a name.
_WORK_HEADS = {"工程", "项目", "改造", "基础设施"}
_MAX_CHARS = {
    "Agency": 24,
    "Park": 18,
    "Project": 24,
    "Agreement": 22,
    "Plan": 40,
    "Event": 36,
    "Industry": 20,
    "Organization": 22,
    "Region": 14,
}


@lru_cache(maxsize=1)
def _head_patterns() -> dict[str, re.Pattern[str]]:
    lexicon = load_lexicon()
    patterns = {t: re.compile(trie_pattern(heads)) for t, heads in lexicon.suffixes.items()}
    patterns["Agency_short"] = re.compile(trie_pattern(lexicon.agency_short))
    return patterns


_PROPER_TAGS = {"ns", "nr", "nrt", "nrfg", "nt", "nz", "j", "eng"}
_NEEDS_PROPER_PART = {"Organization", "Project", "Park"}


def _has_proper_part(doc: Doc, index: TokenIndex, start: int, end: int) -> bool:
    """Whether a span names one thing: it holds a place or proper name, an unknown word, a code
    or a quoted part — not only common words (农村学校, 新型基础设施, 跨国公司)."""
    text = _text(doc)[start:end]
    if re.search(r"[“”\"《》A-Za-z0-9]", text):
        return True
    tags = _word_tags()
    gazetteer = load_gazetteer()
    first = index.token_at[start]
    last = index.token_at[max(start, end - 1)]
    for word in index.words[first : last + 1]:
        tag = tags.get(word)
        if tag is None or tag in _PROPER_TAGS or gazetteer.lookup(word):
            return True
    return False


def _generic_stem(stem: str, lexicon: Lexicon) -> bool:
    """Whether a name's stem (before its head noun) says nothing specific."""
    stem = stem.strip("“”《》()")
    if len(stem) < 2 and stem not in lexicon.level_prefixes:
        return True
    if stem.startswith(("国家级", "省级", "市级", "县级", "一批", "各类")):
        return True
    if re.search(r"\d+[项个条家批所座次]", stem) or re.search(
        r"(重大|重点|标志性|示范|相关)$", stem
    ):
        return True
    if len(stem) >= 4 and all(w in lexicon.generic_stems for w in segmenter()(stem)):
        return True  # 新兴优势, 重点特色: generic words only
    return stem in lexicon.generic_stems or bool(
        re.fullmatch(r"[\d一二三四五六七八九十]+[项个家条批]?", stem)
    )


# Cached per stem: segmenting it is the costly part.
_stem_is_generic = _cached_for_project_lexicon(_generic_stem)


@Language.component("czt_names", assigns=["doc.user_data"])
def czt_names(doc: Doc) -> Doc:
    lexicon = load_lexicon()
    index: TokenIndex = doc.user_data["czt.index"]
    text = _text(doc)
    found = _candidates(doc)
    for type_name, pattern in _head_patterns().items():
        real_type = "Agency" if type_name == "Agency_short" else type_name
        for match in pattern.finditer(text):
            head_start, head_end = match.span()
            if not index.ends_token(head_end) and not _title_follows(text, head_end, lexicon):
                continue  # (X局局长: jieba cuts 局局长, the body's head is glued to its title)
            works = real_type in _WORKS and (real_type != "Project" or match.group() in _WORK_HEADS)
            start = extend_left(doc, index, head_start, _MAX_CHARS[real_type], allow_verbs=works)
            stem = text[start:head_start]
            head = match.group()
            if real_type == "Region":
                start = _region_start(doc, index, start, head_start)
                stem = text[start:head_start]
                if not stem or not _has_proper_part(doc, index, start, head_start):
                    continue  # 所属地区, 遍都市圈: no place of its own
            elif real_type == "Industry":
                start = _strip_leading_verbs(doc, index, start, head_start)
                stem = text[start:head_start]
            if type_name == "Agency_short":
                if not _short_agency_ok(text, start, head_start, lexicon):
                    continue
            elif head in lexicon.generic_heads and (
                not stem or stem.startswith(("省级", "市级", "县级", "本", "该"))
            ):
                # 行动计划, 省级工作专班, 本方案: the document's own one, found by coreference.
                found.append(Candidate(start, head_end, real_type, "generic-head", 2))
                continue
            elif _stem_is_generic(stem, lexicon) and not (
                real_type in ("Agency", "Event") and len(head) >= 4
            ):
                continue
            if real_type in _NEEDS_PROPER_PART and not _has_proper_part(
                doc, index, start, head_start
            ):
                # …X经开区A产业园、B产业园: the list's first item lends B its proper part.
                follows = (
                    start > 0
                    and text[start - 1] == "、"
                    and any(
                        c.end == start - 1 and c.type == real_type and c.rule.startswith("head:")
                        for c in found
                    )
                )
                if not follows:
                    continue
            if (
                real_type == "Plan"
                and len(stem) <= 4
                and not _has_proper_part(doc, index, start, head_start)
            ):
                continue
            found.append(Candidate(start, head_end, real_type, f"head:{head}", PRIORITY["name"]))
    # Central bodies named without a level prefix (国务院批复…).
    if lexicon.national_bodies:
        for match in re.finditer("|".join(map(re.escape, lexicon.national_bodies)), text):
            found.append(Candidate(match.start(), match.end(), "Agency", "national-body", 4))
    # A link road between two cities: 湘潭云龙东路—株洲新马南路, 昭云大道—株洲云峰大道.
    for match in _ROAD_PAIR.finditer(text):
        start = extend_left(doc, index, match.start(), 10)
        if start < match.start():
            found.append(Candidate(start, match.end(), "Project", "road-pair", 4))
    # A route's extension is part of its name: …高速南延线, …铁路延伸.
    for cand in list(found):
        if cand.type == "Project" and (tail := _PROJECT_TAIL.match(text, cand.end)):
            found.append(
                Candidate(cand.start, tail.end(), "Project", cand.rule + "+tail", cand.priority)
            )
    found.extend(_signed_agreements(doc, index))
    found.extend(_enumerated_items(doc, index))
    for match in re.finditer(r"《([^《》\n]{2,60})》", text):
        title = match.group(1)
        type_name = "Agreement" if re.search(r"(协议|备忘录)$", title) else "Plan"
        end = match.end()
        rule = "generic-head" if title in lexicon.generic_heads else "book-title"
        found.append(Candidate(match.start(1), match.end(1), type_name, rule, 4))
        del end
    return doc


_ROAD_PAIR = re.compile(rf"(?:路|大道|大街)—[{CJK}]{{2,8}}?(?:路|大道|大街)")
_PROJECT_TAIL = re.compile(r"[东南西北]?延(?:伸|长线|线)段?")
_SIGNING = re.compile(
    rf"(?:签署|签订|签约|订立|达成)了?((?:[{CJK}“”《》()A-Za-z0-9]){{2,30}}?(?:框架协议|协议书|协议|备忘录|协定))"
)
_QUANTITY = re.compile(r"^(?:[\d一二三四五六七八九十两多]+[份项个]|一系列|多项)")


def _signed_agreements(doc: Doc, index: TokenIndex) -> list[Candidate]:
    """What is signed is an agreement, whatever its words: 签署跨区域…合作协议, 签订战略合作协议."""
    out = []
    for match in _SIGNING.finditer(_text(doc)):
        start, end = match.span(1)
        if quantity := _QUANTITY.match(_text(doc), start):
            start = quantity.end()
        if _text(doc)[start] == "《" and _text(doc)[end - 1 : end + 1] != "》":
            start += 1
        if end - start >= 4:
            out.append(Candidate(start, end, "Agreement", "signed-agreement", 4))
    return out


# An enumeration closed by 等 and a category noun types its items: 以A、B、C等重大项目为支撑,
# 加大对A、B等试点企业培育, A、B等8家省级以上园区.
_LIST_CATEGORY = re.compile(
    rf"等\s*(?:[\d一二三四五六七八九十百两几]+\s*[个家项所座条批])?[{CJK}]{{0,8}}?"
    r"(项目|工程|园区|开发区|企业|公司|高校|院校|学校|高中|医院)"
)
_CATEGORY_TYPE = {
    "项目": "Project",
    "工程": "Project",
    "园区": "Park",
    "开发区": "Park",
    "企业": "Organization",
    "公司": "Organization",
    "高校": "Organization",
    "院校": "Organization",
    "学校": "Organization",
    "高中": "Organization",
    "医院": "Organization",
}
# Industries listed before their category: A、B、C三个国家级产业集群, A、B等产业, A、B三大主导产业.
_INDUSTRY_LIST = re.compile(
    r"(?:等|[\d一二三四五六七八九十两]+\s*[个大类])\s*"
    r"(?:国家级|省级|市级|重点|新兴|优势|特色|主导|支柱|战略性|先进|现代|千亿级?|百亿级?)*"
    r"(产业集群|制造业集群|产业链|主导产业|支柱产业|优势产业|新兴产业|产业(?=[，。；、,;]|具有|发展))"
)
_ITEM_TAIL = re.compile(r"(?:建设|前期工作|工作)+$|(?<=项目)[一二三四五六七八九十]期$")


def _enumerated_items(doc: Doc, index: TokenIndex) -> list[Candidate]:
    text = _text(doc)
    out = []
    matches = [(m, _CATEGORY_TYPE[m.group(1)]) for m in _LIST_CATEGORY.finditer(text)]
    out.extend(_industry_items(doc, index))
    for match, type_name in matches:
        list_end = match.start()
        clause_start = (
            max(
                text.rfind(mark, max(0, list_end - 200), list_end) for mark in "，,。；;：:\n()（）"
            )
            + 1
        )
        pieces = text[clause_start:list_end].split("、")
        offset = clause_start
        spans = []
        for i, piece in enumerate(pieces):
            start, end = offset, offset + len(piece)
            offset = end + 1
            if tail := _ITEM_TAIL.search(text, start, end):
                end = tail.start() if tail.start() > start else end
            if i == 0:
                if not index.ends_token(end):
                    break
                start = extend_left(doc, index, end, 30, allow_verbs=True)
            while start < end and text[start] in "“" and text[end - 1] == "”":
                start, end = start + 1, end - 1
            spans.append((start, end))
        if len(spans) < 2 and not spans:
            continue
        for start, end in spans:
            item = text[start:end]
            if 2 <= len(item) <= 30 and re.fullmatch(rf"[{CJK}A-Za-z0-9“”()·—]+", item):
                out.append(Candidate(start, end, type_name, f"enumeration:{match.group(1)}", 2))
    return out


_COUNT = {c: i for i, c in enumerate("一二三四五六七八九十", 1)} | {"两": 2}


def _industry_items(doc: Doc, index: TokenIndex) -> list[Candidate]:
    """Items of a list closed by 等 or a count and an industry noun (培育A、B、C三个产业集群):
    read from the right, each item a name on its own; the leftmost one ends where a verb or a
    place opens the clause (联合X、Y共同培育A、B: A is the first item)."""
    text = _text(doc)
    gazetteer = load_gazetteer()
    out = []
    for match in _INDUSTRY_LIST.finditer(text):
        count = re.match(r"([\d一二三四五六七八九十两]+)\s*[个大类]", match.group())
        wanted = (
            int(count.group(1))
            if count and count.group(1).isdigit()
            else (_COUNT.get(count.group(1)) if count else None)
        )
        end = match.start()
        items: list[tuple[int, int]] = []
        while True:
            start = extend_left(doc, index, end, 20)
            item = text[start:end]
            if not 2 <= len(item) <= 12 or gazetteer.lookup(item) or not index.starts_token(start):
                break
            items.append((start, end))
            if start == 0 or text[start - 1] != "、":
                break
            end = start - 1
        if len(items) < 2 or (wanted is not None and len(items) != wanted):
            continue
        for start, end in items:
            out.append(Candidate(start, end, "Industry", f"enumeration:{match.group(1)}", 2))
    return out


def _title_follows(text: str, head_end: int, lexicon: Lexicon) -> bool:
    """Whether a body's head is followed by the title of its head (局局长, 厅副厅长, 委主任)."""
    after = text[head_end : head_end + 6]
    after = after[1:] if after.startswith("副") else after
    return after[:1] == text[head_end - 1 : head_end] and any(
        after.startswith(title) for title in lexicon.titles
    )


# Parts of a place (东部, 中东部, 西南部): a direction before 部 names no department.
_DIRECTION_PART = re.compile(r"(?:[东西南北中]|中东|中西|中南|中北|东南|东北|西南|西北)$")
# Words that open a region's name on its left: 环太湖城市群, 泛珠三角地区.
_REGION_OPENERS = set("环泛")


def _region_start(doc: Doc, index: TokenIndex, start: int, head_start: int) -> int:
    """The left edge of a region's name: without the verbs that precede it (服务X城市群, 融入…)
    and with the 环/泛 that open it (环X湖城市群)."""
    start = _strip_leading_verbs(doc, index, start, head_start)
    if start > 0 and _text(doc)[start - 1] in _REGION_OPENERS and start < head_start:
        start -= 1
    return start


def _strip_leading_verbs(doc: Doc, index: TokenIndex, start: int, head_start: int) -> int:
    """A name's left edge without the verbs that introduce it (共建X产业集群 → X产业集群)."""
    tags = _word_tags()
    while start < head_start:
        token_i = index.token_at[start]
        word = index.words[token_i]
        if index.starts[token_i] != start or tags.get(word) not in ("v", "vn", "d", "p", "c"):
            break
        if load_gazetteer().lookup(word) or word in division_matcher().forms:
            break
        start += len(word)
    return start


def _short_agency_ok(text: str, start: int, head_start: int, lexicon: Lexicon) -> bool:
    """A single-character head (局/委/办…) needs a level prefix or a division name before it,
    and must not end a common word (全部, 格局)."""
    name = text[start:head_start]
    if len(name) < 1:
        return False
    if text[head_start] == "部" and _DIRECTION_PART.search(name):
        return False  # 地处X东部, X省中东部: a part of a place
    closing = text[head_start - 1 : head_start + 1]
    before = text[max(0, head_start - 2) : head_start]
    if (
        name[-1] not in lexicon.level_prefixes
        and closing in _word_tags()
        and before not in _word_tags()
    ):
        return False  # …园区全部 (but 财政局: 政 belongs to 财政)
    if name[0] in lexicon.level_prefixes and len(name) >= 2:
        return True
    if name.startswith("国家") and len(name) >= 4:  # 国家发展改革委, 国家医疗保障局
        return True
    if re.match(
        rf"^[{CJK}]{{2,4}}[两二三四五]市", name
    ):  # 长株潭三市发改委: an enumeration's bodies
        return True
    if name in lexicon.level_prefixes:  # 省委, 市委
        return True
    prefix = division_matcher().prefix(name)
    if prefix == name:
        return name[-1] in "省市县区州" and text[head_start] in "委政党"
    return prefix is not None and len(name) > len(prefix)


# ---------------------------------------------------------------------------------------------
# czt_select


@Language.component("czt_select", assigns=["doc.spans", "doc.user_data"])
def czt_select(doc: Doc) -> Doc:
    candidates = _candidates(doc)
    taken = [False] * (len(_text(doc)) + 1)
    chosen: list[Candidate] = []

    # Items of a responsibility list come first: the list's own split (雨湖区、湘潭经开区 written
    # as 雨湖区湘潭经开区) beats a longer name read across two of its items.
    def order(c: Candidate) -> tuple:
        return (c.rule != "unit-list", -c.length, -c.priority, c.start, c.type)

    for cand in sorted(candidates, key=order):
        if cand.length <= 0 or any(taken[cand.start : cand.end]):
            continue
        taken[cand.start : cand.end] = [True] * cand.length
        chosen.append(cand)
    chosen.sort(key=lambda c: (c.start, c.end))
    doc.user_data["czt.candidates"] = chosen
    spans = []
    for cand in chosen:
        span = doc.char_span(cand.start, cand.end, label=cand.type, alignment_mode="expand")
        if span is not None:
            spans.append(span)
    doc.spans["czt"] = spans
    return doc


@Language.component("czt_token_index", assigns=["doc.user_data"])
def czt_token_index(doc: Doc) -> Doc:
    doc.user_data["czt.index"] = TokenIndex(doc)
    doc.user_data["czt.candidates"] = []
    return doc


PIPELINE = (
    "czt_token_index",
    "czt_divisions",
    "czt_lists",
    "czt_persons",
    "czt_names",
    "czt_select",
)


@lru_cache(maxsize=1)
def _prepare_jieba() -> None:
    """Teach jieba the division names and head nouns, so names are not cut across their head."""
    lexicon = load_lexicon()
    gazetteer = load_gazetteer()
    for form in division_matcher().forms:
        if any(d.name == form or d.level in ("province", "city") for d in gazetteer.lookup(form)):
            jieba.add_word(form, freq=2000, tag="ns")
    for heads in lexicon.suffixes.values():
        for head in heads:
            if len(head) >= 2:
                jieba.add_word(head, freq=2000)


@spacy.registry.tokenizers("czt.jieba_tokenizer")
def create_jieba_tokenizer():
    """The pipeline's tokenizer (``[nlp.tokenizer] @tokenizers = "czt.jieba_tokenizer"``)."""

    def make_tokenizer(nlp: Language) -> JiebaTokenizer:
        return JiebaTokenizer(nlp.vocab)

    return make_tokenizer


def prepared_segmenter() -> JiebaSegmenter:
    """The extraction's segmenter with its dictionary ready (jieba's words plus the division
    names and head nouns): the same cut whether or not the pipeline was loaded before."""
    _prepare_jieba()
    return segmenter()


def build_pipeline() -> Language:
    """A fresh pipeline: blank Chinese with the jieba segmenter and the czt components."""
    _prepare_jieba()
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": "czt.jieba_tokenizer"}}})
    for name in PIPELINE:
        nlp.add_pipe(name)
    return nlp


@lru_cache(maxsize=1)
def shared_pipeline() -> Language:
    """The pipeline built once per process (workers each build their own)."""
    return build_pipeline()
