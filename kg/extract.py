"""Extraction stage: one Document → its typed mentions (with context-resolved canonical names)
and relation candidates. A pure function of one document, so it can run in parallel and be cached.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import jieba
from spacy.language import Language

from kg.clean import CJK
from kg.gazetteer import Division, level_to_type, load_gazetteer
from kg.lexicon import load_lexicon
from kg.model import Document, DocumentExtraction, Mention
from kg.nlp import Candidate, division_matcher, shared_pipeline
from kg.relations import extract_relations, task_mentions

# Park heads have a short and a full official form; names are keyed on the full one.
PARK_FULL_FORMS = {
    "经开区": "经济技术开发区",
    "高新区": "高新技术产业开发区",
    "综保区": "综合保税区",
    "自贸区": "自由贸易试验区",
}
_QUOTES = str.maketrans("", "", "“”\"'「」")
_HOME_CITY_WORDS = ("我市", "本市")
_HOME_PROVINCE_WORDS = ("我省", "本省")
_PARK_BODY = re.compile(
    "(?:"
    + "|".join(sorted(PARK_FULL_FORMS.keys() | set(PARK_FULL_FORMS.values()), key=len)[::-1])
    + "|开发区|产业园区|工业园区|产业园|工业园|新区)(?:党工委|工委|管委会|管理委员会)"
)
_BODY_TAIL = r"(?:党工委|工委|管委会|管理委员会)$"
_MULTIPLES = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5}


@dataclass(frozen=True)
class DocumentContext:
    """What a document is about: its home city (for 市…, 我市) and home province (省…, 我省)."""

    home_city: Division | None
    home_province: Division | None

    @classmethod
    def infer(cls, document: Document, candidates: list[Candidate]) -> DocumentContext:
        """The home city is the city named most (a title counts ten times); the home province is
        the one whose own name and whose cities and counties are named most, so that a document
        of one province that mentions another once (学习江西经验) keeps its own."""
        gazetteer = load_gazetteer()
        counts: Counter[str] = Counter()
        title_end = len(document.title) + 2 if document.text.startswith(document.title) else 0
        province_counts: Counter[str] = Counter()

        def count(division: Division, weight: int) -> None:
            if division.level == "province":
                province_counts[division.code] += weight
                return
            if division.name.endswith("市") and division.level in ("city", "county"):
                counts[division.code] += weight
            province = _province_of(division)
            if province is not None:
                province_counts[province.code] += weight

        for cand in candidates:
            if not cand.code:
                continue
            division = gazetteer.by_code(cand.code)
            if division is None:
                continue
            count(division, 10 if cand.start < title_end else 1)
        # Also count divisions named inside longer names (湘乡市长株潭…领导小组办公室).
        for start, end in division_matcher().spans(document.title):
            division = gazetteer.resolve(document.title[start:end])
            if division is not None:
                count(division, 10)
        home_province = gazetteer.by_code(_top(province_counts)) if province_counts else None
        own = {
            code: n
            for code, n in counts.items()
            if home_province is None or code[:2] == home_province.code[:2]
        }
        home_city = gazetteer.by_code(_top(own or counts)) if counts else None
        if home_province is None and home_city is not None:
            home_province = _province_of(home_city)
        return cls(home_city=home_city, home_province=home_province)


@lru_cache(maxsize=4096)
def _province_of(division: Division) -> Division | None:
    return next((d for d in load_gazetteer().ancestors(division) if d.level == "province"), None)


def _top(counts: Counter[str]) -> str:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]


def normalise_name(text: str) -> str:
    return text.translate(_QUOTES).replace(" ", "").strip()


def canonical_agency(surface: str, context: DocumentContext) -> tuple[str, str]:
    """Full name of an agency in its document's context, and the rule used.

    市工信局 in a plan of 湘潭市 → 湘潭市工业和信息化局; 省发改委 → 湖南省发展和改革委员会.
    """
    gazetteer = load_gazetteer()
    name = normalise_name(surface)
    place: Division | None = None
    rest = name
    rule = "agency-as-written"
    prefix = division_matcher().prefix(name)
    if prefix and _PARK_BODY.match(name, len(prefix)):
        # A park's body (X经开区党工委, X高新区管委会) is named after the park as written:
        # 浏阳 there is the park's name, not the level of a division.
        return name, "agency-park-body"
    if (
        prefix
        and len(prefix) < len(name)
        and (
            gazetteer.resolve(prefix).name == prefix  # type: ignore[union-attr]
            or len(name) - len(prefix) <= 6
        )
    ):
        # A short form opens a body's name (湘潭工信局) but also names things of the place
        # (韶山灌区工程管理局 is no 韶山市 body): long rests after a short form stay as written.
        place = gazetteer.resolve(prefix)
        rest = name[len(prefix) :]
        rule = "agency-division-prefix"
    elif name[:1] == "省" and context.home_province is not None and name not in ("省长",):
        place, rest, rule = context.home_province, name[1:], "agency-home-province"
    elif name[:1] == "市" and context.home_city is not None:
        place, rest, rule = context.home_city, name[1:], "agency-home-city"
    if rest.startswith("人民政府") or rest == "政府":
        rest = "人民政府" + rest[len("人民政府") if rest.startswith("人民政府") else 2 :]
    else:
        for short, full in _abbreviations_longest_first():
            if rest == short or (rest.endswith(short) and rest[: -len(short)] in ("委", "")):
                rest = rest[: -len(short)] + full
                break
    if re.search(r"驻.+办$", rest):
        rest += "事处"  # 驻深圳办 is the usual short form of 驻深圳办事处
    if place is None:
        return name, rule
    base = place.name
    # 市委 of a county-level city is still 湘乡市委: keep the division's full name as prefix.
    return base + rest, rule


@lru_cache(maxsize=1)
def _abbreviations_longest_first() -> tuple[tuple[str, str], ...]:
    """The department abbreviations and their full forms, longest first."""
    abbreviations = load_lexicon().department_abbreviations
    return tuple(
        (short, abbreviations[short]) for short in sorted(abbreviations, key=len, reverse=True)
    )


def canonical_park(surface: str) -> str:
    name = normalise_name(surface)
    for short, full in PARK_FULL_FORMS.items():
        if name.endswith(short):
            return name[: -len(short)] + full
    return name


@lru_cache(maxsize=1)
def _cities_by_province() -> dict[str, list[Division]]:
    by_province: dict[str, list[Division]] = {}
    for division in load_gazetteer().cities():
        if division.parent_code:
            by_province.setdefault(division.parent_code, []).append(division)
    return by_province


@lru_cache(maxsize=4096)
def decompose_cities(stem: str) -> tuple[Division, ...]:
    """Cities abbreviated by one character each, within one province (长株潭 → 长沙, 株洲, 湘潭)."""
    if not 2 <= len(stem) <= 5:
        return ()
    for cities in _cities_by_province().values():
        picked = []
        for char in stem:
            hits = [c for c in cities if char in (c.short or c.name)]
            if len(hits) != 1 or hits[0] in picked:
                break
            picked.append(hits[0])
        else:
            return tuple(picked)
    return ()


def _to_mention(document: Document, cand: Candidate, context: DocumentContext) -> Mention | None:
    gazetteer = load_gazetteer()
    text = document.text[cand.start : cand.end]
    canonical = normalise_name(text)
    rule = cand.rule
    code = cand.code
    type_name = cand.type
    if cand.rule == "context-home-city":
        if context.home_city is None:
            return None
        canonical, code = context.home_city.name, context.home_city.code
        type_name = "City" if context.home_city.level == "city" else "County"
    elif cand.rule == "context-home-province":
        if context.home_province is None:
            return None
        canonical, code = context.home_province.name, context.home_province.code
    elif code:
        division = gazetteer.by_code(code)
        canonical = division.name if division else canonical
    elif cand.rule == "generic-head":
        pass  # resolved by document coreference below
    elif type_name == "Agency":
        canonical, how = canonical_agency(text, context)
        rule = f"{rule}|{how}"
    elif type_name == "Park":
        canonical = canonical_park(text)
    return Mention(
        doc_id=document.id,
        start=cand.start,
        end=cand.end,
        text=text,
        type=type_name,
        rule=rule,
        canonical=canonical,
        code=code,
    )


def _regions_and_enumerations(document: Document, mentions: list[Mention]) -> list[Mention]:
    """Multi-city abbreviations: 长株潭都市圈/长株潭地区 → one region, bare 长株潭 → that region,
    长株潭三市 → the three cities (an enumeration mention)."""
    text = document.text
    taken = [False] * (len(text) + 1)
    for mention in mentions:
        taken[mention.start : mention.end] = [True] * (mention.end - mention.start)
    out: list[Mention] = []
    stems: dict[str, tuple[Division, ...]] = {}
    for mention in mentions:
        if mention.type == "Region":
            for head in ("都市圈", "地区", "区域"):
                stem = mention.canonical[: -len(head)]
                if mention.canonical.endswith(head) and (cities := decompose_cities(stem)):
                    stems[stem] = cities
                    mention = _replace(
                        mention, canonical=stem + "都市圈", rule=mention.rule + "|multi-city-region"
                    )
                    break
        out.append(mention)
    for stem in sorted(_candidate_stems(text) | set(stems), key=lambda s: (-len(s), s)):
        cities = stems.get(stem) or decompose_cities(stem)
        if not cities:
            continue
        for match in re.finditer(re.escape(stem) + r"([两二三四五])?(市|地)?", text):
            if any(taken[match.start() : match.end()]):
                continue
            multiple = match.group(1)
            if multiple and _MULTIPLES[multiple] == len(cities) and match.group(2):
                out.append(
                    Mention(
                        doc_id=document.id,
                        start=match.start(),
                        end=match.end(),
                        text=match.group(),
                        type="City",
                        rule="enumeration",
                        canonical=match.group(),
                        expands_to=tuple(c.name for c in cities),
                    )
                )
            elif not multiple and not match.group(2):
                out.append(
                    Mention(
                        doc_id=document.id,
                        start=match.start(),
                        end=match.start() + len(stem),
                        text=stem,
                        type="Region",
                        rule="multi-city-abbreviation",
                        canonical=stem + "都市圈",
                    )
                )
            taken[match.start() : match.end()] = [True] * (match.end() - match.start())
    return out


_STEM_FOLLOWER = re.compile(r"(?=[两二三四五]市|都市圈|一体化)")
_CHINESE_RUN = re.compile(f"[{CJK}]+")


def _candidate_stems(text: str) -> set[str]:
    # Abbreviations are usually followed by a number of cities or a region word. The longest
    # stem that does not start inside a preceding word (一体化长株潭: not 化长株潭). Each start
    # gets the longest stem of 2–4 characters before such a word, as the lookahead
    # (?=([\u4e00-\u9fff]{2,4})(?:…)) finds at every position; only the places before one of
    # those words are tried.
    followers = {match.start() for match in _STEM_FOLLOWER.finditer(text)}
    freqs = jieba.dt.FREQ
    stems = set()
    for start in {at - size for at in followers for size in (2, 3, 4) if at >= size}:
        for size in (4, 3, 2):
            if start + size in followers and _CHINESE_RUN.fullmatch(text, start, start + size):
                if not any(text[max(0, start - k) : start + 1] in freqs for k in (1, 2, 3)):
                    stems.add(text[start : start + size])
                break
    return stems


def _replace(mention: Mention, **changes: object) -> Mention:
    from dataclasses import replace

    return replace(mention, **changes)


_LIST_JOINERS = ("、", "，", ",", "和", "及", "与")


def _listed_cities(text: str, start: int, last: str) -> tuple[Division, ...]:
    """The cities of a list that ends in ``last`` just before ``start`` (A、B、C三市X局: the
    mention starts at C): each item a city's full or short name, joined by 、/和/及."""
    gazetteer = load_gazetteer()
    matcher = division_matcher()
    division = matcher.division(last) if last in matcher.forms else None
    if division is None or division.level != "city":
        return ()
    cities = [division]
    end = start
    while end > 0 and text[end - 1] in _LIST_JOINERS:
        joined = end - 1
        for size in range(6, 1, -1):
            item = text[max(0, joined - size) : joined]
            if len(item) == size and item in matcher.forms:
                found = gazetteer.resolve(item)
                if found is not None and found.level == "city" and found not in cities:
                    cities.insert(0, found)
                    end = joined - size
                    break
        else:
            break
    return tuple(cities) if len(cities) > 1 else ()


