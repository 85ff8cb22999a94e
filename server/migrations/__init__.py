"""Alembic migrations, applied programmatically when the server starts (``upgrade_database``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["alembic_config", "upgrade_database"]

_HERE = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    """An Alembic config built in code, so migrations run from an installed package too."""
    config = Config()
    config.set_main_option("path_separator", "os")
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("version_locations", str(_HERE / "versions"))
    config.attributes["database_url"] = url
    return config


def upgrade_database(url: str) -> None:
    """Bring the database at ``url`` to the newest schema.

    On PostgreSQL an advisory lock makes concurrent starts (several workers) take turns; on SQLite
    the migration's own write transaction does.
    """
    from server.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SELECT pg_advisory_lock(7270101)")
            try:
                config = alembic_config(url)
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
            finally:
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql("SELECT pg_advisory_unlock(7270101)")
                    connection.commit()
    finally:
        engine.dispose()
