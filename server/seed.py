"""The demo street: 广宁街道 with its communities, roads, departments, people and six weeks of work.

Everything is made the way the real system makes it. The directory goes through
``server.directory``; every case and patrol is a sequence of mutations that phones would have sent,
pushed through ``server.sync.apply_push`` (so the engine decides, exactly as for a phone), with
``occurred_at`` spread over the six weeks before ``now``; photos are small JPEGs stored in the
``PhotoStore``. Random choices come from one seeded ``random.Random``: the same seed and ``now``
give the same street.

Guangning's report names no communities or roads beyond 高井路, 阜石路 and 麻峪; the communities
below are named after the area's places, the roads are plausible for it.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import CHINA_TZ, Role, Rules, Urgency
from shared import PROTOCOL_VERSION, Mutation, MutationResult, MutationStatus, PushRequest

from .auth import CurrentUser, Passwords
from .directory import create_community, create_department, create_road, create_street, create_user
from .models import CaseRow, Street, User
from .rules import load_rules
from .schemas import LineString, RoadIn, UserIn
from .sync import PhotoLookup, apply_push

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_STREET",
    "Phones",
    "SeedError",
    "SeedSummary",
    "demo_accounts",
    "jpeg",
    "new_uuid",
    "seed_demo",
]

DEMO_STREET = "广宁街道"
DEMO_PASSWORD = "guangning2026"


class SeedError(RuntimeError):
    """A seeded mutation was refused: the generator, not the server, is wrong."""


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def jpeg(rng: random.Random, tone: tuple[int, int, int], size: tuple[int, int] = (160, 120)) -> bytes:
    """A small made-up street photo: a sky, a road and a few blocks, in ``tone``."""
    image = Image.new("RGB", size, (200, 215, 230))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle((0, h // 2, w, h), fill=(110, 110, 110))
    for _ in range(5):
        x, y = rng.randrange(w), rng.randrange(h // 3, h)
        colour = tuple(max(0, min(255, c + rng.randrange(-40, 40))) for c in tone)
        draw.rectangle((x, y, x + rng.randrange(10, 40), y + rng.randrange(8, 30)), fill=colour)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


# --- phones: mutations pushed through the server's own path ------------------------------------------


class Phones:
    """One outbox per user, pushed with ``apply_push`` inside the caller's session (transaction)."""

    def __init__(self, session: Session, rules: Rules, rng: random.Random, photos: PhotoLookup | None = None):
        self.session = session
        self.rules = rules
        self.rng = rng
        self.photos = photos
        self._devices: dict[str, tuple[str, int]] = {}

    def push(
        self,
        user: CurrentUser,
        actions: Sequence[tuple[str, str, dict[str, Any], datetime]],
        received_at: datetime | None = None,
    ) -> list[MutationResult]:
        """Push ``(name, case_id, args, occurred_at)`` actions of one user; any refusal is a SeedError."""
        device, seq = self._devices.get(user.id) or (new_uuid(self.rng), 0)
        mutations = []
        for name, case_id, args, at in actions:
            seq += 1
            mutations.append(Mutation(new_uuid(self.rng), seq, name, case_id, args, at))
        self._devices[user.id] = (device, seq)
        request = PushRequest(PROTOCOL_VERSION, device, tuple(mutations))
        received = received_at or max(a[3] for a in actions)
        response = apply_push(self.session, user, request, self.rules, self.photos, now=received)
        for result, mutation in zip(response.results, mutations, strict=False):
            if result.status is not MutationStatus.APPLIED:
                what = f"{user.username} {mutation.name} on {mutation.case_id}"
                raise SeedError(f"{what}: {result.code} {result.message_en}")
        return list(response.results)

    def act(self, user: CurrentUser, name: str, case_id: str, at: datetime, **args: Any) -> None:
        self.push(user, [(name, case_id, args, at)])


# --- the street's places and people ------------------------------------------------------------------

