"""Thin HTTP handlers: parse, open a session at the edge, call one service function, answer."""

from __future__ import annotations

from . import admin, auth, reference, sync

__all__ = ["admin", "auth", "reference", "sync"]
