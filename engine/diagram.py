"""The loop drawn by transitions' GraphMachine, from the same table the engine runs.

Returns a ``graphviz.Digraph``; writing it to SVG or PNG is the caller's business (the CLI's).
Needs the optional ``graphviz`` package (``pip install roadchief[diagram]``) and Graphviz's ``dot``.
"""

from __future__ import annotations

from typing import Any

from .labels import label
from .vocabulary import STEP_OF_STATE, State, Step, Trigger
from .workflow import CASE_TRANSITIONS

__all__ = ["STEP_COLOURS", "loop_graph"]

STEP_COLOURS: dict[Step, str] = {
    Step.PATROL: "#e8f1fb",
    Step.FEEDBACK: "#fff4d6",
    Step.COORDINATION: "#ffe3cc",
    Step.DISPOSAL: "#e2f5e1",
    Step.SUPERVISION: "#ece3fb",
    Step.DONE: "#eeeeee",
}
# comments and photos are possible at every open step; drawing them would hide the loop
_NOT_DRAWN = {Trigger.COMMENT, Trigger.ATTACH_PHOTOS}


def loop_graph(title: str = "路长制 5步法 · the road-chief loop") -> Any:
    """The case loop as a graphviz ``Digraph``: one node per state, coloured by step."""
    from transitions.extensions import GraphMachine  # optional dependency, loaded on use

    transitions = [
        {
            "trigger": f"{label(row.trigger)} {row.trigger.value}",
            "source": [s.value for s in row.source],
            "dest": row.dest.value if row.dest is not None else None,
        }
        for row in CASE_TRANSITIONS
        if row.trigger not in _NOT_DRAWN
    ]
    # a fix on the spot that is rejected has no department and goes to coordination: mark the branch
    for item in transitions:
        if item["trigger"].endswith(Trigger.REJECT.value) and item["dest"] == State.COORDINATION.value:
            item["trigger"] += " (现场处置 fixed on spot)"
    machine = GraphMachine(
        states=[s.value for s in State],
        initial=State.PATROL.value,
        transitions=transitions,
        auto_transitions=False,
        title=title,
        show_conditions=False,
        graph_engine="graphviz",
    )
    graph = machine.get_graph()
    graph.graph_attr.update(rankdir="TB", fontname="sans-serif", labelloc="t")
    graph.edge_attr.update(fontname="sans-serif", fontsize="10")
    for state in State:
        step = STEP_OF_STATE[state]
        graph.node(
            state.value,
            label=f"{label(step)} {step.value}\n{label(state)}\n{state.value}",
            style="rounded,filled",
            fillcolor=STEP_COLOURS[step],
            fontname="sans-serif",
            shape="box",
        )
    return graph
