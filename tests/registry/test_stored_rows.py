"""`audit verify`'s revision checks read a certificate at a time (stored_rows.py): the
stored revisions and the trail's events merged by contract number, in the same order on
both engines, whatever the batch size."""
from __future__ import annotations

import pytest

from registry.audit import streaming
from registry.audit.integrity import verify_all
from registry.audit.stored_rows import key, merged, recorded_events, stored_revisions
from registry.certificates import ingest
from registry.models import Certificate, Revision
from tests.factories import World, make_document, next_revision
from tests.registry.test_audit import drop_guards

NUMBERS = ["30001-000003", "30001-000001", "30002-000001", "30001-000002"]


class Row:
    def __init__(self, contract_number, number=1):
        self.contract_number, self.number = contract_number, number


def test_merge_pairs_each_number_once_in_order_with_no_number_last():
    stored = [Row("a"), Row("a", 2), Row("c"), Row("e")]
    recorded = [("b", "B"), ("c", "C"), ("e", "E"), ("f", "F"), (None, "N")]
    found = [(number, [r.number for r in rows], rec)
             for number, rows, rec in merged(iter(stored), iter(recorded))]
    assert found == [("a", [1, 2], None), ("b", [], "B"), ("c", [1], "C"), ("e", [1], "E"),
                     ("f", [], "F"), (None, [], "N")]
    assert list(merged(iter([]), iter([]))) == []
    assert key(None) > key("99999-999999") > key("00000-000000") and key(5) == (False, "5")


@pytest.fixture
def certificates(registry_db, hasher):
    world = World()
    for number in NUMBERS:
        doc = make_document(contract_number=number)
        for d in (doc, next_revision(doc, "change", guarantee_amount=24_000_000)):
            ingest.accept_revision(client=world.client, contract_number=number,
                                   number=d["revision"], body=world.signed(d), hasher=hasher)
    return world


@pytest.mark.parametrize("batch", [1, 3, 10, None])
def test_both_streams_come_in_the_same_order_at_any_batch_size(certificates, monkeypatch, batch):
    if batch:
        monkeypatch.setattr(streaming, "BATCH", batch)
    stored = [(r.contract_number, r.number) for r in stored_revisions()]
    assert stored == [(n, k) for n in sorted(NUMBERS) for k in (1, 2)]
    accepted = [number for _, kind, number, _ in recorded_events() if kind == "revision.accepted"]
    assert accepted == [n for n in sorted(NUMBERS) for _ in (1, 2)]
    assert verify_all()[1] == []


@pytest.mark.parametrize("batch", [1, 4])
def test_a_certificate_gone_between_others_is_named_alone(certificates, monkeypatch, batch):
    monkeypatch.setattr(streaming, "BATCH", batch)
    drop_guards("revision", operation="delete")
    gone = Certificate.get(Certificate.contract_number == "30001-000002")
    Revision.delete().where(Revision.certificate == gone).execute()
    problems = verify_all()[1]
    assert sorted(p.split(":")[0] for p in problems) == [
        "revision 30001-000002/1", "revision 30001-000002/2"]
    assert all(p.endswith("but not stored") for p in problems)
