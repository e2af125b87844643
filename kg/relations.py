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
_CO_WORDS = re.compile(r"合作|共建|对接|联手|携手|一起|协作|协同|联动|交流|联合")
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


def _author(document: Document, mentions: list[Mention]) -> Mention | None:
    """The body that signs a letter or reply: an agency standing alone on a line in the second
    half of the text (…欢迎继续提出宝贵意见。\n湖南省X局\n2024年6月20日), the 我局 of its text."""
    text = document.text
    for mention in reversed(mentions):
        if mention.type != "Agency" or mention.start < len(text) // 2:
            continue
        line_start = text.rfind("\n", 0, mention.start) + 1
        line_end = text.find("\n", mention.end)
        line_end = len(text) if line_end < 0 else line_end
        if (
            not text[line_start : mention.start].strip()
            and not text[mention.end : line_end].strip()
        ):
            return mention
    return None


def _self_references(document: Document, author: Mention) -> list[Mention]:
    """我局 / 我厅 / 我委 … in the text of the body that signs it, as mentions of that body."""
    out = []
    for match in re.finditer(r"我(局|厅|委|办|院|中心)", document.text):
        if author.canonical.endswith(match.group(1)) and match.start() < author.start:
            out.append(
                replace(
                    author,
                    start=match.start(),
                    end=match.end(),
                    text=match.group(),
                    rule="self-reference",
                )
            )
    return out


def extract_relations(document: Document, mentions: list[Mention]) -> list[RelationCandidate]:
    relations: list[RelationCandidate] = []
    all_mentions = mentions
    # Places nested in a longer name (湘潭 in 湘潭经开区) only serve the containment rules.
    mentions = [m for m in mentions if not m.rule.startswith(_NESTED_RULES)]
    home = _home_mention(document, mentions)
    author = _author(document, mentions)
    if author is not None:
        mentions = sorted([*mentions, *_self_references(document, author)], key=lambda m: m.start)
    speaker = home or author
    for group in _sentence_mentions(document, mentions):
        relations += _people(document, group, mentions, all_mentions, home)
        relations += _cooperation(document, group, speaker)
        relations += _agreements(document, group, mentions)
        relations += _issued(document, group, mentions)
        relations += _participation(document, group, home, mentions)
        relations += _projects(document, group, mentions)
        relations += _composition(document, group)
    relations += _region_members(document, mentions)
    relations += _name_containment(document, all_mentions)
    # Divisions written inside agency names still place each other (萍乡市安源区政府).
    divisions = [m for m in all_mentions if m.rule == "agency-division"]
    relations += _hierarchy(document, sorted([*mentions, *divisions], key=lambda m: m.start))
    relations += _tasks(document, mentions, home)
    return relations


# --- people ---------------------------------------------------------------------------------


