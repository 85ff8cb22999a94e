"""The engine's hot paths agree with the plain code they replaced, on random inputs.

``evolve`` must be ``dataclasses.replace``; patrol points must be read, refused and measured exactly
as the leg-by-leg haversine over ``Location`` objects did (the reference copies below are that code);
and the engine's machines (``engine.machine.LoopMachine``) must decide every action as transitions'
stock ``Machine`` built from the same table does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transitions import Machine, MachineError
from transitions.core import Event as StockEvent

from engine import (
    PATROL_TRIGGERS,
    Actor,
    Case,
    Event,
    Level,
    Location,
    Patrol,
    PatrolState,
    Rejection,
    Role,
    State,
    Trigger,
    apply,
    loop,
)
from engine.arguments import Refused
from engine.case import evolve
from engine.events import build_event
from engine.frozen import builder
from engine.loop import _trigger_of
from engine.machine import LoopMachine
from engine.patrol import MAX_POINTS_PER_EVENT, PATROL_MACHINE, evolve_patrol
from engine.rejection import refuse
from engine.vocabulary import RejectionCode
from engine.workflow import CASE_MACHINE, TRIGGER_ROLES, case_triggers, sources_of

from .story import (
    ADMIN,
    CATEGORY,
    CHIEF,
    COMMAND_CENTRE,
    COMMUNITY,
    DEPARTMENT,
    HANDLER,
    OTHER_DEPARTMENT,
    START,
    STATION,
    STREET,
    SUPERVISOR,
    VALID_ARGS,
)

# --- evolve is dataclasses.replace ---------------------------------------------------------

_ANY_VALUE = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(list(State)),
    st.tuples(st.text(max_size=4)),
)


def _changes(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    names = [f.name for f in fields(cls)]
    return st.dictionaries(st.sampled_from(names), _ANY_VALUE, max_size=len(names))


@given(changes=_changes(Case))
def test_evolving_a_case_is_replacing_its_fields(changes: dict[str, Any]) -> None:
    case = Case(id="case-1", street_id="s", description="占道", version=3, before_photos=("a",))
    before = case.to_dict()
    evolved = evolve(case, changes)
    assert type(evolved) is Case
    assert evolved == replace(case, **changes)
    assert all(getattr(evolved, f.name) is getattr(replace(case, **changes), f.name) for f in fields(Case))
    assert case.to_dict() == before  # the original is untouched


@given(changes=_changes(Patrol))
def test_evolving_a_patrol_is_replacing_its_fields(changes: dict[str, Any]) -> None:
    patrol = Patrol(id="p-1", street_id="s", state=PatrolState.WALKING, point_count=2)
    evolved = evolve_patrol(patrol, changes)
    assert type(evolved) is Patrol
    assert evolved == replace(patrol, **changes)
    assert patrol == Patrol(id="p-1", street_id="s", state=PatrolState.WALKING, point_count=2)


@given(values=st.fixed_dictionaries({f.name: _ANY_VALUE for f in fields(Case)}))
def test_building_a_case_is_constructing_it(values: dict[str, Any]) -> None:
    built = builder(Case)(**values)
    assert type(built) is Case
    assert built == Case(**values)
    assert all(getattr(built, name) is value for name, value in values.items())


@given(values=st.fixed_dictionaries({f.name: _ANY_VALUE for f in fields(Event)}))
def test_building_an_event_is_constructing_it(values: dict[str, Any]) -> None:
    built = build_event(**values)
    assert type(built) is Event
    assert built == Event(**values)
    with pytest.raises(AttributeError):
        built.name = "other"  # type: ignore[misc]


def test_a_builder_wants_every_field_and_runs_no_post_init() -> None:
    @dataclass(frozen=True, slots=True)
    class Checked:
        value: int
        double: int = field(init=False)

        def __post_init__(self) -> None:
            raise AssertionError("the builder's caller has checked already")

    with pytest.raises(TypeError):
        builder(Checked)(1)  # type: ignore[call-arg]
    built = builder(Checked)(1, 2)
    assert (built.value, built.double) == (1, 2)


def test_an_evolved_case_is_still_frozen_and_hashable_like_any_case() -> None:
    evolved = evolve(Case(id="c", street_id="s"), {"version": 1})
    with pytest.raises(AttributeError):
        evolved.version = 2  # type: ignore[misc]
    assert hash(evolved) == hash(Case(id="c", street_id="s", version=1))


# --- triggers and the machine's states -----------------------------------------------------


@given(name=st.one_of(st.text(max_size=16), st.sampled_from([t.value for t in Trigger])))
def test_trigger_lookup_agrees_with_the_enum(name: str) -> None:
    try:
        expected: Trigger | None = Trigger(name)
    except ValueError:
        expected = None
    event = Event("e", "c", name, CHIEF, Role.ROAD_CHIEF, START)
    assert _trigger_of(event) is expected


def test_the_machines_states_are_named_as_transitions_names_them() -> None:
    from transitions import State as StockState

    for machine in (CASE_MACHINE, PATROL_MACHINE):
        for key, state in machine.states.items():
            assert state.name == key == StockState(key).name


# --- LoopMachine decides as transitions' stock Machine does --------------------------------


def _stock_copy(machine: Machine) -> Machine:
    """transitions' stock ``Machine`` with ``machine``'s states, options and transitions (the same
    condition and callback functions), built from the machine itself so no row is left out."""
    rows = [
        {
            "trigger": name,
            "source": transition.source,
            "dest": transition.dest,
            "conditions": [c.func for c in transition.conditions if c.target],
            "unless": [c.func for c in transition.conditions if not c.target],
            "prepare": list(transition.prepare),
            "before": list(transition.before),
            "after": list(transition.after),
        }
        for name, event in machine.events.items()
        for transitions in event.transitions.values()
        for transition in transitions
    ]
    stock = Machine(
        model=None,
        states=list(machine.states),
        initial=machine.initial,
        transitions=rows,
        auto_transitions=False,
        send_event=machine.send_event,
        ignore_invalid_triggers=machine.ignore_invalid_triggers,
    )
    assert type(stock.events[rows[0]["trigger"]]) is StockEvent  # really the stock classes
    return stock


_STOCK_CASE_EVENTS = {t: _stock_copy(CASE_MACHINE).events[t.value] for t in TRIGGER_ROLES}
_STOCK_PATROL_EVENTS = {t: _stock_copy(PATROL_MACHINE).events[t.value] for t in PATROL_TRIGGERS}

_PEOPLE = [
    (CHIEF, Role.ROAD_CHIEF),
    (STATION, Role.COORDINATOR),
    (COMMAND_CENTRE, Role.COORDINATOR),
    (HANDLER, Role.HANDLER),
    (Actor("u-police", STREET, department_id=OTHER_DEPARTMENT), Role.HANDLER),
    (SUPERVISOR, Role.SUPERVISOR),
    (Actor(CHIEF.user_id, STREET), Role.SUPERVISOR),
    (ADMIN, Role.ADMIN),
]
_ARGS = st.one_of(
    st.sampled_from(list(VALID_ARGS.values())),
    st.sampled_from(
        [
            {},
            {"reason": ""},
            {"photos": ["not-a-hash"]},
            {"department_id": DEPARTMENT, "due_at": "2026-03-01T00:00:00+00:00"},
            {"points": [[39.93, 116.19], [39.94, 116.2]]},
            {"road_id": "road-jinding", "points": [[39.93, 116.19]]},
            {"nothing_found": True},
            {"points": [[91, 0]]},
        ]
    ),
)


@st.composite
def _actions(draw: st.DrawFn) -> tuple[Case | None, Event]:
    """A case and an action on it: mostly one the table allows (a source state, a role that may,
    valid arguments), so that most examples reach the conditions and effects, not the first refusal."""
    trigger = draw(st.sampled_from(case_triggers()))
    sources = sorted(sources_of(trigger))
    state = draw(st.one_of(st.sampled_from(sources), st.sampled_from([None, *State])))
    people = [p for p in _PEOPLE if p[1] in TRIGGER_ROLES[trigger]] or _PEOPLE
    actor, role = draw(st.one_of(st.sampled_from(people), st.sampled_from(_PEOPLE)))
    args = draw(st.one_of(st.just(VALID_ARGS[trigger]), _ARGS))
    case = None
    if (state is not None and trigger is not Trigger.REPORT) or draw(st.booleans()):
        case = Case(
            id="case-1",
            street_id=STREET,
            community_id=COMMUNITY,
            category_code=CATEGORY,
            reporter_id=draw(st.sampled_from([CHIEF.user_id, "u-chief-2"])),
            state=state or State.PATROL,
            level=draw(st.sampled_from(list(Level))),
            department_id=draw(st.sampled_from([None, DEPARTMENT])),
            disposer_id=draw(st.sampled_from([None, HANDLER.user_id, CHIEF.user_id])),
            after_photos=("c" * 64,),
            version=draw(st.integers(1, 9)),
        )
    at = START + timedelta(minutes=draw(st.integers(0, 60 * 24 * 9)))
    event = Event("e-1", "case-1", trigger.value, actor, role, at, args, received_at=at + timedelta(hours=1))
    return case, event


@given(action=_actions())
@settings(max_examples=500)
def test_every_action_is_decided_as_transitions_stock_machine_decides_it(
    action: tuple[Case | None, Event],
) -> None:
    case, event = action
    ours = apply(case, event)
    with _stock_machines():
        stock = apply(case, event)
    assert ours == stock


@given(
    state=st.sampled_from([None, *PatrolState]),
    trigger=st.sampled_from(sorted(PATROL_TRIGGERS)),
    args=_ARGS,
    by_owner=st.booleans(),
)
@settings(max_examples=200)
def test_every_patrol_action_is_decided_as_transitions_stock_machine_decides_it(
    state: PatrolState | None, trigger: Trigger, args: dict[str, Any], by_owner: bool
) -> None:
    patrol = None
    if state is not None:
        patrol = Patrol("p-1", STREET, chief_id=CHIEF.user_id, state=state, road_id="road-jinding")
    actor = CHIEF if by_owner else Actor("u-chief-2", STREET, community_id=COMMUNITY)
    event = Event("e-1", "p-1", trigger.value, actor, Role.ROAD_CHIEF, START, args)
    ours = apply(patrol, event)
    with _stock_machines():
        stock = apply(patrol, event)
    assert ours == stock


@contextmanager
def _stock_machines() -> Iterator[None]:
    """``engine.loop`` firing its triggers on the stock machines for the length of the block."""
    saved = dict(loop._CASE_EVENTS), dict(loop._PATROL_EVENTS)
    loop._CASE_EVENTS.update(_STOCK_CASE_EVENTS)
    loop._PATROL_EVENTS.update(_STOCK_PATROL_EVENTS)
    try:
        yield
    finally:
        loop._CASE_EVENTS.update(saved[0])
        loop._PATROL_EVENTS.update(saved[1])


def test_a_machine_with_callbacks_of_its_own_still_runs_them() -> None:
    """What LoopMachine skips is only what our machines leave empty: set it, and it runs."""
    seen: list[str] = []

    class Model:
        state = "a"

    machine = LoopMachine(
        model=None,
        states=[
            {"name": "a", "on_exit": lambda _: seen.append("exit a")},
            {"name": "b", "on_enter": lambda _: seen.append("enter b")},
        ],
        initial="a",
        transitions=[
            {
                "trigger": "go",
                "source": "a",
                "dest": "b",
                "prepare": lambda _: seen.append("prepare"),
                "conditions": lambda _: seen.append("condition") is None,
                "before": lambda _: seen.append("before"),
                "after": lambda _: seen.append("after"),
            }
        ],
        auto_transitions=False,
        send_event=True,
        before_state_change=lambda _: seen.append("before any"),
        after_state_change=lambda _: seen.append("after any"),
        prepare_event=lambda _: seen.append("prepare event"),
        finalize_event=lambda _: seen.append("finalize event"),
    )
    model = Model()
    assert machine.events["go"].trigger(model) is True
    assert model.state == "b"
    assert seen == [
        "prepare event",
        "prepare",
        "condition",
        "before any",
        "before",
        "exit a",
        "enter b",
        "after",
        "after any",
        "finalize event",
    ]
    with pytest.raises(MachineError):
        machine.events["go"].trigger(model)  # not from b


class _Light(Enum):
    RED = "stop"
    GREEN = "go"


@pytest.mark.parametrize("machine_class", [LoopMachine, Machine])
def test_enum_states_and_unknown_names_are_looked_up_as_transitions_looks_them_up(
    machine_class: type[Machine],
) -> None:
    """Our machines' states are plain strings; any other state goes through the stock lookup."""

    class Model:
        state: object = _Light.RED

    machine = machine_class(
        model=None,
        states=_Light,
        initial=_Light.RED,
        transitions=[{"trigger": "turn", "source": _Light.RED, "dest": _Light.GREEN}],
        auto_transitions=False,
    )
    model = Model()
    assert machine.events["turn"].trigger(model) is True
    assert model.state is _Light.GREEN
    model.state = "stop"  # the enum's value, not its name: a state this machine does not have
    with pytest.raises(ValueError, match="not a registered state"):
        machine.events["turn"].trigger(model)


