"""``python -m server``: serve with settings from the ``ROADCHIEF_*`` environment."""

from __future__ import annotations

from server import run

__all__: list[str] = []

if __name__ == "__main__":
    run()