def _people(
    document: Document,
    group: list[Mention],
    all_mentions: list[Mention],
    nested: list[Mention] | None = None,
    home: Mention | None = None,
) -> list[RelationCandidate]:
    text = document.text
    lexicon = load_lexicon()
    nested = nested if nested is not None else all_mentions
    out = []
    for person in (m for m in group if m.type == "Person"):
        if person.rule == "byline":
            line_start = text.rfind("\n", 0, person.start) + 1
            media = [
                m
                for m in group
                if m.type == "Organization" and line_start <= m.start < person.start
            ]
            roles = list(
                re.finditer("|".join(lexicon.byline_roles), text[line_start : person.start])
            )
            # 湖南日报记者 A 通讯员 B: a correspondent named after the medium's own reporters
            # writes for it but is not on its staff (红网时刻通讯员 A: the medium's own).
            if len(roles) > 1 and roles[-1].group() in _OUTSIDE_ROLES:
                continue
            if media:
                out.append(
                    _rel(
                        document,
                        person,
                        "memberOf",
                        media[-1],
                        "byline-medium",
                        role=roles[-1].group() if roles else "",
                    )
                )
            continue
        if person.rule != "person-after-title":
            continue
        # The chain of posts before the name, back to the clause start: 湘乡市委副书记、市长郭勇;
        # never back past another person (A书记陈某与B副书记刘某: 刘某's chain starts at 与).
        clause_start = max(text.rfind(c, 0, person.start) for c in "。;；,，:：\n") + 1
        clause_start = max(
            [
                clause_start,
                *(
                    m.end
                    for m in group
                    if m.type == "Person" and clause_start <= m.end <= person.start
                ),
            ]
        )
        chain = text[clause_start : person.start]
        orgs = [
            m
            for m in group
            if clause_start <= m.start and m.end <= person.start and m.type in ORG_TYPES
        ]
        places = [
            m
            for m in nested
            if clause_start <= m.start
            and m.end <= person.start
            and m.type in ("City", "County", "Province")
        ]
        titles = [
            t for t in re.finditer("|".join(sorted(lexicon.titles, key=len, reverse=True)), chain)
        ]
        for title in titles:
            title_text = title.group()
            absolute = clause_start + title.start()
            if any(m.start <= absolute and absolute + len(title_text) <= m.end for m in orgs):
                continue  # 省长 inside 省长株潭一体化发展事务中心 is no post
            bodies = []
            # 渌口区委书记: the title starts inside the body's name (区委 of 渌口区委).
            overlapping = [
                m for m in orgs if m.start < absolute < m.end < absolute + len(title_text)
            ]
            if overlapping:
                bodies.append(overlapping[-1])
                bodies += [p for p in places if p.start == overlapping[-1].start]
            else:
                body = _body_of_title(title_text, absolute, orgs, all_mentions, text)
                if body is None:
                    body = _division_of_title(title_text, absolute, places, home)
                if body is not None:
                    bodies.append(body)
            bodies += [p for b in list(bodies) for p in _park_of_body(b, all_mentions)]
            leads = "副" not in title_text and any(title_text.endswith(h) for h in _HEAD_TITLES)
            for body in bodies:
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


_OUTSIDE_ROLES = ("通讯员", "实习生")
_BODY_OF_PARK = re.compile(r"(党工委|管委会|工委)(、?管委会)?$")


def _park_of_body(body: Mention, mentions: list[Mention]) -> list[Mention]:
    """The park whose Party working committee or administrative committee ``body`` is
    (X经开区党工委, X高新区管委会): posts and signatures there are the park's own."""
    if body.type != "Agency" or not _BODY_OF_PARK.search(body.text):
        return []
    name = _BODY_OF_PARK.sub("", body.text)
    parks = [m for m in mentions if m.type == "Park" and m.text == name]
    return parks[:1]


def _division_of_title(
    title: str, at: int, places: list[Mention], home: Mention | None
) -> Mention | None:
    """市长 / 副区长 / 常务副县长 with no body in front: the division of that level named earlier
    in the chain (株洲市委常委、副市长X → 株洲市), else the document's own city (我市: 市长X)."""
    match = re.fullmatch(r"(?:常务)?副?([省市县区州])长", title)
    if match is None:
        return None
    level = match.group(1)
    before = [p for p in places if p.end <= at and p.canonical.endswith(level)]
    if before:
        return before[-1]
    if home is not None and home.canonical.endswith(level) and not places:
        return home
    return None


def _body_of_title(
    title: str, at: int, orgs: list[Mention], mentions: list[Mention], text: str = ""
) -> Mention | None:
    """The body a post belongs to: the unit written just before it (长沙市副市长), else the
    body the title itself names (市长 → the city government, 市委书记 → the city Party committee).
    Nothing but a space may stand between the unit and the post (not 领导小组由市长X)."""
    before = [
        o
        for o in orgs
        if o.end <= at and at - o.end <= 1 and (not text or not text[o.end : at].strip())
    ]
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


# A place name written straight before a name head it belongs to is no name of its own
# (渌口 in an unrecognised 渌口经开区, 武汉 in 武汉城市圈).
_NAME_TAIL = re.compile(
    r"(?:经开区|高新区|经济开发区|开发区|工业园|产业园|园区|新区|城市圈|城市群|都市圈|经济圈)"
)
_SUBDIVISION = {"Province": ("City", "County"), "City": ("County",)}


def _truncated(text: str, mention: Mention) -> bool:
    return bool(_NAME_TAIL.match(text, mention.end))


