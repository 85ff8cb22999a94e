"""``buildozer.spec`` ships what the phone app imports, and nothing of the server's.

The spec is INI with ``%(source.dir)s`` interpolation, read here with ``configparser`` the way
buildozer reads it. Third-party imports are found by scanning ``engine/``, ``shared/`` and
``mobile/`` with ``ast``; the standard library is told apart with ``sys.stdlib_module_names``.
"""

from __future__ import annotations

import ast
import configparser
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("engine", "shared", "mobile")
FIRST_PARTY = frozenset(SHIPPED)
# import name -> the name python-for-android (and PyPI) knows it by
DISTRIBUTION = {"PIL": "pillow", "dateutil": "python-dateutil", "yaml": "pyyaml", "kivy": "kivy"}
SERVER_ONLY = ("sqlalchemy", "fastapi", "pydantic", "uvicorn", "alembic", "psycopg", "argon2")


@pytest.fixture(scope="module")
def spec() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "buildozer.spec", encoding="utf-8")
    parser.set("app", "source.dir", str(ROOT))  # what buildozer substitutes for "."
    return parser


def listed(spec: configparser.ConfigParser, key: str) -> list[str]:
    return [item.strip() for item in spec.get("app", key).split(",") if item.strip()]


def requirement_names(spec: configparser.ConfigParser) -> set[str]:
    names = set()
    for item in listed(spec, "requirements"):
        for sep in ("==", ">=", "<=", "~=", ">", "<"):
            item = item.split(sep)[0]
        names.add(item.strip().lower())
    return names


def _optional(tree: ast.AST) -> set[int]:
    """Ids of import nodes inside ``try: ... except ImportError``: the app runs without them."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            caught = {getattr(h.type, "id", None) for h in node.handlers if isinstance(h.type, ast.Name)}
            if caught & {"ImportError", "ModuleNotFoundError"}:
                skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def third_party_imports() -> set[str]:
    found: set[str] = set()
    for package in SHIPPED:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            optional = _optional(tree)
            for node in ast.walk(tree):
                if id(node) in optional:
                    continue
                if isinstance(node, ast.Import):
                    tops = [alias.name.split(".")[0] for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    tops = [node.module.split(".")[0]]
                else:
                    continue
                found.update(t for t in tops if t not in sys.stdlib_module_names and t not in FIRST_PARTY)
    return found


def test_requirements_cover_every_third_party_import_of_the_app(spec):
    wanted = {DISTRIBUTION.get(name, name).lower() for name in third_party_imports()}
    assert {"kivy", "requests", "pillow", "transitions", "holidays"} <= wanted
    assert wanted <= requirement_names(spec), wanted - requirement_names(spec)
    assert "python3" in requirement_names(spec) and "sqlite3" in requirement_names(spec)


def test_no_server_dependency_ships_in_the_app(spec):
    names = requirement_names(spec)
    assert not [n for n in names if n.startswith(SERVER_ONLY)]
    assert not third_party_imports() & set(SERVER_ONLY)


def test_permissions_cover_camera_location_storage_and_network(spec):
    permissions = set(listed(spec, "android.permissions"))
    assert {"CAMERA", "ACCESS_FINE_LOCATION", "INTERNET"} <= permissions
    assert permissions & {"READ_MEDIA_IMAGES", "READ_EXTERNAL_STORAGE", "WRITE_EXTERNAL_STORAGE"}


def test_sources_include_the_kv_files_the_font_and_the_entry_point(spec):
    exts = set(listed(spec, "source.include_exts"))
    fonts = ROOT / "mobile" / "fonts"
    font = next(fonts.glob("*.otf"), None) or next(fonts.glob("*.ttf"))
    assert {"py", "kv", "png", font.suffix.lstrip(".")} <= exts
    excluded = set(listed(spec, "source.exclude_dirs"))
    assert {"server", "tests"} <= excluded and not excluded & {"mobile", "engine", "shared"}
    assert list((ROOT / "mobile").rglob("*.kv")), "the screens' kv files"
    # python-for-android starts the app from main.py at the top of source.dir
    assert (Path(spec.get("app", "source.dir")) / "main.py").exists()


def test_icon_and_presplash_exist(spec):
    for key in ("icon.filename", "presplash.filename"):
        path = Path(spec.get("app", key))
        assert path.exists(), path
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
