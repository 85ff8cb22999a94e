"""The ``roadchief`` command: the loop walked in the terminal, and the diagram drawn from the table."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from roadchief.cli import app


def test_walk_takes_one_case_round_the_loop_with_a_rework() -> None:
    result = CliRunner().invoke(app, ["walk"])
    assert result.exit_code == 0, result.output
    assert "[approve → closed]" in result.output
    assert "返工 rework: 1" in result.output
    assert "处置时限 deadline" in result.output


def test_diagram_draws_every_state_to_svg_and_png(tmp_path: Path) -> None:
    out = tmp_path / "loop"
    result = CliRunner().invoke(app, ["diagram", "--out", str(out)])
    assert result.exit_code == 0, result.output
    svg = (tmp_path / "loop.svg").read_text(encoding="utf-8")
    for word in ("巡查", "反馈", "协调", "处置", "督察", "返工 reject", "街道吹哨 escalate", "closed"):
        assert word in svg
    assert (tmp_path / "loop.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
