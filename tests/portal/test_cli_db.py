"""`dsure-portal db upgrade` / `db version` / `init-db` through the CLI runner, on a
database made by the release before migrations (both engines)."""
from __future__ import annotations

import json
import shutil

import psycopg
import pytest

from registry import migrations
from registry.db import database
from tests.registry.test_migrations import OLD_RELEASE


@pytest.fixture
def old_app(app_config, database_url):
    """The app bound to a c4b2047 database, with that release's pepper and platform key
    (so its demo key and its checkpoint still work); no schema step has run yet."""
    from dsure_portal import create_app
    engine = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    folder = OLD_RELEASE / engine
    if engine == "sqlite":
        shutil.copyfile(folder / "dsure.sqlite3", database_url[len("sqlite:///"):])
    else:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute((folder / "dump.sql").read_text())
    app = create_app({**app_config,
                      "KEY_PEPPER": (folder / "key_pepper").read_text().strip(),
                      "PLATFORM_KEY_FILE": str(folder / "platform-signing-key.pem")})
    app.fixture_folder = folder
    yield app
    database.close_all()


def test_db_upgrade_then_audit_verify_against_the_old_checkpoint(old_app):
    runner = old_app.test_cli_runner()
    version = runner.invoke(args=["db", "version"])
    assert f"schema version 0 of {migrations.head_version()}" in version.stdout

    upgraded = runner.invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert "adopted a database made before migrations" in upgraded.stdout
    assert upgraded.stdout.rstrip().endswith(f"(schema version {migrations.head_version()})")

    checkpoint = str(old_app.fixture_folder / "checkpoint.json")
    verified = runner.invoke(args=["audit", "verify", "--checkpoint", checkpoint])
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.rstrip().splitlines()[-1].startswith("OK ")

    again = runner.invoke(args=["init-db"])
    assert again.exit_code == 0 and "applied migration" not in again.stdout
    assert "up to date" in runner.invoke(args=["db", "version"]).stdout


def test_the_upgraded_demo_database_serves_a_lookup_over_http(old_app):
    from tests.portal.conftest import csrf_token_from
    assert old_app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    keys = json.loads((old_app.fixture_folder / "demo-auth-keys.json").read_text())
    client = old_app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    signed_in = client.post("/login", data={"csrf_token": token, "email": "staff@kakuda.example.jp",
                                            "password": "kakuda-staff-demo"})
    assert signed_in.status_code == 303
    token = csrf_token_from(client.get("/lookup").get_data(as_text=True))
    found = client.post("/lookup", data={"csrf_token": token, "contract_number": "20001-000002",
                                         "auth_key": keys["20001-000002"]})
    assert found.status_code == 303
    assert found.headers["Location"].endswith("/certificates/20001-000002")
    assert "保証証書" in client.get(found.headers["Location"]).get_data(as_text=True)
