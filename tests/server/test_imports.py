"""Imports of good files write every row; a broken file is refused whole, with per-row errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from server import Database, Settings
from server.auth import Passwords
from server.directory import create_community, create_department, create_street
from server.imports import ImportFailed, import_categories, import_roads, import_users
from server.migrations import upgrade_database
from server.models import CategoryOverride, Road, User
from server.rules import load_rules

CHEAP = Passwords(Settings(password_time_cost=1, password_memory_kib=1024))
LINE = [[116.17, 39.93], [116.18, 39.94]]


@pytest.fixture
def db(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'imports.db'}"
    upgrade_database(url)
    database = Database(url)
    with database.write() as session:
        street = create_street(session, "广宁街道")
        create_community(session, street.id, "高井路社区")
        create_community(session, street.id, "麻峪社区")
        create_department(session, street.id, "城管执法队")
    return database


def street_id(db: Database) -> str:
    from server.models import Street

    with db.read() as session:
        return session.scalars(select(Street.id)).one()


def count(db: Database, model: type) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


USERS = """username,password,role,display_name,community,department
luzhang-a,password-a1,road_chief,张路长,高井路社区,
zhanzhang-a,password-a2,站长,李站长,高井路社区,
chengguan-a,password-a3,handler,王队员,,城管执法队
ducha-a,password-a4,supervisor,赵督察,,
"""


def test_users_roads_and_categories_from_good_files(db: Database, tmp_path: Path) -> None:
    sid = street_id(db)
    result = import_users(db, sid, write(tmp_path / "users.csv", USERS), CHEAP)
    assert result.created == 4
    with db.read() as session:
        chief = session.scalars(select(User).where(User.username == "luzhang-a")).one()
        assert chief.role == "road_chief" and chief.password_hash.startswith("$argon2id$")
        assert CHEAP.verify(chief.password_hash, "password-a1")
        assert session.scalars(select(User.role).where(User.username == "zhanzhang-a")).one() == "coordinator"
    features = [
        {
            "type": "Feature",
            "properties": {"name": "高井路", "community": "高井路社区", "chief": "luzhang-a"},
            "geometry": {"type": "LineString", "coordinates": LINE},
        },
        {
            "type": "Feature",
            "properties": {"name": "麻峪大街", "community": "麻峪社区"},
            "geometry": {
                "type": "LineString",
                "coordinates": [[116.16, 39.94], [116.165, 39.945], [116.17, 39.95]],
            },
        },
    ]
    geojson = write(
        tmp_path / "roads.geojson", json.dumps({"type": "FeatureCollection", "features": features})
    )
    assert import_roads(db, sid, geojson).created == 2
    roads_csv = write(
        tmp_path / "roads.csv",
        "name,community,chief,geometry\n"
        '高井路,高井路社区,,"LINESTRING (116.17 39.93, 116.19 39.95)"\n'  # known name: updated
        '麻峪一巷,麻峪社区,,"{""type"": ""LineString"", ""coordinates"": [[116.1, 39.9], [116.2, 39.9]]}"\n',
    )
    result = import_roads(db, sid, roads_csv)
    assert (result.created, result.updated) == (1, 1)
    with db.read() as session:
        road = session.scalars(select(Road).where(Road.name == "高井路")).one()
        assert road.geometry["coordinates"] == [[116.17, 39.93], [116.19, 39.95]]
    categories = write(
        tmp_path / "categories.csv",
        "code,kind,domain,major_zh,major_en,name_zh,name_en,normal,urgent\n"
        "E0501,,,,,,,2 working_days,1 小时\n"  # the street's own deadline for an engine category
        "E0801,event,order,其他,Other,共享单车堆积,Piled shared bikes,3 工作日,4 working_hours\n",
    )
    assert import_categories(db, sid, categories).created == 2
    with db.read() as session:
        rules = load_rules(session, sid).categories
    assert (rules["E0501"].normal.amount, rules["E0501"].urgent.unit.value) == (2, "clock_hours")
    assert rules["E0801"].name_zh == "共享单车堆积"


def test_a_broken_users_file_writes_nothing(db: Database, tmp_path: Path) -> None:
    broken = USERS + (
        "luzhang-a,password-b1,road_chief,重复,高井路社区,\n"  # row 6: duplicate username
        "someone,password-b2,mayor,市长,,\n"  # row 7: no such role
        "luzhang-b,password-b3,road_chief,钱路长,金顶街社区,\n"  # row 8: unknown community
        "short,pw,supervisor,,,\n"  # row 9: password too short
        "chengguan-b,password-b4,handler,孙,,\n"  # row 10: a handler without a department
    )
    with pytest.raises(ImportFailed) as failed:
        import_users(db, street_id(db), write(tmp_path / "users.csv", broken), CHEAP)
    assert [(e.row, e.field) for e in failed.value.errors] == [
        (6, "username"),
        (7, "role"),
        (8, "community"),
        (9, "user"),
        (10, "scope"),
    ]
    assert count(db, User) == 0  # the four good rows were not written either


def test_broken_roads_and_categories_write_nothing(db: Database, tmp_path: Path) -> None:
    sid = street_id(db)
    roads = write(
        tmp_path / "roads.csv",
        "name,community,chief,geometry\n"
        '好路,高井路社区,,"LINESTRING (116.17 39.93, 116.19 39.95)"\n'
        '一个点,高井路社区,,"LINESTRING (116.17 39.93)"\n'  # row 3: one position is no line
        '越界,高井路社区,,"LINESTRING (216.17 39.93, 116.19 39.95)"\n'  # row 4: off the globe
        '无社区,金顶街社区,,"LINESTRING (116.17 39.93, 116.19 39.95)"\n'  # row 5: unknown community
        '没路长,麻峪社区,nobody,"LINESTRING (116.17 39.93, 116.19 39.95)"\n',  # row 6: unknown chief
    )
    with pytest.raises(ImportFailed) as failed:
        import_roads(db, sid, roads)
    assert [(e.row, e.field) for e in failed.value.errors] == [
        (3, "geometry"),
        (4, "geometry"),
        (5, "community"),
        (6, "chief"),
    ]
    bad_geojson = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "点", "community": "高井路社区"},
                "geometry": {"type": "Point", "coordinates": [116.1, 39.9]},
            },
        ],
    }
    with pytest.raises(ImportFailed):
        import_roads(db, sid, write(tmp_path / "bad.geojson", json.dumps(bad_geojson)))
    assert count(db, Road) == 0
    categories = write(
        tmp_path / "categories.csv",
        "code,kind,domain,major_zh,major_en,name_zh,name_en,normal,urgent\n"
        "E0501,,,,,,,2 working_days,\n"
        "E0106,,,,,,,3 fortnights,\n"  # row 3: a bad deadline unit
        "E0901,event,order,其他,Other,,,1 工作日,1 小时\n"  # row 4: a new code without its names
        "E0501,,,,,,,1 working_days,\n",  # row 5: the same code twice
    )
    with pytest.raises(ImportFailed) as failed:
        import_categories(db, sid, categories)
    assert [(e.row, e.field) for e in failed.value.errors] == [(3, "normal"), (4, "category"), (5, "code")]
    assert "fortnights" in failed.value.errors[0].message
    assert count(db, CategoryOverride) == 0


def test_the_command_prints_the_errors_and_exits_1(db: Database, tmp_path: Path) -> None:
    from roadchief.cli import app

    path = write(tmp_path / "users.csv", "username,password,role\nx-user,password-x,mayor\n")
    result = CliRunner().invoke(app, ["import", "users", str(path), "--database-url", db.url])
    assert result.exit_code == 1, result.output
    assert "nothing was imported" in result.output and "mayor" in result.output
    good = write(tmp_path / "good.csv", USERS)
    result = CliRunner().invoke(
        app,
        ["import", "users", str(good), "--database-url", db.url],
        env={"ROADCHIEF_PASSWORD_TIME_COST": "1", "ROADCHIEF_PASSWORD_MEMORY_KIB": "1024"},
    )
    assert result.exit_code == 0, result.output
    assert "4 users created" in result.output