# community, pinyin slug for usernames, its roads (name, kind); 大街 main street, 巷 alley
COMMUNITIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("高井路社区", "gaojinglu", ("高井路", "高井东街", "高井西街", "高井一巷", "高井二巷")),
    ("广宁村社区", "guangningcun", ("广宁路", "广宁大街", "广宁村东巷", "广宁村西巷", "广宁村北巷")),
    ("新立街社区", "xinlijie", ("新立街", "新立东街", "新立西巷", "新立北巷", "阜石路广宁段")),
    ("麻峪社区", "mayu", ("麻峪大街", "麻峪北路", "麻峪南路", "麻峪东巷", "麻峪西巷", "石材市场路")),
    ("东山社区", "dongshan", ("东山路", "东山南巷", "东山北巷", "林场路", "西山路")),
    ("西山机械厂社区", "jixiechang", ("机械厂路", "机械厂北巷", "热电厂路", "滨河路", "厂区南巷")),
)
_CENTRES = (
    (116.172, 39.938),
    (116.180, 39.944),
    (116.188, 39.936),
    (116.166, 39.947),
    (116.192, 39.948),
    (116.160, 39.934),
)

# department (from the report where it names one), slug, the categories it handles
DEPARTMENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "城管执法队",
        "chengguan",
        ("E0501", "E0502", "E0503", "E0201", "E0202", "E0701", "E0702", "E0703", "E0509"),
    ),
    ("广宁派出所", "paichusuo", ("E0504", "E0511", "E0510")),
    ("物业服务中心", "wuye", ("E0106", "E0107", "E0112", "C0301", "E0505", "E0410")),
    ("安全员", "anquan", ("E0401", "C0502", "E0411")),
    ("工商所", "gongshang", ("E0601", "E0602")),
    ("消防中队", "xiaofang", ("E0409", "C0105")),
    ("食药所", "shiyao", ("E0111", "E0109")),
    ("环卫所", "huanwei", ("E0101", "E0102", "E0103", "E0305")),
    ("市政养护所", "shizheng", ("C0101", "C0104", "C0201", "C0202")),
)
_POPULAR = {"E0501": 6, "E0106": 5, "E0101": 5, "E0201": 4, "E0505": 4, "E0504": 3, "E0410": 2, "E0701": 2}
_WHAT = {
    "E0501": "有商贩占道经营",
    "E0502": "商户店外经营摆放货架",
    "E0503": "有无照游商聚集",
    "E0201": "电线杆上贴满小广告",
    "E0202": "墙面有乱涂乱画",
    "E0701": "院内新搭建彩钢房",
    "E0702": "临街住宅开墙打洞",
    "E0703": "路边私搭简易棚",
    "E0509": "有人占道收购废品",
    "E0504": "机动车长期占用人行道",
    "E0511": "路口有黑车揽客",
    "E0510": "桥下有流浪人员",
    "E0106": "楼道口乱堆杂物",
    "E0107": "树上乱挂晾晒衣物",
    "E0112": "垃圾桶满溢未清运",
    "C0301": "垃圾桶破损",
    "E0505": "非机动车乱停放堵塞通道",
    "E0410": "居民从窗口拉线给电动车充电",
    "E0401": "施工围挡松动有倒塌隐患",
    "C0502": "外墙瓷砖脱落",
    "E0411": "出租院落群租存在隐患",
    "E0601": "临街门店无证无照经营",
    "E0602": "小作坊散乱污",
    "E0409": "消防通道被车辆堵塞",
    "C0105": "消火栓被撞损",
    "E0111": "餐馆油烟直排",
    "E0109": "夜间露天烧烤",
    "E0101": "路边有暴露垃圾",
    "E0102": "积存渣土未清运",
    "E0103": "路面油污不洁",
    "E0305": "运输车辆遗撒",
    "C0101": "井盖缺失",
    "C0104": "路灯不亮",
    "C0201": "路面破损坑洼",
    "C0202": "人行道板松动",
}
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国玉兰志红"


@dataclass
class Cast:
    """Who and what the simulation acts with."""

    street_id: str
    communities: dict[str, str] = field(default_factory=dict)  # name -> id
    departments: dict[str, str] = field(default_factory=dict)  # name -> id
    roads: list[dict[str, Any]] = field(default_factory=list)  # id, name, community_id, chief, points
    users: dict[str, CurrentUser] = field(default_factory=dict)  # username -> user
    stations: dict[str, CurrentUser] = field(default_factory=dict)  # community id -> coordinator
    handlers: dict[str, list[CurrentUser]] = field(default_factory=dict)  # department id -> handlers
    department_of: dict[str, str] = field(default_factory=dict)  # category -> department id
    accounts: list[tuple[str, str, str, str]] = field(default_factory=list)  # role, username, name, scope


