"""A street's rules: the engine's category table with the street's own rows laid over it.

Cached per street and keyed by the street's ``rules_version``, which every admin write to the
categories bumps, so each worker process notices a change on its next request.
"""

from __future__ import annotations

import threading
from types import MappingProxyType

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine import CATEGORIES, Category, Rules

from .models import CategoryOverride, Street

__all__ = ["RulesCache", "load_rules"]


def load_rules(session: Session, street_id: str) -> Rules:
    """The street's rules, read from the database now."""
    table: dict[str, Category] = dict(CATEGORIES)
    for row in session.scalars(select(CategoryOverride).where(CategoryOverride.street_id == street_id)):
        table[row.code] = Category.from_dict(row.data)
    return Rules(categories=MappingProxyType(dict(sorted(table.items()))))


# built once: read on every push, before anything else
_VERSION = select(Street.__table__.c.rules_version).where(Street.__table__.c.id == bindparam("street_id"))


class RulesCache:
    def __init__(self) -> None:
        self._rules: dict[str, tuple[int, Rules]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, street_id: str) -> Rules:
        version = session.connection().execute(_VERSION, {"street_id": street_id}).scalar() or 0
        with self._lock:
            hit = self._rules.get(street_id)
        if hit is not None and hit[0] == version:
            return hit[1]
        rules = load_rules(session, street_id)
        with self._lock:
            self._rules[street_id] = (version, rules)
        return rules
