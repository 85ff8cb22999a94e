"""Deadlines on the working calendar, checked against real Chinese holidays and 调休 of 2025–2026."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calendar import CHINA_TZ, DEFAULT_CALENDAR, TimeLimit, WorkCalendar
from engine.vocabulary import LimitUnit

CAL = DEFAULT_CALENDAR


def beijing(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ)


def working_days(amount: int) -> TimeLimit:
    return TimeLimit(amount, LimitUnit.WORKING_DAYS)


def working_hours(amount: int) -> TimeLimit:
    return TimeLimit(amount, LimitUnit.WORKING_HOURS)


def clock_hours(amount: int) -> TimeLimit:
    return TimeLimit(amount, LimitUnit.CLOCK_HOURS)


# --- which days are worked ------------------------------------------------------------------------


@pytest.mark.parametrize("day", [date(2025, 10, d) for d in range(1, 9)])
def test_national_day_2025_is_off_from_october_1_to_8(day: date) -> None:
    assert not CAL.is_working_day(day)


@pytest.mark.parametrize(
    ("day", "weekday"),
    [(date(2025, 9, 28), "Sunday"), (date(2025, 10, 11), "Saturday")],
)
def test_national_day_2025_makeup_weekend_days_are_worked(day: date, weekday: str) -> None:
    assert day.strftime("%A") == weekday
    assert CAL.is_working_day(day)


def test_the_day_after_national_day_2025_is_worked() -> None:
    assert CAL.is_working_day(date(2025, 10, 9))


@pytest.mark.parametrize("day", [date(2026, 10, d) for d in range(1, 8)] + [date(2026, 9, 25)])
def test_national_day_and_mid_autumn_2026_are_off(day: date) -> None:
    assert not CAL.is_working_day(day)


@pytest.mark.parametrize(
    ("day", "weekday"),
    [(date(2026, 9, 20), "Sunday"), (date(2026, 10, 10), "Saturday")],
)
def test_national_day_2026_makeup_weekend_days_are_worked(day: date, weekday: str) -> None:
    assert day.strftime("%A") == weekday
    assert CAL.is_working_day(day)


def test_october_8_2026_is_back_to_work() -> None:
    assert CAL.is_working_day(date(2026, 10, 8))


@pytest.mark.parametrize("day", [date(2026, 2, d) for d in range(15, 24)])
def test_spring_festival_2026_is_off_from_february_15_to_23(day: date) -> None:
    assert not CAL.is_working_day(day)


@pytest.mark.parametrize("day", [date(2026, 2, 14), date(2026, 2, 28)])
def test_spring_festival_2026_makeup_saturdays_are_worked(day: date) -> None:
    assert day.weekday() == 5
    assert CAL.is_working_day(day)


def test_ordinary_weekends_are_off_and_weekdays_worked() -> None:
    assert not CAL.is_working_day(date(2025, 11, 15))  # Saturday
    assert not CAL.is_working_day(date(2025, 11, 16))  # Sunday
    assert CAL.is_working_day(date(2025, 11, 17))  # Monday


def test_a_street_holiday_overrides_a_national_workday() -> None:
    street = WorkCalendar(extra_holidays=frozenset({date(2025, 11, 17)}))
    assert not street.is_working_day(date(2025, 11, 17))


def test_a_street_workday_overrides_a_national_holiday() -> None:
    street = WorkCalendar(extra_workdays=frozenset({date(2025, 10, 3)}))
    assert street.is_working_day(date(2025, 10, 3))


# --- due: working days ----------------------------------------------------------------------------


def test_one_working_day_from_monday_morning_is_tuesday_same_time() -> None:
    assert CAL.due(beijing(2025, 11, 17, 10), working_days(1)) == beijing(2025, 11, 18, 10)


def test_one_working_day_from_friday_afternoon_skips_the_weekend() -> None:
    assert CAL.due(beijing(2025, 11, 14, 16), working_days(1)) == beijing(2025, 11, 17, 16)


def test_dispatch_on_the_eve_of_national_day_2025_is_due_after_the_holiday() -> None:
    # Tue 30 Sep 16:00 leaves 1.5 h that day; Oct 1–8 are off; the other 6 h run on Thu 9 Oct
    # 08:30–12:00 and 13:30–16:00.
    assert CAL.due(beijing(2025, 9, 30, 16), working_days(1)) == beijing(2025, 10, 9, 16)


def test_friday_dispatch_before_national_day_2025_lands_on_the_makeup_sunday() -> None:
    assert CAL.due(beijing(2025, 9, 26, 16), working_days(1)) == beijing(2025, 9, 28, 16)


def test_three_working_days_across_national_day_2026_use_the_makeup_saturday() -> None:
    # Wed 30 Sep 10:00 → Thu 8 Oct 10:00 (1st), Fri 9 Oct 10:00 (2nd), Sat 10 Oct 10:00 (3rd, 调休).
    assert CAL.due(beijing(2026, 9, 30, 10), working_days(3)) == beijing(2026, 10, 10, 10)


def test_a_dispatch_before_the_mid_autumn_2026_day_off_skips_it() -> None:
    # Thu 24 Sep 16:00; Fri 25 Sep is 中秋 and the weekend follows.
    assert CAL.due(beijing(2026, 9, 24, 16), working_days(1)) == beijing(2026, 9, 28, 16)


def test_a_dispatch_on_a_saturday_starts_counting_on_monday_morning() -> None:
    assert CAL.due(beijing(2025, 11, 15, 11), working_days(1)) == beijing(2025, 11, 17, 17, 30)


# --- due: working hours ---------------------------------------------------------------------------


def test_working_hours_skip_the_lunch_break() -> None:
    # 11:00–12:00 is one hour, the second starts at 13:30.
    assert CAL.due(beijing(2025, 11, 17, 11), working_hours(2)) == beijing(2025, 11, 17, 14, 30)


def test_a_start_during_lunch_counts_from_the_afternoon_period() -> None:
    assert CAL.due(beijing(2025, 11, 17, 12, 45), working_hours(1)) == beijing(2025, 11, 17, 14, 30)


def test_a_start_after_hours_counts_from_the_next_morning() -> None:
    assert CAL.due(beijing(2025, 11, 17, 20), working_hours(1)) == beijing(2025, 11, 18, 9, 30)


def test_a_limit_running_out_at_closing_time_is_due_at_closing_time() -> None:
    # 08:30 + 7.5 working hours is exactly 17:30 the same day, not 08:30 the next morning.
    assert CAL.due(beijing(2025, 11, 17, 8, 30), working_days(1)) == beijing(2025, 11, 17, 17, 30)


def test_a_limit_running_out_at_noon_is_due_at_noon() -> None:
    # 13:30 Mon: 4 h to 17:30, then 3.5 h from 08:30 Tue ends exactly at 12:00, not 13:30.
    assert CAL.due(beijing(2025, 11, 17, 13, 30), working_days(1)) == beijing(2025, 11, 18, 12)


def test_due_is_returned_in_utc() -> None:
    due = CAL.due(beijing(2025, 11, 17, 10), working_hours(1))
    assert due.tzinfo is UTC
    assert due == datetime(2025, 11, 17, 3, 0, tzinfo=UTC)


def test_a_start_given_in_utc_is_read_as_china_local_time() -> None:
    # 2025-11-17 02:00 UTC is 10:00 in Beijing.
    start = datetime(2025, 11, 17, 2, 0, tzinfo=UTC)
    assert CAL.due(start, working_hours(1)) == beijing(2025, 11, 17, 11)


# --- due: clock hours -----------------------------------------------------------------------------


def test_clock_hours_ignore_holidays_and_nights() -> None:
    assert CAL.due(beijing(2025, 10, 1, 23), clock_hours(2)) == beijing(2025, 10, 2, 1)


def test_clock_hours_ignore_street_overrides() -> None:
    street = WorkCalendar(extra_holidays=frozenset({date(2025, 11, 17)}))
    assert street.due(beijing(2025, 11, 17, 10), clock_hours(1)) == beijing(2025, 11, 17, 11)


# --- street overrides -----------------------------------------------------------------------------


def test_a_street_day_off_pushes_the_deadline_back() -> None:
    street = WorkCalendar(extra_holidays=frozenset({date(2025, 11, 18)}))
    assert street.due(beijing(2025, 11, 17, 10), working_days(1)) == beijing(2025, 11, 19, 10)


def test_a_street_working_saturday_pulls_the_deadline_forward() -> None:
    street = WorkCalendar(extra_workdays=frozenset({date(2025, 11, 15)}))
    assert street.due(beijing(2025, 11, 14, 16), working_days(1)) == beijing(2025, 11, 15, 16)


def test_a_street_working_inside_national_day_shortens_the_wait() -> None:
    street = WorkCalendar(extra_workdays=frozenset({date(2025, 10, 2)}))
    assert street.due(beijing(2025, 9, 30, 16), working_days(1)) == beijing(2025, 10, 2, 16)


def test_a_street_with_its_own_hours_counts_on_them() -> None:
    street = WorkCalendar(periods=((time(9, 0), time(12, 0)), (time(14, 0), time(18, 0))))
    assert street.working_day_length == timedelta(hours=7)
    assert street.due(beijing(2025, 11, 17, 11), working_hours(2)) == beijing(2025, 11, 17, 15)
    assert street.due(beijing(2025, 11, 17, 9), working_days(1)) == beijing(2025, 11, 17, 18)


def test_the_default_working_day_is_seven_and_a_half_hours() -> None:
    assert DEFAULT_CALENDAR.working_day_length == timedelta(hours=7, minutes=30)


# --- working_time_between -------------------------------------------------------------------------


def test_working_time_across_a_weekend_counts_only_working_periods() -> None:
    # Fri 16:00–17:30 (1.5 h) + Mon 08:30–10:00 (1.5 h)
    elapsed = CAL.working_time_between(beijing(2025, 11, 14, 16), beijing(2025, 11, 17, 10))
    assert elapsed == timedelta(hours=3)


def test_working_time_over_national_day_2025_is_zero() -> None:
    assert CAL.working_time_between(beijing(2025, 10, 1), beijing(2025, 10, 9)) == timedelta(0)


def test_working_time_is_zero_when_the_end_is_not_after_the_start() -> None:
    moment = beijing(2025, 11, 17, 10)
    assert CAL.working_time_between(moment, moment) == timedelta(0)
    assert CAL.working_time_between(moment, moment - timedelta(days=2)) == timedelta(0)


def test_working_time_of_a_full_working_week() -> None:
    elapsed = CAL.working_time_between(beijing(2025, 11, 17), beijing(2025, 11, 24))
    assert elapsed == 5 * timedelta(hours=7, minutes=30)


@settings(max_examples=300, deadline=None, database=None)
@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1),
        max_value=datetime(2026, 12, 31, 23, 59, 59),
        timezones=st.just(CHINA_TZ),
    ),
    hours=st.integers(min_value=1, max_value=80),
)
def test_working_time_until_the_due_moment_is_exactly_the_limit(start: datetime, hours: int) -> None:
    due = CAL.due(start, working_hours(hours))
    assert due > start
    assert CAL.working_time_between(start, due) == timedelta(hours=hours)
    # Due is the first such moment: a minute earlier, the limit has not run out.
    assert CAL.working_time_between(start, due - timedelta(minutes=1)) < timedelta(hours=hours)


@settings(max_examples=100, deadline=None, database=None)
@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1),
        max_value=datetime(2026, 12, 31, 23, 59, 59),
        timezones=st.just(CHINA_TZ),
    ),
    days=st.integers(min_value=1, max_value=10),
)
def test_working_days_are_whole_working_days_of_working_time(start: datetime, days: int) -> None:
    due = CAL.due(start, working_days(days))
    assert CAL.working_time_between(start, due) == days * CAL.working_day_length
    local = due.astimezone(CHINA_TZ)
    assert CAL.is_working_day(local.date())
    assert time(8, 30) < local.time() <= time(17, 30)
    assert not time(12, 0) < local.time() <= time(13, 30)  # never inside (or at the end of) lunch


# --- bad input ------------------------------------------------------------------------------------


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.due(datetime(2025, 11, 17, 10), working_days(1))


def test_a_naive_end_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_time_between(beijing(2025, 11, 17, 10), datetime(2025, 11, 18, 10))


def test_a_calendar_without_working_periods_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one working period"):
        WorkCalendar(periods=())


@pytest.mark.parametrize(
    "periods",
    [
        ((time(12, 0), time(8, 30)),),
        ((time(8, 30), time(12, 0)), (time(11, 0), time(17, 30))),
        ((time(13, 30), time(17, 30)), (time(8, 30), time(12, 0))),
    ],
    ids=["backwards", "overlapping", "out of order"],
)
def test_malformed_working_periods_are_refused(periods: tuple[tuple[time, time], ...]) -> None:
    with pytest.raises(ValueError):
        WorkCalendar(periods=periods)


def test_a_day_cannot_be_both_street_holiday_and_street_workday() -> None:
    day = date(2025, 11, 17)
    with pytest.raises(ValueError, match="both"):
        WorkCalendar(extra_holidays=frozenset({day}), extra_workdays=frozenset({day}))


def test_a_deadline_beyond_three_years_is_refused_rather_than_searched_for() -> None:
    with pytest.raises(ValueError, match="ahead"):
        CAL.due(beijing(2025, 11, 17, 10), working_days(1000))


def test_calendars_from_stored_data_are_normalised_and_comparable() -> None:
    stored = WorkCalendar(
        periods=[[time(8, 30), time(12, 0)], [time(13, 30), time(17, 30)]],  # type: ignore[arg-type]
        extra_holidays={date(2025, 11, 17)},  # type: ignore[arg-type]
    )
    assert stored == WorkCalendar(extra_holidays=frozenset({date(2025, 11, 17)}))
    assert hash(stored) == hash(WorkCalendar(extra_holidays=frozenset({date(2025, 11, 17)})))


# --- TimeLimit ------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [working_days(3), working_hours(4), clock_hours(1)])
def test_a_time_limit_round_trips_through_a_dict(limit: TimeLimit) -> None:
    assert TimeLimit.from_dict(limit.to_dict()) == limit


def test_a_time_limit_dict_is_plain_json_values() -> None:
    assert working_days(3).to_dict() == {"amount": 3, "unit": "working_days"}


@pytest.mark.parametrize("amount", [0, -1])
def test_a_time_limit_must_be_positive(amount: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        TimeLimit(amount, LimitUnit.WORKING_DAYS)


@pytest.mark.parametrize(
    "data",
    [
        {"amount": 3},
        {"unit": "working_days"},
        {"amount": 0, "unit": "working_days"},
        {"amount": "3", "unit": "working_days"},
        {"amount": 2.5, "unit": "working_hours"},
        {"amount": True, "unit": "working_days"},
        {"amount": 3, "unit": "fortnights"},
        {"amount": 3, "unit": 1},
        {"amount": 3, "unit": "working_days", "note": "extra"},
        ["amount", 3],
    ],
)
def test_a_time_limit_from_bad_data_is_refused(data: object) -> None:
    with pytest.raises(ValueError):
        TimeLimit.from_dict(data)  # type: ignore[arg-type]