def _list_after(group: list[Mention], start_index: int, text: str) -> list[Mention]:
    """Mentions joined by 、/和/及 starting at ``group[start_index]``. An address chain counts
    as its last part (江西省萍乡市 → 萍乡市); a name cut short (渌口 of 渌口经开区) is left out, and
    so is an item with more words between it and the next separator (长沙市 of an unrecognised
    长沙市X局, 、株洲市X局)."""
    items = [group[start_index]]
    for nxt in group[start_index + 1 :]:
        gap = text[items[-1].end : nxt.start]
        if nxt.type not in ORG_TYPES:
            break
        if not gap and nxt.type in _SUBDIVISION.get(items[-1].type, ()):
            items[-1] = nxt
        elif re.fullmatch(r"[、和及,，]|以及|与", gap):
            items.append(nxt)
        elif re.fullmatch(r"[\u4e00-\u9fff]{1,8}[、和及]", gap) and not re.search(
            r"[与同跟和及]", gap[:-1]
        ):
            items[-1] = nxt  # the previous item only began a longer, unrecognised name
        else:
            break
    return [m for m in items if not _truncated(text, m)]


def _sentence_span(document: Document, group: list[Mention]) -> tuple[int, int]:
    sentence = document.sentence_at(group[0].start)
    return sentence.start, sentence.end


def _clause_end(text: str, at: int, limit: int) -> int:
    ends = [text.find(mark, at, limit) for mark in "，,；;。"]
    return min([limit, *[e for e in ends if e >= 0]])


_PAIR_VERBS = r"(?:加快推进|推进|推动|加强|深化|扩大|密切|拓展|强化)与"


def _cooperation(
    document: Document, group: list[Mention], home: Mention | None
) -> list[RelationCandidate]:
    text = document.text
    out: list[RelationCandidate] = []
    orgs = [m for m in group if m.type in ORG_TYPES]
    if not orgs:
        return out
    sentence_start, sentence_end = _sentence_span(document, group)
    for i, left in enumerate(orgs):
        if i + 1 >= len(orgs):
            break
        right = orgs[i + 1]
        cut = _NAME_TAIL.match(text, left.end)
        connector = text[cut.end() if cut else left.end : right.start]
        if connector not in ("与", "和", "同", "跟"):
            continue
        partners = _list_after(orgs, i + 1, text)
        last = partners[-1] if partners else right
        last_end = last.end + (
            len(tail.group()) if (tail := _NAME_TAIL.match(text, last.end)) else 0
        )
        # A name cut short (渌口 of an unrecognised 渌口经开区) takes part in nothing itself.
        parties = [left, *partners] if not _truncated(text, left) else partners
        tail_text = text[last_end:sentence_end]
        # A与B、C共同构成D: parts of a whole, not partners.
        tail_text = re.split(r"构成|组成", tail_text)[0]
        if not _CO_WORDS.search(tail_text[:60]) and not _SIGN.search(tail_text[:40]):
            continue
        if partners and parties[0] is left:
            for partner in partners:
                out.append(_rel(document, left, "cooperatesWith", partner, "A与B合作"))
        out += _joint_targets(document, group, parties, last_end)
    # The 党委 and the government of one place acting together (湘乡市委、市政府正式发文).
    for left, right in zip(orgs, orgs[1:], strict=False):
        if (
            left.type == right.type == "Agency"
            and text[left.end : right.start] == "、"
            and re.search(r"([省市县区])委$", left.text)
            and re.fullmatch(r"(.*[省市县区])?(人民)?政府", right.text)
            and left.text[-2] == right.text.replace("人民", "")[-3]
        ):
            out.append(_rel(document, left, "cooperatesWith", right, "X委、X政府"))
    # 联合A、B争创… / 会同A、B… / 推动与X合作 / ,并与X开展合作: the subject of the sentence (else
    # the speaking party: the city of a plan, the body that signs a reply) with each partner.
    sentence = text[sentence_start:sentence_end]
    for m in re.finditer(rf"联合|会同|{_PAIR_VERBS}|(?<=[,，;；])(?:并|还|也|将)?与", sentence):
        pos = sentence_start + m.end()
        following = [o for o in orgs if o.start == pos]
        if not following:
            continue
        partners = _list_after(orgs, orgs.index(following[0]), text)
        if not partners:
            continue
        verb = m.group()
        clause_tail = text[partners[-1].end : _clause_end(text, partners[-1].end, sentence_end)]
        # ,与X在…开展合作: only with a word of cooperation in the clause.
        if (
            verb.endswith("与")
            and not re.match(_PAIR_VERBS, verb)
            and not (_CO_WORDS.search(clause_tail) or _SIGN.search(clause_tail))
        ):
            continue
        subject = _subject_before(
            document, group, sentence_start + m.start(), kinds=_SUBJECT_KINDS + ("Region",)
        )
        if subject is None or subject.expands_to:
            subject = home if subject is None else None
        if subject is None or subject in partners:
            continue
        rule = {"联合": "联合A、B", "会同": "会同A、B"}.get(verb, "推动与X合作")
        for partner in partners:
            out.append(
                _rel(document, subject, "cooperatesWith", partner, rule, offset=partner.start)
            )
        out += _joint_targets(document, group, [subject, *partners], partners[-1].end)
    return out


