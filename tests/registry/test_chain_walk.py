"""The streamed chain walk behind `audit verify` (chain_walk.py, streaming.py): the same
breaks at the same entries as the hash-by-hash definition, whatever the batch size, on
both databases, and one snapshot while others append."""
from __future__ import annotations

import threading

import pytest

from registry.audit import streaming
from registry.audit.chain import Event, chain_breaks, entry_hash, record, record_many
from registry.audit.chain_walk import GENESIS, ChainBreak, walk
from registry.db import database
from registry.models import AuditEvent
from tests.registry.test_audit import drop_guards, flip_one_character
from tests.registry.test_audit_encoding import AWKWARD

N = 23


def rows_of(values: list[dict]) -> list[tuple]:
    """Chained rows (the walk's column order) for entries given as field dicts."""
    prev, rows = GENESIS, []
    for seq, fields in enumerate(values, start=1):
        fields = {"seq": seq, "occurred_at": "2026-04-01T03:00:00.000000Z", "kind": "k",
                  "actor": "a", "organisation_code": None, "contract_number": None,
                  "details": "{}", **fields}
        stored = entry_hash(prev_hash=prev, **fields)
        rows.append((seq, fields["occurred_at"], fields["kind"], fields["actor"],
                     fields["organisation_code"], fields["contract_number"], fields["details"],
                     prev, stored))
        prev = stored
    return rows


def test_the_walk_hashes_awkward_values_as_entry_hash_does():
    values = [{field: value} for value in AWKWARD if value is not None
              for field in ("kind", "actor", "details", "occurred_at", "organisation_code",
                            "contract_number")]
    values += [{"organisation_code": None, "contract_number": "30001-000001"}]
    rows = rows_of(values)
    assert list(walk([rows])) == []
    assert list(walk([rows[:1], [], rows[1:7], rows[7:]])) == []   # batches of any length


def test_a_value_that_is_not_text_is_hashed_as_rfc8785_writes_it():
    """SQLite keeps any type in any column: the walk must not turn 5 into "5"."""
    rows = rows_of([{"kind": "5"}, {"actor": "x"}])
    as_number = (rows[0][:2] + (5,) + rows[0][3:])
    assert list(walk([[as_number] + rows[1:]])) == [
        ChainBreak(1, "entry_hash does not match the entry's content")]
    rows = rows_of([{"kind": 5}])
    assert list(walk([rows])) == []


def test_the_walk_names_the_first_break_only():
    rows = rows_of([{"actor": f"user:{i}"} for i in range(10)])
    changed = rows[3][:3] + ("user:x",) + rows[3][4:]
    later = rows[6][:8] + ("0" * 64,)
    assert list(walk([rows[:3] + [changed] + rows[4:6] + [later] + rows[7:]])) == [
        ChainBreak(4, "entry_hash does not match the entry's content")]
    assert list(walk([rows[:5] + rows[6:]])) == [ChainBreak(6, "entry 6 is missing (next is 7)")]
    assert list(walk([[rows[1]] + rows])) == [ChainBreak(1, "entry 1 is missing (next is 2)")]


def test_an_empty_log_has_no_break(registry_db):
    assert list(chain_breaks()) == []
    assert list(walk([])) == [] and list(walk([[]])) == []


@pytest.fixture
def log(registry_db):
    record_many([Event("test.bulk", actor=f"user:{i}", details={"i": i, "name": "角田市"},
                       contract_number=f"30001-{i:06d}" if i % 2 else None)
                 for i in range(N)])
    return registry_db


@pytest.mark.parametrize("size", [1, 5, N - 1, N, N + 1, None])
def test_every_batch_size_reads_every_row_in_order(log, size):
    seqs = [row[0] for row in streaming.tuples(AuditEvent.select(AuditEvent.seq)
                                                .order_by(AuditEvent.seq), size=size)]
    assert seqs == list(range(1, N + 1))
    assert list(chain_breaks()) == []


