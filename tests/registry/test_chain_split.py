"""The chain walked in parts by several processes (chain_split.py) gives the one walk's
verdict: the same first break, named at the same entry with the same words, whatever
column of whatever entry was changed, on either side of every part boundary."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from registry.audit import chain_split
from registry.audit.chain import Event, chain_breaks, record_many
from registry.audit.chain_walk import walk
from registry.db import database, is_postgresql
from registry.models import AuditEvent
from tests.registry.test_audit import drop_guards, flip_one_character
from tests.registry.test_audit_encoding import AWKWARD
from tests.registry.test_chain_walk import rows_of

N = 23
PROCESSES = (2, 3, 4)
# The first entries of the parts for 2, 3 and 4 parts of 23 entries, and their neighbours.
NEAR_BOUNDARIES = [1, 6, 8, 11, 12, 13, 16, 18, 23]
COLUMNS = ["occurred_at", "kind", "actor", "organisation_code", "contract_number", "details",
           "prev_hash", "entry_hash"]


@pytest.fixture
def log(registry_db, monkeypatch):
    monkeypatch.setattr(chain_split, "MIN_PER_PROCESS", 1)
    record_many([Event("test.bulk", actor=f"user:{i}",
                       details={"i": i, "name": "角田市", "text": AWKWARD[i % len(AWKWARD)]},
                       organisation_code="042081" if i % 3 else None,
                       contract_number=f"30001-{i:06d}" if i % 2 else None)
                 for i in range(N)])
    return registry_db


def single() -> list:
    return list(chain_breaks())


def assert_every_split_agrees(expected: list) -> None:
    assert single() == expected
    for processes in PROCESSES:
        assert list(chain_breaks(processes=processes)) == expected, processes


def test_the_parts_start_at_existing_entries(log):
    assert chain_split.split_bounds(1) == [1]
    assert chain_split.split_bounds(2) == [1, 12]
    assert chain_split.split_bounds(4) == [1, 6, 12, 18]
    assert chain_split.split_bounds(N + 5) == list(range(1, N + 1))


def test_an_intact_log_has_no_break_in_any_number_of_parts(log):
    assert_every_split_agrees([])
    assert list(chain_breaks(processes=N)) == []


def test_a_short_log_is_walked_in_one_part(log, monkeypatch):
    monkeypatch.setattr(chain_split, "MIN_PER_PROCESS", N)
    assert chain_split.split_bounds(4) == [1]
    assert list(chain_breaks(processes=4)) == []


def changed(column: str, value):
    if column == "entry_hash" or column == "prev_hash":
        return flip_one_character(value, 63)
    if value is None:
        return "x"
    return flip_one_character(value, len(value) - 1) if value else "x"


@pytest.mark.parametrize("seq", NEAR_BOUNDARIES)
@pytest.mark.parametrize("column", COLUMNS)
def test_a_changed_column_is_named_as_the_single_walk_names_it(log, column, seq):
    drop_guards("audit_event")
    value = getattr(AuditEvent.get(AuditEvent.seq == seq), column)
    AuditEvent.update({column: changed(column, value)}).where(AuditEvent.seq == seq).execute()
    expected = single()
    assert [b.seq for b in expected] == [seq]
    assert_every_split_agrees(expected)


@pytest.mark.parametrize("value", ['x"y', "a\\b", "\x00", "\x1f", "\u2028", "角田", ""])
@pytest.mark.parametrize("seq", [11, 12, 13])
def test_awkward_replacements_are_named_as_the_single_walk_names_them(log, value, seq):
    if value == "\x00" and is_postgresql():
        pytest.skip("PostgreSQL text cannot hold NUL")
    drop_guards("audit_event")
    AuditEvent.update(actor=value).where(AuditEvent.seq == seq).execute()
    expected = single()
    assert [b.seq for b in expected] == [seq]
    assert_every_split_agrees(expected)


@pytest.mark.parametrize("deleted", [[1], [5], [6], [11], [12], [13], [23], [11, 12],
                                     list(range(6, 13)), list(range(12, 24)), [6, 12, 18]])
def test_deleted_entries_are_named_as_the_single_walk_names_them(log, deleted):
    drop_guards("audit_event", operation="delete")
    AuditEvent.delete().where(AuditEvent.seq.in_(deleted)).execute()
    expected = single()
    # The chain alone cannot tell a cut-off tail (the checkpoints do): no break either way.
    assert [b.seq for b in expected] == ([] if N in deleted else [deleted[0]])
    assert_every_split_agrees(expected)


def test_the_first_of_two_breaks_is_named_whichever_part_finds_it(log):
    drop_guards("audit_event")
    for seq in (19, 8):
        AuditEvent.update(actor="user:x").where(AuditEvent.seq == seq).execute()
    assert [b.seq for b in single()] == [8]
    assert_every_split_agrees(single())


def test_a_value_that_is_not_text_gives_the_single_walks_verdict(log):
    if is_postgresql():
        pytest.skip("PostgreSQL keeps text columns text")
    drop_guards("audit_event")
    database.execute_sql("UPDATE audit_event SET kind = 5 WHERE seq = 17")
    expected = single()
    assert [b.seq for b in expected] == [17]
    assert_every_split_agrees(expected)


def test_an_unreadable_value_in_another_part_raises_as_the_single_walk_does(log):
    if is_postgresql():
        pytest.skip("PostgreSQL keeps text columns text")
    drop_guards("audit_event")
    database.execute_sql("UPDATE audit_event SET details = x'00ff' WHERE seq = 20")
    with pytest.raises(Exception) as single_walk:
        single()
    for processes in PROCESSES:
        with pytest.raises(type(single_walk.value)):
            list(chain_breaks(processes=processes))


def test_the_split_walk_ends_its_processes_and_transaction(log):
    import multiprocessing
    assert list(chain_breaks(processes=4)) == []
    assert not multiprocessing.active_children()
    assert not database.in_transaction()


# The principle the parts rely on, without a database: walks over overlapping slices of
# the rows (each from its first entry, taking that entry's prev_hash as given, through
# the next slice's first entry) give, first one first, the verdict of one walk. Any
# column of any entry changed to any value, and any run of entries removed.

def outcome(walks) -> list | str:
    try:
        for found in walks:
            found = list(found)
            if found:
                return found
        return []
    except Exception as exc:  # noqa: BLE001 - an unreadable value, named by its type
        return type(exc).__name__


def in_parts(rows: list[tuple], cuts: list[int]):
    starts = [0] + sorted(c for c in set(cuts) if 0 < c < len(rows))
    for i, start in enumerate(starts):
        end = starts[i + 1] + 1 if i + 1 < len(starts) else len(rows)
        if i == 0:
            yield walk([rows[:end]])
        else:
            yield walk([rows[start:end]], seq=rows[start][0], prev=None)


ROWS = rows_of([{"actor": f"user:{i}", "organisation_code": "042081" if i % 3 else None,
                 "contract_number": f"30001-{i:06d}" if i % 2 else None,
                 "details": f'{{"i":{i},"note":"角田市 \\"{i}\\""}}'} for i in range(12)])
ANY_VALUE = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=8), st.integers(-3, 3),
                      st.sampled_from([ROWS[0][8], ROWS[5][8], "0" * 64]))


@settings(max_examples=400, deadline=None)
@given(index=st.integers(0, len(ROWS) - 1), column=st.integers(1, 8), value=ANY_VALUE,
       removed=st.integers(0, 3), cuts=st.lists(st.integers(1, len(ROWS) - 1), max_size=4))
def test_walks_in_overlapping_parts_give_the_one_walks_verdict(index, column, value, removed,
                                                                cuts):
    rows = list(ROWS)
    rows[index] = rows[index][:column] + (value,) + rows[index][column + 1:]
    del rows[index + 1:index + 1 + removed]
    assert outcome(in_parts(rows, cuts)) == outcome([walk([rows])])
    assert outcome(in_parts(list(ROWS), cuts)) == []
