"""events.wire: each event's pull page entry, stored once

A first sync of a street with 100,000 events rebuilt every event from a dozen columns, page after
page: fetching the columns and building the entries cost the server more than the reading itself.
An event never changes once stored, so the push now writes its page entry
(``{"position": …, "event": {…}}``, server.event_text) beside the columns and a pull joins the
stored texts.

The backfill writes the entry of every event already stored, in keyset pages by ``position``, from
the stored values and with the rules the pull used for them (written here, not imported, so it
keeps meaning what it meant): ``args`` as stored, unless it holds ``\\u`` escapes of an older
writer or is parsed JSON (PostgreSQL ``jsonb``), then written compact with non-ASCII as is;
``received_at`` as ISO-8601 in UTC.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PAGE = 2000
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_COLUMNS = (
    "position",
    "street_seq",
    "id",
    "case_id",
    "name",
    "actor_id",
    "street_id",
    "community_id",
    "department_id",
    "role",
    "occurred_at",
    "args",
    "received_at",
)


def _args_text(value: Any) -> str:
    if isinstance(value, str):
        return _COMPACT.encode(json.loads(value)) if "\\u" in value else value
    return _COMPACT.encode(value)


def _received_text(value: Any) -> str:
    moment = datetime.fromisoformat(value).replace(tzinfo=UTC) if isinstance(value, str) else value
    return str(moment.astimezone(UTC).isoformat())


def entry_text(row: Any) -> str:
    """The pull page entry of one stored event row (``_COLUMNS``), as ``shared.dumps`` writes it."""
    quote = _COMPACT.encode
    actor = (
        f'{{"user_id":{quote(row.actor_id)},"street_id":{quote(row.street_id)},'
        f'"community_id":{quote(row.community_id)},"department_id":{quote(row.department_id)}}}'
    )
    return (
        f'{{"position":{int(row.street_seq)},"event":{{"id":{quote(row.id)},"case_id":{quote(row.case_id)},'
        f'"name":{quote(row.name)},"actor":{actor},"role":{quote(row.role)},'
        f'"occurred_at":{quote(row.occurred_at)},"args":{_args_text(row.args)},'
        f'"received_at":{quote(_received_text(row.received_at))}}}}}'
    )


def _backfill(connection: sa.Connection) -> None:
    events = sa.table("events", *(sa.column(name) for name in (*_COLUMNS, "wire")))
    last = None
    while True:
        query = sa.select(*(events.c[name] for name in _COLUMNS)).order_by(events.c.position).limit(_PAGE)
        if last is not None:
            query = query.where(events.c.position > last)
        rows = connection.execute(query).all()
        if not rows:
            return
        last = rows[-1].position
        connection.execute(
            sa.update(events).where(events.c.position == sa.bindparam("p")).values(wire=sa.bindparam("w")),
            [{"p": row.position, "w": entry_text(row)} for row in rows],
        )


def upgrade() -> None:
    op.add_column("events", sa.Column("wire", sa.Text(), nullable=True))
    _backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("wire")
