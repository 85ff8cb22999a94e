"""The server's settings: one typed object, read from ``ROADCHIEF_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Everything the server needs to start; the defaults run a street on an embedded SQLite file."""

    model_config = SettingsConfigDict(env_prefix="ROADCHIEF_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///./roadchief.db"
    photo_dir: Path = Path("./photos")
    token_ttl_hours: float = Field(default=720, gt=0)
    # failed logins per username, and per client address, in any sliding minute
    login_attempts_per_minute: int = Field(default=10, ge=1)
    login_attempts_per_minute_per_ip: int = Field(default=60, ge=1)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # argon2id cost; the defaults are argon2-cffi's (RFC 9106 low-memory). Tests lower them.
    password_time_cost: int = Field(default=3, ge=1)
    password_memory_kib: int = Field(default=65536, ge=64)
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    log_level: str = "info"
    # photos no accepted action names are deleted once this old (server.photo_prune), checked this
    # often; 0 hours: never by the server (run ``roadchief prune-photos`` from cron instead)
    photo_prune_days: float = Field(default=30, gt=0)
    photo_prune_every_hours: float = Field(default=24, ge=0)
    # server processes; more than one only on PostgreSQL (SQLite has one writer: see server.writer)
    workers: int = Field(default=1, ge=1, le=64)
