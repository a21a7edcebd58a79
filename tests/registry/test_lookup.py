"""The staff lookup as one registry function: limits counted in the database, the
organisation's list, the audit trail. No Flask."""
import datetime as dt
import json

import pytest

from registry.certificates import ingest, portfolio
from registry.accounts.users import add_user
from registry.certificates.lookup import LookupLimits, find_certificate, look_up
from registry.models import AuditEvent
from registry.accounts.throttle import Failure
from tests.factories import KAKUDA, SHIRAKO, FixedClock, World, make_document

PASSWORD = "correct horse battery staple"
LIMITS = LookupLimits(failures=10, window=dt.timedelta(minutes=15), failures_per_address=None)


@pytest.fixture
def clock():
    return FixedClock()


@pytest.fixture
def world(registry_db):
    return World()


@pytest.fixture
def posted(world, hasher):
    """Two certificates: one to 角田市, one to 白子町; their auth keys."""
    keys = {}
    for number, code in (("30001-000001", KAKUDA), ("30001-000002", SHIRAKO)):
        doc = make_document(contract_number=number, obligee__code=code)
        keys[number] = ingest.accept_revision(client=world.client, contract_number=number, number=1,
                                              body=world.signed(doc), hasher=hasher).auth_key
    return keys


def staff(email, code=KAKUDA):
    return add_user(org_code=code, email=email, role="staff", password=PASSWORD)


def attempt(user, number, key, hasher, clock, limits=LIMITS, address=None):
    return look_up(user_id=user.id, actor=f"user:{user.id}", organisation_id=user.organisation.id,
                   organisation_code=user.organisation.code, contract_number=number, auth_key=key,
                   hasher=hasher, limits=limits, address=address, clock=clock)


def events(kind):
    return list(AuditEvent.select().where(AuditEvent.kind == kind).order_by(AuditEvent.seq))


@pytest.mark.parametrize("typed", ["30001-000001", "３０００１－０００００１", "30001000001",
                                   " 30001 - 000001 ", "３０００１ー０００００１"])
def test_found_with_what_people_type_and_added_to_the_list(posted, hasher, clock, typed):
    user = staff("a@kakuda.example.jp")
    result = attempt(user, typed, posted["30001-000001"], hasher, clock)
    assert result.found and result.certificate.contract_number == "30001-000001"
    assert portfolio.listed_certificate(organisation_id=user.organisation.id,
                                        contract_number="30001-000001") is not None
    [event] = events("lookup.succeeded")
    assert event.contract_number == "30001-000001" and event.organisation_code == KAKUDA
    assert event.actor == f"user:{user.id}"
    assert Failure.select().count() == 0  # the provisional count is withdrawn on success


@pytest.mark.parametrize("case, reason", [
    ("wrong_key", "wrong_key"), ("unknown", "unknown_number"),
    ("malformed", "malformed_number"), ("other_org", "other_obligee")])
def test_every_failure_is_the_same_answer_and_recorded_with_its_reason(posted, hasher, clock, case, reason):
    user = staff("a@kakuda.example.jp")
    number, key = {
        "wrong_key": ("30001-000001", "WRONGKEY2345"),
        "unknown": ("39999-999999", posted["30001-000001"]),
        "malformed": ("3000100000", posted["30001-000001"]),
        "other_org": ("30001-000002", posted["30001-000002"]),
    }[case]
    result = attempt(user, number, key, hasher, clock)
    assert result.outcome == "failed" and result.certificate is None and result.retry_after is None
    [event] = events("lookup.failed")
    assert json.loads(event.details) == {"reason": reason}
    assert event.contract_number == (None if case == "malformed" else number)
    assert portfolio.listed_certificate(organisation_id=user.organisation.id,
                                        contract_number="30001-000002") is None


