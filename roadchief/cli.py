"""``roadchief``: subcommands load their package only when run, so each works with its own extras."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from roadchief.office import register as register_office_commands

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


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to listen on (default: ROADCHIEF_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port to listen on (default: ROADCHIEF_PORT or 8000)."),
) -> None:
    """Run the sync server: SQLite by default, PostgreSQL if ROADCHIEF_DATABASE_URL names one."""
    from server import Settings, run

    overrides = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    run(Settings(**overrides))


@app.command("create-admin")
def create_admin(
    street: str = typer.Option(..., help="The street's name; created if it does not exist yet."),
    username: str = typer.Option(..., help="The admin's username."),
    password: str = typer.Option(..., prompt=True, hide_input=True, help="At least 8 characters."),
) -> None:
    """Create a street (if new) and an admin for it, so a fresh server can be used."""
    from server import ApiError, Database, Settings
    from server.auth import Passwords
    from server.directory import bootstrap_admin
    from server.migrations import upgrade_database

    settings = Settings()
    upgrade_database(settings.database_url)
    db = Database(settings.database_url)
    try:
        with db.write() as session:
            found, user = bootstrap_admin(session, Passwords(settings), street, username, password)
            street_id, user_id = found.id, user.id
    except (ApiError, ValueError) as exc:
        typer.echo(f"error: {getattr(exc, 'reason', exc)}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    typer.echo(f"street {street} ({street_id}): admin {username} ({user_id})")


register_office_commands(app)  # demo, report, export-cases, import


@app.command("app")
def field_app(
    data_dir: Annotated[
        Path | None, typer.Option(help="The phone's store and settings (default: Kivy's user_data_dir).")
    ] = None,
    server: Annotated[str | None, typer.Option(help="Server URL to prefill on the sign-in screen.")] = None,
    lang: Annotated[str | None, typer.Option(help="zh or en (default: the saved choice, else zh).")] = None,
    position: Annotated[
        str | None, typer.Option(help='A fixed GPS fix for the desktop, "lat,lon" (a desktop has no GPS).')
    ] = None,
) -> None:
    """Open the field app (Kivy) in a desktop window; needs the app extras (kivy, plyer)."""
    import os

    if lang not in (None, "zh", "en"):
        raise typer.BadParameter("lang must be zh or en", param_hint="--lang")
    if position is not None:
        os.environ["ROADCHIEF_POSITION"] = position
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # Kivy must not read the roadchief command line
    from mobile.main import main as run_app  # Kivy loads here, not when the CLI starts

    run_app(data_dir=data_dir, server_url=server, lang=lang)


def main() -> None:
    app()