_JOINT_BUILD = re.compile(r"共建|共同建设|合作建设|加快建设|建设|共同组建|组建|共同实施|共同打造")


def _joint_targets(
    document: Document, group: list[Mention], parties: list[Mention], after: int
) -> list[RelationCandidate]:
    """A与B共建X / 与A、B共同组建X联盟: every party takes part in the park, project or
    organisation built together, named in the same clause right after the verb."""
    text = document.text
    end = _clause_end(text, after, document.sentence_at(after).end)
    verb = _JOINT_BUILD.search(text, after, end)
    if verb is None or verb.start() - after > 12:
        return []
    targets = [
        m
        for m in group
        if m.type in ("Park", "Project", "Organization")
        and verb.end() <= m.start < end
        and not re.search(r"[，,、和与]", text[verb.end() : m.start])
        and m.start - verb.end() <= 4
    ]
    out = []
    for target in targets[:1]:
        for party in parties:
            if party.canonical != target.canonical:
                out.append(
                    _rel(
                        document, party, "participatesIn", target, "A与B共建X", offset=target.start
                    )
                )
    return out


def _agreements(
    document: Document, group: list[Mention], mentions: list[Mention] | None = None
) -> list[RelationCandidate]:
    text = document.text
    mentions = mentions if mentions is not None else group
    out = []
    for agreement in (m for m in group if m.type == "Agreement"):
        clause_start = max(text.rfind(c, 0, agreement.start) for c in "。;；,，\n") + 1
        signs = list(_SIGN.finditer(text, clause_start, agreement.start))
        sign = signs[-1] if signs else None
        if sign is None:
            continue
        before = [
            m
            for m in group
            if m.type in ORG_TYPES and clause_start <= m.start and m.end <= sign.start()
        ]
        # In "A在B签订…", B is the place, not a party; in "长沙、株洲三市X局" the cities only
        # name the bodies; a name cut short (渌口 of 渌口经开区) is no party.
        parties = [
            p
            for p in before
            if text[max(0, p.start - 1) : p.start] != "在"
            and not _names_bodies(text, p, before)
            and not _truncated(text, p)
        ]
        # A park's 党工委 or 管委会 signs for the park.
        parties = [next(iter(_park_of_body(p, mentions)), p) for p in parties]
        for party in parties:
            out.append(_rel(document, party, "partyTo", agreement, "A与B签署协议"))
        # Co-signers listed together (A、B、C与D共同签署): each pair cooperates.
        for run in _coordinated_runs(text, parties):
            for i, a in enumerate(run):
                for b in run[i + 1 :]:
                    out.append(_rel(document, a, "cooperatesWith", b, "co-signers"))
            for party in run:
                if party.expands_to:
                    # 长株潭三市X局签订…: the three bodies with one another.
                    singles = [replace(party, canonical=n, expands_to=()) for n in party.expands_to]
                    for i, a in enumerate(singles):
                        for b in singles[i + 1 :]:
                            out.append(_rel(document, a, "cooperatesWith", b, "co-signers"))
    return out


def _names_bodies(text: str, mention: Mention, others: list[Mention]) -> bool:
    """长沙、株洲、湘潭三市医疗保障局: places listed before a count of cities and a body."""
    if mention.type not in ("City", "County"):
        return False
    rest = text[mention.end : mention.end + 40]
    match = re.match(
        r"(?:、[\u4e00-\u9fff]{2,4}?)*[、和及]?[\u4e00-\u9fff]{0,4}?[两二三四五]市.", rest
    )
    return bool(match)


