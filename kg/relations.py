"""Relation extraction: typed relations between the mentions of one document, each with its
evidence (sentence, offsets, rule). Rules are general sentence patterns of Chinese news and plans.
"""

from __future__ import annotations

import re
from dataclasses import replace

from kg.gazetteer import load_gazetteer
from kg.lexicon import load_lexicon
from kg.model import Document, Evidence, Mention, RelationCandidate

_NESTED_RULES = ("name-prefix", "name-parent", "agency-division")
ORG_TYPES = frozenset({"Agency", "Organization", "Park", "City", "County", "Province", "Region"})
_HEAD_TITLES = (
    "书记",
    "市长",
    "省长",
    "县长",
    "区长",
    "主任",
    "局长",
    "组长",
    "院长",
    "董事长",
    "处长",
    "部长",
    "厅长",
    "主席",
    "会长",
    "校长",
    "总经理",
)
_CO_WORDS = re.compile(r"合作|共建|对接|联手|携手|一起|协作|协同|联动|交流")
_SIGN = re.compile(r"签署|签订|共同签署|签约")
_ISSUE = re.compile(r"印发|发布|出台|编制|制定|批复|颁布|下发")
_JOIN = re.compile(r"参加|参与|举办|承办|实施|配合|落实|执行|推进|推动|加快|建设")
_CN_NUM = "一二三四五六七八九十"


def _evidence(document: Document, offset: int, rule: str) -> Evidence:
    sentence = document.sentence_at(offset)
    return Evidence(document.id, sentence.start, sentence.end, sentence.text, rule)


def _rel(
    document: Document,
    subject: Mention,
    predicate: str,
    obj: Mention,
    rule: str,
    offset: int | None = None,
    **qualifiers: str,
) -> RelationCandidate:
    return RelationCandidate(
        subject=subject,
        predicate=predicate,
        object=obj,
        evidence=_evidence(document, subject.start if offset is None else offset, rule),
        qualifiers=tuple(sorted((k, v) for k, v in qualifiers.items() if v)),
    )


def _sentence_mentions(document: Document, mentions: list[Mention]) -> list[list[Mention]]:
    groups: list[list[Mention]] = [[] for _ in document.sentences]
    i = 0
    for mention in mentions:
        while i < len(document.sentences) - 1 and mention.start >= document.sentences[i].end:
            i += 1
        groups[i].append(mention)
    return groups


def _home_mention(document: Document, mentions: list[Mention]) -> Mention | None:
    """The document's own city as a mention (for plans that speak as 我市)."""
    for mention in mentions:
        if mention.rule == "context-home-city":
            return mention
    return None


def extract_relations(document: Document, mentions: list[Mention]) -> list[RelationCandidate]:
    relations: list[RelationCandidate] = []
    all_mentions = mentions
    # Places nested in a longer name (湘潭 in 湘潭经开区) only serve the containment rules.
    mentions = [m for m in mentions if not m.rule.startswith(_NESTED_RULES)]
    home = _home_mention(document, mentions)
    for group in _sentence_mentions(document, mentions):
        relations += _people(document, group, mentions)
        relations += _cooperation(document, group, home)
        relations += _agreements(document, group)
        relations += _issued(document, group)
        relations += _participation(document, group, home, mentions)
    relations += _name_containment(document, all_mentions)
    # Divisions written inside agency names still place each other (萍乡市安源区政府).
    divisions = [m for m in all_mentions if m.rule == "agency-division"]
    relations += _hierarchy(document, sorted([*mentions, *divisions], key=lambda m: m.start))
    relations += _tasks(document, mentions, home)
    return relations


# --- people ---------------------------------------------------------------------------------


