"""The working-day calendar that deadlines (处置时限) are counted on.

A ``TimeLimit`` says how long a department has ("3 working days", "4 working hours", "1 clock
hour"); a ``WorkCalendar`` turns a dispatch moment and a limit into a due moment, and measures the
working time between two moments. Public holidays and make-up workdays (调休) come from
``holidays.China``; a street's own days off and extra working days override them.

Pure: no clock, no I/O. Every datetime in or out is timezone-aware; days and working periods are
read in China Standard Time, results are returned in UTC.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone

import holidays

from .vocabulary import LimitUnit

__all__ = ["CHINA_TZ", "DEFAULT_CALENDAR", "TimeLimit", "WorkCalendar"]

# A fixed offset rather than ZoneInfo("Asia/Shanghai"): China has had no DST since 1991, and a
# fixed offset needs no tzdata on the phone.
CHINA_TZ: timezone = timezone(timedelta(hours=8), "CST")

_US_PER_SECOND = 1_000_000
_US_PER_HOUR = 3600 * _US_PER_SECOND
_US_PER_DAY = 24 * _US_PER_HOUR
_ONE_DAY = timedelta(days=1)
_UNIT_VALUES = frozenset(u.value for u in LimitUnit)
# Far beyond any real deadline; it only stops a runaway search from hanging a dispatch.
_MAX_SEARCH_DAYS = 3 * 366


@functools.lru_cache(maxsize=32)
def _china_holidays(year: int) -> holidays.HolidayBase:
    # One object per year, each only ever asked about its own year, so it never expands itself
    # (expansion mutates the object; a shared cached one must stay read-only across threads).
    return holidays.China(years=year)


# Per-day memo on top of the per-year objects: the library's check costs about a microsecond, and
# due() asks once per day stepped.
@functools.lru_cache(maxsize=8192)
def _library_is_working_day(day: date) -> bool:
    return _china_holidays(day.year).is_working_day(day)


def _require_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} must be timezone-aware, got naive {value.isoformat()}; "
            "attach a tzinfo (e.g. CHINA_TZ or UTC) instead of guessing the zone"
        )


def _local_day_and_offset(moment: datetime) -> tuple[date, int]:
    """The local (China) day of ``moment`` and the microseconds since that day's midnight."""
    local = moment.astimezone(CHINA_TZ)
    seconds = (local.hour * 60 + local.minute) * 60 + local.second
    return local.date(), seconds * _US_PER_SECOND + local.microsecond


def _moment(day: date, offset_us: int) -> datetime:
    midnight = datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ)
    return (midnight + timedelta(microseconds=offset_us)).astimezone(UTC)


def _time_us(value: time) -> int:
    seconds = (value.hour * 60 + value.minute) * 60 + value.second
    return seconds * _US_PER_SECOND + value.microsecond