def _coordinated_runs(text: str, parties: list[Mention]) -> list[list[Mention]]:
    """The parties written as one coordinated list (joined by 、/与/和/同/及)."""
    runs: list[list[Mention]] = []
    for party in parties:
        if runs and re.fullmatch(r"[、与和同及]|以及", text[runs[-1][-1].end : party.start]):
            runs[-1].append(party)
        else:
            runs.append([party])
    return runs


def _issued(
    document: Document, group: list[Mention], mentions: list[Mention] | None = None
) -> list[RelationCandidate]:
    text = document.text
    out = []
    plans = [m for m in group if m.type == "Plan" and not text.startswith("〔", m.end)]
    for plan in plans:
        clause_start = max(text.rfind(c, 0, plan.start) for c in "。;；\n") + 1
        verbs = list(_ISSUE.finditer(text, clause_start, plan.start))
        if not verbs:
            continue
        verb = verbs[-1]
        # X印发的《A》和《B》: the verb governs the first title only.
        if any(verb.end() <= p.start and p.end <= plan.start for p in plans if p is not plan):
            continue
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
    # 该规划…由X印发: the plan named just before, issued by X (passive).
    for verb in _ISSUE.finditer(text, *_sentence_span(document, group)) if group else ():
        issuer = next(
            (
                m
                for m in group
                if m.type in ("Agency", "Organization")
                and m.end == verb.start()
                and text[max(0, m.start - 1) : m.start] == "由"
            ),
            None,
        )
        if issuer is None:
            continue
        sentence_start = document.sentence_at(verb.start()).start
        in_sentence = [p for p in plans if p.end <= issuer.start]
        plan = in_sentence[-1] if in_sentence else None
        if plan is None and re.match(
            r"(该|此|这一|上述)(规划|方案|计划|意见|纲要|要点|办法)", text[sentence_start:]
        ):
            earlier = [m for m in (mentions or []) if m.type == "Plan" and m.end <= sentence_start]
            plan = earlier[-1] if earlier else None
        if plan is not None:
            out.append(_rel(document, plan, "issuedBy", issuer, "由X印发", offset=issuer.start))
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


_SUBJECT_KINDS = ("City", "County", "Agency", "Park", "Organization")


