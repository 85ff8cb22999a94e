"""The tables: tenancy (streets and who works in them), the event store and its snapshots.

A street owns everything: every row below a street carries ``street_id`` and every query filters
on it. Events are append-only; ``cases`` and ``patrols`` hold the fold of each record's events so
applying one more loads one row, not the log. ``mutations`` remembers the answer to every processed
mutation; its unique keys, not application code, make a resent batch harmless.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "CaseRow",
    "CategoryOverride",
    "Community",
    "Department",
    "Device",
    "EventRow",
    "LoginFailure",
    "MutationRow",
    "PatrolRow",
    "Road",
    "StepVisitRow",
    "Street",
    "StreetCounter",
    "Token",
    "User",
]

ID = String(36)
Json = JSON().with_variant(JSONB(), "postgresql")
# SQLite's INTEGER PRIMARY KEY is its 64-bit rowid; BIGINT there would lose the autoincrement.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Moment(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite keeps no offset: it is stored as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Street(Base):
    __tablename__ = "streets"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # bumped by every admin write that changes the street's rules, so every worker's cache notices
    rules_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(Moment())


class StreetCounter(Base):
    """The street's change counter: bumped inside each push transaction, its row lock orders commits."""

    __tablename__ = "street_counters"
    street_id: Mapped[str] = mapped_column(ForeignKey("streets.id"), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Community(Base):
    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("street_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    street_id: Mapped[str] = mapped_column(ForeignKey("streets.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("street_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    street_id: Mapped[str] = mapped_column(ForeignKey("streets.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    street_id: Mapped[str] = mapped_column(ForeignKey("streets.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    community_id: Mapped[str | None] = mapped_column(ForeignKey("communities.id"), nullable=True)
    department_id: Mapped[str | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Moment())


class Road(Base):
    __tablename__ = "roads"
    __table_args__ = (UniqueConstraint("street_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    street_id: Mapped[str] = mapped_column(ForeignKey("streets.id"), index=True)
    community_id: Mapped[str | None] = mapped_column(ForeignKey("communities.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(100))
    geometry: Mapped[dict[str, Any]] = mapped_column(Json)  # GeoJSON LineString
    chief_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Token(Base):
    """An API token, stored as its SHA-256: a leaked table gives no usable token."""

    __tablename__ = "tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Moment())
    expires_at: Mapped[datetime] = mapped_column(Moment())
    revoked_at: Mapped[datetime | None] = mapped_column(Moment(), nullable=True)


class Device(Base):
    """A phone's outbox: bound to the first user who pushes from it; ``last_seq`` it has processed."""

    __tablename__ = "devices"
    device_id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    street_id: Mapped[str] = mapped_column(ForeignKey("streets.id"))
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class CategoryOverride(Base):
    """A street's own version of one category (``Category.to_dict()``), laid over the engine's table."""

    __tablename__ = "category_overrides"
    street_id: Mapped[str] = mapped_column(ForeignKey("streets.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(Json)


class EventRow(Base):
    """One applied event. ``street_seq`` is its place in the street's commit order: the pull cursor."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("street_id", "street_seq"),
        # a case's events in commit order (its history), covering what the report's step times read
        # (0002): SQLite answers them from the index without reading the rows' JSON
        Index("ix_events_case_steps", "case_id", "street_seq", "name", "occurred_epoch"),
    )
    position: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    street_id: Mapped[str] = mapped_column(ForeignKey("streets.id"))
    street_seq: Mapped[int] = mapped_column(BigInteger)
    id: Mapped[str] = mapped_column(ID, unique=True)
    case_id: Mapped[str] = mapped_column(ID)
    name: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str] = mapped_column(ID)
    role: Mapped[str] = mapped_column(String(20))
    community_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    department_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    # ISO-8601 exactly as the phone sent it (its own offset); received_at is the server's clock
    occurred_at: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(Moment())
    args: Mapped[dict[str, Any]] = mapped_column(Json)
    # occurred_at as epoch seconds (server.facts.epoch): the report compares instants without parsing
    occurred_epoch: Mapped[float] = mapped_column(Double)
    # the event's pull page entry (server.event_text), written once by the push: a pull joins these
    # texts instead of rebuilding every event from the columns above (NULL: built from them)
    wire: Mapped[str | None] = mapped_column(Text, nullable=True)


class CaseRow(Base):
    """A case's snapshot (``data``, the engine's ``Case.to_dict()``) and, as plain columns written
    with it (``server.facts.case_facts``), the facts the evaluation groups and filters on."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_street_id_reported_epoch", "street_id", "reported_epoch"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    street_id: Mapped[str] = mapped_column(ForeignKey("streets.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    community_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    road_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    reporter_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    # the department of the last dispatch: unlike data.department_id, a return does not clear it
    dispatch_department_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    reported_epoch: Mapped[float | None] = mapped_column(Double, nullable=True)
    due_epoch: Mapped[float | None] = mapped_column(Double, nullable=True)
    completed_epoch: Mapped[float | None] = mapped_column(Double, nullable=True)
    ended_epoch: Mapped[float | None] = mapped_column(Double, nullable=True)
    rework_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    return_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    dispatch_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    escalated: Mapped[bool] = mapped_column(Boolean, server_default=false())
    fixed_on_spot: Mapped[bool] = mapped_column(Boolean, server_default=false())


class PatrolRow(Base):
    """A patrol's snapshot and, as columns (``server.facts.patrol_facts``), what the report reads."""

    __tablename__ = "patrols"
    __table_args__ = (Index("ix_patrols_street_id_started_epoch", "street_id", "started_epoch"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    street_id: Mapped[str] = mapped_column(ForeignKey("streets.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    community_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    road_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    chief_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    started_epoch: Mapped[float | None] = mapped_column(Double, nullable=True)
    ended_epoch: Mapped[float | None] = mapped_column(Double, nullable=True)
    nothing_found: Mapped[bool] = mapped_column(Boolean, server_default=false())


class StepVisitRow(Base):
    """One stay of a case in one step (反馈 / 协调 / 处置 / 督察), written by the push (0003).

    The report's step times aggregate these rows with a plain GROUP BY instead of rebuilding the
    visits from the event log with window functions on every query. A visit starts with the
    event that moves the case into the step (``entered_seq``, its ``street_seq``) and ends when an
    event moves it out; ``left_epoch`` is NULL while the case is still there. Moving to 闭环
    (closed, cancelled, merged) ends a visit and starts none. The report's groups come from the
    case's current snapshot, so they are joined from ``cases``, not copied here.
    """

    __tablename__ = "step_visits"
    # the primary key's index serves the push's "close this case's open visit" and the report's join
    case_id: Mapped[str] = mapped_column(ID, primary_key=True)
    entered_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    street_id: Mapped[str] = mapped_column(ForeignKey("streets.id"))
    step: Mapped[str] = mapped_column(String(20))
    entered_epoch: Mapped[float] = mapped_column(Double)
    left_epoch: Mapped[float | None] = mapped_column(Double, nullable=True)


class MutationRow(Base):
    """The answer given to one processed mutation, applied or rejected, kept to answer a resend."""

    __tablename__ = "mutations"
    __table_args__ = (UniqueConstraint("device_id", "seq"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.device_id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    message_zh: Mapped[str | None] = mapped_column(String(500), nullable=True)
    message_en: Mapped[str | None] = mapped_column(String(500), nullable=True)
    processed_at: Mapped[datetime] = mapped_column(Moment())


class LoginFailure(Base):
    """A failed login, counted against the username and against the client's address for a minute
    (``server.auth.LoginLimiter``). In the database, so every server process counts the same ones."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_key_at_epoch", "key", "at_epoch"),
        Index("ix_login_failures_at_epoch", "at_epoch"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(120))  # "u:" + lower-cased username, or "ip:" + address
    at_epoch: Mapped[float] = mapped_column(Double)
