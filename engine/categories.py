"""The coded category table: what kind of problem a case is, and its default deadlines.

Close to China's digital urban management standard (数字化城市管理, GB/T 30428 series): components
(部件, the city's physical things) and events (事件, what people do or what happens), each with a
major class (大类) and a minor class (小类). A code is the kind letter (C component, E event), the
two-digit major class and the two-digit minor class: ``E0501`` is 街面秩序 / 占道经营.

Each category belongs to one of the four domains the Guangning report names (安全, 环境, 卫生,
秩序) and carries the default 处置时限 for a normal and an urgent case. The table is data; a street
may load its own through ``Category.from_dict`` and pass it to the lookups here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from .calendar import TimeLimit
from .vocabulary import Domain, LimitUnit, Urgency

__all__ = ["CATEGORIES", "Category", "CategoryKind", "categories_in", "find_category"]


class CategoryKind(StrEnum):
    COMPONENT = "component"  # 部件
    EVENT = "event"  # 事件


_KIND_LETTER: dict[CategoryKind, str] = {CategoryKind.COMPONENT: "C", CategoryKind.EVENT: "E"}
_CODE = re.compile(r"[CE]\d{2}(?!00)\d{2}")
_FIELDS = (
    "code",
    "kind",
    "domain",
    "major_code",
    "major_zh",
    "major_en",
    "name_zh",
    "name_en",
    "normal",
    "urgent",
)
_TEXT_FIELDS = ("code", "major_code", "major_zh", "major_en", "name_zh", "name_en")
_E = TypeVar("_E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Category:
    """One 小类 with its 大类, its domain and its default deadlines per urgency."""

    code: str
    kind: CategoryKind
    domain: Domain
    major_code: str
    major_zh: str
    major_en: str
    name_zh: str
    name_en: str
    normal: TimeLimit
    urgent: TimeLimit

    def __post_init__(self) -> None:
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"category {self.code!r}: {name} must be a non-empty string")
        if not _CODE.fullmatch(self.code):
            raise ValueError(
                f"category code {self.code!r} must be C or E, a 2-digit major and a non-zero "
                "2-digit minor class, e.g. E0501"
            )
        if not isinstance(self.kind, CategoryKind):
            raise ValueError(f"category {self.code}: kind must be a CategoryKind, got {self.kind!r}")
        if not isinstance(self.domain, Domain):
            raise ValueError(f"category {self.code}: domain must be a Domain, got {self.domain!r}")
        if self.code[0] != _KIND_LETTER[self.kind]:
            raise ValueError(f"category {self.code}: the code's letter does not match kind {self.kind}")
        if self.major_code != self.code[:3]:
            raise ValueError(
                f"category {self.code}: major_code must be {self.code[:3]}, got {self.major_code}"
            )
        for name in ("normal", "urgent"):
            if not isinstance(getattr(self, name), TimeLimit):
                raise ValueError(f"category {self.code}: {name} must be a TimeLimit")

    def limit(self, urgency: Urgency) -> TimeLimit:
        """The default 处置时限 for a case of this category at ``urgency``."""
        return self.urgent if urgency is Urgency.URGENT else self.normal

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "kind": self.kind.value,
            "domain": self.domain.value,
            "major_code": self.major_code,
            "major_zh": self.major_zh,
            "major_en": self.major_en,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "normal": self.normal.to_dict(),
            "urgent": self.urgent.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Category:
        """Read the shape ``to_dict`` writes; a ValueError names the field that is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a category must be a mapping, got {type(data).__name__}")
        label = repr(data.get("code", "?"))
        missing = [name for name in _FIELDS if name not in data]
        if missing:
            raise ValueError(f"category {label} is missing {', '.join(missing)}")
        unknown = data.keys() - set(_FIELDS)
        if unknown:
            raise ValueError(f"category {label} has unknown fields: {', '.join(sorted(map(str, unknown)))}")
        kind = _enum_field(CategoryKind, data, "kind", label)
        domain = _enum_field(Domain, data, "domain", label)
        limits: dict[str, TimeLimit] = {}
        for name in ("normal", "urgent"):
            raw = data[name]
            if not isinstance(raw, Mapping):
                raise ValueError(f"category {label}: {name} must be a mapping, got {raw!r}")
            try:
                limits[name] = TimeLimit.from_dict(raw)
            except ValueError as error:
                raise ValueError(f"category {label}: {name}: {error}") from None
        texts: dict[str, str] = {}
        for name in _TEXT_FIELDS:
            value = data[name]
            if not isinstance(value, str):
                raise ValueError(f"category {label}: {name} must be a string, got {value!r}")
            texts[name] = value
        return cls(kind=kind, domain=domain, normal=limits["normal"], urgent=limits["urgent"], **texts)