def _expand_group_agencies(
    mentions: list[Mention], context: DocumentContext, text: str = ""
) -> list[Mention]:
    """三市发改委 / 长株潭三市市委宣传部 / A、B、C三市X局 → the same body of each city of the
    enumeration."""
    out = []
    for mention in mentions:
        match = mention.type == "Agency" and _GROUP_AGENCY.match(mention.text)
        if match:
            cities = decompose_cities(match.group(1)) if match.group(1) else ()
            listed = _listed_cities(text, mention.start, match.group(1))
            if listed and len(listed) == _MULTIPLES[match.group(2)]:
                cities = listed
                last = listed[-1]
                out.append(
                    Mention(
                        doc_id=mention.doc_id,
                        start=mention.start,
                        end=mention.start + len(match.group(1)),
                        text=match.group(1),
                        type=level_to_type(last.level),
                        rule="agency-division",
                        canonical=last.name,
                        code=last.code,
                    )
                )
            if not cities and context.home_city is None:
                out.append(mention)
                continue
            if cities and len(cities) == _MULTIPLES[match.group(2)]:
                # 三市市委宣传部: 市委 is each city's own (长沙市委宣传部, not 长沙市市委…).
                rest = match.group(3)[1:] if match.group(3).startswith("市委") else match.group(3)
                names = []
                for city in cities:
                    full, _ = canonical_agency(city.name + rest, context)
                    names.append(full)
                out.append(
                    _replace(mention, expands_to=tuple(names), rule=mention.rule + "|enumeration")
                )
                continue
        out.append(mention)
    return out


