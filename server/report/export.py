"""A report written out: as a JSON-ready dict (the API), a CSV file, an Excel workbook; and the
cases of a period with their whole history as CSV.

CSV is UTF-8 with a byte-order mark so that Excel on a Chinese Windows opens it without mojibake.
Nothing here computes a figure: it only lays out what ``queries.evaluate`` returned.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import CHINA_TZ

from ..models import CaseRow, Community, Department, EventRow, Road, User
from .definitions import FIGURES, SCOPE_LABELS, STEPS, Period, Report, Scope
from .queries import cohort  # the cohort is defined once, for the figures and the export

__all__ = [
    "CASE_COLUMNS",
    "export_cases",
    "flat_header",
    "flat_rows",
    "report_to_dict",
    "write_csv",
    "write_xlsx",
]


def report_to_dict(report: Report) -> dict[str, Any]:
    return {
        "street_id": report.street_id,
        "street_name": report.street_name,
        "scope": report.scope.value,
        "id": report.scope_id,
        "from": report.period.first.isoformat(),
        "to": report.period.last.isoformat(),
        "now": report.now.isoformat(),
        "rule": report.rule.describe(),
        "required_patrols": report.required_patrols,
        "rows": [
            {
                "key": row.key,
                "name": row.name,
                "figures": dict(row.figures),
                "steps": {
                    name: {"visits": s.visits, "avg_hours": s.avg_hours, "p90_hours": s.p90_hours}
                    for name, s in row.steps.items()
                },
            }
            for row in report.rows
        ],
        "trend": [
            {"week_start": p.week_start.isoformat(), "reported": p.reported, "closed": p.closed}
            for p in report.trend
        ],
        "definitions": [
            {"key": f.key, "zh": f.zh, "en": f.en, "formula": f.formula, "kind": f.kind} for f in FIGURES
        ],
    }


# --- flat tables (CSV, the terminal, the workbook) ---------------------------------------------------


def flat_header(report: Report) -> list[tuple[str, str]]:
    """(column key, "中文 English" heading) for one row per group: figures, then step times."""
    zh, en = SCOPE_LABELS[report.scope]
    columns = [("key", "编号 id"), ("name", f"{zh} {en}")]
    columns += [(f.key, f"{f.zh} {f.en}") for f in FIGURES]
    for step, step_zh, step_en, _ in STEPS:
        columns += [
            (f"{step}_visits", f"{step_zh}次数 {step_en} visits"),
            (f"{step}_avg_h", f"{step_zh}平均用时(时) {step_en} avg h"),
            (f"{step}_p90_h", f"{step_zh}90分位(时) {step_en} p90 h"),
        ]
    return columns


def flat_rows(report: Report) -> Iterator[dict[str, Any]]:
    for row in report.rows:
        out: dict[str, Any] = {"key": row.key or "", "name": row.name, **row.figures}
        for step, *_ in STEPS:
            s = row.steps.get(step)
            out[f"{step}_visits"] = s.visits if s else 0
            out[f"{step}_avg_h"] = s.avg_hours if s else None
            out[f"{step}_p90_h"] = s.p90_hours if s else None
        yield out


def write_csv(report: Report, path: Path) -> None:
    header = flat_header(report)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([heading for _, heading in header])
        for row in flat_rows(report):
            writer.writerow(["" if row[key] is None else row[key] for key, _ in header])


def write_xlsx(reports: list[Report], path: Path) -> None:
    """One sheet per scope's table, a weekly trend sheet, and the definitions."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="1F4E78")

    def sheet(title: str, header: list[str], rows: list[list[Any]], formats: list[str | None]) -> None:
        ws = book.create_sheet(title[:31])
        ws.append(header)
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for values in rows:
            ws.append(values)
        for index, heading in enumerate(header, start=1):
            letter = get_column_letter(index)
            widest = max([_width(heading) // 2 + 2] + [_width(r[index - 1]) + 2 for r in rows] or [10])
            ws.column_dimensions[letter].width = min(max(widest, 8), 60)
            if formats[index - 1]:
                for cell in ws[letter][1:]:
                    cell.number_format = formats[index - 1]
        ws.freeze_panes = "C2" if len(header) > 2 else "A2"
        ws.row_dimensions[1].height = 45

    for report in reports:
        header = flat_header(report)
        kinds = {f.key: f.kind for f in FIGURES}
        formats = [
            "0.0%" if kinds.get(key) == "rate" else "0.00" if key.endswith("_h") else None
            for key, _ in header
        ]
        rows = [[row[key] for key, _ in header] for row in flat_rows(report)]
        zh, en = SCOPE_LABELS[report.scope]
        sheet(f"{zh} {en}", [heading for _, heading in header], rows, formats)
    first = reports[0]
    trend = [[p.week_start, p.reported, p.closed] for p in first.trend]
    sheet("趋势 trend", ["周一 week of", "上报 reported", "结案 closed"], trend, ["yyyy-mm-dd", None, None])
    about = [
        ["街道 street", first.street_name],
        ["期间 period", f"{first.period.first} … {first.period.last}"],
        ["统计时点 as of", first.now.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M CST")],
        ["巡查规则 patrol rule", f"{first.rule.describe()}; {first.required_patrols} needed in this period"],
        ["", ""],
        *[[f"{f.zh} {f.en}", f.formula] for f in FIGURES],
        *[
            [f"{zh}用时 {en} time", f"{text}; clock hours; average and 90th percentile"]
            for _, zh, en, text in STEPS
        ],
        ["", ""],
        [
            "口径 cohort",
            "cases reported in the period, as they stand at the report's time; see docs/evaluation.md",
        ],
    ]
    sheet("定义 definitions", ["指标 figure", "定义 definition"], about, [None, None])
    book.save(path)


def _width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)  # CJK characters are twice as wide


# --- cases with their history ----------------------------------------------------------------------

CASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("case_id", "案件编号 case id"),
    ("state", "当前状态 state now"),
    ("category", "类别 category"),
    ("urgency", "紧急程度 urgency"),
    ("community", "社区 community"),
    ("road", "路段 road"),
    ("description", "描述 description"),
    ("reported_at", "上报时间 reported at"),
    ("due_at", "处置时限 due at"),
    ("step_no", "序号 step no."),
    ("event", "操作 event"),
    ("actor", "操作人 actor"),
    ("role", "角色 role"),
    ("department", "部门 department"),
    ("occurred_at", "发生时间 occurred at"),
    ("received_at", "服务器接收 received at"),
    ("detail", "说明 note / reason"),
)


def _local(value: str | datetime | None) -> str:
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def export_cases(session: Session, street_id: str, period: Period, path: Path, batch: int = 2000) -> int:
    """One row per event of every case reported in ``period`` (case fields repeated on each row).

    Streams: rows are read in pages of ``batch`` events and written as they come. Returns the
    number of cases written.
    """
    from engine import CATEGORIES

    names: dict[str, str] = {}
    for model in (Community, Department, Road):
        names.update(
            dict(session.execute(select(model.id, model.name).where(model.street_id == street_id)).all())
        )  # type: ignore[attr-defined]
    users = dict(session.execute(select(User.id, User.username).where(User.street_id == street_id)).all())
    cases = cohort(street_id, Scope.STREET, period)
    ev = EventRow.__table__
    cases_t = CaseRow.__table__
    query = (
        select(
            cases_t.c.id,
            cases_t.c.state,
            cases_t.c.data,
            ev.c.name,
            ev.c.actor_id,
            ev.c.role,
            ev.c.department_id,
            ev.c.occurred_at,
            ev.c.received_at,
            ev.c.args,
        )
        .join_from(cases, cases_t, cases_t.c.id == cases.c.id)
        .join(ev, ev.c.case_id == cases_t.c.id)
        .where(ev.c.street_id == street_id)
        .order_by(cases.c.reported_t, cases_t.c.id, ev.c.street_seq)
        .execution_options(yield_per=batch)
    )
    seen: set[str] = set()
    step = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([heading for _, heading in CASE_COLUMNS])
        last = None
        for row in session.execute(query):
            if row.id != last:
                last, step = row.id, 0
                seen.add(row.id)
            step += 1
            data, args = row.data, row.args or {}
            category = CATEGORIES.get(data.get("category_code", ""))
            department = args.get("department_id") if row.name == "dispatch" else row.department_id
            detail = next((str(args[k]) for k in ("note", "reason", "text", "into") if args.get(k)), "")
            writer.writerow(
                [
                    row.id,
                    row.state,
                    f"{data.get('category_code', '')} {category.name_zh if category else ''}".strip(),
                    data.get("urgency", ""),
                    names.get(data.get("community_id") or "", ""),
                    names.get(data.get("road_id") or "", ""),
                    data.get("description", ""),
                    _local(data.get("reported_at")),
                    _local(data.get("due_at")),
                    step,
                    row.name,
                    users.get(row.actor_id, row.actor_id),
                    row.role,
                    names.get(department or "", ""),
                    _local(row.occurred_at),
                    _local(row.received_at),
                    detail,
                ]
            )
    return len(seen)
