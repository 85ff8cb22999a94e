"""A stored snapshot is the record's ``to_dict()``: the push writes it without building the dict.

``server.sync._snapshot_json`` lets orjson write the frozen dataclass itself; these tests hold its
text equal to the compact JSON of ``to_dict()`` for any case or patrol, and to read back as the
same record.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
from hypothesis import given
from hypothesis import strategies as st

from engine import Case, Level, Location, Patrol, PatrolState, State, Urgency
from server.sync import _snapshot_json

_TEXT = st.text(max_size=12)
_ID = st.one_of(st.none(), _TEXT)
_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])
_MOMENT = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=_ZONES),
)
_FLOAT = st.floats(allow_nan=False, allow_infinity=False)
_LOCATION = st.one_of(st.none(), st.builds(Location, lat=_FLOAT, lon=_FLOAT))
_PHOTOS = st.lists(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64), max_size=3).map(tuple)
_COUNT = st.integers(min_value=0, max_value=2**40)

_CASES = st.builds(
    Case,
    id=_TEXT,
    street_id=_TEXT,
    community_id=_ID,
    road_id=_ID,
    patrol_id=_ID,
    category_code=_TEXT,
    urgency=st.sampled_from(list(Urgency)),
    description=st.text(max_size=40),
    location=_LOCATION,
    reporter_id=_TEXT,
    state=st.sampled_from(list(State)),
    level=st.sampled_from(list(Level)),
    department_id=_ID,
    handler_id=_ID,
    disposer_id=_ID,
    merged_into=_ID,
    reason=_ID,
    result_note=_ID,
    before_photos=_PHOTOS,
    after_photos=_PHOTOS,
    reported_at=_MOMENT,
    dispatched_at=_MOMENT,
    due_at=_MOMENT,
    accepted_at=_MOMENT,
    completed_at=_MOMENT,
    ended_at=_MOMENT,
    state_since=_MOMENT,
    rework_count=_COUNT,
    return_count=_COUNT,
    dispatch_count=_COUNT,
    escalated=st.booleans(),
    fixed_on_spot=st.booleans(),
    comment_count=_COUNT,
    version=_COUNT,
    offline_seconds=_FLOAT,
)

_PATROLS = st.builds(
    Patrol,
    id=_TEXT,
    street_id=_TEXT,
    chief_id=_TEXT,
    community_id=_ID,
    road_id=_ID,
    state=st.sampled_from(list(PatrolState)),
    started_at=_MOMENT,
    ended_at=_MOMENT,
    point_count=_COUNT,
    distance_m=_FLOAT,
    last_point=_LOCATION,
    findings=st.lists(_TEXT, max_size=3).map(tuple),
    nothing_found=st.booleans(),
    version=_COUNT,
)


@given(case=_CASES)
def test_a_case_snapshot_is_its_to_dict_as_compact_json(case: Case) -> None:
    text = _snapshot_json(case)
    assert text == orjson.dumps(case.to_dict()).decode()
    assert Case.from_dict(orjson.loads(text)) == case


@given(patrol=_PATROLS)
def test_a_patrol_snapshot_is_its_to_dict_as_compact_json(patrol: Patrol) -> None:
    text = _snapshot_json(patrol)
    assert text == orjson.dumps(patrol.to_dict()).decode()
    assert Patrol.from_dict(orjson.loads(text)) == patrol


def test_a_fresh_case_and_patrol_are_written_whole() -> None:
    """Defaults too: every field, in to_dict's order, nulls and empty arrays included."""
    for record in (Case(id="c", street_id="s"), Patrol(id="p", street_id="s")):
        assert list(orjson.loads(_snapshot_json(record))) == list(record.to_dict())
