"""A street's rules: the engine's category table with the street's own rows laid over it.

Cached per street and keyed by the street's ``rules_version``, which every admin write to the
categories bumps, so each worker process notices a change on its next request.
"""

from __future__ import annotations

import threading
from types import MappingProxyType

from engine import CATEGORIES, Category, Rules

from .db import Transaction, transaction_memo
from .driver import Driver

__all__ = ["RulesCache", "load_rules"]


def load_rules(session: Transaction, street_id: str) -> Rules:
    """The street's rules, read from the database now.

    Plain SQL through the driver: a push may ask for them inside a PostgreSQL pipeline
    (``server.writer``), where an ORM query cannot read its result's columns before the rows come.
    """
    table: dict[str, Category] = dict(CATEGORIES)
    for code, data in Driver(session).rows(_OVERRIDES, (street_id,)):
        table[code] = Category.from_dict(Driver.json(data))
    return Rules(categories=MappingProxyType(dict(sorted(table.items()))))


_OVERRIDES = "SELECT code, data FROM category_overrides WHERE street_id = ?"


# read on every push, before anything else: through the driver (server.driver), not SQLAlchemy Core
_VERSION = "SELECT rules_version FROM streets WHERE id = ?"


class RulesCache:
    def __init__(self) -> None:
        self._rules: dict[str, tuple[int, Rules]] = {}
        self._lock = threading.Lock()

    def get(self, session: Transaction, street_id: str) -> Rules:
        memo = transaction_memo(session)
        known: Rules | None = memo.get(("rules", street_id))
        if known is not None:  # read once per transaction: a group of pushes shares it
            return known
        memo[("rules", street_id)] = rules = self._current(session, street_id)
        return rules

    def _current(self, session: Transaction, street_id: str) -> Rules:
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
