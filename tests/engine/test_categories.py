"""The category table: the report's problems are all there, coded like 数字城管, with sane deadlines."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from engine.calendar import TimeLimit
from engine.categories import CATEGORIES, Category, CategoryKind, categories_in, find_category
from engine.vocabulary import Domain, LimitUnit, Urgency

REPORT_PROBLEMS = ["违法建设", "开墙打洞", "小散乱污", "无证无照经营", "乱堆乱放", "安全隐患", "占道经营"]

COMMON_PROBLEMS = [
    "暴露垃圾",
    "积存垃圾渣土",
    "道路不洁",
    "乱贴乱画",
    "非法小广告",
    "店外经营",
    "无照游商",
    "露天烧烤",
    "机动车乱停放",
    "非机动车乱停放",
    "共享单车乱停放",
    "道路破损",
    "井盖缺失",
    "井盖破损",
    "路灯损坏",
    "护栏损坏",
    "绿地脏乱",
    "树木倒伏",
    "道路积水",
    "施工扰民",
    "违规施工",
    "工地扬尘",
    "油烟污染",
    "噪声扰民",
    "占道堆物",
    "废弃车辆",
    "消防通道堵塞",
    "电动车违规充电",
    "群租房隐患",
    "危险房屋",
]


def by_name(name_zh: str) -> Category:
    found = [c for c in CATEGORIES.values() if c.name_zh == name_zh]
    assert len(found) == 1, f"{name_zh} should be exactly one category, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("name_zh", REPORT_PROBLEMS)
def test_every_problem_the_guangning_report_names_has_a_category(name_zh: str) -> None:
    by_name(name_zh)


@pytest.mark.parametrize("name_zh", COMMON_PROBLEMS)
def test_the_common_digital_urban_management_problems_have_categories(name_zh: str) -> None:
    by_name(name_zh)


def test_the_table_is_big_enough_for_a_street_office() -> None:
    assert len(CATEGORIES) >= 45


def test_manholes_and_street_lights_are_components_and_vending_is_an_event() -> None:
    assert by_name("井盖缺失").kind is CategoryKind.COMPONENT
    assert by_name("井盖破损").kind is CategoryKind.COMPONENT
    assert by_name("路灯损坏").kind is CategoryKind.COMPONENT
    assert by_name("占道经营").kind is CategoryKind.EVENT


def test_hazards_fall_in_the_safety_domain() -> None:
    for name in ["安全隐患", "消防通道堵塞", "电动车违规充电", "群租房隐患", "危险房屋", "井盖缺失"]:
        assert by_name(name).domain is Domain.SAFETY, name


def test_codes_are_well_formed_and_agree_with_kind_and_major_class() -> None:
    pattern = re.compile(r"(?P<letter>[CE])(?P<major>\d{2})(?P<minor>\d{2})")
    for code, category in CATEGORIES.items():
        match = pattern.fullmatch(code)
        assert match, code
        assert category.code == code
        assert match["minor"] != "00", code
        assert category.major_code == code[:3]
        assert category.kind is (CategoryKind.COMPONENT if match["letter"] == "C" else CategoryKind.EVENT)


def test_codes_are_unique_and_the_table_is_in_code_order() -> None:
    codes = [c.code for c in CATEGORIES.values()]
    assert len(codes) == len(set(codes))
    assert list(CATEGORIES) == sorted(CATEGORIES)


def test_chinese_names_are_unique_within_the_table() -> None:
    names = [c.name_zh for c in CATEGORIES.values()]
    assert len(names) == len(set(names))


def test_names_are_given_in_chinese_and_english() -> None:
    han = re.compile(r"[\u4e00-\u9fff]")
    for category in CATEGORIES.values():
        assert han.search(category.name_zh) and han.search(category.major_zh), category.code
        assert category.name_en.isascii() and category.name_en.strip(), category.code
        assert category.major_en.isascii() and category.major_en.strip(), category.code


def test_a_major_class_has_one_name_across_its_categories() -> None:
    names: dict[str, set[tuple[str, str]]] = {}
    for category in CATEGORIES.values():
        names.setdefault(category.major_code, set()).add((category.major_zh, category.major_en))
    assert all(len(pairs) == 1 for pairs in names.values()), names


def test_both_kinds_have_several_major_classes() -> None:
    majors = {c.major_code for c in CATEGORIES.values()}
    assert {m for m in majors if m.startswith("C")} >= {"C01", "C02", "C03", "C04", "C05"}
    assert {m for m in majors if m.startswith("E")} >= {"E01", "E02", "E03", "E04", "E05", "E06", "E07"}


@pytest.mark.parametrize("domain", list(Domain))
def test_every_domain_has_categories_in_code_order(domain: Domain) -> None:
    chosen = categories_in(domain)
    assert chosen
    assert all(c.domain is domain for c in chosen)
    assert [c.code for c in chosen] == sorted(c.code for c in chosen)


def test_the_domains_partition_the_table() -> None:
    assert sum(len(categories_in(d)) for d in Domain) == len(CATEGORIES)


def test_limit_picks_the_limit_for_the_urgency() -> None:
    cover = by_name("井盖缺失")
    assert cover.limit(Urgency.NORMAL) is cover.normal
    assert cover.limit(Urgency.URGENT) is cover.urgent
    assert cover.urgent == TimeLimit(1, LimitUnit.CLOCK_HOURS)


def test_default_limits_match_the_kind_of_problem() -> None:
    assert by_name("乱堆乱放").normal == TimeLimit(1, LimitUnit.WORKING_DAYS)
    assert by_name("乱堆乱放").urgent == TimeLimit(2, LimitUnit.CLOCK_HOURS)
    assert by_name("违法建设").normal == TimeLimit(5, LimitUnit.WORKING_DAYS)
    assert by_name("安全隐患").normal == TimeLimit(4, LimitUnit.WORKING_HOURS)
    assert by_name("安全隐患").urgent == TimeLimit(1, LimitUnit.CLOCK_HOURS)
    assert by_name("井盖破损").urgent == TimeLimit(1, LimitUnit.CLOCK_HOURS)


def test_limits_vary_across_the_table() -> None:
    assert {c.normal.unit for c in CATEGORIES.values()} >= {LimitUnit.WORKING_DAYS, LimitUnit.WORKING_HOURS}
    assert len({c.normal for c in CATEGORIES.values()}) >= 4
    assert len({c.urgent for c in CATEGORIES.values()}) >= 4


def test_find_category_by_code() -> None:
    found = find_category("E0501")
    assert found is not None and found.name_zh == "占道经营"
    assert find_category("E9999") is None
    assert find_category("e0501") is None  # codes are exact


def test_lookups_use_a_street_table_when_given_one() -> None:
    vending = CATEGORIES["E0501"]
    own = {"E0501": replace(vending, normal=TimeLimit(2, LimitUnit.WORKING_DAYS))}
    assert find_category("E0501", own) is own["E0501"]
    assert find_category("E0101", own) is None
    assert categories_in(Domain.ORDER, own) == (own["E0501"],)
    assert categories_in(Domain.SAFETY, own) == ()


def test_the_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        CATEGORIES["X0101"] = CATEGORIES["E0501"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del CATEGORIES["E0501"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", list(CATEGORIES))
def test_every_category_round_trips_through_a_dict(code: str) -> None:
    category = CATEGORIES[code]
    assert Category.from_dict(category.to_dict()) == category


def test_a_category_dict_is_plain_json_values() -> None:
    assert CATEGORIES["E0501"].to_dict() == {
        "code": "E0501",
        "kind": "event",
        "domain": "order",
        "major_code": "E05",
        "major_zh": "街面秩序",
        "major_en": "Street order",
        "name_zh": "占道经营",
        "name_en": "Street vending occupying the road",
        "normal": {"amount": 1, "unit": "working_days"},
        "urgent": {"amount": 2, "unit": "clock_hours"},
    }


_DROP = object()  # marks a field to leave out


def _spoiled(**changes: object) -> dict[str, object]:
    data = CATEGORIES["E0501"].to_dict()
    data.update(changes)
    return {k: v for k, v in data.items() if v is not _DROP}


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (_spoiled(name_zh=_DROP), "missing name_zh"),
        (_spoiled(colour="red"), "unknown fields: colour"),
        (_spoiled(kind="thing"), "kind must be one of"),
        (_spoiled(domain="weather"), "domain must be one of"),
        (_spoiled(code="E501"), "code"),
        (_spoiled(code="E0500"), "code"),
        (_spoiled(code="C0501"), "kind"),
        (_spoiled(major_code="E06"), "major_code"),
        (_spoiled(name_en="  "), "name_en"),
        (_spoiled(name_zh=5), "name_zh"),
        (_spoiled(normal={"amount": 0, "unit": "working_days"}), "normal"),
        (_spoiled(urgent={"amount": 1, "unit": "fortnights"}), "urgent"),
        (_spoiled(urgent="2h"), "urgent"),
    ],
)
def test_a_category_from_bad_data_is_refused_with_the_reason(data: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        Category.from_dict(data)


def test_a_category_from_something_not_a_mapping_is_refused() -> None:
    with pytest.raises(ValueError, match="mapping"):
        Category.from_dict(["E0501"])  # type: ignore[arg-type]