def _people(
    document: Document, group: list[Mention], all_mentions: list[Mention]
) -> list[RelationCandidate]:
    text = document.text
    lexicon = load_lexicon()
    out = []
    for person in (m for m in group if m.type == "Person"):
        if person.rule == "byline":
            line_start = text.rfind("\n", 0, person.start) + 1
            media = [
                m
                for m in group
                if m.type == "Organization" and line_start <= m.start < person.start
            ]
            role_match = re.search("|".join(lexicon.byline_roles), text[line_start : person.start])
            if media:
                out.append(
                    _rel(
                        document,
                        person,
                        "memberOf",
                        media[-1],
                        "byline-medium",
                        role=role_match.group() if role_match else "",
                    )
                )
            continue
        if person.rule != "person-after-title":
            continue
        # The chain of posts before the name, back to the clause start: 湘乡市委副书记、市长郭勇.
        clause_start = max(text.rfind(c, 0, person.start) for c in "。;；,，:：\n") + 1
        chain = text[clause_start : person.start]
        orgs = [
            m
            for m in group
            if clause_start <= m.start and m.end <= person.start and m.type in ORG_TYPES
        ]
        titles = [
            t for t in re.finditer("|".join(sorted(lexicon.titles, key=len, reverse=True)), chain)
        ]
        for title in titles:
            title_text = title.group()
            absolute = clause_start + title.start()
            if any(m.start <= absolute and absolute + len(title_text) <= m.end for m in orgs):
                continue  # 省长 inside 省长株潭一体化发展事务中心 is no post
            body = _body_of_title(title_text, absolute, orgs, all_mentions)
            if body is None:
                continue
            leads = "副" not in title_text and any(title_text.endswith(h) for h in _HEAD_TITLES)
            out.append(
                _rel(document, person, "memberOf", body, "post-before-name", role=title_text)
            )
            if leads and body.type in ("Agency", "Organization"):
                out.append(
                    _rel(document, person, "leads", body, "post-before-name", role=title_text)
                )
        # …任组长 / 任第一副组长: a post in a group named in the same sentence.
        after = text[person.end : person.end + 8]
        post = re.match(r"任(第一副组长|副组长|组长|主任|副主任|召集人|副召集人)", after)
        if post:
            groups = [
                m
                for m in group
                if m.type == "Agency" and re.search(r"(领导小组|小组|专班|委员会)$", m.canonical)
            ]
            if groups:
                role = post.group(1)
                out.append(
                    _rel(document, person, "memberOf", groups[0], "post-in-group", role=role)
                )
                if role in ("组长", "主任", "召集人"):
                    out.append(
                        _rel(document, person, "leads", groups[0], "post-in-group", role=role)
                    )
    # Titles that start a clause with no name in front of the person: 市委书记赵新文 (a body in the title).
    for person in (m for m in group if m.type == "Person" and m.rule == "person-after-title"):
        prefix = text[max(0, person.start - 6) : person.start]
        match = re.search(r"(市委|县委|区委|省委)(副?书记)$", prefix)
        if match:
            bodies = [m for m in all_mentions if m.type == "Agency" and m.text == match.group(1)]
            if bodies:
                out.append(
                    _rel(
                        document,
                        person,
                        "memberOf",
                        bodies[0],
                        "post-in-title",
                        offset=person.start,
                        role=match.group(),
                    )
                )
                if match.group(2) == "书记":
                    out.append(
                        _rel(
                            document,
                            person,
                            "leads",
                            bodies[0],
                            "post-in-title",
                            offset=person.start,
                            role=match.group(),
                        )
                    )
    return out


def _body_of_title(
    title: str, at: int, orgs: list[Mention], mentions: list[Mention]
) -> Mention | None:
    """The body a post belongs to: the unit written just before it (长沙市副市长), else the
    body the title itself names (市长 → the city government, 市委书记 → the city Party committee)."""
    before = [o for o in orgs if o.end <= at and at - o.end <= 1]
    if before:
        return before[-1]
    level = title[:1]
    if level in "省市县区" and re.match(r"^[省市县区](委|长|副|常务)", title):
        wanted = level + "委" if title[1:2] == "委" else level + "政府"
        for mention in mentions:
            if (
                mention.type == "Agency"
                and mention.text.endswith(wanted)
                and mention.text in (wanted, level + "人民政府")
            ):
                return mention
    return None


# --- cooperation, agreements, issuing, participation ------------------------------------------


def _list_after(group: list[Mention], start_index: int, text: str) -> list[Mention]:
    """Mentions joined by 、/和/及 starting at ``group[start_index]``."""
    items = [group[start_index]]
    for nxt in group[start_index + 1 :]:
        gap = text[items[-1].end : nxt.start]
        if nxt.type in ORG_TYPES and re.fullmatch(r"[、和及,，]|以及|与", gap):
            items.append(nxt)
        else:
            break
    return items


