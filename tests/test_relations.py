"""Relation rules on small written texts (general constructions of Chinese news, plans and
official replies; the names here are chosen to differ from the corpus and the gold)."""

from __future__ import annotations

from kg.clean import split_sentences
from kg.extract import extract_mentions
from kg.model import Document, Mention
from kg.relations import _list_after, extract_relations


def _doc(text: str, title: str = "测试") -> Document:
    return Document(id="t", path="t.txt", title=title, text=text, sentences=split_sentences(text))


def _relations(text: str, title: str = "测试") -> set[tuple[str, str, str]]:
    """(subject, predicate, object) canonical names, enumerations expanded; cooperatesWith
    sorted, as it is symmetric."""
    document = _doc(text, title)
    found = set()
    for rel in extract_relations(document, extract_mentions(document)):
        for s in rel.subject.expands_to or (rel.subject.canonical,):
            for o in rel.object.expands_to or (rel.object.canonical,):
                if s == o:
                    continue
                if rel.predicate == "cooperatesWith":
                    s, o = sorted((s, o))
                found.add((s, rel.predicate, o))
    return found


def _co(a: str, b: str) -> tuple[str, str, str]:
    s, o = sorted((a, b))
    return (s, "cooperatesWith", o)


def test_every_pair_of_co_signers_cooperates() -> None:
    rels = _relations(
        "衡阳市商务局、邵阳市商务局、永州市商务局与省商务厅共同签署《湘南产业转移合作备忘录》。"
    )
    bodies = ["衡阳市商务局", "邵阳市商务局", "永州市商务局"]
    for body in bodies:
        assert (body, "partyTo", "湘南产业转移合作备忘录") in rels
    for i, a in enumerate(bodies):
        for b in bodies[i + 1 :]:
            assert _co(a, b) in rels
    assert any(r[1] == "cooperatesWith" and "商务厅" in r[0] + r[2] for r in rels)


def test_cities_naming_a_body_are_no_parties() -> None:
    rels = _relations("去年,衡阳、邵阳、永州三市商务局签订《湘南商贸流通合作协议》。")
    assert not any(r[1] == "partyTo" and r[0] in ("衡阳市", "邵阳市") for r in rels)


def test_reply_speaks_for_the_body_that_signs_it() -> None:
    text = (
        "关于省人大代表建议的答复\n"
        "今年以来,我厅会同岳阳市水利局、常德市水利局开展洞庭湖堤防联合巡查。"
        "我厅与省财政厅联合印发《关于加强堤防管护的通知》。\n"
        "感谢您对水利工作的关心。\n"
        "湖南省水利厅\n"
    )
    rels = _relations(text)
    # (The first body after 会同 is not yet recognised as an agency by extraction; the list
    # rule leaves its bare city out instead of pairing the wrong entity.)
    assert _co("湖南省水利厅", "常德市水利局") in rels
    assert _co("湖南省水利厅", "岳阳市") not in rels
    assert any(r[1] == "cooperatesWith" and "财政厅" in r[0] + r[2] for r in rels)


def test_subject_carried_over_to_a_clause_with_yu() -> None:
    rels = _relations("常德市是湘北重要城市,与益阳市、岳阳市在文化旅游领域开展深度合作。")
    assert _co("常德市", "益阳市") in rels
    assert _co("常德市", "岳阳市") in rels


def test_collective_subject_not_paired_in_carried_over_clause() -> None:
    # 三市 as a subject stands for all three together: no pairs are asserted from it.
    rels = _relations("下一步,衡邵永三市还将加强协作,并与广东省韶关市开展交流合作。")
    assert not any(r[1] == "cooperatesWith" and "韶关市" in r for r in rels)


def test_pursue_with_x_cooperates_without_a_cooperation_word() -> None:
    rels = _relations("岳阳市副市长刘志强表示,岳阳将加快推进与荆州、九江的港口航线对接开行。")
    assert _co("岳阳市", "荆州市") in rels
    assert _co("岳阳市", "九江市") in rels


def test_party_committee_and_government_act_together() -> None:
    rels = _relations("11月5日,衡阳市委、市政府召开全市产业发展大会。")
    assert any(
        r[1] == "cooperatesWith" and "衡阳市委" in (r[0], r[2]) and "政府" in r[0] + r[2]
        for r in rels
    )


def test_compound_title_places_the_person_in_the_city() -> None:
    rels = _relations("岳阳市委常委、副市长王建国出席签约仪式并讲话。")
    assert ("王建国", "memberOf", "岳阳市") in rels


def test_district_party_secretary() -> None:
    rels = _relations("会上,雨花区委书记周明辉作了发言。")
    assert ("周明辉", "memberOf", "雨花区") in rels


def test_post_chain_stops_at_the_previous_person() -> None:
    rels = _relations(
        "岳阳经开区与常德经开区签约共建“岳常协作产业园”。"
        "岳阳经开区党工委书记张伟与常德经开区党工委副书记刘海波代表双方签署《岳常园区合作协议》。"
    )
    assert ("张伟", "memberOf", "岳阳经济技术开发区") in rels
    assert ("刘海波", "memberOf", "常德经济技术开发区") in rels
    assert not any(r[0] == "刘海波" and "岳阳" in r[2] for r in rels)
    assert ("岳阳经济技术开发区", "partyTo", "岳常园区合作协议") in rels
    assert ("岳阳经济技术开发区", "participatesIn", "岳常协作产业园") in rels
    assert ("常德经济技术开发区", "participatesIn", "岳常协作产业园") in rels