_GROUP_AGENCY = re.compile(r"^(.*?)([两二三四五])市(.+)$")


def _document_coreference(mentions: list[Mention]) -> list[Mention]:
    """A bare generic head (行动计划, 专班, 联席会) names the document's one entity with that head."""
    out = []
    for mention in mentions:
        if not mention.rule.startswith("generic-head"):
            out.append(mention)
            continue
        heads = [h for h in load_lexicon().generic_heads if mention.canonical.endswith(h)]
        head = max(heads, key=len) if heads else mention.canonical
        targets = sorted(
            {
                m.canonical
                for m in mentions
                if m.type == mention.type
                and m.rule != "generic-head"
                and m.canonical != head
                and (head in m.canonical or m.canonical.endswith(head[:2]))
            }
        )
        if len(targets) == 1:
            out.append(
                _replace(mention, canonical=targets[0], rule="generic-head|document-coreference")
            )
    return out


def _title_plan(document: Document) -> Candidate | None:
    """A policy document's own title names a plan (…工作方案, …规划, …意见)."""
    lexicon = load_lexicon()
    title = document.title
    if not document.text.startswith(title):
        return None
    note = _TITLE_NOTE.search(title)
    name = title[: note.start()] if note else title
    if any(name.endswith(head) for head in lexicon.suffixes["Plan"]):
        return Candidate(0, len(name), "Plan", "document-title", 6)
    return None


