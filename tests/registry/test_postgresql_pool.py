"""The PostgreSQL pool (registry.db._PostgresqlPool): a connection handed back moments
ago is handed out again without a ping; one idle for longer is pinged, so a connection
the server dropped is replaced instead of failing a request. And a write transaction
takes the chain's lock with its BEGIN."""
from __future__ import annotations

import pytest

from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="DSURE_TEST_DATABASE_URL is not set")


@pytest.fixture
def pool():
    from registry.db import open_database
    db = open_database(PG_URL)
    yield db
    db.close_all()


def _pings(monkeypatch, db) -> list:
    seen = []
    adapter = db._adapter
    original = type(adapter).is_connection_closed
    monkeypatch.setattr(type(adapter), "is_connection_closed",
                        lambda self, conn: seen.append(conn) or original(self, conn))
    return seen


def test_a_connection_handed_back_moments_ago_is_not_pinged(pool, monkeypatch):
    pings = _pings(monkeypatch, pool)
    with pool.connection_context():
        pool.execute_sql("SELECT 1")
    with pool.connection_context():
        pool.execute_sql("SELECT 1")
    assert pings == []


def test_a_connection_the_server_dropped_while_idle_is_replaced(pool, monkeypatch):
    import psycopg
    with pool.connection_context():
        pid = pool.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    monkeypatch.setattr(type(pool), "PING_AFTER", 0.0)  # as if idle for long
    pings = _pings(monkeypatch, pool)
    with pool.connection_context():
        assert pool.execute_sql("SELECT pg_backend_pid()").fetchone()[0] != pid
    assert len(pings) == 1


def test_a_write_transaction_holds_the_chain_lock_from_its_begin(pool):
    from registry.db import AUDIT_CHAIN_LOCK, write_transaction
    with pool.connection_context(), write_transaction():
        held = pool.execute_sql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND pid = pg_backend_pid() AND objid = %s", (AUDIT_CHAIN_LOCK,)).fetchone()[0]
    assert held == 1