# --- patrol points: the reference is the code before the fast path --------------------------


def _reference_haversine_m(a: Location, b: Location) -> float:
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(min(1.0, math.sqrt(h)))


def _reference_read_points(args: Mapping[str, Any]) -> list[Location]:
    raw = args.get("points")
    if not isinstance(raw, list) or not raw:
        raise Refused(refuse(RejectionCode.MISSING_FIELD, field="points"))
    if len(raw) > MAX_POINTS_PER_EVENT:
        raise Refused(
            refuse(RejectionCode.INVALID_FIELD, field="points", detail=f"at most {MAX_POINTS_PER_EVENT}")
        )
    points: list[Location] = []
    for item in raw:
        pair: Sequence[Any] | None = None
        if isinstance(item, Mapping):
            pair = (item.get("lat"), item.get("lon"))
        elif isinstance(item, list) and len(item) >= 2:
            pair = item
        ok = pair is not None and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in pair[:2]
        )
        if not ok or pair is None or not (-90 <= pair[0] <= 90 and -180 <= pair[1] <= 180):
            raise Refused(
                refuse(RejectionCode.INVALID_FIELD, field="points", detail="expected [lat, lon] pairs")
            )
        points.append(Location(float(pair[0]), float(pair[1])))
    return points


def _reference_record(patrol: Patrol, args: Mapping[str, Any]) -> Patrol | Rejection:
    try:
        points = _reference_read_points(args)
    except Refused as refused:
        return refused.rejection
    distance, last = patrol.distance_m, patrol.last_point
    for point in points:
        if last is not None:
            distance += _reference_haversine_m(last, point)
        last = point
    return replace(
        patrol,
        point_count=patrol.point_count + len(points),
        distance_m=distance,
        last_point=last,
        version=patrol.version + 1,
    )