def _subject_before(
    document: Document,
    group: list[Mention],
    verb_at: int,
    *,
    openers: bool = True,
    kinds: tuple[str, ...] = _SUBJECT_KINDS,
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
        and m.type in kinds
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
            if re.search(r"加入", window) and target.type == "Organization":
                predicate = "memberOf"
            verb_at = window_start + join[-1].start()
            if join[-1].group() in ("实施", "推进") and re.search(
                r"(组织|牵头|负责)$", text[max(0, verb_at - 2) : verb_at]
            ):
                predicate = "responsibleFor"  # X组织实施Y工程: X is in charge of it
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


_LEAD = re.compile(r"由(?P<lead>)|牵头|负责|统筹|组织实施")


def _projects(
    document: Document, group: list[Mention], mentions: list[Mention]
) -> list[RelationCandidate]:
    """Who runs a project and who carries it out: (该)?工程由X牵头,…,A、B、C具体实施 /
    X组织实施Y工程,推动A、B等单位…: X responsibleFor the project, A, B, C participatesIn it."""
    if not group:
        return []
    text = document.text
    start, end = _sentence_span(document, group)
    sentence = text[start:end]
    out: list[RelationCandidate] = []
    project: Mention | None = None
    lead: Mention | None = None
    match = re.match(r"(?:该|此|这一)?(工程|项目)由", sentence)
    if match:
        earlier = [
            m
            for m in mentions
            if m.type == "Project" and m.end <= start and m.canonical.endswith(match.group(1))
        ]
        project = earlier[-1] if earlier else None
        at = start + match.end()
        lead = next((m for m in group if m.start == at and m.type in ORG_TYPES), None)
        if lead is not None and not re.match(r"(牵头|负责|组织)", text[lead.end : lead.end + 2]):
            lead = None
    else:
        for verb in re.finditer(r"(组织|牵头|负责)实施", sentence):
            at = start + verb.end()
            following = [m for m in group if m.type == "Project" and 0 <= m.start - at <= 1]
            if following:
                project = following[0]
                lead = _subject_before(document, group, start + verb.start())
                break
    if project is None:
        return out
    if lead is not None and lead.type in ("Agency", "Organization"):
        out.append(_rel(document, lead, "responsibleFor", project, "X牵头Y", offset=lead.start))
    # The units that carry it out: a list before 具体实施/参与实施, or after 推动/组织/带动.
    doers: list[Mention] = []
    for verb in re.finditer(r"具体实施|负责实施|参与实施|共同实施|参与建设", sentence):
        clause_start = _clause_start(text, start + verb.start(), start)
        units = [
            m
            for m in group
            if m.type == "Organization"
            and clause_start <= m.start
            and m.end <= start + verb.start()
        ]
        doers += units
    for verb in re.finditer(r"推动|组织|带动|支持", sentence):
        at = start + verb.end()
        first = [m for m in group if m.type == "Organization" and m.start == at]
        if first and first[0].start > project.start:
            orgs = [m for m in group if m.type in ORG_TYPES]
            doers += _list_after(orgs, orgs.index(first[0]), text)
    for doer in doers:
        if doer.type == "Organization":
            out.append(_rel(document, doer, "participatesIn", project, "A具体实施Y"))
    return out


_REGION_HEADS = r"(?:都市圈|城市群|都市区|经济圈|地区|区域|经济区)"


def _composition(document: Document, group: list[Mention]) -> list[RelationCandidate]:
    """Parts of a whole: X是Y的(重要)组成部分 / A、B、C共同构成Y (partOf); X范围包括/涉及A、B、C
    (the places are part of a region; a park or project lies in them); X位于/地处Y (locatedIn)."""
    if not group:
        return []
    text = document.text
    start, end = _sentence_span(document, group)
    out: list[RelationCandidate] = []
    areas = ("Region", "City", "County", "Park", "Province")
    for match in re.finditer(r"组成部分|(?:共同)?(?:构成|组成)(?!部分)", text[start:end]):
        at = start + match.start()
        if match.group().endswith("部分"):
            # X(还)?是Y的(重要)?组成部分
            whole = [
                m
                for m in group
                if m.type in areas
                and m.end <= at
                and re.fullmatch(r"的(?:重要|有机|核心)?", text[m.end : at])
            ]
            if not whole:
                continue
            part = _subject_before(document, group, whole[0].start, kinds=areas)
            if part is None or part is whole[0] or part.type not in areas:
                continue
            if re.search(r"是|为|作为", text[part.end : whole[0].start]):
                out.append(_rel(document, part, "partOf", whole[0], "X是Y的组成部分"))
        else:
            # A与B、C共同构成Y
            after = [m for m in group if m.type in areas and m.start == start + match.end()]
            if not after:
                continue
            clause_start = _clause_start(text, at, start)
            parts = [
                m
                for m in group
                if m.type in areas
                and clause_start <= m.start
                and m.end <= at
                and not _truncated(text, m)
                and (m.start == clause_start or text[m.start - 1] in "、与和及同")
            ]
            for part in parts:
                out.append(_rel(document, part, "partOf", after[0], "A、B构成Y"))
    for match in re.finditer(
        r"范围(?:为[^,，。；]*[,，])?(?:包括|涉及|涵盖|覆盖)", text[start:end]
    ):
        at = start + match.start()
        owners = [
            m
            for m in group
            if m.type in ("Region", "Park", "Project") and m.end <= start + match.end()
        ]
        if not owners:
            continue
        owner = owners[-1]
        clause_end = _clause_end(text, start + match.end(), end)
        places = [
            m
            for m in group
            if m.type in ("City", "County") and start + match.end() <= m.start < clause_end
        ]
        for place in places:
            if owner.type == "Region":
                out.append(_rel(document, place, "partOf", owner, "范围包括", offset=place.start))
            else:
                out.append(
                    _rel(document, owner, "locatedIn", place, "范围涉及", offset=place.start)
                )
    for match in re.finditer(r"位于|地处|坐落于|落户", text[start:end]):
        at = start + match.start()
        where = [
            m
            for m in group
            if m.type in ("City", "County", "Province", "Region", "Park")
            and 0 <= m.start - (at + len(match.group())) <= 1
        ]
        subject = _subject_before(document, group, at)
        if not where or subject is None or subject.expands_to:
            continue
        if subject.type in ("Region", "City", "County") and where[0].type in ("Province", "City"):
            predicate = "partOf"
        elif subject.type in ("Park", "Project", "Organization", "Event"):
            predicate = "locatedIn"
        else:
            continue
        out.append(_rel(document, subject, predicate, where[0], "X位于Y", offset=where[0].start))
    return out


def _region_members(document: Document, mentions: list[Mention]) -> list[RelationCandidate]:
    """A region named after its cities (长株潭都市圈: 长沙, 株洲, 湘潭) holds them, when the
    document names those cities together (长株潭三市, 长沙、株洲、湘潭三市 …)."""
    from kg.extract import decompose_cities

    text = document.text
    regions: dict[str, Mention] = {}
    for mention in mentions:
        if mention.type != "Region":
            continue
        head = re.search(_REGION_HEADS + "$", mention.canonical)
        stem = mention.canonical[: head.start()] if head else ""
        cities = decompose_cities(stem) if stem else ()
        if len(cities) >= 2:
            regions.setdefault(mention.canonical, mention)
    if not regions:
        return []
    out = []
    cities_of = {
        name: tuple(
            c.name for c in decompose_cities(name[: re.search(_REGION_HEADS + "$", name).start()])
        )
        for name in regions
    }
    city_mentions = [m for m in mentions if m.type == "City"]
    for name, region in sorted(regions.items()):
        wanted = set(cities_of[name])
        together: list[Mention] = []
        # A list of the cities themselves: 长沙、株洲、湘潭 / 长沙市、株洲市、湘潭市 (a bare
        # 长株潭三市 is the region's own name for them, not a statement of membership).
        for i, first in enumerate(city_mentions):
            run = [first]
            for nxt in city_mentions[i + 1 :]:
                if re.fullmatch(r"[、和与及]", text[run[-1].end : nxt.start]):
                    run.append(nxt)
                else:
                    break
            if {m.canonical for m in run} >= wanted:
                together = [m for m in run if m.canonical in wanted]
                break
        for city in together:
            out.append(
                _rel(document, city, "partOf", region, "region-of-cities", offset=city.start)
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
    # A province inside an agency's name (湖南省X厅与长沙市X局) places nothing.
    return any(
        m.code == code
        and m.rule != "agency-division"
        and document.sentence_at(m.start).start in sentences
        for m in mentions
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
        out += _task_partners(document, mentions, task.start, end)
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


def _task_partners(
    document: Document, mentions: list[Mention], start: int, end: int
) -> list[RelationCandidate]:
    """与A局、B局共同组建X in a task of a work plan: the sentence has no subject; the unit in
    charge of the task (its first 责任单位) is the one that works with A局 and B局. Only for
    partners of the unit's own kind (agencies); cities are the plan's city's partners."""
    text = document.text
    units = re.search(r"[(（](?:责任单位|牵头单位)[:：]", text[start:end])
    if units is None:
        return []
    at = start + units.end()
    unit = next((m for m in mentions if m.start == at and m.type == "Agency"), None)
    if unit is None:
        return []
    orgs = [m for m in mentions if m.type in ORG_TYPES and start <= m.start < start + units.start()]
    out = []
    for match in re.finditer(r"(?:^|(?<=[。；;\n]))与", text[start : start + units.start()]):
        pos = start + match.end()
        first = [o for o in orgs if o.start == pos and o.type == "Agency"]
        if not first:
            continue
        partners = [p for p in _list_after(orgs, orgs.index(first[0]), text) if p.type == "Agency"]
        tail = text[partners[-1].end : _clause_end(text, partners[-1].end, end)]
        if not (_CO_WORDS.search(tail) or _JOINT_BUILD.search(tail) or re.match("共同", tail)):
            continue
        for partner in partners:
            out.append(
                _rel(document, unit, "cooperatesWith", partner, "与A共同X(任务)", offset=pos)
            )
        group = [m for m in mentions if document.sentence_at(pos).start <= m.start < end]
        out += _joint_targets(document, group, [unit, *partners], partners[-1].end)
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