def test_city_mayor_of_a_plan_is_the_plans_city() -> None:
    text = (
        "益阳市融入长株潭都市圈2025年工作方案\n"
        "我市将深化合作。市一体化工作领导小组由市长陈光明任组长。"
    )
    rels = _relations(text, title="益阳市融入长株潭都市圈2025年工作方案")
    assert ("陈光明", "memberOf", "益阳市") in rels
    assert any(r[0] == "陈光明" and r[1] == "leads" and r[2].endswith("领导小组") for r in rels)


def test_correspondent_after_reporters_is_not_staff() -> None:
    rels = _relations("湖南日报记者 王小明 通讯员 李华东\n岳阳市召开会议。")
    assert ("王小明", "memberOf", "湖南日报") in rels
    assert not any(r[0] == "李华东" for r in rels)


def test_passive_issuing_of_the_plan_named_before() -> None:
    rels = _relations(
        "衡阳市认真落实《湘南湘西承接产业转移示范区总体方案》。该方案由国家发展改革委印发。"
    )
    assert ("湘南湘西承接产业转移示范区总体方案", "issuedBy", "国家发展改革委") in rels


def test_issuing_verb_governs_the_first_title_only() -> None:
    rels = _relations(
        "按照省人民政府办公厅印发的《湖南省交通强省建设纲要》和《洞庭湖生态经济区规划》的要求推进工作。"
    )
    assert not any(r[0] == "洞庭湖生态经济区规划" and r[1] == "issuedBy" for r in rels)


def test_part_of_a_larger_region() -> None:
    rels = _relations("衡邵永都市圈还是湘南城市群的重要组成部分。")
    assert ("衡邵永都市圈", "partOf", "湘南城市群") in rels


def test_extent_of_a_region_and_of_a_new_area() -> None:
    rels = _relations(
        "规划范围为衡邵永都市圈,包括衡阳市全域、邵阳市中心城区及永州市冷水滩区,面积2万平方公里。"
    )
    for place in ("衡阳市", "邵阳市", "冷水滩区"):
        assert (place, "partOf", "衡邵永都市圈") in rels
    rels = _relations("岳阳临港新区成为全省开放平台,范围涉及云溪区和君山区部分区域。")
    assert any(r[1] == "locatedIn" and r[2] == "云溪区" for r in rels)
    assert any(r[1] == "locatedIn" and r[2] == "君山区" for r in rels)


def test_cities_listed_with_their_region() -> None:
    rels = _relations("衡阳、邵阳、永州三市共同推进衡邵永都市圈建设。")
    for city in ("衡阳市", "邵阳市", "永州市"):
        assert (city, "partOf", "衡邵永都市圈") in rels
    # A bare count of the cities states no membership.
    rels = _relations("衡邵永三市召开联席会议,推进衡邵永都市圈建设。")
    assert not any(r[2] == "衡邵永都市圈" and r[1] == "partOf" for r in rels)


def test_project_lead_and_the_units_that_carry_it_out() -> None:
    rels = _relations(
        "岳阳港扩建工程列入省重点项目。工程由岳阳市交通运输局牵头,"
        "岳阳城陵矶港务集团、湖南港航投资集团具体实施。"
    )
    assert ("岳阳市交通运输局", "responsibleFor", "岳阳港扩建工程") in rels
    assert ("岳阳城陵矶港务集团", "participatesIn", "岳阳港扩建工程") in rels
    assert ("湖南港航投资集团", "participatesIn", "岳阳港扩建工程") in rels


def test_task_unit_is_the_subject_of_a_task_without_one() -> None:
    title = "益阳市推进区域协作2025年工作要点"
    text = (
        f"{title}\n一、推进公共服务共享\n"
        "1.推动文旅资源共享。与常德市文化旅游广电局、岳阳市文化旅游广电局共同组建洞庭湖区文旅协作联盟。"
        "(责任单位:市文化旅游广电局)\n"
    )
    rels = _relations(text, title=title)
    unit = next(r[0] for r in rels if r[1] == "responsibleFor")
    assert _co(unit, "常德市文化旅游广电局") in rels
    assert (unit, "participatesIn", "洞庭湖区文旅协作联盟") in rels
    assert ("岳阳市文化旅游广电局", "participatesIn", "洞庭湖区文旅协作联盟") in rels


def _m(start: int, end: int, text: str, type_: str) -> Mention:
    return Mention("t", start, end, text, type_, "test", text)


def test_lists_skip_names_cut_short_and_follow_address_chains() -> None:
    text = "与江西省萍乡市、宜春市合作"
    items = [
        _m(1, 4, "江西省", "Province"),
        _m(4, 7, "萍乡市", "City"),
        _m(8, 11, "宜春市", "City"),
    ]
    assert [m.text for m in _list_after(items, 0, text)] == ["萍乡市", "宜春市"]
    text = "与汨罗经开区签约共建"
    assert _list_after([_m(1, 3, "汨罗", "County")], 0, text) == []