def test_the_key_typed_is_never_recorded(posted, hasher, clock):
    user = staff("a@kakuda.example.jp")
    key = posted["30001-000001"]
    attempt(user, "30001-000001", key, hasher, clock)
    attempt(user, "30001-000001", key[::-1], hasher, clock)
    attempt(user, key, key, hasher, clock)  # a key pasted into the number field
    text = " ".join(f"{e.details} {e.contract_number}" for e in AuditEvent.select())
    assert key not in text and key[::-1] not in text
    assert all(key not in f.subject for f in Failure.select())


def test_ten_failures_lock_the_account_even_for_the_right_key(posted, hasher, clock):
    user = staff("a@kakuda.example.jp")
    for i in range(10):
        assert attempt(user, f"39999-00000{i}", "WRONGKEY2345", hasher, clock).outcome == "failed"
        clock.advance(seconds=30)
    locked = attempt(user, "30001-000001", posted["30001-000001"], hasher, clock)
    assert locked.locked
    assert locked.retry_after == dt.datetime(2026, 4, 1, 1, 15, 0)  # the first failure + 15 min
    [event] = events("lookup.locked")
    assert json.loads(event.details)["locked"] == ["user"]
    assert not events("lookup.succeeded")
    # Another account of the same organisation is not locked by it.
    assert attempt(staff("b@kakuda.example.jp"), "30001-000001", posted["30001-000001"],
                   hasher, clock).found
    # When the oldest failure leaves the window, the account may try again.
    clock.now = dt.datetime(2026, 4, 1, 1, 15, 1)
    assert attempt(user, "30001-000001", posted["30001-000001"], hasher, clock).found


def test_a_number_guessed_from_many_accounts_is_locked_for_everyone(posted, hasher, clock):
    guessers = [staff(f"g{i}@shirako.example.jp", SHIRAKO) for i in range(10)]
    for user in guessers:
        assert attempt(user, "30001-000001", "WRONGKEY2345", hasher, clock).outcome == "failed"
    owner = staff("a@kakuda.example.jp")
    result = attempt(owner, "３０００１－０００００１", posted["30001-000001"], hasher, clock)
    assert result.locked
    assert json.loads(events("lookup.locked")[0].details)["locked"] == ["contract"]
    # Other numbers are not affected.
    assert attempt(owner, "30001-000002", "WRONGKEY2345", hasher, clock).outcome == "failed"


def test_a_success_does_not_count_as_a_failure(posted, hasher, clock):
    user = staff("a@kakuda.example.jp")
    for _ in range(9):
        attempt(user, "39999-999999", "WRONGKEY2345", hasher, clock)
    assert attempt(user, "30001-000001", posted["30001-000001"], hasher, clock).found
    assert attempt(user, "39999-999999", "WRONGKEY2345", hasher, clock).outcome == "failed"  # 10th
    assert attempt(user, "30001-000001", posted["30001-000001"], hasher, clock).locked


def test_an_address_has_its_own_looser_limit(posted, hasher, clock):
    limits = LookupLimits(failures=10, window=dt.timedelta(minutes=15), failures_per_address=3)
    users = [staff(f"u{i}@kakuda.example.jp") for i in range(4)]
    for user in users[:3]:
        attempt(user, "39999-999999", "WRONGKEY2345", hasher, clock, limits, address="192.0.2.1")
    assert attempt(users[3], "30001-000001", posted["30001-000001"], hasher, clock, limits,
                   address="192.0.2.1").locked
    assert attempt(users[3], "30001-000001", posted["30001-000001"], hasher, clock, limits,
                   address="192.0.2.2").found


def test_find_certificate_still_answers_for_the_obligee_only(posted, hasher):
    assert find_certificate(contract_number="30001000001", auth_key=posted["30001-000001"],
                            obligee_code=KAKUDA, hasher=hasher).contract_number == "30001-000001"
    assert find_certificate(contract_number="30001-000001", auth_key=posted["30001-000001"],
                            obligee_code=SHIRAKO, hasher=hasher) is None