# Editorial notes after a title, not part of the plan's name: …工作要点(节选), …方案(征求意见稿).
_TITLE_NOTE = re.compile(
    r"\s*[(（【\[](?:节选|摘要|摘编|全文|附全文|原文|征求意见稿|送审稿|图解|解读|简版)[)）】\]]\s*$"
)


def _name_prefixes(document: Document, mentions: list[Mention]) -> list[Mention]:
    """Places and parks that a park's or project's name starts with (湘乡经开区 → 湘乡市;
    天易经开区轨道交通配套产业园 → 天易经开区; 湘潭云龙东路—株洲新马南路 → 湘潭市, 株洲市)."""
    gazetteer = load_gazetteer()
    matcher = division_matcher()
    park_heads = load_lexicon().suffixes["Park"]
    out = []
    for outer in mentions:
        if outer.type not in ("Park", "Project") or outer.expands_to:
            continue
        pieces = [(outer.start, outer.text)]
        if outer.type == "Project" and "—" in outer.text:
            second = outer.text.index("—") + 1
            pieces.append((outer.start + second, outer.text[second:]))
        if "(" in outer.text:  # 雨花经开区(韶山)智能制造产业园: the place in brackets
            opening = outer.text.index("(") + 1
            pieces.append((outer.start + opening, outer.text[opening:]))
        stem = next((outer.text[:n] for n in (3, 2) if decompose_cities(outer.text[:n])), "")
        if stem and not outer.text[len(stem) :].startswith(("市", "三市", "两市")):
            out.append(
                Mention(
                    doc_id=document.id,
                    start=outer.start,
                    end=outer.start + len(stem),
                    text=stem,
                    type="Region",
                    rule=f"name-prefix:{outer.end}",
                    canonical=stem + "都市圈",
                )
            )
        for start, piece in pieces:
            prefix = matcher.prefix(piece)
            if prefix and len(prefix) < len(piece):
                division = gazetteer.resolve(prefix)
                if division is not None:
                    out.append(
                        Mention(
                            doc_id=document.id,
                            start=start,
                            end=start + len(prefix),
                            text=prefix,
                            type=level_to_type(division.level),
                            rule=f"name-prefix:{outer.end}",
                            canonical=division.name,
                            code=division.code,
                        )
                    )
            if start == outer.start:  # a park a park or project is named after
                for head in park_heads:
                    cut = piece.find(head)
                    if cut > 0 and cut + len(head) < len(piece) - 1:
                        inner = piece[: cut + len(head)]
                        out.append(
                            Mention(
                                doc_id=document.id,
                                start=start,
                                end=start + len(inner),
                                text=inner,
                                type="Park",
                                rule=f"name-prefix:{outer.end}",
                                canonical=canonical_park(inner),
                            )
                        )
                        break
    return out


