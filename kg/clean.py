"""Text cleaning as small ``str -> str`` functions composed into one pipeline (textacy style),
plus sentence splitting with character offsets into the cleaned text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from kg.model import Sentence

CJK = "\u4e00-\u9fff"
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"
# A pinyin syllable: optional initial, a final with or without tone marks (zhǎng, wǎng, shí).
_INITIAL = "(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
_FINAL = rf"[aeiouv{_TONED}]{{1,4}}(?:ng|n|r)?"
_PINYIN_AFTER_HANZI = re.compile(
    rf"(?<=[{CJK}\u3400-\u4dbf])\((?=[a-z{_TONED}]*[{_TONED}])({_INITIAL}{_FINAL})\)", re.I
)
# Generic spam vocabulary of adult/video sites that SEO-poisoned pages prepend.
_SPAM_WORDS = (
    "AV",
    "成人",
    "一区二区",
    "精品",
    "国产",
    "乱伦",
    "丝袜",
    "高清",
    "无码",
    "视频在线",
    "久久",
    "日本",
    "欧美",
    "亚洲",
)
_ANY_SPAM_WORD = re.compile("|".join(map(re.escape, _SPAM_WORDS)))
_NAV_WORDS = {
    "首页",
    "滚动",
    "查看内容",
    "关键词:",
    "关键词",
    "最新新闻",
    "回顶部",
    "返回顶部",
    "全部留言",
    "评论",
    "有用()",
    "分享",
    "打印",
    "关闭窗口",
    "上一篇",
    "下一篇",
    "责任编辑",
    "我要纠错",
    "收藏",
    "字号",
    "大",
    "中",
    "小",
    "/",
    "-",
    "|",
    "【打印】",
    "【关闭】",
    "相关新闻",
    "扫一扫",
}
_NAV_LINE = re.compile(r"^[-•·*\s]*(?:[\w:()]{1,6}[\s>|/»]+){1,6}[\w:()]{1,6}$")
_FOOTER = re.compile(
    r"^(?:声明[:：]|版权所有|copyright|©|邮箱地址|联系邮箱|免责声明|本文来源|原标题|责任编辑|关键词[:：])",
    re.I,
)
_RECOMMEND_HEADING = re.compile(
    r"(推荐|相关阅读|相关新闻|热门|猜你喜欢|延伸阅读|更多资讯|精彩推荐|资讯)\s*$"
)
_TEASER = re.compile(r"^.{4,60}\s-\s[^\s-]{2,12}$")


def normalise_unicode(text: str) -> str:
    """NFC, unified line ends and spaces; fullwidth parentheses become ASCII (as in the gold)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\ufeff", "").replace("\u00a0", " ").replace("\u3000", " ")
    return text.replace("（", "(").replace("）", ")").replace("：", ":").replace("\t", " ")


_GARBLED_PINYIN = re.compile(rf"\?(?:[a-z{_TONED}]{{1,6}}\))+", re.I)


def remove_inserted_pinyin(text: str) -> str:
    """``長(zhǎng)`` → ``長``: pinyin glosses after a character, never real parentheses.
    Pages whose gloss brackets were garbled to ``?`` (``日?qǐng)?bào)``) lose the debris too."""
    return _GARBLED_PINYIN.sub("", _PINYIN_AFTER_HANZI.sub("", text))