@dataclass(frozen=True, slots=True)
class TimeLimit:
    """A deadline length: ``amount`` units of working hours, working days or clock hours."""

    amount: int
    unit: LimitUnit

    def __post_init__(self) -> None:
        # bool is an int, and "True working days" is always a bug upstream
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise ValueError(f"time limit amount must be an integer, got {self.amount!r}")
        if self.amount <= 0:
            raise ValueError(f"time limit amount must be positive, got {self.amount}")
        if not isinstance(self.unit, LimitUnit):
            raise ValueError(f"time limit unit must be a LimitUnit, got {self.unit!r}")

    def to_dict(self) -> dict[str, object]:
        return {"amount": self.amount, "unit": self.unit.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> TimeLimit:
        """Read ``{"amount": 3, "unit": "working_days"}``; anything else is a ValueError."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a time limit must be a mapping, got {type(data).__name__}")
        missing = {"amount", "unit"} - data.keys()
        if missing:
            raise ValueError(f"time limit is missing {', '.join(sorted(missing))}")
        unknown = data.keys() - {"amount", "unit"}
        if unknown:
            raise ValueError(f"time limit has unknown fields: {', '.join(sorted(map(str, unknown)))}")
        amount, unit = data["amount"], data["unit"]
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ValueError(f"time limit amount must be an integer, got {amount!r}")
        if not isinstance(unit, str) or unit not in _UNIT_VALUES:
            allowed = ", ".join(sorted(_UNIT_VALUES))
            raise ValueError(f"time limit unit must be one of {allowed}; got {unit!r}")
        return cls(amount=amount, unit=LimitUnit(unit))


@dataclass(frozen=True)
class WorkCalendar:
    """A street's working time: daily working periods, on China's working days, with overrides.

    ``periods`` are local (China) wall-clock times, sorted and not overlapping. ``extra_holidays``
    and ``extra_workdays`` are the street's own exceptions and win over the national calendar.
    """

    periods: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30)))
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    # Derived in __post_init__ so due() does integer arithmetic only.
    _spans: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    _day_us: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Calendars arrive from JSON/database rows as lists and sets; normalise so the object
        # stays hashable and immutable.
        periods = tuple(tuple(p) for p in self.periods)
        if not periods:
            raise ValueError("a working calendar needs at least one working period")
        spans: list[tuple[int, int]] = []
        for period in periods:
            if len(period) != 2 or not all(isinstance(t, time) for t in period):
                raise ValueError(f"a working period is a (start, end) pair of times, got {period!r}")
            start, end = period
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("working periods are local wall-clock times; give them without tzinfo")
            if not start < end:
                raise ValueError(f"working period {start}–{end} must start before it ends")
            if spans and _time_us(start) < spans[-1][1]:
                raise ValueError("working periods must be in order and must not overlap")
            spans.append((_time_us(start), _time_us(end)))
        holidays_ = frozenset(self.extra_holidays)
        workdays = frozenset(self.extra_workdays)
        for day in holidays_ | workdays:
            # a datetime is a date but never equal to one, so it would silently never match
            if isinstance(day, datetime) or not isinstance(day, date):
                raise ValueError(f"calendar overrides must be dates, got {day!r}")
        clash = holidays_ & workdays
        if clash:
            days = ", ".join(d.isoformat() for d in sorted(clash))
            raise ValueError(f"days cannot be both an extra holiday and an extra workday: {days}")
        object.__setattr__(self, "periods", periods)
        object.__setattr__(self, "extra_holidays", holidays_)
        object.__setattr__(self, "extra_workdays", workdays)
        object.__setattr__(self, "_spans", tuple(spans))
        object.__setattr__(self, "_day_us", sum(end - start for start, end in spans))

    @property
    def working_day_length(self) -> timedelta:
        """The working time in one full working day (7.5 hours with the default periods)."""
        return timedelta(microseconds=self._day_us)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is worked: the street's overrides first, then China's calendar with 调休."""
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        return _library_is_working_day(day)

    def due(self, start: datetime, limit: TimeLimit) -> datetime:
        """The moment ``limit`` runs out when started at ``start``; aware, in UTC.

        Working limits count only time inside the working periods of working days; a start outside
        them begins counting at the next period. A limit that runs out exactly at a period's end is
        due at that end, not at the start of the next period. Clock hours ignore the calendar.
        """
        _require_aware("start", start)
        if limit.unit is LimitUnit.CLOCK_HOURS:
            return (start + timedelta(hours=limit.amount)).astimezone(UTC)
        per_unit = _US_PER_HOUR if limit.unit is LimitUnit.WORKING_HOURS else self._day_us
        remaining = limit.amount * per_unit
        day, offset = _local_day_and_offset(start)
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                # Strictly greater: a limit ending exactly at close must land in the loop below.
                if offset == 0 and remaining > self._day_us:
                    remaining -= self._day_us
                else:
                    for begin, end in self._spans:
                        if offset >= end:
                            continue
                        begin = max(begin, offset)
                        if remaining <= end - begin:
                            return _moment(day, begin + remaining)
                        remaining -= end - begin
            day += _ONE_DAY
            offset = 0
        raise ValueError(
            f"{limit.amount} {limit.unit.value} from {start.isoformat()} runs more than "
            f"{_MAX_SEARCH_DAYS} days ahead; refusing to search further"
        )

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The working time in [start, end); zero when ``end`` is not after ``start``."""
        _require_aware("start", start)
        _require_aware("end", end)
        if end <= start:
            return timedelta(0)
        day, low = _local_day_and_offset(start)
        last_day, last_high = _local_day_and_offset(end)
        total = 0
        while day <= last_day:
            high = last_high if day == last_day else _US_PER_DAY
            if self.is_working_day(day):
                if low == 0 and high == _US_PER_DAY:
                    total += self._day_us
                else:
                    for begin, finish in self._spans:
                        total += max(0, min(finish, high) - max(begin, low))
            day += _ONE_DAY
            low = 0
        return timedelta(microseconds=total)


DEFAULT_CALENDAR: WorkCalendar = WorkCalendar()
