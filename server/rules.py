"""A street's rules: the engine's category table with the street's own rows laid over it.

Cached per street and keyed by the street's ``rules_version``, which every admin write to the
categories bumps, so each worker process notices a change on its next request.
"""

from __future__ import annotations

import threading
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import CATEGORIES, Category, Rules

from .driver import Driver
from .models import CategoryOverride

__all__ = ["RulesCache", "load_rules"]


def load_rules(session: Session, street_id: str) -> Rules:
    """The street's rules, read from the database now."""
    table: dict[str, Category] = dict(CATEGORIES)
    for row in session.scalars(select(CategoryOverride).where(CategoryOverride.street_id == street_id)):
        table[row.code] = Category.from_dict(row.data)
    return Rules(categories=MappingProxyType(dict(sorted(table.items()))))


# read on every push, before anything else: through the driver (server.driver), not SQLAlchemy Core
_VERSION = "SELECT rules_version FROM streets WHERE id = ?"


class RulesCache:
    def __init__(self) -> None:
        self._rules: dict[str, tuple[int, Rules]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, street_id: str) -> Rules:
        row = Driver(session).first(_VERSION, (street_id,))
        version = (row[0] if row is not None else 0) or 0
        with self._lock:
            hit = self._rules.get(street_id)
        if hit is not None and hit[0] == version:
            return hit[1]
        rules = load_rules(session, street_id)
        with self._lock:
            self._rules[street_id] = (version, rules)
        return rules