def _park_short_forms(mentions: list[Mention]) -> list[Mention]:
    """经开区 also abbreviates 经济开发区 (a provincial park): in a document that writes the park
    in full as X经济开发区 and never as X经济技术开发区, X经开区 is that park."""
    written = {m.text for m in mentions if m.type == "Park"}
    out = []
    for mention in mentions:
        if mention.type == "Park" and mention.text.endswith("经开区"):
            stem = mention.text[: -len("经开区")]
            if stem + "经济开发区" in written and stem + "经济技术开发区" not in written:
                mention = _replace(mention, canonical=stem + "经济开发区")
        out.append(mention)
    return out


def _nested_in_agencies(document: Document, mentions: list[Mention]) -> list[Mention]:
    """Divisions written in full inside an agency's name are mentions of them (萍乡市 in
    萍乡市发改委, 安源区 in 萍乡市安源区政府), and the parent body of a sub-unit is one
    (湖南省发改委 in 湖南省发改委地区处)."""
    gazetteer = load_gazetteer()
    matcher = division_matcher()
    lexicon = load_lexicon()
    out = []
    for outer in mentions:
        if outer.type != "Agency" or outer.expands_to:
            continue
        for begin, end in matcher.spans(outer.text):
            form = outer.text[begin:end]
            division = gazetteer.resolve(form)
            if division is not None and division.name == form and len(form) >= 3:
                start = outer.start + begin
                out.append(
                    Mention(
                        doc_id=document.id,
                        start=start,
                        end=start + len(form),
                        text=form,
                        type=level_to_type(division.level),
                        rule="agency-division",
                        canonical=division.name,
                        code=division.code,
                    )
                )
        if (body := _PARK_BODY.search(outer.text)) and body.end() == len(outer.text):
            # The park a 党工委/管委会 belongs to is named in it (X经开区党工委 → X经开区).
            cut = body.start() + len(body.group()) - len(re.search(_BODY_TAIL, body.group())[0])
            park = outer.text[:cut]
            if len(park) >= 4:
                out.append(
                    Mention(
                        doc_id=document.id,
                        start=outer.start,
                        end=outer.start + cut,
                        text=park,
                        type="Park",
                        rule="agency-division-park",
                        canonical=canonical_park(park),
                    )
                )
        if outer.text.endswith(("办公室", "办事处")):
            continue  # 办 inside 办公室 is no body of its own
        if outer.text[-1:] in "处科室司" and len(outer.text) > 5:
            inner = outer.text[:-1]
            for cut in range(len(inner), 3, -1):
                if inner[cut - 1] in "委局厅办部" and cut < len(inner):
                    text = outer.text[:cut]
                    canonical, _ = canonical_agency(text, DocumentContext(None, None))
                    out.append(
                        Mention(
                            doc_id=document.id,
                            start=outer.start,
                            end=outer.start + cut,
                            text=text,
                            type="Agency",
                            rule=f"name-parent:{outer.end}",
                            canonical=canonical,
                        )
                    )
                    break
    del lexicon
    return out