def _enum_field(enum: type[_E], data: Mapping[str, object], name: str, label: str) -> _E:
    value = data[name]
    allowed = [member.value for member in enum]
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"category {label}: {name} must be one of {', '.join(allowed)}; got {value!r}")
    return enum(value)


def find_category(code: str, table: Mapping[str, Category] | None = None) -> Category | None:
    """The category with exactly this code, from ``table`` (the built-in table by default)."""
    return (CATEGORIES if table is None else table).get(code)


def categories_in(domain: Domain, table: Mapping[str, Category] | None = None) -> tuple[Category, ...]:
    """The categories of one domain, in code order."""
    chosen = CATEGORIES if table is None else table
    return tuple(sorted((c for c in chosen.values() if c.domain is domain), key=lambda c: c.code))


# --- the table ------------------------------------------------------------------------------------
# Short names keep each row on one line; the table is read far more often than the code above.
_S, _EN, _SA, _O = Domain.SAFETY, Domain.ENVIRONMENT, Domain.SANITATION, Domain.ORDER


def _wd(amount: int) -> TimeLimit:
    return TimeLimit(amount, LimitUnit.WORKING_DAYS)


def _wh(amount: int) -> TimeLimit:
    return TimeLimit(amount, LimitUnit.WORKING_HOURS)


def _ch(amount: int) -> TimeLimit:
    return TimeLimit(amount, LimitUnit.CLOCK_HOURS)


_MAJORS: dict[str, tuple[str, str]] = {
    "C01": ("公用设施", "Public utilities"),
    "C02": ("道路交通", "Roads and traffic"),
    "C03": ("市容环境", "City appearance facilities"),
    "C04": ("园林绿化", "Landscaping and greenery"),
    "C05": ("房屋土地", "Buildings and land"),
    "E01": ("市容环境", "City appearance"),
    "E02": ("宣传广告", "Advertising"),
    "E03": ("施工管理", "Construction management"),
    "E04": ("突发事件", "Emergencies and hazards"),
    "E05": ("街面秩序", "Street order"),
    "E06": ("市场监管", "Market supervision"),
    "E07": ("违法建设", "Illegal construction"),
}