def _cooperation(
    document: Document, group: list[Mention], home: Mention | None
) -> list[RelationCandidate]:
    text = document.text
    out = []
    orgs = [m for m in group if m.type in ORG_TYPES]
    for i, left in enumerate(orgs):
        if i + 1 >= len(orgs):
            break
        right = orgs[i + 1]
        connector = text[left.end : right.start]
        if connector not in ("与", "和", "同", "跟"):
            continue
        partners = _list_after(orgs, i + 1, text)
        tail = text[partners[-1].end : document.sentence_at(left.start).end]
        if not _CO_WORDS.search(tail[:60]) and not _SIGN.search(tail[:40]):
            continue
        for partner in partners:
            out.append(_rel(document, left, "cooperatesWith", partner, "A与B合作"))
    # 联合A、B、C争创… / 推动与X合作 / 加强与X的联络对接: the speaking party with each.
    if home is not None:
        for m in re.finditer(
            r"联合|(?:推动|加强|深化|推进)与",
            text[
                document.sentence_at(group[0].start).start : document.sentence_at(
                    group[0].start
                ).end
            ]
            if group
            else "",
        ):
            base = document.sentence_at(group[0].start).start
            pos = base + m.end()
            following = [o for o in orgs if o.start == pos]
            if not following:
                continue
            idx = orgs.index(following[0])
            partners = _list_after(orgs, idx, text)
            if m.group() == "联合" or _CO_WORDS.search(
                text[partners[-1].end : partners[-1].end + 60]
            ):
                for partner in partners:
                    out.append(
                        _rel(
                            document,
                            home,
                            "cooperatesWith",
                            partner,
                            "联合A、B" if m.group() == "联合" else "推动与X合作",
                            offset=partner.start,
                        )
                    )
    return out


def _agreements(document: Document, group: list[Mention]) -> list[RelationCandidate]:
    text = document.text
    out = []
    for agreement in (m for m in group if m.type == "Agreement"):
        clause_start = max(text.rfind(c, 0, agreement.start) for c in "。;；,，\n") + 1
        signs = list(_SIGN.finditer(text, clause_start, agreement.start))
        sign = signs[-1] if signs else None
        if sign is None:
            continue
        parties = [
            m
            for m in group
            if m.type in ORG_TYPES and clause_start <= m.start and m.end <= sign.start()
        ]
        # In "A在B签订…", B is the place, not a party.
        parties = [p for p in parties if text[max(0, p.start - 1) : p.start] != "在"]
        for party in parties:
            out.append(_rel(document, party, "partyTo", agreement, "A与B签署协议"))
        for i, a in enumerate(parties):
            for b in parties[i + 1 :]:
                if text[a.end : b.start] in ("与", "和", "同"):
                    out.append(_rel(document, a, "cooperatesWith", b, "co-signers"))
    return out


def _issued(document: Document, group: list[Mention]) -> list[RelationCandidate]:
    text = document.text
    out = []
    for plan in (m for m in group if m.type == "Plan"):
        clause_start = max(text.rfind(c, 0, plan.start) for c in "。;；\n") + 1
        verbs = list(_ISSUE.finditer(text, clause_start, plan.start))
        if not verbs:
            continue
        verb = verbs[-1]
        issuers = [
            m
            for m in group
            if m.type in ORG_TYPES and clause_start <= m.start and m.end <= verb.start()
        ]
        if issuers:
            out.append(
                _rel(
                    document, plan, "issuedBy", issuers[-1], "X印发《Y》", offset=issuers[-1].start
                )
            )
    return out


def _in_list_with(text: str, earlier: Mention, later: Mention) -> bool:
    """Whether ``later`` follows ``earlier`` in a 、-list (each item may end in 建设/工作)."""
    between = text[earlier.end : later.start]
    return bool(re.fullmatch(r"(?:建设|工作)?[”]?、[“]?", between))


