"""The hash-chained audit log and `audit verify` (DESIGN §6), without Flask, on both
databases. The attacker here holds the database owner's rights: drops the insert-only
triggers that registry/schema.py creates, then changes or removes rows in place."""
from __future__ import annotations

import datetime as dt
import threading

import peewee
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

from registry.certificates import ingest
from registry.audit.chain import GENESIS, chain_breaks, record
from registry.db import database, is_postgresql
from registry.audit.integrity import verify_all
from registry.models import AuditEvent, Certificate, Organisation, Revision, SigningKey
from tests.factories import World, make_document, next_revision

N = 6


def drop_guards(table: str, *, operation: str = "update") -> None:
    """DROP the trigger(s) that refuse ``operation`` on ``table``, as schema.py names them."""
    if is_postgresql():
        database.execute_sql(f"DROP TRIGGER {table}_immutable ON {table}")
    else:
        database.execute_sql(f"DROP TRIGGER {table}_no_{operation}")


def flip_one_character(text: str, position: int) -> str:
    old = text[position]
    return text[:position] + ("1" if old != "1" else "2") + text[position + 1:]


def flip_one_byte(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


@pytest.fixture
def chain(registry_db):
    """N events with every kind of field: unicode, nulls, nested details."""
    for i in range(1, N + 1):
        record(f"test.event{i % 3}", actor=f"user:{i}",
               organisation_code="042081" if i % 2 else None,
               contract_number=f"30001-00000{i}" if i % 3 else None,
               details={"i": i, "name": "角田市", "nested": {"list": [i, None, True]}})
    return list(AuditEvent.select().order_by(AuditEvent.seq))


def first_problem() -> str:
    count, problems = verify_all()
    assert problems, "the tampering was not noticed"
    return problems[0]


def test_a_chain_of_events_links_and_verifies(chain):
    assert [e.seq for e in chain] == list(range(1, N + 1))
    assert chain[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.entry_hash for earlier, later in zip(chain, chain[1:]))
    assert len({e.entry_hash for e in chain}) == N
    assert verify_all() == (N, [])


def test_an_empty_chain_verifies(registry_db):
    assert verify_all() == (0, [])


@pytest.mark.parametrize("column", ["occurred_at", "kind", "actor", "organisation_code",
                                    "contract_number", "details", "prev_hash", "entry_hash"])
@pytest.mark.parametrize("seq", [1, 3, N])
def test_one_changed_character_of_an_entry_is_named(chain, column, seq):
    entry = chain[seq - 1]
    value = getattr(entry, column) or "042081"   # a null set to a value counts as a change
    drop_guards("audit_event")
    AuditEvent.update({getattr(AuditEvent, column): flip_one_character(value, len(value) // 2)}) \
        .where(AuditEvent.seq == seq).execute()
    assert first_problem().startswith(f"audit entry {seq}:")


def test_a_value_removed_from_an_entry_is_named(chain):
    drop_guards("audit_event")
    AuditEvent.update(organisation_code=None).where(AuditEvent.seq == 3).execute()
    assert first_problem().startswith("audit entry 3:")


def test_a_renumbered_entry_is_named(chain):
    drop_guards("audit_event")
    AuditEvent.update(seq=1000).where(AuditEvent.seq == 4).execute()
    assert first_problem().startswith("audit entry 4:")


@pytest.mark.parametrize("seq", [1, 3, N - 1])
def test_a_deleted_entry_is_named(chain, seq):
    drop_guards("audit_event", operation="delete")
    AuditEvent.delete().where(AuditEvent.seq == seq).execute()
    problem = first_problem()
    assert problem.startswith(f"audit entry {seq}:") and "missing" in problem


def test_two_swapped_entries_are_named(chain):
    drop_guards("audit_event")
    with database.atomic():
        AuditEvent.update(seq=-1).where(AuditEvent.seq == 2).execute()
        AuditEvent.update(seq=2).where(AuditEvent.seq == 3).execute()
        AuditEvent.update(seq=3).where(AuditEvent.seq == -1).execute()
    assert first_problem().startswith("audit entry 2:")


@pytest.mark.parametrize("model", [AuditEvent, Revision], ids=["audit_event", "revision"])
def test_the_triggers_refuse_update_and_delete(registry_db, hasher, model):
    world = World()
    ingest.accept_revision(client=world.client, contract_number="30001-000001", number=1,
                           body=world.signed(make_document()), hasher=hasher)
    before = [tuple(row) for row in model.select().order_by(model.id).tuples()]
    row_id = before[0][0]
    attempts = [
        lambda: model.update(id=row_id).where(model.id == row_id).execute(),  # even a no-op
        lambda: model.delete().where(model.id == row_id).execute(),
        lambda: model.delete().execute(),
    ]
    if model is AuditEvent:
        attempts.append(lambda: AuditEvent.update(details="{}").execute())
    else:
        attempts.append(lambda: Revision.update(canonical=b"{}").execute())
    for attempt in attempts:
        with pytest.raises(peewee.DatabaseError, match="immutable"):
            with database.atomic():
                attempt()
    assert [tuple(row) for row in model.select().order_by(model.id).tuples()] == before
    assert verify_all()[1] == []


# --- stored revisions ----------------------------------------------------------------

@pytest.fixture
def revisions(registry_db, hasher):
    world = World()
    doc = make_document()
    change = next_revision(doc, "change", guarantee_amount=24_000_000)
    for d in (doc, change, make_document(contract_number="30001-000002")):
        ingest.accept_revision(client=world.client, contract_number=d["contract_number"],
                               number=d["revision"], body=world.signed(d), hasher=hasher)
    assert verify_all()[1] == []
    return world


def revision_row(contract_number: str, number: int) -> Revision:
    return (Revision.select().join(Certificate)
            .where(Certificate.contract_number == contract_number, Revision.number == number).get())


@pytest.mark.parametrize("column", ["canonical", "signature"])
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_one_changed_byte_of_a_stored_revision_is_named(revisions, column, where):
    row = revision_row("30001-000001", 2)
    data = bytes(getattr(row, column))
    position = {"start": 0, "middle": len(data) // 2, "end": len(data) - 1}[where]
    drop_guards("revision")
    Revision.update({getattr(Revision, column): flip_one_byte(data, position)}) \
        .where(Revision.id == row.id).execute()
    count, problems = verify_all()
    assert [p.split(":")[0] for p in problems] == ["revision 30001-000001/2"]


def test_a_revision_re_signed_with_a_substituted_key_is_named(revisions):
    """The attacker swaps the registered public key for their own and re-signs changed
    bytes: the signature verifies, but the digest the acceptance event recorded does not."""
    row = revision_row("30001-000001", 1)
    forged = bytes(row.canonical).replace(b"20000000", b"2000000")
    own = Ed25519PrivateKey.generate()
    SigningKey.update(public_key=own.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)) \
        .where(SigningKey.id == row.signing_key_id).execute()
    drop_guards("revision")
    Revision.update(canonical=forged, signature=own.sign(forged)).where(Revision.id == row.id).execute()
    count, problems = verify_all()
    # every revision signed by the swapped key fails; the forged one for its digest
    assert "revision 30001-000001/1: stored bytes differ from the digest recorded " \
           "when it was accepted" in problems
    assert {p.split(":")[0] for p in problems} == {
        "revision 30001-000001/1", "revision 30001-000001/2", "revision 30001-000002/1"}


# --- the rows beside the signed bytes -------------------------------------------------

@pytest.fixture
def history(registry_db, hasher):
    """30001-000001: new, change, correction of 2, cancellation of 3 (visible: 1 and 4)."""
    world = World()
    d1 = make_document()
    d2 = next_revision(d1, "change", guarantee_amount=24_000_000)
    d3 = next_revision(d2, "correction", 2, guarantee_amount=25_000_000)
    d4 = next_revision(d3, "change_cancellation", 3, guarantee_amount=20_000_000)
    for d in (d1, d2, d3, d4):
        ingest.accept_revision(client=world.client, contract_number=d["contract_number"],
                               number=d["revision"], body=world.signed(d), hasher=hasher)
    assert verify_all()[1] == []
    return world


def tamper_revision(number: int, columns: dict) -> None:
    drop_guards("revision")
    Revision.update(**columns).where(Revision.id == revision_row("30001-000001", number).id).execute()


@pytest.mark.parametrize("number, columns, named", [
    # the correction no longer hides revision 2: the visible history would show it again
    (3, {"supersedes": None}, "revision 30001-000001/3: stored supersedes None differs"),
    # the cancellation turned into a change: revision 3 would reappear
    (4, {"kind": "change"}, "revision 30001-000001/4: stored kind 'change' differs"),
    (1, {"number": 9}, "revision 30001-000001/9: no acceptance event in the audit trail"),
    # the official issue time (電子保証発行日時) moved
    (2, {"arrived_at": dt.datetime(2020, 1, 1)},
     "revision 30001-000001/2: arrival time differs from the one recorded"),
])
def test_a_changed_column_beside_the_signed_bytes_is_named(history, number, columns, named):
    tamper_revision(number, columns)
    count, problems = verify_all()
    assert any(p.startswith(named) for p in problems), problems


def test_a_deleted_revision_is_named(history):
    drop_guards("revision", operation="delete")
    Revision.delete().where(Revision.id == revision_row("30001-000001", 4).id).execute()
    problems = verify_all()[1]
    assert any(p.startswith("revision 30001-000001/4: accepted in audit entry") and
               p.endswith("but not stored") for p in problems), problems


def test_a_certificate_moved_to_another_obligee_is_named(history):
    """The obligee decides who may look the certificate up."""
    Certificate.update(obligee=Organisation.get(Organisation.code == "124249")).execute()
    problems = verify_all()[1]
    assert [p for p in problems if "stored obligee '124249'" in p] and \
        {p.split(":")[0] for p in problems} == {f"revision 30001-000001/{n}" for n in (1, 2, 3, 4)}


@pytest.mark.parametrize("changes, named", [
    ({"current_revision": 2}, "current revision 2 is not the newest visible one"),
    ({"latest_revision": 3}, "latest revision 3 but 4 are stored"),
    ({"auth_key_digest": "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$c29tZWhhc2g"},
     "auth key digest differs from the one issued in audit entry"),
])
def test_a_changed_certificate_row_is_named(history, changes, named):
    Certificate.update(**changes).execute()
    assert [p for p in verify_all()[1] if p.startswith("certificate 30001-000001: " + named)]


def test_a_reissued_auth_key_is_what_verify_expects(history, hasher):
    ingest.reissue_auth_key(client=history.client, contract_number="30001-000001", hasher=hasher)
    assert verify_all()[1] == []


def test_an_unreadable_acceptance_with_recomputed_hashes_is_named_not_a_crash(history):
    """The chain alone passes (only a checkpoint would catch the rewrite); verify must
    still say which entry it cannot read, not fail with a traceback."""
    from tests.tampering import rewrite_audit_entry
    accepted = AuditEvent.select().where(AuditEvent.kind == "revision.accepted") \
        .order_by(AuditEvent.seq).first()
    rewrite_audit_entry(accepted.seq, details=accepted.details[:-1])
    problems = verify_all()[1]
    assert f"audit entry {accepted.seq}: revision.accepted details cannot be read" in problems


# --- concurrency ---------------------------------------------------------------------

def test_concurrent_appends_from_eight_threads_keep_the_chain(registry_db):
    threads_count, per_thread = 8, 15
    barrier = threading.Barrier(threads_count)
    errors = []

    def append(t: int):
        barrier.wait()
        try:
            for i in range(per_thread):
                record("test.concurrent", actor=f"thread:{t}", details={"i": i})
        except Exception as exc:  # asserted below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=append, args=(t,)) for t in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    total = threads_count * per_thread
    assert [e.seq for e in AuditEvent.select().order_by(AuditEvent.seq)] == list(range(1, total + 1))
    assert list(chain_breaks()) == []
    assert verify_all() == (total, [])
    actors = [e.actor for e in AuditEvent.select()]
    assert all(actors.count(f"thread:{t}") == per_thread for t in range(threads_count))


def test_verify_all_is_not_confused_by_a_revision_accepted_while_it_runs(revisions, hasher,
                                                                         monkeypatch):
    """`audit verify` runs on a live system: a revision (and its acceptance event) committed
    between reading the recorded digests and reading the revisions is not a problem."""
    from registry.audit import integrity
    read_recorded = integrity._recorded

    def recorded_then_a_concurrent_ingest():
        recorded = read_recorded()
        doc = make_document(contract_number="30001-000003")

        def post():
            try:
                ingest.accept_revision(client=revisions.client, contract_number="30001-000003",
                                       number=1, body=revisions.signed(doc), hasher=hasher)
            finally:
                database.close()

        thread = threading.Thread(target=post)
        thread.start()
        thread.join()
        return recorded

    monkeypatch.setattr(integrity, "_recorded", recorded_then_a_concurrent_ingest)
    count, problems = verify_all()
    assert problems == []
    assert Revision.select().count() == 4  # the concurrent ingest did happen
    monkeypatch.undo()
    assert verify_all() == (AuditEvent.select().count(), [])
