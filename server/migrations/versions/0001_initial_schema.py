"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "streets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_streets")),
        sa.UniqueConstraint("name", name=op.f("uq_streets_name")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("street_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["street_id"], ["streets.id"], name=op.f("fk_cases_street_id_streets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index(op.f("ix_cases_street_id"), "cases", ["street_id"])
    op.create_table(
        "category_overrides",
        sa.Column("street_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["street_id"], ["streets.id"], name=op.f("fk_category_overrides_street_id_streets")
        ),
        sa.PrimaryKeyConstraint("street_id", "code", name=op.f("pk_category_overrides")),
    )
    op.create_table(
        "communities",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("street_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["street_id"], ["streets.id"], name=op.f("fk_communities_street_id_streets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communities")),
        sa.UniqueConstraint("street_id", "name", name=op.f("uq_communities_street_id")),
    )
    op.create_index(op.f("ix_communities_street_id"), "communities", ["street_id"])
    op.create_table(
        "departments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("street_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["street_id"], ["streets.id"], name=op.f("fk_departments_street_id_streets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("street_id", "name", name=op.f("uq_departments_street_id")),
    )
    op.create_index(op.f("ix_departments_street_id"), "departments", ["street_id"])
    op.create_table(
        "events",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("street_id", sa.String(length=36), nullable=False),
        sa.Column("street_seq", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=True),
        sa.Column("department_id", sa.String(length=36), nullable=True),
        sa.Column("occurred_at", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "args",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["street_id"], ["streets.id"], name=op.f("fk_events_street_id_streets")),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_events")),
        sa.UniqueConstraint("id", name=op.f("uq_events_id")),
        sa.UniqueConstraint("street_id", "street_seq", name=op.f("uq_events_street_id")),
    )
    op.create_index(op.f("ix_events_case_id"), "events", ["case_id"])
    op.create_table(
        "patrols",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("street_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["street_id"], ["streets.id"], name=op.f("fk_patrols_street_id_streets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrols")),
    )
    op.create_index(op.f("ix_patrols_street_id"), "patrols", ["street_id"])
    op.create_table(
        "street_counters",
        sa.Column("street_id", sa.String(length=36), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["street_id"], ["streets.id"], name=op.f("fk_street_counters_street_id_streets")
        ),
        sa.PrimaryKeyConstraint("street_id", name=op.f("pk_street_counters")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("street_id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=True),
        sa.Column("department_id", sa.String(length=36), nullable=True),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_users_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_users_department_id_departments")
        ),
        sa.ForeignKeyConstraint(["street_id"], ["streets.id"], name=op.f("fk_users_street_id_streets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_street_id"), "users", ["street_id"])
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("street_id", sa.String(length=36), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["street_id"], ["streets.id"], name=op.f("fk_devices_street_id_streets")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_devices_user_id_users")),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_devices")),
    )
    op.create_index(op.f("ix_devices_user_id"), "devices", ["user_id"])
    op.create_table(
        "roads",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("street_id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "geometry",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("chief_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["chief_id"], ["users.id"], name=op.f("fk_roads_chief_id_users")),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_roads_community_id_communities")
        ),
        sa.ForeignKeyConstraint(["street_id"], ["streets.id"], name=op.f("fk_roads_street_id_streets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roads")),
        sa.UniqueConstraint("street_id", "name", name=op.f("uq_roads_street_id")),
    )
    op.create_index(op.f("ix_roads_street_id"), "roads", ["street_id"])
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_tokens")),
    )
    op.create_index(op.f("ix_tokens_user_id"), "tokens", ["user_id"])
    op.create_table(
        "mutations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=True),
        sa.Column("message_zh", sa.String(length=500), nullable=True),
        sa.Column("message_en", sa.String(length=500), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.device_id"], name=op.f("fk_mutations_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mutations")),
        sa.UniqueConstraint("device_id", "seq", name=op.f("uq_mutations_device_id")),
    )


def downgrade() -> None:
    op.drop_table("mutations")
    op.drop_index(op.f("ix_tokens_user_id"), table_name="tokens")
    op.drop_table("tokens")
    op.drop_index(op.f("ix_roads_street_id"), table_name="roads")
    op.drop_table("roads")
    op.drop_index(op.f("ix_devices_user_id"), table_name="devices")
    op.drop_table("devices")
    op.drop_index(op.f("ix_users_street_id"), table_name="users")
    op.drop_table("users")
    op.drop_table("street_counters")
    op.drop_index(op.f("ix_patrols_street_id"), table_name="patrols")
    op.drop_table("patrols")
    op.drop_index(op.f("ix_events_case_id"), table_name="events")
    op.drop_table("events")
    op.drop_index(op.f("ix_departments_street_id"), table_name="departments")
    op.drop_table("departments")
    op.drop_index(op.f("ix_communities_street_id"), table_name="communities")
    op.drop_table("communities")
    op.drop_table("category_overrides")
    op.drop_index(op.f("ix_cases_street_id"), table_name="cases")
    op.drop_table("cases")
    op.drop_table("streets")