def _names_before(window: str, verb: re.Match[str], group: list[Mention], offset: int) -> bool:
    """X建设 where X is a name: the noun "building of X", not the verb "to build"."""
    at = offset + verb.start()
    return verb.group() == "建设" and any(m.end == at for m in group)


def _clause_start(text: str, at: int, floor: int) -> int:
    marks = [text.rfind(mark, floor, at) for mark in "，,；;：:"]
    return max([floor, *[m + 1 for m in marks if m >= 0]])


def _subject_before(
    document: Document, group: list[Mention], verb_at: int, *, openers: bool = True
) -> Mention | None:
    """Who does what the verb at ``verb_at`` says: the first name of its clause, else a name
    opening an earlier clause of the sentence (湘潭市以…编制…,正在部署推动…); never a partner
    introduced by 与/同/和."""
    text = document.text
    sentence_start = document.sentence_at(verb_at).start
    clause_start = _clause_start(text, verb_at, sentence_start)

    def usable(m: Mention) -> bool:
        return (
            m.type in ORG_TYPES
            and m.end <= verb_at
            and not re.search(r"[与同和及跟对]$", text[max(0, m.start - 1) : m.start])
        )

    in_clause = [m for m in group if usable(m) and clause_start <= m.start]
    if in_clause:
        return in_clause[0]
    if not openers:
        return None
    opening = [
        m
        for m in group
        if usable(m)
        and sentence_start <= m.start < clause_start
        and (m.start == sentence_start or text[m.start - 1] in "，,：:")
        and m.type in ("City", "County", "Agency", "Park", "Organization")
    ]
    return opening[-1] if opening else None


def _paragraph_topic(document: Document, mentions: list[Mention], at: int) -> Mention | None:
    """The first city or county a paragraph names: what its sentences are about."""
    text = document.text
    start = text.rfind("\n", 0, at) + 1
    # Only a paragraph that opens with its place is about it (长沙市副市长彭涛介绍,长沙将…).
    places = [m for m in mentions if start == m.start < at and m.type in ("City", "County")]
    if not places and start > 0:
        # A short heading line above the paragraph (株洲——发挥“厂所结合”优势…) names it.
        heading_start = text.rfind("\n", 0, start - 1) + 1
        if start - heading_start <= 40:
            places = [
                m for m in mentions if heading_start == m.start and m.type in ("City", "County")
            ]
    return places[0] if places else None


def _participation(
    document: Document, group: list[Mention], home: Mention | None, mentions: list[Mention]
) -> list[RelationCandidate]:
    text = document.text
    out = []
    subject_of: dict[Mention, Mention] = {}
    for target in (m for m in group if m.type in ("Event", "Organization", "Project", "Plan")):
        sentence_start = document.sentence_at(target.start).start
        window_start = max(sentence_start, target.start - 12)
        window = text[window_start : target.start]
        join = [
            m
            for m in _JOIN.finditer(window)
            if not _names_before(window, m, group, window_start)
            and (m.group() != "利用" or target.type == "Event")  # 利用…洽谈周等平台
        ]
        subject: Mention | None = None
        predicate = "participatesIn"
        if join:
            if re.search(r"组建|加入", window) and target.type == "Organization":
                predicate = "memberOf"
            verb_at = window_start + join[-1].start()
            subject = _subject_before(document, group, verb_at, openers=target.type == "Project")
            if subject is None and (
                target.type == "Project" or re.search(r"参与|参加|组建|搭建", join[-1].group())
            ):
                # 积极参与组建…联盟 with no subject in the sentence: the paragraph's place.
                subject = _paragraph_topic(document, mentions, target.start)
            if subject is None and target.type in ("Plan", "Event"):
                subject = home  # 我市, the implicit subject of a city's work plan
        else:
            # The next items of a list share the first one's subject: 推进A建设、B建设、C建设.
            earlier = [t for t in subject_of if _in_list_with(text, t, target)]
            if earlier:
                subject = subject_of[earlier[-1]]
        if subject is not None and subject is not target and subject.type != target.type:
            subject_of[target] = subject
            out.append(_rel(document, subject, predicate, target, "X参加Y", offset=target.start))
    for target in (m for m in group if m.type == "Organization"):
        before = text[max(0, target.start - 6) : target.start]
        if re.search(r"加入$", before):
            clause_start = _clause_start(
                text, target.start, document.sentence_at(target.start).start
            )
            members = [
                m
                for m in group
                if m.type in ("Park", "Agency", "Organization", "City", "County")
                and clause_start <= m.start
                and m.end <= target.start - 2
            ]
            # The joiners are the clause's first name and the names listed with it (A、B等).
            joined = members[:1]
            for member in members[1:]:
                if _in_list_with(text, joined[-1], member):
                    joined.append(member)
            for member in joined:
                out.append(
                    _rel(
                        document,
                        member,
                        "memberOf",
                        target,
                        "X加入Y",
                        offset=target.start,
                        role="成员",
                    )
                )
    return out


