"""What a key guesser gets from the lookup, counted rather than timed: parallel wrong
keys are checked no more often than the limit allows, and every lookup, whether the
number exists or not, costs exactly one argon2id verification."""
from __future__ import annotations

import pytest

from registry.certificates import auth_keys
from registry.certificates.lookup import LookupLimits
from tests.registry.test_lookup import attempt, events, posted, staff, world  # noqa: F401
from tests.factories import FixedClock, all_at_once


class CountingArgon2:
    """The real argon2id hasher, counting its verifications (a spy, not a stand-in)."""

    def __init__(self, real):
        self.real, self.verifications = real, 0

    def verify(self, digest, secret):
        self.verifications += 1
        return self.real.verify(digest, secret)

    def hash(self, secret):
        return self.real.hash(secret)


@pytest.fixture
def argon2_calls(monkeypatch):
    spy = CountingArgon2(auth_keys._ARGON2)
    monkeypatch.setattr(auth_keys, "_ARGON2", spy)
    return spy


@pytest.fixture
def clock():
    return FixedClock()


@pytest.mark.parametrize("number", ["30001-000001", "39999-999999", "not a number"])
def test_every_lookup_costs_one_argon2id_verification(posted, hasher, clock, argon2_calls, number):
    user = staff("a@kakuda.example.jp")
    argon2_calls.verifications = 0
    assert attempt(user, number, "WRNGKEYX2345", hasher, clock).outcome == "failed"
    assert argon2_calls.verifications == 1


def test_the_right_key_also_costs_one_verification(posted, hasher, clock, argon2_calls):
    user = staff("a@kakuda.example.jp")
    argon2_calls.verifications = 0
    assert attempt(user, "30001-000001", posted["30001-000001"], hasher, clock).found
    assert argon2_calls.verifications == 1


def test_parallel_wrong_keys_get_no_more_checks_than_the_limit(posted, hasher, argon2_calls):
    """Sixteen wrong keys at once against a limit of three: three are checked, the rest
    are refused as locked before any argon2id runs."""
    limits = LookupLimits(failures=3, failures_per_address=None)
    user = staff("a@kakuda.example.jp")
    argon2_calls.verifications = 0
    outcomes = all_at_once(16, lambda: attempt(user, "30001-000001", "WRNGKEYX2345", hasher,
                                               FixedClock(), limits=limits).outcome)
    assert sorted(outcomes) == ["failed"] * 3 + ["locked"] * 13
    assert argon2_calls.verifications == 3
    assert len(events("lookup.failed")) == 3 and len(events("lookup.locked")) == 13
