"""Fixtures shared by every layer. The database fixture is parametrized: each test
that uses it runs on SQLite (a file under tmp_path) and, when DSURE_TEST_DATABASE_URL
is set, on PostgreSQL too (reported as skipped otherwise)."""
from __future__ import annotations

import os

import pytest

from registry.certificates.auth_keys import AuthKeyHasher
from registry.db import database, open_database
from registry.schema import create_schema

PG_URL = os.environ.get("DSURE_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("DSURE_TEST_REDIS_URL")
TEST_PEPPER = "test-pepper-0123456789abcdef0123456789"

DATABASES = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(
        not PG_URL, reason="DSURE_TEST_DATABASE_URL is not set")),
]


def _reset_postgresql(url: str) -> None:
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path) -> str:
    if request.param == "postgresql":
        _reset_postgresql(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path / 'registry.sqlite3'}"


@pytest.fixture
def registry_db(database_url):
    """The registry bound to a fresh, empty database with the schema created."""
    db = open_database(database_url)
    create_schema()
    yield db
    db.close_all()


@pytest.fixture(scope="session")
def hasher() -> AuthKeyHasher:
    return AuthKeyHasher(pepper=TEST_PEPPER.encode())


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "KEY_PEPPER": TEST_PEPPER,
        "SESSION_COOKIE_SECURE": False,
        "WEBHOOK_ALLOW_HTTP_LOOPBACK": True,  # receivers in tests listen on plain http://127.0.0.1
    }


@pytest.fixture
def app(app_config):
    from dsure_portal import create_app
    app = create_app(app_config)
    with app.app_context():
        create_schema()
    yield app
    database.close_all()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def tsa_server(tmp_path_factory):
    """A real RFC 3161 TSA on loopback (openssl ts -reply), for the whole session."""
    from tests.tsa import TestTsa
    with TestTsa.running(tmp_path_factory.mktemp("tsa")) as tsa:
        yield tsa


@pytest.fixture
def tsa(tsa_server):
    tsa_server.down = False
    yield tsa_server
    tsa_server.down = False