_COORDINATE = st.one_of(
    st.floats(min_value=-180, max_value=180),
    st.floats(),  # NaN, infinities, out of range
    st.integers(min_value=-200, max_value=200),
    st.integers(min_value=10**308, max_value=10**320),  # too large for a float: math.isfinite raises
    st.booleans(),
    st.text(max_size=3),
    st.none(),
)
_GOOD_POINT = st.builds(
    lambda lat, lon, as_list: [lat, lon] if as_list else {"lat": lat, "lon": lon, "at": "t"},
    st.floats(min_value=-90, max_value=90),
    st.floats(min_value=-180, max_value=180),
    st.booleans(),
)
_ANY_POINT = st.one_of(
    _GOOD_POINT,
    st.lists(_COORDINATE, max_size=3),
    st.fixed_dictionaries({"lat": _COORDINATE, "lon": _COORDINATE}),
    st.dictionaries(st.sampled_from(["lat", "lon", "at"]), _COORDINATE),
    st.tuples(_COORDINATE, _COORDINATE),
    _COORDINATE,
)
_POINTS = st.one_of(
    st.lists(_GOOD_POINT, min_size=1, max_size=40),
    st.lists(_ANY_POINT, max_size=6),
    st.lists(st.one_of(_GOOD_POINT, _ANY_POINT), max_size=12),
    _COORDINATE,
)


