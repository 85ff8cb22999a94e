"""The ``transitions`` machine class that both loops (cases and patrols) are built on.

It is transitions' own ``Machine``, changed only through its class attributes ``state_cls`` (which
its README documents for custom states), ``transition_cls`` and ``event_cls`` (which its own
LockedMachine, GraphMachine and HierarchicalMachine set the same way). Which transition fires,
its conditions and callbacks, and the state it leaves on the model are still transitions' data and
the same steps in the same order; what the subclasses leave out is work that changes nothing on our
machines, and was a third of the engine's time per event (bench/engine.py: ~46 → ~30 µs per event):

- ``State.name`` is a property that checks for an enum each time it is read, about six times a
  trigger. Our states are plain strings, so the name is stored once as an attribute instead.
- ``Machine.get_state`` checks for an enum and for a registered name at each of a trigger's three
  state lookups; a plain string name is looked up in the machine's ``states`` directly, and
  anything else still goes through the stock method.
- Every step of a trigger writes a log record (eleven per event) through ``logging``, which then
  finds nobody listening; and it walks the callback lists (prepare, before, enter, exit, finalize)
  that our machines leave empty. The subclasses skip both. A machine that does set one of those
  callbacks, or queues its events, or handles exceptions, runs transitions' stock code for it.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from transitions import EventData, Machine, State, Transition
from transitions.core import Event

__all__ = ["LoopMachine"]


class _NamedState(State):
    """A transitions ``State`` whose ``name`` is an attribute, computed as the stock property does."""

    # a plain class attribute in place of the inherited property, so that the instance's own
    # ``name`` (set in __init__) is what attribute lookup finds
    name: str = ""  # type: ignore[assignment]

    def __init__(self, name: str | Enum, *args: Any, **kwargs: Any) -> None:
        super().__init__(name, *args, **kwargs)
        self.name = name.name if isinstance(name, Enum) else name


class _LoopTransition(Transition):
    """``Transition.execute``'s steps, in its order, without logging or calls on empty callback lists."""

    def execute(self, event_data: EventData) -> bool:
        machine = event_data.machine
        _run(machine, self.prepare, event_data)
        for condition in self.conditions:
            if not condition.check(event_data):
                return False
        _run(machine, machine.before_state_change, event_data)
        _run(machine, self.before, event_data)
        if self.dest:  # None: an internal transition, the state stays
            self._change_state(event_data)
        _run(machine, self.after, event_data)
        _run(machine, machine.after_state_change, event_data)
        return True

    def _change_state(self, event_data: EventData) -> None:
        machine = event_data.machine
        source = _state(machine, self.source)
        if source.on_exit:
            source.exit(event_data)
        dest = _state(machine, self.dest)
        setattr(event_data.model, machine.model_attribute, dest.value)
        event_data.state = dest
        if dest.on_enter:
            dest.enter(event_data)
        if dest.final:
            _run(machine, machine.on_final, event_data)


def _state(machine: Machine, name: Any) -> State:
    """``machine.get_state(name)``: a plain string name is looked up directly; anything else (an
    enum, a name not registered) goes through the stock method, its conversion and its error."""
    state = machine.states.get(name) if type(name) is str else None
    return state if state is not None else machine.get_state(name)


def _model_state(machine: Machine, model: Any) -> State:
    """``machine.get_model_state(model)``, by way of ``_state``."""
    return _state(machine, getattr(model, machine.model_attribute))


def _run(machine: Machine, callbacks: list[Any], event_data: EventData) -> None:
    """``Machine.callbacks`` without its log record per callback."""
    for callback in callbacks:
        machine.callback(callback, event_data)


class _LoopEvent(Event):
    """``Event.trigger`` for an unqueued machine without machine-wide event callbacks: the same
    steps (find the model's state, refuse an invalid source, try its transitions in order until one
    executes) without the partial, the queue check and the logging around them."""

    def trigger(self, model: Any, *args: Any, **kwargs: Any) -> bool:
        machine = self.machine
        if machine.has_queue or machine.prepare_event or machine.finalize_event or machine.on_exception:
            return super().trigger(model, *args, **kwargs)  # type: ignore[no-any-return]
        event_data = EventData(None, self, machine, model, args=args, kwargs=kwargs)
        state = _model_state(machine, model)
        event_data.state = state
        if self._is_valid_source(state):  # raises MachineError unless invalid triggers are ignored
            for transition in self.transitions[state.name]:
                event_data.transition = transition
                if transition.execute(event_data):
                    event_data.result = True
                    break
        return event_data.result  # type: ignore[no-any-return]


class LoopMachine(Machine):
    """``transitions.Machine`` with the state, transition and event classes above; the rest is stock."""

    state_cls = _NamedState
    transition_cls = _LoopTransition
    event_cls = _LoopEvent
