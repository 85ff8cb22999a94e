"""engine imports nothing of ours; shared only engine; server and mobile never each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"engine", "shared", "server", "mobile", "roadchief"}
MAY_IMPORT = {
    "engine": set(),
    "shared": {"engine"},
    "server": {"engine", "shared"},
    "mobile": {"engine", "shared"},
}
FORBIDDEN_THIRD_PARTY = {
    "engine": {
        "sqlalchemy",
        "fastapi",
        "requests",
        "kivy",
        "pydantic",
        "sqlite3",
        "socket",
        "urllib",
        "http",
    },
    "shared": {"sqlalchemy", "fastapi", "requests", "kivy", "pydantic", "transitions"},
    "mobile": {"sqlalchemy", "fastapi", "uvicorn"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_what_the_rule_allows(package: str) -> None:
    for path in sorted((ROOT / package).rglob("*.py")):
        imported = imported_packages(path)
        ours = (imported & OURS) - {package}
        assert ours <= MAY_IMPORT[package], f"{path.relative_to(ROOT)} imports {sorted(ours)}"
        banned = imported & FORBIDDEN_THIRD_PARTY.get(package, set())
        assert not banned, f"{path.relative_to(ROOT)} imports {sorted(banned)}"


def test_the_rule_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from server.app import create_app\nimport mobile\n", encoding="utf-8")
    assert imported_packages(bad) == {"server", "mobile"}