def _assert_recording_agrees(points: Any, last: Location | None, distance: float) -> None:
    patrol = Patrol(
        id="patrol-1",
        street_id=CHIEF.street_id,
        chief_id=CHIEF.user_id,
        state=PatrolState.WALKING,
        point_count=0 if last is None else 5,
        distance_m=distance,
        last_point=last,
        version=2,
    )
    args = {"points": points}
    event = Event("e", "patrol-1", Trigger.RECORD_POINTS.value, CHIEF, Role.ROAD_CHIEF, START, args)
    try:
        expected: Patrol | Rejection | type[BaseException] = _reference_record(patrol, args)
    except (OverflowError, TypeError) as error:
        expected = type(error)
    if isinstance(expected, type):
        with pytest.raises(expected):
            apply(patrol, event)
        return
    result = apply(patrol, event)
    assert result == expected
    if isinstance(result, Patrol):
        assert isinstance(expected, Patrol)
        assert math.copysign(1.0, result.distance_m) == math.copysign(1.0, expected.distance_m)


@settings(max_examples=400, deadline=None)
@given(
    points=_POINTS,
    last=st.one_of(
        st.none(),
        st.builds(Location, st.floats(min_value=-90, max_value=90), st.floats(min_value=-180, max_value=180)),
    ),
    distance=st.floats(min_value=0, max_value=1e7),
)
def test_recording_points_agrees_with_the_reference(
    points: Any, last: Location | None, distance: float
) -> None:
    _assert_recording_agrees(points, last, distance)


