"""The ``transitions`` machine class that both loops (cases and patrols) are built on.

It is transitions' own ``Machine``, changed only through its documented extension point
``state_cls``: every trigger asks a state for its ``name`` about six times (entering, leaving,
looking up transitions, logging), and the stock ``State.name`` is a property that checks for an enum
each time. Our states are plain strings, so the name is stored once as an attribute instead. Which
transition fires, its conditions and callbacks, and the state it leaves on the model are all still
decided by transitions' runtime.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from transitions import Machine, State

__all__ = ["LoopMachine"]


class _NamedState(State):
    """A transitions ``State`` whose ``name`` is an attribute, computed as the stock property does."""

    # a plain class attribute in place of the inherited property, so that the instance's own
    # ``name`` (set in __init__) is what attribute lookup finds
    name: str = ""  # type: ignore[assignment]

    def __init__(self, name: str | Enum, *args: Any, **kwargs: Any) -> None:
        super().__init__(name, *args, **kwargs)
        self.name = name.name if isinstance(name, Enum) else name


class LoopMachine(Machine):
    """``transitions.Machine`` with ``_NamedState`` states; everything else is the stock machine."""

    state_cls = _NamedState
