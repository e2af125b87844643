"""Ingestion stage: files of the corpus folder → Documents (encoding detection, HTML/Markdown
main text, cleaning, metadata). Unusable files are skipped with a reason, never a traceback."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from kg.clean import (
    CJK,
    clean_lines,
    collapse_whitespace,
    cut_recommendation_block,
    drop_title_echo,
    split_sentences,
    to_simplified,
)
from kg.errors import InputError, NoDocumentsError
from kg.lexicon import load_lexicon
from kg.model import Document, SkippedFile

SUPPORTED = (".txt", ".md", ".html", ".htm")
_DATE = re.compile(r"(20\d{2}|19\d{2})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")
_SOURCE = re.compile(r"(?:来源|來源|稿源|出处)\s*[丨|:：]\s*([^\s】\]|]{2,20})")
_METADATA_LINE = re.compile(
    r"^(?:\d{4}[-年/.]\d{1,2}|发布时间|来源|【来源|来源丨|编辑|审核|作者|摘要)"
)
_DATE_ONLY_LINE = re.compile(r"[\d\s:年月日.\-/国际内]+")
# Ten Chinese characters anywhere: found without counting every character of the text.
_TEN_CHINESE = re.compile(rf"(?:[^{CJK}]*[{CJK}]){{10}}")


def decode_bytes(raw: bytes, path: Path) -> tuple[str, str]:
    """Text and encoding name of a file's bytes: BOMs, strict UTF-8, then detection."""
    if not raw.strip():
        raise InputError(f"{path}: empty file")
    for bom, encoding in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if raw.startswith(bom):
            return raw.decode(encoding), encoding
    if _looks_utf16(raw):
        encoding = "utf-16-le" if raw[1::2].count(0) > raw[0::2].count(0) else "utf-16-be"
        return raw.decode(encoding, errors="strict"), encoding
    if b"\x00" in raw:
        raise InputError(f"{path}: binary file (NUL bytes), not text")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in ("gb18030", "big5"):
        text = _try_decode(raw, encoding)
        if text is not None and _chinese_ratio(text) > 0.3 and _plausible(text, encoding):
            return text, encoding
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None or _chinese_ratio(str(best)) < 0.05 and not str(best).isascii():
        raise InputError(f"{path}: cannot decode the text (unknown or mixed encoding)")
    return str(best), best.encoding


def _looks_utf16(raw: bytes) -> bool:
    sample = raw[:400]
    return len(sample) >= 4 and (
        sample[1::2].count(0) > len(sample) / 4 or sample[0::2].count(0) > len(sample) / 4
    )


