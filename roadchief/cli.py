"""``roadchief``: subcommands load their package only when run, so each works with its own extras."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="路长制 roadchief: the road-chief loop, offline-first.", no_args_is_help=True)

__all__ = ["app", "main"]


@app.command()
def diagram(
    out: Annotated[Path, typer.Option(help="Output path; .svg and .png are written.")] = Path("docs/loop"),
) -> None:
    """Draw the five-step loop (transitions' GraphMachine) to SVG and PNG."""
    from engine.diagram import loop_graph

    graph = loop_graph()
    out.parent.mkdir(parents=True, exist_ok=True)
    for fmt in ("svg", "png"):
        path = out.with_suffix(f".{fmt}")
        path.write_bytes(graph.pipe(format=fmt))
        typer.echo(f"wrote {path}")


@app.command()
def walk() -> None:
    """Walk one case round the whole loop in the terminal, with one rework, and print its timeline."""
    from roadchief.walkthrough import run_walkthrough

    run_walkthrough(typer.echo)


def main() -> None:
    app()
