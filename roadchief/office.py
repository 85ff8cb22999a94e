"""The street office's commands: ``demo``, ``report``, ``export-cases``, ``import`` and
``prune-photos``.

Registered on the ``roadchief`` app by ``register``; the server packages are imported inside each
command, so ``roadchief walk`` still runs without the server's extras.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from server import Database
    from server.report import Report

__all__ = ["register"]

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="SQLAlchemy URL (default: ROADCHIEF_DATABASE_URL or ./roadchief.db)."
    ),
]
StreetOption = Annotated[
    str | None, typer.Option("--street", help="The street's name or id (default: the only street).")
]


def _console() -> Console:
    from rich.console import Console

    return Console()


def _open(database_url: str | None) -> Database:
    from server import Database, Settings
    from server.migrations import upgrade_database

    url = database_url or Settings().database_url
    upgrade_database(url)
    return Database(url)


def _street(db: Database, street: str | None) -> tuple[str, str]:
    from sqlalchemy import or_, select

    from server.models import Street

    with db.read() as session:
        query = select(Street.id, Street.name)
        if street is not None:
            query = query.where(or_(Street.id == street, Street.name == street))
        found = session.execute(query.order_by(Street.name)).all()
    if len(found) == 1:
        return found[0].id, found[0].name
    if not found:
        raise typer.BadParameter(f"no street {street!r}" if street else "the database has no street yet")
    names = ", ".join(row.name for row in found)
    raise typer.BadParameter(f"several streets ({names}): choose one with --street")


def _fail(console: Console, message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(1)


# --- demo ------------------------------------------------------------------------------------------


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the database and photos live.")] = Path(
        "roadchief-demo"
    ),
    port: Annotated[int, typer.Option(help="Port for the server on 127.0.0.1.")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Seed, print, and stop.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed of the demo street.")] = 2026,
) -> None:
    """A fresh machine, one command: seed the demo street 广宁街道 and start the server."""
    from rich.table import Table

    from engine import Role, label
    from server import Database, Settings, run
    from server.auth import Passwords
    from server.migrations import upgrade_database
    from server.photos import PhotoStore
    from server.seed import DEMO_PASSWORD, seed_demo

    console = _console()
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        database_url=f"sqlite:///{directory / 'roadchief.db'}",
        photo_dir=directory / "photos",
        host="127.0.0.1",
        port=port,
    )
    upgrade_database(settings.database_url)
    db = Database(settings.database_url)
    try:
        with (
            console.status("正在生成示范街道 seeding the demo street (six weeks of cases)…"),
            db.write() as session,
        ):
            summary = seed_demo(
                session, Passwords(settings), datetime.now(UTC), PhotoStore(settings.photo_dir), seed
            )
    finally:
        db.dispose()
    console.print(
        f"{'seeded' if summary.created else 'already seeded'}: 广宁街道 with "
        f"{sum(summary.cases.values())} cases, {summary.patrols} patrols, {summary.events} events "
        f"in {directory}"
    )
    states = Table(title="案件状态 cases by state")
    states.add_column("状态 state")
    states.add_column("数量 cases", justify="right")
    from engine import State

    for state in State:
        if summary.cases.get(state.value):
            states.add_row(f"{label(state)} {state.value}", str(summary.cases[state.value]))
    console.print(states)
    accounts = Table(title=f"登录信息 sign-in (每个账号密码 every password: {DEMO_PASSWORD})")
    for heading in ("角色 role", "用户名 username", "密码 password", "姓名 name", "范围 scope"):
        accounts.add_column(heading, no_wrap=heading.startswith(("用户名", "密码")))
    for role, username, name, scope in summary.accounts:
        accounts.add_row(f"{label(Role(role))} {role}", username, DEMO_PASSWORD, name, scope)
    console.print(accounts)
    base = f"http://127.0.0.1:{port}"
    chief = next((a[1] for a in summary.accounts if a[0] == Role.ROAD_CHIEF.value), "admin")
    console.print(
        f"\n服务器 server: [bold]{base}[/]   API 文档 docs: {base}/docs\n"
        f"打开应用 open the app: [bold]roadchief app[/], server {base}, sign in as "
        f"[bold]{chief}[/] / {DEMO_PASSWORD}\n"
        f"综合评价 the evaluation: roadchief report --database-url {settings.database_url} "
        f"--from {date.today().replace(day=1)} --to {date.today()}"
    )
    if no_serve:
        return
    console.print(f"starting the server on {base} (Ctrl+C stops it)")
    run(settings)


# --- report ----------------------------------------------------------------------------------------


def _print_report(console: Console, report: Report) -> None:
    from rich.table import Table

    from server.report.definitions import FIGURE_BY_KEY, SCOPE_LABELS, STEPS

    zh, en = SCOPE_LABELS[report.scope]
    period = f"{report.period.first} – {report.period.last}"
    title = f"{report.street_name} 综合评价 evaluation · {period} · {zh} {en}"

    def table(name: str, keys: list[str]) -> Table:
        t = Table(title=f"{title} · {name}", show_lines=False)
        t.add_column(f"{zh} {en}", no_wrap=True)
        for key in keys:
            figure = FIGURE_BY_KEY[key]
            t.add_column(f"{figure.zh}\n{figure.en}", justify="right")
        for row in report.rows:
            t.add_row(row.name, *[_cell(row[key], FIGURE_BY_KEY[key].kind) for key in keys])
        return t

    console.print(
        table(
            "案件 cases",
            [
                "reported",
                "filed",
                "closed",
                "closure_rate",
                "closed_on_time",
                "on_time_rate",
                "open",
                "overdue_open",
                "reworked_cases",
                "rework_rate",
                "returns",
                "redispatches",
                "escalated",
                "escalation_rate",
                "fixed_on_spot",
            ],
        )
    )
    steps = Table(title=f"{title} · 各环节用时 time per step (hours: avg / p90, visits)")
    steps.add_column(f"{zh} {en}", no_wrap=True)
    for _, step_zh, step_en, _ in STEPS:
        steps.add_column(f"{step_zh}\n{step_en}", justify="right")
    for row in report.rows:
        cells = []
        for step, *_ in STEPS:
            s = row.steps.get(step)
            cells.append(
                f"{s.avg_hours:.1f} / {s.p90_hours:.1f} ({s.visits})"
                if s and s.avg_hours is not None
                else "–"
            )
        steps.add_row(row.name, *cells)
    console.print(steps)
    if report.rows and report.rows[0]["roads"] is not None:
        console.print(
            table(
                "巡查 patrols",
                ["patrols", "patrols_with_findings", "roads", "roads_covered", "coverage_rate"],
            )
        )
        console.print(f"巡查规则 rule: {report.rule.describe()} → {report.required_patrols} in this period")


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.1f}%" if kind == "rate" else str(value)


def report(
    first: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day (China time).")],
    last: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day, included.")],
    scope: Annotated[str, typer.Option(help="street, community, department, road or chief.")] = "street",
    item: Annotated[
        str | None, typer.Option("--id", help="Only this community / department / road / chief.")
    ] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write the table as CSV.")] = None,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Write an Excel workbook (every scope).")
    ] = None,
    charts: Annotated[
        Path | None, typer.Option("--charts", help="Write PNG charts into this directory.")
    ] = None,
    database_url: DatabaseUrl = None,
    street: StreetOption = None,
    patrols: Annotated[int, typer.Option(help="Patrol rule: at least this many patrols …")] = 2,
    per_days: Annotated[int, typer.Option(help="… per this many days (scaled to the period).")] = 30,
) -> None:
    """综合评价: the street's figures over a period, as a table, CSV, Excel and charts."""
    from server.report import PatrolRule, Period, Scope, evaluate, scope_exists
    from server.report.export import write_csv, write_xlsx

    console = _console()
    try:
        chosen = Scope(scope)
        period = Period(first.date(), last.date())
        rule = PatrolRule(patrols, per_days)
    except ValueError as exc:
        raise _fail(console, str(exc)) from None
    db = _open(database_url)
    try:
        street_id, _ = _street(db, street)
        now = datetime.now(UTC)
        with db.read() as session:
            if item is not None and not scope_exists(session, street_id, chosen, item):
                raise _fail(console, f"no {chosen.value} {item!r} in this street")
            main = evaluate(session, street_id, period, now, chosen, item, rule)
            every = {chosen: main}
            if xlsx is not None or charts is not None:
                for other in (Scope.STREET, Scope.DEPARTMENT, Scope.COMMUNITY, Scope.ROAD, Scope.CHIEF):
                    if other not in every:
                        every[other] = evaluate(session, street_id, period, now, other, None, rule)
    finally:
        db.dispose()
    _print_report(console, main)
    if csv_path is not None:
        write_csv(main, csv_path)
        console.print(f"wrote {csv_path}")
    if xlsx is not None:
        write_xlsx([main, *[r for s, r in every.items() if s is not chosen]], xlsx)
        console.print(f"wrote {xlsx}")
    if charts is not None:
        from server.report.charts import cjk_font, draw_charts

        for path in draw_charts(every[Scope.STREET], every[Scope.DEPARTMENT], charts):
            console.print(f"wrote {path}")
        if cjk_font() is None:
            console.print("[yellow]no CJK font found: the charts are labelled in English[/]")