# --- names and the administrative hierarchy --------------------------------------------------


def _name_containment(document: Document, mentions: list[Mention]) -> list[RelationCandidate]:
    """A park or project named after a place: 湘乡经开区 partOf 湘乡市; 湘潭港码头项目 locatedIn 湘潭市;
    天易经开区轨道交通配套产业园 partOf 天易经开区 (and the next item of the same list)."""
    out = []
    by_span = {(m.start, m.end): m for m in mentions}
    for inner in (m for m in mentions if m.rule.startswith("name-parent")):
        outer = by_span.get((inner.start, int(inner.rule.split(":")[1])))
        if outer is not None:
            out.append(_rel(document, outer, "partOf", inner, "sub-unit-name"))
    containers: dict[tuple[int, int], list[Mention]] = {}
    for inner in (m for m in mentions if m.rule.startswith("name-prefix")):
        key = (inner.start, int(inner.rule.split(":")[1]))
        containers.setdefault(key, []).append(inner)
    rank = {"Park": 0, "County": 1, "City": 2, "Region": 3}
    for key, inners in sorted(containers.items()):
        outer = by_span.get(key)
        if outer is None:
            continue
        # A province-wide brand (湖南健康产业园) says nothing about where the park is.
        inners = [m for m in inners if m.type != "Province"]
        if outer.type == "Park":
            # 长株潭… parks: a multi-city brand, not the park's parent.
            starting = [m for m in inners if m.start == outer.start and m.type != "Region"]
            for inner in sorted(starting, key=lambda m: rank.get(m.type, 9))[:1]:
                out.append(_rel(document, outer, "partOf", inner, "name-prefix"))
            for inner in inners:
                if inner.start > outer.start and document.text[inner.start - 1] == "(":
                    out.append(_rel(document, outer, "locatedIn", inner, "name-parenthesis"))
        elif outer.type == "Project":
            # A multi-city brand (长株潭城际铁路) names the region the project serves, not a site.
            for inner in (m for m in inners if m.type != "Region"):
                out.append(_rel(document, outer, "locatedIn", inner, "name-prefix"))
    # A list continuation: "X经开区A产业园、B产业园" → B partOf X经开区 as well.
    text = document.text
    parks = [m for m in mentions if m.type == "Park" and not m.rule.startswith("name-prefix")]
    for prev, cur in zip(parks, parks[1:], strict=False):
        if text[prev.end : cur.start] == "、":
            parents = [
                r.object
                for r in out
                if r.subject == prev and r.predicate == "partOf" and r.object.type == "Park"
            ]
            for parent in parents:
                if not cur.canonical.startswith(parent.canonical[:2]):
                    out.append(_rel(document, cur, "partOf", parent, "list-continuation"))
    return out


def _same_sentence(document: Document, child: Mention, mentions: list[Mention], code: str) -> bool:
    sentences = {document.sentence_at(m.start).start for m in mentions if m.code == child.code}
    return any(
        m.code == code and document.sentence_at(m.start).start in sentences for m in mentions
    )


