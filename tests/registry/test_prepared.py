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