def export_cases(
    first: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day (China time).")],
    last: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day, included.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")] = Path("cases.csv"),
    database_url: DatabaseUrl = None,
    street: StreetOption = None,
) -> None:
    """Cases reported in the period with their whole history: one CSV row per event."""
    from server.report import Period
    from server.report.export import export_cases as write_cases

    console = _console()
    try:
        period = Period(first.date(), last.date())
    except ValueError as exc:
        raise _fail(console, str(exc)) from None
    db = _open(database_url)
    try:
        street_id, name = _street(db, street)
        with db.read() as session, console.status("exporting…"):
            count = write_cases(session, street_id, period, out)
    finally:
        db.dispose()
    console.print(f"wrote {count} cases of {name} with their history to {out}")


# --- imports ---------------------------------------------------------------------------------------

imports = typer.Typer(
    help="Import roads, users or categories from files: all rows or none.", no_args_is_help=True
)


def _run_import(kind: str, path: Path, database_url: str | None, street: str | None) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from server import Settings
    from server.auth import Passwords
    from server.imports import ImportFailed, import_categories, import_roads, import_users

    console = _console()
    if not path.is_file():
        raise _fail(console, f"no file {path}")
    db = _open(database_url)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )

    def track(items: Any, description: str, total: int) -> Any:
        return progress.track(items, total=total, description=description)

    try:
        street_id, name = _street(db, street)
        with progress:
            if kind == "roads":
                result = import_roads(db, street_id, path, track)
            elif kind == "users":
                settings = Settings(database_url=db.url)
                result = import_users(db, street_id, path, Passwords(settings), track)
            else:
                result = import_categories(db, street_id, path, track)
    except ImportFailed as failed:
        table = Table(
            title=f"{path.name}: {len(failed.errors)} 个错误 errors — 未导入任何数据 nothing was imported"
        )
        for heading in ("行 row", "字段 field", "问题 problem"):
            table.add_column(heading)
        for error in failed.errors:
            table.add_row(str(error.row), error.field, error.message)
        console.print(table)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    console.print(f"{name}: {result.created} {kind} created, {result.updated} updated")