def _person(rng: random.Random, used: set[str]) -> str:
    while True:
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.6 else "")
        if name not in used:
            used.add(name)
            return name


def _line(rng: random.Random, centre: tuple[float, float]) -> list[list[float]]:
    """A road near ``centre``: 3–5 [lon, lat] positions, 300–900 m long, gently bent."""
    lon, lat = centre[0] + rng.uniform(-0.006, 0.006), centre[1] + rng.uniform(-0.004, 0.004)
    heading = rng.uniform(0, math.pi)
    points = [[round(lon, 6), round(lat, 6)]]
    for _ in range(rng.randint(2, 4)):
        heading += rng.uniform(-0.3, 0.3)
        step = rng.uniform(0.0012, 0.0030)
        lon, lat = lon + step * math.cos(heading), lat + step * math.sin(heading) * 0.77
        points.append([round(lon, 6), round(lat, 6)])
    return points


def _current(user: User) -> CurrentUser:
    return CurrentUser.of(user)


def build_directory(session: Session, passwords: Passwords, rng: random.Random) -> Cast:
    """The street, its communities, departments, roads and one or more users for every role."""
    street = create_street(session, DEMO_STREET)
    cast = Cast(street.id)
    used: set[str] = set()

    def user(username: str, role: Role, display: str, scope: str, **where: str | None) -> CurrentUser:
        row = create_user(
            session,
            passwords,
            street.id,
            UserIn(username=username, password=DEMO_PASSWORD, role=role, display_name=display, **where),
        )
        current = _current(row)
        cast.users[username] = current
        cast.accounts.append((role.value, username, display, scope))
        return current

    user("admin", Role.ADMIN, "管理员", DEMO_STREET)
    for i in (1, 2):
        user(f"ducha{i}", Role.SUPERVISOR, f"{_person(rng, used)}(督察)", DEMO_STREET)
    user("zhihui", Role.COORDINATOR, "街道指挥中心", f"{DEMO_STREET} 指挥中心")
    for name, slug, categories in DEPARTMENTS:
        department = create_department(session, street.id, name)
        cast.departments[name] = department.id
        for code in categories:
            cast.department_of[code] = department.id
        cast.handlers[department.id] = [
            user(f"{slug}{i}", Role.HANDLER, _person(rng, used), name, department_id=department.id)
            for i in (1, 2)
        ]
    for (name, slug, roads), centre in zip(COMMUNITIES, _CENTRES, strict=True):
        community = create_community(session, street.id, name)
        cast.communities[name] = community.id
        cast.stations[community.id] = user(
            f"zhanzhang-{slug}",
            Role.COORDINATOR,
            f"{_person(rng, used)}(站长)",
            name,
            community_id=community.id,
        )
        chiefs = [
            user(f"luzhang-{slug}{i}", Role.ROAD_CHIEF, _person(rng, used), name, community_id=community.id)
            for i in (1, 2)
        ]
        for index, road_name in enumerate(roads):
            chief = chiefs[index % len(chiefs)]
            points = _line(rng, centre)
            road = create_road(
                session,
                street.id,
                RoadIn(
                    name=road_name,
                    geometry=LineString(type="LineString", coordinates=points),
                    community_id=community.id,
                    chief_id=chief.id,
                ),
            )
            cast.roads.append(
                {
                    "id": road.id,
                    "name": road_name,
                    "community_id": community.id,
                    "chief": chief,
                    "points": points,
                }
            )
    return cast


def demo_accounts(cast: Cast) -> list[tuple[str, str, str, str]]:
    """One sign-in per role (the first of each), for the table ``roadchief demo`` prints."""
    order = [r.value for r in (Role.ROAD_CHIEF, Role.COORDINATOR, Role.HANDLER, Role.SUPERVISOR, Role.ADMIN)]
    chosen: list[tuple[str, str, str, str]] = []
    for role in order:
        of_role = [a for a in cast.accounts if a[0] == role]
        # coordinators: a community's station chief (站长) and the street's command centre
        picks = of_role[:1]
        if role == Role.COORDINATOR.value:
            picks = [a for a in of_role if a[1].startswith("zhanzhang-")][:1] + [
                a for a in of_role if a[1] == "zhihui"
            ]
        chosen += picks or of_role[:1]
    return chosen