def _hierarchy(document: Document, mentions: list[Mention]) -> list[RelationCandidate]:
    """Administrative hierarchy between divisions named in the same document (gazetteer codes)."""
    gazetteer = load_gazetteer()
    first: dict[str, Mention] = {}
    for mention in mentions:
        if mention.code and not mention.expands_to and mention.code not in first:
            first[mention.code] = mention
    out = []
    for code, child in sorted(first.items()):
        division = gazetteer.by_code(code)
        if division is None:
            continue
        for ancestor in gazetteer.ancestors(division)[:1]:
            parent = first.get(ancestor.code)
            if parent is None or parent.canonical == child.canonical:
                continue
            # That a city lies in its province goes without saying; a text only states it when
            # it names both together (湖南省株洲市).
            if ancestor.level == "province" and not _same_sentence(
                document, child, mentions, ancestor.code
            ):
                continue
            out.append(_rel(document, child, "partOf", parent, "gazetteer-hierarchy"))
    return out


# --- work-plan tasks -------------------------------------------------------------------------

_LEVEL1 = re.compile(rf"^([{_CN_NUM}]+)、(.+)$", re.M)
_LEVEL2 = re.compile(rf"^[(（]([{_CN_NUM}]+)[)）](.+)$", re.M)
_LEVEL3 = re.compile(r"^(\d+)[.．、]([^。\n]{2,40}?)。", re.M)


def task_mentions(document: Document) -> list[Mention]:
    """One Task mention per numbered task of a work plan (二.(一).1 着力产业创新协力协同)."""
    text = document.text
    heads = sorted(
        [(m.start(), 1, m.group(1)) for m in _LEVEL1.finditer(text)]
        + [(m.start(), 2, m.group(1)) for m in _LEVEL2.finditer(text)]
    )
    tasks = []
    for match in _LEVEL3.finditer(text):
        level1 = next((h[2] for h in reversed(heads) if h[0] < match.start() and h[1] == 1), None)
        level2 = next((h for h in reversed(heads) if h[0] < match.start() and h[1] == 2), None)
        if level1 is None:
            continue
        parts = [level1]
        if level2 is not None and (
            not heads or level2[0] > max(h[0] for h in heads if h[1] == 1 and h[0] < match.start())
        ):
            parts.append(f"({level2[2]})")
        parts.append(match.group(1))
        number = ".".join(parts)
        title = match.group(2).strip()
        tasks.append(
            Mention(
                doc_id=document.id,
                start=match.start(2),
                end=match.start(2) + len(title),
                text=title,
                type="Task",
                rule="numbered-task",
                canonical=f"{number} {title}",
            )
        )
    return tasks


def _tasks(
    document: Document, mentions: list[Mention], home: Mention | None
) -> list[RelationCandidate]:
    tasks = [m for m in mentions if m.type == "Task"]
    if not tasks:
        return []
    text = document.text
    gazetteer = load_gazetteer()
    out = []
    counties = _home_counties(mentions, gazetteer)
    for i, task in enumerate(tasks):
        end = tasks[i + 1].start if i + 1 < len(tasks) else len(text)
        for lst in re.finditer(
            r"[(（](责任单位|牵头单位|配合单位)[:：]([^()（）]*)[)）]", text[task.start : end]
        ):
            lst_start = task.start + lst.start()
            lst_end = task.start + lst.end()
            role = {"牵头单位": "牵头", "配合单位": "配合"}.get(lst.group(1), "")
            for unit in (
                m for m in mentions if lst_start <= m.start < lst_end and m.type in ORG_TYPES
            ):
                out.append(
                    _rel(
                        document,
                        unit,
                        "responsibleFor",
                        task,
                        "责任单位",
                        offset=lst_start,
                        role=role,
                    )
                )
            if "各县市区" in lst.group(2):
                for county in counties:
                    out.append(
                        _rel(
                            document,
                            county,
                            "responsibleFor",
                            task,
                            "责任单位:各县市区",
                            offset=lst_start,
                            role=role,
                        )
                    )
    return out


def _home_counties(mentions: list[Mention], gazetteer) -> list[Mention]:
    home = next((m for m in mentions if m.rule == "context-home-city" and m.code), None)
    if home is None:
        return []
    seen: dict[str, Mention] = {}
    for mention in mentions:
        if mention.type == "County" and mention.code and not mention.expands_to:
            division = gazetteer.by_code(mention.code)
            if division and division.parent_code == home.code and mention.code not in seen:
                seen[mention.code] = replace(mention)
    return [seen[c] for c in sorted(seen)]