_EDGES: list[Any] = [
    [[-90.0, -180.0], [90.0, 180.0]],
    [[-90, 180], {"lat": 90, "lon": -180}],
    [[-90.5, 0.0]],
    [[90.000001, 0.0]],
    [[0.0, -180.5]],
    [[0.0, 180.000001]],
    [[-90.0000001, 0]],
    [{"lat": 0.0, "lon": 180.5}],
    [[float("nan"), 0.0]],
    [[0.0, float("inf")]],
    [[float("-inf"), 10**400]],
    [[10**400, 0.0]],
    [[0.0, 10**400]],
    [["a", 10**400]],
    [[91, 10**400]],
    [[True, 0.0]],
    [[0.0, False]],
    [{"lat": 1.0}],
    [(1.0, 2.0)],
    [[1.0]],
    [[1.0, 2.0, "extra"]],
    [[39.93, 116.19]] * MAX_POINTS_PER_EVENT,
    [[39.93, 116.19]] * (MAX_POINTS_PER_EVENT + 1),
    [[-0.0, -0.0], [0.0, 0.0]],
]


@pytest.mark.parametrize("points", _EDGES)
@pytest.mark.parametrize("last", [None, Location(39.9, 116.1)])
def test_recording_edge_points_agrees_with_the_reference(points: Any, last: Location | None) -> None:
    _assert_recording_agrees(points, last, 0.0)