def _try_decode(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _chinese_ratio(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    return sum("\u4e00" <= c <= "\u9fff" for c in chars) / max(1, len(chars))


def _plausible(text: str, encoding: str) -> bool:
    """GBK bytes often decode as Big5 too (and back): prefer the reading with common characters."""
    if encoding != "gb18030":
        return True
    common = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质"
    sample = [c for c in text if "\u4e00" <= c <= "\u9fff"][:400]
    return not sample or sum(c in common for c in sample) / len(sample) > 0.15


def _html_text(raw_text: str) -> tuple[str, dict[str, str]]:
    import trafilatura

    meta: dict[str, str] = {}
    extracted = trafilatura.extract(
        raw_text, include_comments=False, include_tables=True, with_metadata=False
    )
    metadata = trafilatura.extract_metadata(raw_text)
    if metadata is not None:
        meta = {
            k: v
            for k, v in (
                ("title", metadata.title),
                ("date", metadata.date),
                ("publisher", metadata.sitename),
            )
            if v
        }
    if not extracted:
        from lxml import html as lxml_html

        tree = lxml_html.fromstring(raw_text)
        for bad in tree.xpath("//script|//style|//nav|//footer"):
            bad.drop_tree()
        extracted = tree.text_content()
    return extracted or "", meta


def _markdown_text(raw_text: str) -> tuple[str, dict[str, str]]:
    meta: dict[str, str] = {}
    text = re.sub(r"```.*?```", "", raw_text, flags=re.S)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    heading = re.search(r"^#\s+(.+)$", text, re.M)
    if heading:
        meta["title"] = heading.group(1).strip()
    text = re.sub(r"^#{1,6}\s*", "", text, flags=re.M)
    text = re.sub(r"(\*\*|__|\*|_|`)", "", text)
    text = re.sub(r"^\s*[-*+>]\s+", "", text, flags=re.M)
    return text, meta


def _is_title_candidate(line: str) -> bool:
    lexicon = load_lexicon()
    if _METADATA_LINE.match(line) or any(role in line[:12] for role in lexicon.byline_roles):
        return False
    return 4 <= len(line) <= 60 and not line.endswith("。")


def _title(lines: list[str], meta: dict[str, str]) -> str:
    if meta.get("title"):
        return to_simplified(meta["title"]).strip()
    for line in lines[:6]:
        if _is_title_candidate(line):
            return line
    lexicon = load_lexicon()
    body = [line for line in lines if not any(role in line[:12] for role in lexicon.byline_roles)]
    first = next((line for line in body if len(line) > 10), lines[0])
    # No headline: the first sentence stands in (cut at 40 characters).
    sentence = re.split(r"[。;；!！?？]", first)[0]
    return sentence if len(sentence) <= 40 else sentence[:40] + "…"


def _date(lines: list[str], meta: dict[str, str]) -> str | None:
    for line in [meta.get("date", "")] + lines[:8]:
        match = _DATE.search(line)
        if match:
            year, month, day = (int(g) for g in match.groups())
            if 1 <= month <= 12 and 1 <= day <= 31:
                return f"{year:04d}-{month:02d}-{day:02d}"
    return None


def _publisher(lines: list[str], meta: dict[str, str]) -> str | None:
    lexicon = load_lexicon()
    for line in lines[:8]:
        match = _SOURCE.search(line)
        if match:
            return match.group(1).strip()
    roles = "|".join(sorted(lexicon.byline_roles, key=len, reverse=True))
    for line in lines[:8]:
        match = re.match(rf"^([\u4e00-\u9fff]{{2,10}}?)(?:全媒体)?(?:{roles})", line)
        if match:
            return match.group(1)
        site = re.match(r"^([\u4e00-\u9fff]{2,20}?)(?:门户网站|网站)\b", line)
        if site:
            return site.group(1)
    return meta.get("publisher")


def _authors(lines: list[str]) -> tuple[str, ...]:
    lexicon = load_lexicon()
    roles = "|".join(sorted(lexicon.byline_roles, key=len, reverse=True))
    names: list[str] = []
    for line in lines[:10]:
        for match in re.finditer(
            rf"(?:{roles})\s*[丨|:]?\s*((?:[\u4e00-\u9fff]{{2,3}}(?:\s+|$))+)", line
        ):
            for name in match.group(1).split():
                if (
                    lexicon.is_surname_start(name)
                    and name not in names
                    and not name.endswith("报道")
                ):
                    names.append(name)
    return tuple(names)


def read_document(path: Path) -> Document:
    """One file → a Document; InputError with the file and the reason when it cannot be used."""
    path = Path(path)
    if path.suffix.lower() not in SUPPORTED:
        raise InputError(f"{path}: unsupported file type (use {', '.join(SUPPORTED)})")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    text, encoding = decode_bytes(raw, path)
    meta: dict[str, str] = {}
    if path.suffix.lower() in (".html", ".htm"):
        text, meta = _html_text(text)
    elif path.suffix.lower() == ".md":
        text, meta = _markdown_text(text)
    lines = clean_lines(text)
    if not lines:
        raise InputError(f"{path}: no usable text")
    title = _title(lines, meta)
    date = _date(lines, meta)
    publisher = _publisher(lines, meta)
    authors = _authors(lines)
    lines = drop_title_echo(lines, title)
    lines = cut_recommendation_block(lines, title)
    # Pure metadata lines (date, source) stay out of the text; bylines stay (persons, media).
    lines = [line for line in lines if not _DATE_ONLY_LINE.fullmatch(line)]
    cleaned = collapse_whitespace("\n".join(lines))
    if not _TEN_CHINESE.match(cleaned):
        raise InputError(
            f"{path}: no usable text (fewer than 10 Chinese characters after cleaning)"
        )
    return Document(
        id=path.stem,
        path=str(path),
        title=title,
        text=cleaned,
        sentences=split_sentences(cleaned),
        date=date,
        publisher=publisher,
        authors=authors,
        encoding=encoding,
        content_hash=hashlib.sha256(raw).hexdigest(),
    )


def check_corpus_folder(folder: Path) -> None:
    """A corpus must be a folder: a clear error for a missing path or a file."""
    if not folder.is_dir():
        if folder.exists():
            raise NoDocumentsError(
                f"{folder}: a file, not a corpus folder (give the folder of documents)"
            )
        raise NoDocumentsError(f"{folder}: corpus folder not found")


def load_corpus(
    folder: Path, progress: Callable[[str], None] | None = None
) -> tuple[list[Document], list[SkippedFile]]:
    """Every supported file of ``folder`` (sorted by name); unusable ones skipped with a reason."""
    folder = Path(folder)
    check_corpus_folder(folder)
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            documents.append(read_document(path))
        except InputError as exc:
            skipped.append(SkippedFile(str(path), str(exc).split(": ", 1)[-1]))
        if progress:
            progress(path.name)
    if not documents:
        reasons = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in skipped) or "no files"
        raise NoDocumentsError(f"{folder}: no usable document ({reasons})")
    return documents, skipped