# Urgent limits run on clock hours where the danger does not wait for office hours (open manholes,
# gas, collapses); elsewhere an urgent case just gets a shorter working limit.
# code, domain, 小类, minor class, normal, urgent
_ROWS: tuple[tuple[str, Domain, str, str, TimeLimit, TimeLimit], ...] = (
    # 部件 components
    ("C0101", _S, "井盖缺失", "Missing manhole cover", _wh(4), _ch(1)),
    ("C0102", _S, "井盖破损", "Broken manhole cover", _wd(1), _ch(1)),
    ("C0103", _S, "雨水箅子缺失", "Missing storm drain grate", _wh(4), _ch(1)),
    ("C0104", _S, "路灯损坏", "Broken street light", _wd(2), _wh(4)),
    ("C0105", _S, "消火栓损坏", "Damaged fire hydrant", _wd(1), _ch(2)),
    ("C0106", _S, "架空线缆损坏", "Damaged or sagging overhead cables", _wh(4), _ch(1)),
    ("C0201", _S, "道路破损", "Damaged road surface", _wd(3), _wh(4)),
    ("C0202", _S, "人行道板破损", "Broken pavement slabs", _wd(3), _wd(1)),
    ("C0203", _S, "护栏损坏", "Damaged guardrail", _wd(2), _wh(4)),
    ("C0204", _S, "交通标志损坏", "Damaged traffic sign", _wd(2), _wh(4)),
    ("C0205", _S, "交通信号灯故障", "Faulty traffic lights", _wh(4), _ch(1)),
    ("C0206", _O, "隔离墩缺损", "Damaged or missing bollards", _wd(3), _wd(1)),
    ("C0207", _EN, "公交站亭损坏", "Damaged bus shelter", _wd(3), _wd(1)),
    ("C0301", _SA, "垃圾桶破损", "Damaged rubbish bin", _wd(2), _wd(1)),
    ("C0302", _SA, "公厕设施损坏", "Damaged public toilet fixtures", _wd(2), _wh(4)),
    ("C0303", _EN, "公共座椅损坏", "Damaged public bench", _wd(3), _wd(1)),
    ("C0304", _EN, "景观灯损坏", "Broken decorative lighting", _wd(3), _wd(1)),
    ("C0401", _EN, "行道树缺损", "Damaged or missing street tree", _wd(3), _wd(1)),
    ("C0402", _EN, "绿地破损", "Damaged lawn or green space", _wd(3), _wd(1)),
    ("C0403", _EN, "树木枯死", "Dead tree", _wd(3), _wh(4)),
    ("C0404", _EN, "花坛损坏", "Damaged flower bed", _wd(3), _wd(1)),
    ("C0501", _S, "危险房屋", "Dangerous building", _wd(1), _ch(1)),
    ("C0502", _S, "外墙饰面脱落", "Facade cladding coming loose", _wh(4), _ch(1)),
    ("C0503", _S, "围墙破损", "Damaged boundary wall", _wd(3), _wh(4)),
    # 事件 events
    ("E0101", _SA, "暴露垃圾", "Exposed garbage", _wd(1), _ch(2)),
    ("E0102", _SA, "积存垃圾渣土", "Accumulated garbage and muck", _wd(1), _wh(4)),
    ("E0103", _SA, "道路不洁", "Unclean road", _wh(4), _ch(2)),
    ("E0104", _EN, "水域不洁", "Polluted waterway", _wd(2), _wd(1)),
    ("E0105", _SA, "绿地脏乱", "Littered green space", _wd(1), _wh(4)),
    ("E0106", _EN, "乱堆乱放", "Clutter and piled materials", _wd(1), _ch(2)),
    ("E0107", _EN, "乱吊挂乱晾晒", "Hanging and drying items in public view", _wd(1), _wh(4)),
    ("E0108", _SA, "废弃家具设备", "Abandoned furniture and appliances", _wd(2), _wd(1)),
    ("E0109", _EN, "露天烧烤", "Open-air barbecue", _wh(4), _ch(1)),
    ("E0110", _EN, "焚烧垃圾树叶", "Burning rubbish or leaves", _wh(2), _ch(1)),
    ("E0111", _EN, "油烟污染", "Cooking fume pollution", _wd(3), _wd(1)),
    ("E0112", _SA, "垃圾满溢", "Overflowing rubbish bins", _wh(4), _ch(2)),
    ("E0113", _SA, "动物尸体", "Animal carcass", _wh(4), _ch(2)),
    ("E0114", _SA, "公厕脏乱", "Dirty public toilet", _wd(1), _wh(4)),
    ("E0115", _EN, "噪声扰民", "Noise disturbing residents", _wd(1), _ch(2)),
    ("E0201", _EN, "非法小广告", "Illegal small advertisements", _wd(1), _wh(4)),
    ("E0202", _EN, "乱贴乱画", "Posters and graffiti", _wd(1), _wh(4)),
    ("E0203", _EN, "违规户外广告", "Unauthorised outdoor advertising", _wd(5), _wd(2)),
    ("E0204", _O, "街头散发广告", "Handing out flyers in the street", _wh(4), _ch(2)),
    ("E0205", _S, "广告牌匾破损", "Damaged shop sign or billboard", _wd(2), _ch(2)),
    ("E0206", _EN, "条幅标语乱挂", "Unauthorised banners", _wd(1), _wh(4)),
    ("E0301", _O, "施工扰民", "Construction disturbing residents", _wd(1), _ch(2)),
    ("E0302", _EN, "工地扬尘", "Dust from a construction site", _wd(1), _ch(2)),
    ("E0303", _O, "违规施工", "Non-compliant construction work", _wd(2), _wh(4)),
    ("E0304", _O, "施工占道", "Construction occupying the road", _wd(1), _wh(4)),
    ("E0305", _SA, "道路遗撒", "Spillage from vehicles on the road", _wh(4), _ch(2)),
    ("E0306", _SA, "施工废弃料", "Construction waste left behind", _wd(2), _wd(1)),
    ("E0307", _S, "无证掘路", "Unpermitted road excavation", _wd(1), _ch(2)),
    ("E0401", _S, "安全隐患", "Safety hazard", _wh(4), _ch(1)),
    ("E0402", _S, "道路积水", "Standing water on the road", _wh(4), _ch(1)),
    ("E0403", _S, "道路积雪结冰", "Snow and ice on the road", _wh(4), _ch(2)),
    ("E0404", _S, "路面塌陷", "Road surface collapse", _wh(2), _ch(1)),
    ("E0405", _S, "供水管道破裂", "Burst water main", _wh(2), _ch(1)),
    ("E0406", _S, "燃气泄漏", "Gas leak", _ch(2), _ch(1)),
    ("E0407", _SA, "下水道堵塞", "Blocked sewer", _wd(1), _ch(2)),
    ("E0408", _S, "树木倒伏", "Fallen tree", _wh(4), _ch(1)),
    ("E0409", _S, "消防通道堵塞", "Blocked fire lane", _wh(4), _ch(1)),
    ("E0410", _S, "电动车违规充电", "Unsafe e-bike charging (cables run from windows)", _wh(4), _ch(1)),
    ("E0411", _S, "群租房隐患", "Overcrowded rental flat hazard", _wd(2), _wh(4)),
    ("E0501", _O, "占道经营", "Street vending occupying the road", _wd(1), _ch(2)),
    ("E0502", _O, "店外经营", "Business spilling out of the shop", _wd(1), _wh(4)),
    ("E0503", _O, "无照游商", "Unlicensed street peddlers", _wh(4), _ch(2)),
    ("E0504", _O, "机动车乱停放", "Illegally parked motor vehicles", _wh(4), _ch(2)),
    ("E0505", _O, "非机动车乱停放", "Disorderly parked bicycles and e-bikes", _wh(4), _ch(2)),
    ("E0506", _O, "共享单车乱停放", "Disorderly parked shared bikes", _wh(4), _ch(2)),
    ("E0507", _O, "占道堆物", "Goods piled on the road", _wd(1), _ch(2)),
    ("E0508", _O, "废弃车辆", "Abandoned vehicle", _wd(5), _wd(2)),
    ("E0509", _O, "占道废品收购", "Scrap collection on the road", _wd(1), _wh(4)),
    ("E0510", _O, "流浪乞讨", "Vagrancy and begging", _wd(1), _ch(2)),
    ("E0511", _O, "黑车揽客", "Unlicensed taxis touting for fares", _wh(4), _ch(2)),
    ("E0601", _O, "无证无照经营", "Unlicensed business", _wd(5), _wd(2)),
    ("E0602", _EN, "小散乱污", "Small, scattered, disorderly and polluting businesses", _wd(5), _wd(2)),
    ("E0603", _S, "非法行医", "Illegal medical practice", _wd(2), _wh(4)),
    ("E0604", _S, "违规销售烟花爆竹", "Illegal sale of fireworks", _wh(4), _ch(1)),
    ("E0605", _SA, "违规饲养家禽家畜", "Keeping poultry or livestock in town", _wd(3), _wd(1)),
    ("E0701", _O, "违法建设", "Illegal construction", _wd(5), _wd(2)),
    ("E0702", _O, "开墙打洞", "Illegal openings in walls", _wd(5), _wd(1)),
    ("E0703", _O, "私搭乱建", "Unauthorised sheds and shacks", _wd(5), _wd(2)),
    ("E0704", _S, "违规装修", "Unauthorised structural alterations", _wd(3), _wd(1)),
    ("E0705", _EN, "侵占绿地", "Encroaching on green space", _wd(5), _wd(2)),
)


def _build(rows: Iterable[tuple[str, Domain, str, str, TimeLimit, TimeLimit]]) -> Mapping[str, Category]:
    kind_of = {letter: kind for kind, letter in _KIND_LETTER.items()}
    table: dict[str, Category] = {}
    for code, domain, name_zh, name_en, normal, urgent in rows:
        if code in table:
            raise ValueError(f"category code {code} appears twice in the table")
        major_zh, major_en = _MAJORS[code[:3]]
        table[code] = Category(
            code=code,
            kind=kind_of[code[0]],
            domain=domain,
            major_code=code[:3],
            major_zh=major_zh,
            major_en=major_en,
            name_zh=name_zh,
            name_en=name_en,
            normal=normal,
            urgent=urgent,
        )
    return MappingProxyType(dict(sorted(table.items())))


CATEGORIES: Mapping[str, Category] = _build(_ROWS)