@imports.command("roads")
def import_roads_command(
    path: Annotated[
        Path, typer.Argument(help="GeoJSON FeatureCollection, or CSV: name, community, chief, geometry")
    ],
    database_url: DatabaseUrl = None,
    street: StreetOption = None,
) -> None:
    """Roads (LineString geometry, community, optional chief username); a known name is updated."""
    _run_import("roads", path, database_url, street)


@imports.command("users")
def import_users_command(
    path: Annotated[
        Path, typer.Argument(help="CSV: username, password, role, display_name, community, department")
    ],
    database_url: DatabaseUrl = None,
    street: StreetOption = None,
) -> None:
    """Users with roles and scopes; passwords are stored as argon2id hashes."""
    _run_import("users", path, database_url, street)


@imports.command("categories")
def import_categories_command(
    path: Annotated[
        Path,
        typer.Argument(help="CSV: code, kind, domain, major_zh, major_en, name_zh, name_en, normal, urgent"),
    ],
    database_url: DatabaseUrl = None,
    street: StreetOption = None,
) -> None:
    """Categories and deadlines (处置时限) such as '3 working_days' or '2 小时'; blank keeps current."""
    _run_import("categories", path, database_url, street)


# --- prune-photos ----------------------------------------------------------------------------------


def prune_photos(
    database_url: DatabaseUrl = None,
    photo_dir: Annotated[
        Path | None,
        typer.Option("--photo-dir", help="The server's photos (default: ROADCHIEF_PHOTO_DIR or ./photos)."),
    ] = None,
    older_than_days: Annotated[
        int, typer.Option("--older-than-days", min=1, help="Grace period: newer photos are kept.")
    ] = 30,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, delete nothing.")] = False,
) -> None:
    """Delete photos no accepted action names (uploaded for a refused or never-sent report)."""
    from datetime import timedelta

    from server import Settings
    from server.photo_prune import prune_photos as prune
    from server.photos import PhotoStore

    console = _console()
    db = _open(database_url)
    try:
        store = PhotoStore(photo_dir or Settings().photo_dir)
        result = prune(db, store, older_than=timedelta(days=older_than_days), dry_run=dry_run)
    finally:
        db.dispose()
    verb = "would delete" if dry_run else "deleted"
    console.print(
        f"{result.stored} photos stored: {result.named} named by cases, {result.recent} newer than "
        f"{older_than_days} days; {verb} {result.removed} ({result.freed_bytes / 1_048_576:.1f} MiB)"
    )


def register(app: typer.Typer) -> None:
    """Add the street office's commands to the ``roadchief`` app."""
    app.command("prune-photos")(prune_photos)
    app.command()(demo)
    app.command()(report)
    app.command("export-cases")(export_cases)
    app.add_typer(imports, name="import")