# --- the six weeks ---------------------------------------------------------------------------------


@dataclass(order=True)
class _Action:
    at: datetime
    order: int
    user: CurrentUser = field(compare=False)
    name: str = field(compare=False)
    case_id: str = field(compare=False)
    args: dict[str, Any] = field(compare=False)


class _Story:
    """The timeline of one street's six weeks, built before anything is pushed."""

    def __init__(
        self, cast: Cast, rules: Rules, rng: random.Random, now: datetime, photos: dict[str, list[str]]
    ):
        self.cast, self.rules, self.rng, self.now, self.photos = cast, rules, rng, now, photos
        self.actions: list[_Action] = []
        self._order = 0
        self.supervisors = [u for u in cast.users.values() if u.role is Role.SUPERVISOR]
        self.centre = cast.users["zhihui"]
        self.codes = sorted({*cast.department_of})
        self.weights = [_POPULAR.get(code, 1) for code in self.codes]
        self.open_targets: list[tuple[str, dict[str, Any], datetime, datetime]] = []

    def add(self, at: datetime, user: CurrentUser, name: str, case_id: str, **args: Any) -> datetime:
        self._order += 1
        self.actions.append(_Action(at, self._order, user, name, case_id, args))
        return at

    def later(self, at: datetime, low_h: float, high_h: float, daytime: bool = True) -> datetime:
        """``at`` plus a random delay; office work moves into 08:00–19:00 China time."""
        moment = at + timedelta(hours=self.rng.uniform(low_h, high_h), minutes=1)
        if daytime:
            local = moment.astimezone(CHINA_TZ)
            if local.hour >= 19:
                local = (local + timedelta(days=1)).replace(hour=8, minute=self.rng.randrange(60))
            elif local.hour < 8:
                local = local.replace(hour=8, minute=self.rng.randrange(60))
            moment = local.astimezone(at.tzinfo)
        return moment

    def photo(self, kind: str) -> list[str]:
        return [self.rng.choice(self.photos[kind])]

    # one case, from report to wherever its scenario (and the clock) leaves it
    def case(
        self,
        reporter: CurrentUser,
        road: dict[str, Any],
        at: datetime,
        scenario: str,
        patrol_id: str | None = None,
        stop: str | None = None,
    ) -> str:
        rng = self.rng
        case_id = new_uuid(rng)
        code = rng.choices(self.codes, self.weights)[0]
        urgent = rng.random() < 0.12
        args: dict[str, Any] = {
            "category": code,
            "road_id": road["id"],
            "description": f"{road['name']}{_WHAT.get(code, '发现问题')}",
            "photos": self.photo("before"),
            "location": {"lat": road["points"][0][1], "lon": road["points"][0][0]},
        }
        if urgent:
            args["urgency"] = Urgency.URGENT.value
        if patrol_id is not None:
            args["patrol_id"] = patrol_id
        first = len(self.actions)
        self.add(at, reporter, "report", case_id, **args)
        station = self.cast.stations[road["community_id"]]
        department = self.cast.department_of[code]
        limit = self.rules.categories[code].limit(Urgency.URGENT if urgent else Urgency.NORMAL)
        t = due = at
        script = _SCENARIOS[scenario]
        coordinator = station
        handler = rng.choice(self.cast.handlers[department])
        supervisor = rng.choice(self.supervisors)
        for step in script:
            if stop is not None and step == stop:
                break
            if step == "fix_on_spot":
                t = self.add(
                    self.later(t, 0.1, 0.5, daytime=False),
                    reporter,
                    step,
                    case_id,
                    note="已现场处置",
                    photos=self.photo("after"),
                )
            elif step == "escalate":
                t = self.add(
                    self.later(t, 0.5, 6), coordinator, step, case_id, reason="涉及多个部门，社区无法协调"
                )
                coordinator = self.centre
            elif step in ("dispatch", "redispatch"):
                if step == "redispatch":  # the right department this time
                    department = self.cast.department_of[code]
                    handler = rng.choice(self.cast.handlers[department])
                t = self.add(
                    self.later(t, 0.3, 5), coordinator, "dispatch", case_id, department_id=department
                )
                due = self.rules.calendar.due(t, limit)
            elif step == "wrong_dispatch":
                others = [d for d in self.cast.handlers if d != department]
                wrong = rng.choice(others)
                t = self.add(self.later(t, 0.3, 5), coordinator, "dispatch", case_id, department_id=wrong)
                handler = rng.choice(self.cast.handlers[wrong])
            elif step == "return_case":
                t = self.add(self.later(t, 0.5, 8), handler, step, case_id, reason="不属于本部门职责")
            elif step == "accept":
                t = self.add(self.later(t, 0.2, 4), handler, step, case_id)
            elif step in ("complete", "complete_late"):
                if step == "complete_late" or rng.random() < 0.12:
                    t = self.add(
                        self.later(max(t, due), 2, 40),
                        handler,
                        "complete",
                        case_id,
                        note="已处理完毕",
                        photos=self.photo("after"),
                    )
                else:
                    span = max((due - t).total_seconds() / 3600, 0.5)
                    finish = t + timedelta(hours=rng.uniform(0.15, 0.85) * span)
                    t = self.add(
                        max(finish, t + timedelta(minutes=5)),
                        handler,
                        "complete",
                        case_id,
                        note="已处理完毕",
                        photos=self.photo("after"),
                    )
            elif step == "approve":
                t = self.add(self.later(t, 0.5, 20), supervisor, step, case_id, note="现场核实，已整改")
            elif step == "reject":
                t = self.add(self.later(t, 0.5, 20), supervisor, step, case_id, reason="整改不到位，需返工")
            elif step == "cancel":
                t = self.add(self.later(t, 0.3, 6), coordinator, step, case_id, reason="经核实不属实")
            elif step == "comment":
                t = self.add(self.later(t, 0.1, 2), coordinator, step, case_id, text="已电话联系责任单位")
        if stop is not None and t > self.now:
            # a case meant to wait at ``stop`` today: the random delays (and office hours) put a
            # step before it after ``now``, where it would not have happened yet and the case
            # would wait a step early. Whole days back keep every step's time of day.
            back = timedelta(days=math.ceil((t - self.now) / timedelta(days=1)))
            self.actions[first:] = [replace(a, at=a.at - back) for a in self.actions[first:]]
            at -= back
        closes_at = t if script[-1:] == ("approve",) and stop is None else None
        if scenario in ("normal", "late", "rework", "escalated", "returned"):
            self.open_targets.append((case_id, road, at, closes_at or self.now + timedelta(days=365)))
        return case_id

    def duplicate(self, reporter: CurrentUser, at: datetime) -> None:
        """A second report of a problem already open on the same road: the station merges it."""
        merge_at = self.later(at, 0.3, 3)
        fits = [
            target
            for target in self.open_targets
            if target[1]["community_id"] == reporter.community_id
            and target[2] < at
            and target[3] > merge_at + timedelta(hours=1)
        ]
        if not fits:
            return
        target_id, road, _, _ = self.rng.choice(fits)
        case_id = new_uuid(self.rng)
        self.add(
            at,
            reporter,
            "report",
            case_id,
            category="E0106",
            road_id=road["id"],
            description=f"{road['name']}同一处问题再次上报",
            photos=self.photo("before"),
        )
        self.add(merge_at, self.cast.stations[road["community_id"]], "merge", case_id, into=target_id)

    def patrol(self, road: dict[str, Any], at: datetime, finds: bool) -> None:
        chief: CurrentUser = road["chief"]
        patrol_id = new_uuid(self.rng)
        self.add(at, chief, "start_patrol", patrol_id, road_id=road["id"])
        track = [[lat, lon] for lon, lat in road["points"]]
        walk = self.add(
            at + timedelta(minutes=self.rng.randint(8, 20)), chief, "record_points", patrol_id, points=track
        )
        findings: list[str] = []
        if finds:
            scenario = self.rng.choices(list(_CHIEF_MIX), list(_CHIEF_MIX.values()))[0]
            findings.append(
                self.case(chief, road, walk + timedelta(minutes=2), scenario, patrol_id=patrol_id)
            )
        end = walk + timedelta(minutes=self.rng.randint(10, 40))
        self.add(end, chief, "end_patrol", patrol_id, findings=findings)


