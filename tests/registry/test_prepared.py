"""Prepared queries (registry/prepared.py) give what the same peewee query gives, with
new values each run, on both engines, and are compiled once per engine."""
from __future__ import annotations

import datetime as dt

from registry.models import AuditEvent, Organisation
from registry.prepared import Prepared, Slot
from tests.statements import counted_statements

AT = dt.datetime(2026, 4, 1, 1, 15, 30)


def test_a_prepared_select_gives_what_the_query_gives(registry_db):
    from registry.accounts.organisations import add_organisation
    add_organisation(kind="obligee", code="042081", name="角田市", require_otp=False)
    add_organisation(kind="surety", code="EJCS", name="東日本建設業保証株式会社")
    builds = []

    def build():
        builds.append(1)
        return Organisation.select().where(Organisation.code == Slot("code"),
                                           Organisation.kind == Slot("kind")).limit(1)
    by_code = Prepared(build)
    for code, kind in (("042081", "obligee"), ("EJCS", "surety")):
        expected = Organisation.get(Organisation.code == code)
        found = by_code.first(code=code, kind=kind)
        assert isinstance(found, Organisation) and found.__data__ == expected.__data__
    assert by_code.first(code="EJCS", kind="obligee") is None
    assert len(builds) == 1, "compiled once, then only run"


def test_values_pass_through_the_fields_conversion_and_inserts_give_the_id(registry_db):
    from registry.audit.chain import record
    record("test.one", actor="operator", clock=lambda: AT)
    insert = Prepared(lambda: AuditEvent.insert(
        seq=Slot("seq", AuditEvent.seq), occurred_at=Slot("at", AuditEvent.occurred_at),
        kind="test.two", actor="operator", details="{}", prev_hash="0" * 64,
        entry_hash=Slot("hash", AuditEvent.entry_hash)))
    with counted_statements() as seen:
        new_id = insert.insert(seq=2, at="2026-04-01T01:15:30Z", hash="f" * 64)
    assert len(seen) == 1
    row = AuditEvent.get(AuditEvent.id == new_id)
    assert (row.seq, row.kind, row.entry_hash) == (2, "test.two", "f" * 64)
    newest = Prepared(lambda: AuditEvent.select(AuditEvent.seq, AuditEvent.kind)
                      .where(AuditEvent.seq >= Slot("from")).order_by(AuditEvent.seq.desc())
                      .tuples())
    assert newest.rows(**{"from": 1}) == [(2, "test.two"), (1, "test.one")]


def test_a_written_in_limit_is_in_the_sql_text_not_a_parameter(registry_db):
    from registry.prepared import written_in
    newest = Prepared(lambda: AuditEvent.select().order_by(AuditEvent.seq.desc())
                      .limit(written_in(1)))
    _, sql, params = newest._for_engine()
    assert sql.endswith("LIMIT 1") and params == ()
    assert newest.first() is None


def test_the_chain_head_is_planned_once_per_connection_on_postgresql(registry_db):
    """As a parameter, LIMIT $1 made PostgreSQL plan the head's statement again on every
    append (custom plans only); written in, it keeps one generic plan."""
    import pytest

    from registry.audit.chain import Event, record, record_many
    from registry.db import database, is_postgresql
    if not is_postgresql():
        pytest.skip("plan caching is PostgreSQL's")
    # A chain long enough, with statistics, for the planner to weigh a generic plan.
    record_many([Event("test.seeded", actor="operator")] * 5000, clock=lambda: AT)
    database.execute_sql("ANALYZE audit_event")
    with database.connection_context():
        for n in range(12):
            record("test.appended", actor="operator", details={"n": n}, clock=lambda: AT)
        plans = database.execute_sql(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE %s", ('%FROM "audit_event"%ORDER BY%',)).fetchall()
    assert plans and plans[0][0] > 0 and plans[0][1] <= 5, plans


def _server_prepared(pattern: str) -> int:
    from registry.db import database
    return database.execute_sql("SELECT count(*) FROM pg_prepared_statements "
                                "WHERE statement LIKE %s", (pattern,)).fetchone()[0]


def test_planned_each_time_gives_the_same_rows_and_is_never_a_cached_plan(registry_db):
    """On PostgreSQL a planned_each_time statement is never prepared on the server, so no
    generic plan made while a table looked empty can stick to it (db.
    execute_planned_each_time); the same statement without it is, from its fifth run."""
    from registry.accounts.organisations import add_organisation
    from registry.db import database, is_postgresql
    add_organisation(kind="obligee", code="042081", name="角田市", require_otp=False)
    each_time = Prepared(lambda: Organisation.select().where(Organisation.code == Slot("code")),
                         planned_each_time=True)
    cached = Prepared(lambda: Organisation.select().where(Organisation.name == Slot("name")))
    with database.connection_context():
        for _ in range(8):
            assert [o.name for o in each_time.rows(code="042081")] == ["角田市"]
            assert [o.code for o in cached.rows(name="角田市")] == ["042081"]
        if is_postgresql():
            assert _server_prepared('%"organisation"%"code" = $1%') == 0
            assert _server_prepared('%"organisation"%"name" = $1%') == 1


def test_a_statement_planned_each_time_reaches_peewees_query_hooks(registry_db):
    """Planned-each-time statements go through peewee's own execution path, so its
    query hooks (timers, tracing) see them as they see every other statement."""
    from registry.db import database, execute_planned_each_time
    seen = []
    hooks = database.obj.query_hooks
    hooks.append(lambda event: seen.append((event.sql, event.exception)))
    try:
        with database.connection_context():
            assert execute_planned_each_time("SELECT 1 + 1", ()).fetchone()[0] == 2
    finally:
        hooks.pop()
    assert seen == [("SELECT 1 + 1", None)]


def test_the_menu_counts_are_planned_for_every_page_on_postgresql(registry_db):
    import pytest

    from registry.contracts import queue
    from registry.db import database, is_postgresql
    if not is_postgresql():
        pytest.skip("plan caching is PostgreSQL's")
    with database.connection_context():
        for _ in range(8):
            queue.counts(organisation_id=1, user_id=1, today=dt.date(2026, 12, 3))
        assert _server_prepared("%certificate_view%") == 0


def test_the_lists_capped_counts_are_planned_for_every_page_on_postgresql(registry_db):
    """The list's counts (the 「未確認」 queue's reads certificate_view, which grows with
    use) go the same way as the menu's: never from a plan cached on the server."""
    import pytest

    from registry.certificates import portfolio
    from registry.certificates.portfolio import OrganisationCertificate
    from registry.db import database, is_postgresql
    if not is_postgresql():
        pytest.skip("plan caching is PostgreSQL's")
    query = OrganisationCertificate.select().where(OrganisationCertificate.organisation == 1)
    with database.connection_context():
        for _ in range(8):
            assert portfolio.capped_count(query, 1000) == 0
        assert _server_prepared('%COUNT(1)%"organisation_certificate"%') == 0