@lru_cache(maxsize=1)
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese with OpenCC (phrase-aware, unlike a character table)."""
    return _converter().convert(text)


def is_spam_line(line: str) -> bool:
    """SEO spam: many short keyword phrases glued with _ or |, no sentence punctuation."""
    if not _ANY_SPAM_WORD.search(line):  # (most lines: one search instead of a word loop)
        return False
    parts = [p for p in re.split(r"[_|｜]", line) if p.strip()]
    hits = sum(word in line for word in _SPAM_WORDS)
    return (len(parts) >= 3 and "。" not in line and hits >= 2) or hits >= 4


def is_navigation_line(line: str) -> bool:
    stripped = line.strip().lstrip("-•·* ").strip()
    if not stripped:
        return False
    if stripped in _NAV_WORDS or _FOOTER.match(stripped):
        return True
    words = stripped.split()
    if len(words) >= 2 and all(w in _NAV_WORDS for w in words):
        return True
    return bool(_NAV_LINE.match(stripped)) and all(
        w in _NAV_WORDS for w in re.split(r"[\s>|/»]+", stripped) if w
    )


def _keywords(text: str) -> set[str]:
    # Segmented with the extraction's dictionary (jieba's plus the names kg.nlp adds to it),
    # loaded here when extraction has not run yet in this process: the same words either way.
    from kg.nlp import prepared_segmenter

    return {w for w in prepared_segmenter()(text) if len(w) >= 2 and _CJK_START.match(w)}


_CJK_START = re.compile(rf"[{CJK}]")


def cut_recommendation_block(lines: list[str], title: str) -> list[str]:
    """Drop an appended block of recommended/related news: a heading such as 资讯推荐 or a run of
    teaser lines ("Title - Site") whose words share almost nothing with the article."""
    article: set[str] | None = None  # segmenting is costly: only when a teaser run is seen
    for i, line in enumerate(lines):
        stripped = line.strip()
        if i < 3 or not stripped:
            continue
        heading = _RECOMMEND_HEADING.search(stripped) and len(stripped) <= 16
        if heading and i >= len(lines) // 3:
            return lines[:i]
        if not _TEASER.match(stripped):
            continue
        teasers = [s for s in lines[i : i + 8] if _TEASER.match(s.strip())]
        if len(teasers) >= 2:
            if article is None:
                article = _keywords(title + "".join(lines[:8]))
            rest = _keywords(" ".join(lines[i + 1 : i + 12]))
            overlap = len(rest & article) / max(1, len(rest))
            if overlap < 0.2:
                return lines[:i]
    return lines


def drop_title_echo(lines: list[str], title: str) -> list[str]:
    """``<title> - <site>`` lines repeat the headline with the site's name."""
    return [line for line in lines if not (title and line.strip().startswith(title + " - "))]


def drop_summary_duplicate(lines: list[str]) -> list[str]:
    """A leading ``摘要:`` line that repeats the article's first paragraphs (truncated with …)."""
    if lines and re.match(r"^\s*摘要\s*:", lines[0]):
        summary = re.sub(r"^\s*摘要\s*:", "", lines[0]).rstrip(".… ")
        body = "".join(lines[1:4]).replace("\n", "")
        if summary[:30] and summary[:30].replace(" ", "") in body.replace(" ", ""):
            return lines[1:]
    return lines


def collapse_whitespace(text: str) -> str:
    lines = [re.sub(r"[ ]{2,}", " ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


TextStep = Callable[[str], str]
CHARACTER_STEPS: tuple[TextStep, ...] = (normalise_unicode, remove_inserted_pinyin, to_simplified)


def clean_lines(raw: str, title_hint: str = "") -> list[str]:
    """The character-level steps, then the line-level ones (spam, navigation, footers, sidebars)."""
    text = raw
    for step in CHARACTER_STEPS:
        text = step(text)
    lines = [line.strip() for line in text.split("\n")]
    lines = [
        line for line in lines if line and not is_spam_line(line) and not is_navigation_line(line)
    ]
    lines = drop_summary_duplicate(lines)
    return lines


def clean_text(raw: str) -> str:
    """The whole cleaning pipeline on a raw text: the cleaned simplified text."""
    return collapse_whitespace("\n".join(clean_lines(raw)))


_SENTENCE = re.compile(r"[^。！？!?；;\n]+(?:[。！？!?；;]+[”’」』)]*)?")


def split_sentences(text: str) -> tuple[Sentence, ...]:
    """Sentences with offsets into ``text`` (split on 。！？；!? and line breaks)."""
    sentences = []
    for match in _SENTENCE.finditer(text):
        raw = match.group()
        stripped = raw.strip()
        if not stripped:
            continue
        start = match.start() + (len(raw) - len(raw.lstrip()))
        sentences.append(Sentence(start, start + len(stripped), stripped))
    return tuple(sentences)
