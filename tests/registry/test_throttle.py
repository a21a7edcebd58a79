"""Failure counts in the database: an attempt is counted before it is checked, withdrawn
when right, and forgotten once it has left the window."""
import datetime as dt

from registry.accounts.throttle import Failure, begin_attempt
from tests.factories import FixedClock

WINDOW = dt.timedelta(minutes=15)


def test_an_attempt_is_counted_until_withdrawn(registry_db):
    attempt = begin_attempt("login", [("email:a@b.jp", 3)], window=WINDOW)
    assert not attempt.locked and Failure.select().count() == 1
    attempt.withdraw()
    assert Failure.select().count() == 0


def test_the_limit_locks_for_the_rest_of_the_window(registry_db):
    clock = FixedClock()
    start = clock()
    for _ in range(3):
        assert not begin_attempt("login", [("email:a@b.jp", 3)], window=WINDOW, clock=clock).locked
        clock.advance(seconds=60)
    locked = begin_attempt("login", [("email:a@b.jp", 3)], window=WINDOW, clock=clock)
    assert locked.locked and locked.locked_until == start + WINDOW
    assert set(locked.locks) == {"email:a@b.jp"} and Failure.select().count() == 3  # not counted


def test_failures_that_left_the_window_are_forgotten(registry_db):
    clock = FixedClock()
    for subject in ("email:a@b.jp", "email:other@b.jp"):
        begin_attempt("login", [(subject, 3)], window=WINDOW, clock=clock)
    clock.advance(seconds=16 * 60)
    begin_attempt("login", [("email:a@b.jp", 3)], window=WINDOW, clock=clock)
    # a@b.jp's old failure is gone; another subject's is left for its own next attempt
    assert sorted(f.subject for f in Failure.select()) == ["email:a@b.jp", "email:other@b.jp"]
    assert Failure.select().where(Failure.occurred_at < clock() - WINDOW).count() == 1


def test_an_attempt_costs_two_statements_whatever_the_subjects(registry_db):
    """Read what is kept for every subject at once, add the failures: no DELETE while
    nothing has left the window, one when something has."""
    from tests.statements import counted_statements
    clock = FixedClock()
    subjects = [("user:1", 10), ("contract:10001-000001", 10), ("ip:192.0.2.1", 100)]
    begin_attempt("lookup", subjects, window=WINDOW, clock=clock)
    with counted_statements() as seen:
        attempt = begin_attempt("lookup", subjects, window=WINDOW, clock=clock)
    assert len(seen) <= 2, seen.listing()
    assert len(attempt.failure_ids) == 3 and Failure.select().count() == 6
    attempt.withdraw()
    assert Failure.select().count() == 3
    clock.advance(seconds=16 * 60)
    with counted_statements() as seen:
        begin_attempt("lookup", subjects, window=WINDOW, clock=clock)
    assert len(seen) <= 3, seen.listing()
    assert Failure.select().where(Failure.occurred_at < clock() - WINDOW).count() == 0


def test_each_subject_locks_at_its_own_limit_in_one_read(registry_db):
    clock = FixedClock()
    start = clock()
    for _ in range(2):
        begin_attempt("lookup", [("user:1", 2), ("ip:x", 5)], window=WINDOW, clock=clock)
        clock.advance(seconds=60)
    locked = begin_attempt("lookup", [("user:1", 2), ("ip:x", 5)], window=WINDOW, clock=clock)
    assert locked.locks == {"user:1": start + WINDOW}  # the oldest of its two leaves then