# step scripts: what happens to a case after its report
_SCENARIOS: dict[str, tuple[str, ...]] = {
    "normal": ("dispatch", "accept", "complete", "approve"),
    "late": ("dispatch", "accept", "complete_late", "approve"),
    "rework": ("dispatch", "accept", "complete", "reject", "complete", "approve"),
    "returned": ("wrong_dispatch", "return_case", "redispatch", "accept", "complete", "approve"),
    "redispatched": ("wrong_dispatch", "redispatch", "accept", "complete", "approve"),
    "escalated": ("comment", "escalate", "dispatch", "accept", "complete", "approve"),
    "fixed": ("fix_on_spot", "approve"),
    "fix_rejected": ("fix_on_spot", "reject", "dispatch", "accept", "complete", "approve"),
    "cancelled": ("cancel",),
    "stuck": ("dispatch", "accept"),  # the department never reports back: overdue
    "unaccepted": ("dispatch",),
}
_CHIEF_MIX = {
    "normal": 40,
    "late": 8,
    "rework": 9,
    "returned": 6,
    "redispatched": 3,
    "escalated": 6,
    "fixed": 12,
    "fix_rejected": 2,
    "cancelled": 5,
    "stuck": 4,
    "unaccepted": 2,
}
_HOTLINE_MIX = {k: v for k, v in _CHIEF_MIX.items() if not k.startswith("fix")}
# cases whose last steps are cut off, so every open state is on the board today
_WAITING: tuple[tuple[str, str | None, float], ...] = (
    ("normal", "dispatch", 3),  # 反馈: reported, nobody has acted
    ("normal", "dispatch", 20),
    ("escalated", "dispatch", 5),  # 协调: escalated, waiting for the command centre
    ("returned", "redispatch", 30),  # 协调: returned, waiting
    ("normal", "accept", 6),  # 已派遣: waiting for the department
    ("normal", "complete", 8),  # 处置中
    ("rework", "approve", 50),  # 待督察 after a rework
    ("normal", "approve", 10),  # 待督察
    ("stuck", None, 24 * 9),  # long overdue
    ("stuck", None, 24 * 16),
)