def _outside_home_province(
    mention: Mention, context: DocumentContext, mentioned: set[str], cities: set[str]
) -> bool:
    """A county's short form names it only near home: 云龙 in a Hunan plan is a road, not 云龙区.

    A short form that is also a frequent common word (新建, 新城, 长安) needs its own city in the
    document; a rarer one its province.
    """
    if mention.rule != "gazetteer-short" or mention.type != "County" or not mention.code:
        return False
    if context.home_city is not None:
        cities = cities | {context.home_city.code[:4]}
    if mention.code[:4] in cities:
        return False
    if jieba.dt.FREQ.get(mention.text, 0) >= _COMMON_WORD_FREQUENCY:
        return True
    provinces = set(mentioned)
    if context.home_province is not None:
        provinces.add(context.home_province.code[:2])
    return mention.code[:2] not in provinces


# jieba dictionary frequency above which a word is common in ordinary text (新建 1000, 新城 824).
_COMMON_WORD_FREQUENCY = 300


def extract_mentions(document: Document, nlp: Language | None = None) -> list[Mention]:
    """Typed mentions of one document, with canonical names resolved in its context."""
    nlp = nlp or shared_pipeline()
    sdoc = nlp(document.text)
    candidates: list[Candidate] = list(sdoc.user_data["czt.candidates"])
    title_plan = _title_plan(document)
    if title_plan:
        candidates = [
            c for c in candidates if c.end <= title_plan.start or c.start >= title_plan.end
        ]
        candidates.append(title_plan)
    context = DocumentContext.infer(document, candidates)
    mentions = [m for c in candidates if (m := _to_mention(document, c, context))]
    provinces = {m.code[:2] for m in mentions if m.code and m.rule == "gazetteer-full"}
    cities = {m.code[:4] for m in mentions if m.code and m.type == "City"}
    mentions = [m for m in mentions if not _outside_home_province(m, context, provinces, cities)]
    mentions = [m for m in mentions if "丨" not in m.text]
    if title_plan:
        for i, mention in enumerate(mentions):
            if (
                mention.rule == "generic-head"
                and mention.type == "Plan"
                and "本" in document.text[mention.start - 1 : mention.start]
            ):
                plan_name = document.text[title_plan.start : title_plan.end]
                mentions[i] = _replace(mention, canonical=normalise_name(plan_name))
    mentions = _regions_and_enumerations(document, mentions)
    mentions = _expand_group_agencies(mentions, context, document.text)
    mentions = _document_coreference(mentions)
    mentions += _nested_in_agencies(document, mentions)
    mentions = _park_short_forms(mentions)
    mentions += _name_prefixes(document, mentions)
    mentions += task_mentions(document)
    mentions.sort(key=lambda m: (m.start, m.end, m.type))
    return mentions


def extract_document(document: Document, nlp: Language | None = None) -> DocumentExtraction:
    """The per-document stage: mentions, then relation candidates between them."""
    mentions = extract_mentions(document, nlp)
    relations = extract_relations(document, mentions)
    return DocumentExtraction(
        document=document, mentions=tuple(mentions), relations=tuple(relations)
    )
