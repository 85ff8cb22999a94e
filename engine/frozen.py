"""Fast copies and constructors for frozen, slotted dataclasses (cases, patrols, events, messages).

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``, a Python-level
call per field, and ``dataclasses.replace`` runs that ``__init__`` on top of copying. On the
server's push path that was several microseconds per event for each object built (bench/sync.py,
py-spy). Both functions here build the object as an instance of a private subclass that adds no
slots and has plain attribute assignment, with one ``new.f = ...`` line per field (generated once,
per class), which the interpreter runs as specialised slot stores; then the instance becomes a
``cls``. The subclass has the same memory layout, so the class switch is allowed and nothing else
differs: the result is exactly what the dataclass's own constructor gives for the same field
values (tests/engine/test_frozen.py holds it to that).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

__all__ = ["builder", "evolver"]

T = TypeVar("T")


def _writable(cls: type) -> type:
    # __delattr__ too: both share one type slot, and a frozen __delattr__ left in place would keep
    # the slow Python-level __setattr__ path
    return type(
        f"_Writable{cls.__name__}",
        (cls,),
        {"__slots__": (), "__setattr__": object.__setattr__, "__delattr__": object.__delattr__},
    )


def _generate(cls: type, name: str, lines: list[str]) -> Callable[..., Any]:
    namespace: dict[str, Any] = {
        "_new": object.__new__,
        "_writable": _writable(cls),
        "_cls": cls,
        "_setattr": setattr,
    }
    # the source is built only from the class's field names; the file name labels it in profiles
    exec(compile("\n".join(lines), f"<{name} {cls.__name__}>", "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    function.__qualname__ = f"{name}_{cls.__name__}"
    return function


def evolver(cls: type[T]) -> Callable[[T, dict[str, Any]], T]:
    """``evolve(old, changes)`` for ``cls``: what ``dataclasses.replace(old, **changes)`` returns,
    about ten times faster: every slot copied, then ``changes`` applied."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    return _generate(
        cls,
        "evolve",
        [
            "def evolve(old, changes):",
            "    new = _new(_writable)",
            *(f"    new.{name} = old.{name}" for name in names),
            "    for name, value in changes.items():",
            "        _setattr(new, name, value)",
            "    new.__class__ = _cls",
            "    return new",
        ],
    )


def builder(cls: type[T]) -> Callable[..., T]:
    """``build(*values)`` for ``cls``: an instance with every field (``init=False`` ones too) set to
    the value given, in field order, about four times faster than ``cls(...)``.

    It runs no ``__post_init__`` and fills in no default: it is for a caller that holds every
    field's value and has already checked them as ``__post_init__`` would.
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    return _generate(
        cls,
        "build",
        [
            f"def build({', '.join(names)}):",
            "    new = _new(_writable)",
            *(f"    new.{name} = {name}" for name in names),
            "    new.__class__ = _cls",
            "    return new",
        ],
    )
