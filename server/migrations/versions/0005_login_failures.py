"""login_failures: failed logins counted in the database

The login limiter counted failures in each server process's memory, so behind N worker processes a
guesser had N times the limit. Failures are now rows, read by every process alike.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("at_epoch", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_key_at_epoch", "login_failures", ["key", "at_epoch"])
    op.create_index("ix_login_failures_at_epoch", "login_failures", ["at_epoch"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_at_epoch", table_name="login_failures")
    op.drop_index("ix_login_failures_key_at_epoch", table_name="login_failures")
    op.drop_table("login_failures")