def _schedule(story: _Story, now: datetime, days: int) -> None:
    rng, cast = story.rng, story.cast
    start = now - timedelta(days=days)
    # how often each road is walked: most twice a week or more, a few neglected back alleys
    for road in cast.roads:
        per_week = (
            rng.choice((0.3, 1.0, 2.0, 2.5, 3.0, 3.5)) if road["name"].endswith("巷") else rng.uniform(1.5, 3)
        )
        t = start + timedelta(hours=rng.uniform(0, 72))
        while t < now - timedelta(hours=2):
            day = t.astimezone(CHINA_TZ).replace(hour=rng.randint(8, 16), minute=rng.randrange(60))
            at = day.astimezone(t.tzinfo)
            if at < now - timedelta(hours=2):
                story.patrol(road, at, finds=rng.random() < 0.38)
            t += timedelta(days=rng.expovariate(per_week / 7))
    # citizens' calls (12345) taken by the stations
    for _ in range(days):
        road = rng.choice(cast.roads)
        at = story.later(start + timedelta(hours=rng.uniform(0, days * 24 - 6)), 0, 0.1)
        scenario = rng.choices(list(_HOTLINE_MIX), list(_HOTLINE_MIX.values()))[0]
        story.case(cast.stations[road["community_id"]], road, at, scenario)
    for _ in range(max(3, days // 4)):
        road = rng.choice(cast.roads)
        story.duplicate(road["chief"], start + timedelta(hours=rng.uniform(24, days * 24 - 12)))
    for scenario, stop, hours_ago in _WAITING:
        road = rng.choice(cast.roads)
        story.case(road["chief"], road, now - timedelta(hours=hours_ago), scenario, stop=stop)


@dataclass(frozen=True)
class SeedSummary:
    street_id: str
    created: bool
    cases: dict[str, int]
    patrols: int
    events: int
    accounts: list[tuple[str, str, str, str]]


# how long an outbox holds actions before the phone finds signal: chiefs walk, offices sit online
_OUTBOX_AGE = {True: timedelta(hours=3), False: timedelta(minutes=30)}


def _push_all(phones: Phones, actions: Iterable[_Action], now: datetime, rng: random.Random) -> int:
    """Push in time order, each user's actions queued in their phone's outbox as they would be.

    A queue goes out when it is old (``_OUTBOX_AGE``: a phone syncs when it can), when it is full,
    or when someone else is about to act on a case it touches (the server must have heard of the
    dispatch before the handler's accept arrives).
    """
    queues: dict[str, list[_Action]] = {}
    holder: dict[str, str] = {}  # case or patrol id -> user whose queue still holds an action on it
    pushed = 0
    clock = datetime.min.replace(tzinfo=now.tzinfo)  # the server's clock never runs backwards

    def flush(user_id: str, before: datetime) -> None:
        """Send one outbox; it reaches the server before ``before`` (whoever acts next saw it)."""
        nonlocal pushed, clock
        batch = queues.pop(user_id, [])
        if not batch:
            return
        user = batch[0].user
        # road chiefs are often out of signal for a while; offices are online
        delay = timedelta(minutes=rng.uniform(0, 40) if user.role is Role.ROAD_CHIEF else rng.uniform(0, 2))
        clock = max(clock, batch[-1].at, min(batch[-1].at + delay, before, now))
        phones.push(user, [(a.name, a.case_id, a.args, a.at) for a in batch], clock)
        for a in batch:
            if holder.get(a.case_id) == user_id:
                del holder[a.case_id]
        pushed += len(batch)

    for action in actions:
        stale = [
            u
            for u, q in queues.items()
            if q[0].at < action.at - _OUTBOX_AGE[q[0].user.role is Role.ROAD_CHIEF]
        ]
        for user_id in stale:
            flush(user_id, action.at)
        for record in (action.case_id, action.args.get("into")):
            other = holder.get(record) if isinstance(record, str) else None
            if other is not None and other != action.user.id:
                flush(other, action.at)
        queue = queues.setdefault(action.user.id, [])
        queue.append(action)
        holder[action.case_id] = action.user.id
        if len(queue) >= 100:
            flush(action.user.id, now)
    for user_id in list(queues):
        flush(user_id, now)
    return pushed


def _photo_pool(rng: random.Random, store: Any) -> dict[str, list[str]]:
    pool: dict[str, list[str]] = {"before": [], "after": []}
    for kind, tone in (("before", (150, 90, 60)), ("after", (70, 150, 80))):
        for _ in range(12):
            data = jpeg(rng, tone)
            sha = hashlib.sha256(data).hexdigest()
            if store is not None:
                store.put(sha, data)
            pool[kind].append(sha)
    return pool


def seed_demo(
    session: Session,
    passwords: Passwords,
    now: datetime,
    photo_store: Any = None,
    seed: int = 2026,
    days: int = 42,
) -> SeedSummary:
    """Create the demo street in ``session`` unless it exists; returns what it holds."""
    existing = session.scalars(select(Street).where(Street.name == DEMO_STREET)).one_or_none()
    if existing is not None:
        return _summary(
            session, existing.id, created=False, accounts=_existing_accounts(session, existing.id)
        )
    rng = random.Random(seed)
    cast = build_directory(session, passwords, rng)
    rules = load_rules(session, cast.street_id)
    story = _Story(cast, rules, rng, now, _photo_pool(rng, photo_store))
    _schedule(story, now, days)
    # what would happen after now has not happened yet
    live = sorted(a for a in story.actions if a.at <= now)
    phones = Phones(session, rules, rng, photo_store)
    _push_all(phones, live, now, rng)
    return _summary(session, cast.street_id, created=True, accounts=demo_accounts(cast))


def _existing_accounts(session: Session, street_id: str) -> list[tuple[str, str, str, str]]:
    cast = Cast(street_id)
    for user in session.scalars(select(User).where(User.street_id == street_id).order_by(User.username)):
        cast.accounts.append((user.role, user.username, user.display_name, ""))
    return demo_accounts(cast)


def _summary(session: Session, street_id: str, created: bool, accounts: list[Any]) -> SeedSummary:
    from .models import EventRow, PatrolRow

    states = Counter(
        dict(
            session.execute(
                select(CaseRow.state, func.count())
                .where(CaseRow.street_id == street_id)
                .group_by(CaseRow.state)
            ).all()
        )
    )
    patrols = session.scalar(
        select(func.count()).select_from(PatrolRow).where(PatrolRow.street_id == street_id)
    )
    events = session.scalar(select(func.count()).select_from(EventRow).where(EventRow.street_id == street_id))
    return SeedSummary(street_id, created, dict(states), int(patrols or 0), int(events or 0), accounts)
