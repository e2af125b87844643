"""General rules of Chinese administrative and news writing, each on sentences of its own with
names from other provinces (none taken from the corpus or the gold)."""

from __future__ import annotations

from kg.clean import split_sentences
from kg.extract import extract_mentions
from kg.model import Document


def _mentions(text: str, title: str = "测试"):
    document = Document(
        id="t", path="t.txt", title=title, text=text, sentences=split_sentences(text)
    )
    return extract_mentions(document)


def _found(text: str, title: str = "测试") -> set[tuple[str, str]]:
    return {(m.type, m.canonical) for m in _mentions(text, title)}


def test_home_province_is_the_one_whose_cities_dominate() -> None:
    title = "佛山市与东莞市深化合作"
    text = f"{title}\n佛山、东莞两市签约,学习湖北省经验。省发改委表示支持。"
    assert ("Agency", "广东省发展和改革委员会") in _found(text, title)


def test_home_province_from_the_title_of_a_plan() -> None:
    title = "广东省推进区域合作工作方案"
    text = f"{title}\n广州市、佛山市加强合作,借鉴江西省经验。省交通运输厅牵头。"
    assert ("Agency", "广东省交通运输厅") in _found(text, title)


def test_agency_after_huitong() -> None:
    found = _found("我局会同广州市医疗保障局、联合佛山市医疗保障局推进结算。")
    assert {("Agency", "广州市医疗保障局"), ("Agency", "佛山市医疗保障局")} <= found


def test_list_of_cities_before_sanshi_body_expands() -> None:
    mentions = _mentions("佛山、东莞、惠州三市医疗保障局签订合作协议。")
    expanded = {name for m in mentions for name in m.expands_to}
    assert expanded == {"佛山市医疗保障局", "东莞市医疗保障局", "惠州市医疗保障局"}
    mentions = _mentions("广州、深圳和珠海三市发改委会商。")
    assert {name for m in mentions for name in m.expands_to} == {
        "广州市发展和改革委员会",
        "深圳市发展和改革委员会",
        "珠海市发展和改革委员会",
    }


def test_park_named_after_a_county_short_form() -> None:
    found = _found("增城经开区与从化经开区签署合作协议。增城经开区党工委书记出席。")
    assert ("Park", "增城经济技术开发区") in found
    assert ("Agency", "增城经开区党工委") in found  # the park's name as written
    assert ("Agency", "增城区经开区党工委") not in found


def test_agency_before_its_heads_title() -> None:
    found = _found("佛山市交通运输局局长王伟表示,东莞市生态环境局副局长李明介绍。")
    assert {("Agency", "佛山市交通运输局"), ("Agency", "东莞市生态环境局")} <= found
    assert {("Person", "王伟"), ("Person", "李明")} <= found


def test_directions_are_no_departments() -> None:
    found = _found("东莞市地处广东省中南部,某开发区地处东莞东部。")
    assert not any(t == "Agency" for t, _ in found)
    assert not any(t == "Person" for t, _ in found)  # 处长 read across 地处 and 长…


def test_region_names() -> None:
    found = _found("武汉城市圈与环太湖城市群、环洞庭湖经济圈合作,服务长江中游城市群建设。")
    assert {
        ("Region", "武汉城市圈"),
        ("Region", "环太湖城市群"),
        ("Region", "环洞庭湖经济圈"),
        ("Region", "长江中游城市群"),
    } <= found
    assert ("City", "武汉市") not in found
    found = _found("市民一码可游遍都市圈。所属地区:华南。")
    assert not any(t == "Region" for t, _ in found)


def test_title_plan_with_an_editorial_note() -> None:
    title = "广州市2024年重点工作要点(节选)"
    found = _found(f"{title}\n一、总体要求", title)
    assert ("Plan", "广州市2024年重点工作要点") in found


def test_industries_listed_before_a_count() -> None:
    found = _found(
        "联合广州、佛山共同培育智能家电、高端装备、生物制药三个国家级产业集群。"
        "3.共建先进制造业集群。"
    )
    assert {
        ("Industry", "智能家电"),
        ("Industry", "高端装备"),
        ("Industry", "生物制药"),
    } <= found
    assert not any(t == "Industry" and "共建" in n for t, n in found)
    # A list of towns closed by 等 is no list of industries.
    found = _found("做强石湾、九江等重点中心镇和产业特色镇。")
    assert not any(t == "Industry" for t, _ in found)


def test_jingkaiqu_abbreviates_the_park_written_in_full() -> None:
    found = _found("增城经开区党工委书记出席。增城经济开发区位于东江北岸。增城经开区将扩区。")
    parks = {n for t, n in found if t == "Park"}
    assert parks == {"增城经济开发区"}


def test_candidate_stems_are_the_lookahead_regex_matches() -> None:
    # _candidate_stems tries only the places before 两市/都市圈/一体化; the same stems as the
    # lookahead it replaces, which tries every position of the text.
    import random
    import re

    import jieba

    from kg.extract import _candidate_stems
    from kg.nlp import shared_pipeline

    shared_pipeline()  # (jieba's dictionary as extraction has it)
    lookahead = re.compile(r"(?=([\u4e00-\u9fff]{2,4})(?:[两二三四五]市|都市圈|一体化))")

    def reference(text: str) -> set[str]:
        return {
            m.group(1)
            for m in lookahead.finditer(text)
            if not any(
                text[max(0, m.start(1) - k) : m.start(1) + 1] in jieba.dt.FREQ for k in (1, 2, 3)
            )
        }

    rng = random.Random(7)
    alphabet = "长株潭两二三四五市都圈一体化湘江融城,a。"
    texts = ["推进长株潭一体化,湘江新区融入长株潭都市圈,两市共建"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    for text in texts:
        assert _candidate_stems(text) == reference(text), text
    assert "长株潭" in _candidate_stems(texts[0])