@pytest.mark.parametrize("seq", [1, 5, 6, 10, 11, N])
def test_a_changed_entry_is_named_on_either_side_of_a_batch_boundary(log, seq):
    from registry.audit.chain_walk import chain_breaks as walk_stored
    drop_guards("audit_event")
    actor = AuditEvent.get(AuditEvent.seq == seq).actor
    AuditEvent.update(actor=flip_one_character(actor, len(actor) - 1)) \
        .where(AuditEvent.seq == seq).execute()
    for size in (1, 5, N):
        assert [b.seq for b in walk_stored(size=size)] == [seq]


@pytest.mark.parametrize("seq", [5, 6])
def test_a_deleted_entry_at_a_batch_boundary_is_named(log, seq):
    from registry.audit.chain_walk import chain_breaks as walk_stored
    drop_guards("audit_event", operation="delete")
    AuditEvent.delete().where(AuditEvent.seq == seq).execute()
    assert list(walk_stored(size=5)) == [ChainBreak(seq, f"entry {seq} is missing (next is {seq + 1})")]


def test_rows_appended_while_the_walk_reads_are_not_in_its_view(log):
    """One snapshot for the whole read: the walk neither sees half of a later append nor
    stops for lack of the rows that were there when it began."""
    stream = streaming.batches(AuditEvent.select(AuditEvent.seq).order_by(AuditEvent.seq),
                               size=5)
    first = next(stream)

    def append():
        try:
            record("test.during", actor="user:later")
        finally:
            database.close()

    thread = threading.Thread(target=append)
    thread.start()
    thread.join()
    rest = [row for rows in stream for row in rows]
    assert [row[0] for row in first + rest] == list(range(1, N + 1))
    assert AuditEvent.select().count() == N + 1 and list(chain_breaks()) == []


def test_stopping_early_ends_the_read_transaction(log):
    breaks = chain_breaks()
    assert list(breaks) == []
    stream = streaming.batches(AuditEvent.select(AuditEvent.seq), size=5)
    next(stream)
    stream.close()  # on PostgreSQL with its reading thread stopped first
    assert not database.in_transaction()
    assert AuditEvent.select().count() == N and list(chain_breaks()) == []



# --- reading ahead (PostgreSQL's streams; the helper itself is engine-free) -------------

def counted_fetches(batches: list[list], *, fail_at: int | None = None):
    calls = []

    def fetch():
        calls.append(threading.current_thread().name)
        if fail_at is not None and len(calls) > fail_at:
            raise RuntimeError("the connection went away")
        return batches[len(calls) - 1] if len(calls) <= len(batches) else []
    return fetch, calls


def test_reading_ahead_gives_every_batch_in_order_and_stops_at_the_empty_one():
    batches = [[(i,)] for i in range(7)]
    fetch, calls = counted_fetches(batches)
    assert list(streaming._fetched_ahead(fetch)) == batches
    assert len(calls) == 8 and set(calls) == {"dsure-read-ahead"}


def test_an_error_while_reading_ahead_is_raised_to_the_reader_after_the_batches_before_it():
    fetch, _ = counted_fetches([[(1,)], [(2,)], [(3,)]], fail_at=2)
    got = []
    with pytest.raises(RuntimeError, match="went away"):
        for rows in streaming._fetched_ahead(fetch):
            got.append(rows)
    assert got == [[(1,)], [(2,)]]


def test_a_reader_that_stops_early_leaves_no_fetch_running():
    """The walk stops at the first break; the cursor is closed right after, so the
    reading thread must be finished by then, not still fetching from it."""
    fetch, calls = counted_fetches([[(i,)] for i in range(100)])
    stream = streaming._fetched_ahead(fetch, depth=2)
    assert next(stream) == [(0,)]
    stream.close()
    assert not any(t.name == "dsure-read-ahead" for t in threading.enumerate())
    assert len(calls) <= 1 + 2 + 1  # the batch taken, the queue's two, one waiting to go in

