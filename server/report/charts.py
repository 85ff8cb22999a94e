"""Charts of a report as PNG files (matplotlib, Agg: no display needed).

Chinese labels need a CJK font: the app's bundled Noto Sans SC (``mobile/fonts``) if present, else
one fontconfig knows for ``:lang=zh``; without either the charts are drawn with English labels.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from .definitions import STEPS, Report

__all__ = ["cjk_font", "draw_charts"]

_BUNDLED = Path(__file__).resolve().parents[2] / "mobile" / "fonts"


@lru_cache(maxsize=1)
def cjk_font() -> Path | None:
    """A font file with Chinese glyphs, or None."""
    if _BUNDLED.is_dir():
        for pattern in ("NotoSansSC*.otf", "NotoSansSC*.ttf", "*.otf", "*.ttf"):
            found = sorted(_BUNDLED.glob(pattern))
            if found:
                return found[0]
    fc_match = shutil.which("fc-match")
    if fc_match is not None:
        try:
            answer = subprocess.run(
                [fc_match, "-f", "%{file}", ":lang=zh"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        path = Path(answer.stdout.strip())
        if answer.returncode == 0 and path.suffix.lower() in (".otf", ".ttf", ".ttc") and path.is_file():
            return path
    return None


def _pyplot(font: Path | None):  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    if font is not None:
        font_manager.fontManager.addfont(str(font))
        name = font_manager.FontProperties(fname=str(font)).get_name()
        plt.rcParams["font.family"] = [name, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def draw_charts(street: Report, departments: Report, out: Path) -> list[Path]:
    """trend.png (reports and closures per week), departments.png (rates by department) and
    steps.png (hours per step); returns the files written."""
    font = cjk_font()
    zh = font is not None

    def t(chinese: str, english: str) -> str:
        return f"{chinese} {english}" if zh else english

    plt = _pyplot(font)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    title = f"{street.street_name if zh else 'street'} {street.period.first} – {street.period.last}"

    # 1. the trend
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    weeks = [p.week_start.strftime("%m-%d") for p in street.trend]
    x = range(len(weeks))
    ax.bar([i - 0.2 for i in x], [p.reported for p in street.trend], 0.4, label=t("上报", "reported"))
    ax.bar([i + 0.2 for i in x], [p.closed for p in street.trend], 0.4, label=t("结案", "closed"))
    ax.set_xticks(list(x), weeks)
    ax.set_xlabel(t("周(周一)", "week of (Monday)"))
    ax.set_ylabel(t("案件数", "cases"))
    ax.set_title(f"{t('每周上报与结案', 'reports and closures per week')}\n{title}")
    ax.legend()
    written.append(_save(fig, plt, out / "trend.png"))

    # 2. rates by department
    rows = [r for r in departments.rows if r["reported"]]
    fig, ax = plt.subplots(figsize=(9, max(3.5, 0.55 * len(rows) + 1.5)), dpi=110)
    names = [r.name if zh else (r.key or "none")[:8] for r in rows]
    series = (
        ("closure_rate", "结案率", "closure"),
        ("on_time_rate", "按期结案率", "on time"),
        ("rework_rate", "返工率", "rework"),
    )
    height = 0.8 / len(series)
    for index, (key, chinese, english) in enumerate(series):
        values = [float(r[key] or 0) * 100 for r in rows]
        ax.barh(
            [i + (index - 1) * height for i in range(len(rows))], values, height, label=t(chinese, english)
        )
    ax.set_yticks(range(len(rows)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("%")
    ax.set_title(f"{t('各部门指标', 'rates by department')}\n{title}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False)
    written.append(_save(fig, plt, out / "departments.png"))

    # 3. hours per step
    (row,) = street.rows[:1] or (None,)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    labels, avg, p90 = [], [], []
    for step, chinese, english, _ in STEPS:
        s = row.steps.get(step) if row is not None else None
        labels.append(t(chinese, english))
        avg.append(s.avg_hours or 0 if s else 0)
        p90.append(s.p90_hours or 0 if s else 0)
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], avg, 0.4, label=t("平均", "average"))
    ax.bar([i + 0.2 for i in x], p90, 0.4, label=t("90分位", "90th percentile"))
    ax.set_xticks(list(x), labels)
    ax.set_ylabel(t("小时", "hours"))
    ax.set_title(f"{t('各环节用时', 'time per step')}\n{title}")
    ax.legend()
    written.append(_save(fig, plt, out / "steps.png"))
    return written


def _save(fig, plt, path: Path) -> Path:  # type: ignore[no-untyped-def]
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
