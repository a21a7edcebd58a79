"""Device cookies at sign-in (OWASP "Slow Down Online Guessing Attacks with Device
Cookies"): a stranger's guesses lock only unknown browsers, never the owner's; a
device's own guesses are limited too, and at the limit it is rejected for good.
Registry only (the portal signs and verifies the cookie)."""
import datetime as dt
import json

import pytest

from registry.accounts import otp
from registry.accounts.users import add_user, enrol_otp
from registry.accounts.devices import Device, RejectedDevice
from registry.models import AuditEvent
from registry.accounts.organisations import add_organisation
from registry.accounts.sign_in import LoginLimits, reauthenticate, sign_in, sign_in_with_otp
from registry.accounts.throttle import Failure
from tests.factories import FixedClock

PASSWORD = "correct horse battery staple"
WRONG = "wrong password, long enough"
EMAIL = "staff@kakuda.example.jp"
LIMITS = LoginLimits(failures=5, window=dt.timedelta(minutes=15), failures_per_address=50)


@pytest.fixture
def clock():
    return FixedClock(dt.datetime(2026, 4, 1, 9, 0, 0))


@pytest.fixture
def user(registry_db):
    add_organisation(kind="obligee", code="042081", name="角田市")
    return add_user(org_code="042081", email=EMAIL, role="staff", password=PASSWORD)


def attempt(clock, password, *, devices=(), address="10.0.0.1", email=EMAIL, limits=LIMITS):
    clock.advance(seconds=5)
    return sign_in(email=email, password=password, address=address, limits=limits,
                   devices=devices, clock=clock)


def own_device(user, clock) -> Device:
    """The device cookie the owner's browser got at an earlier sign-in."""
    result = attempt(clock, PASSWORD)
    assert result.signed_in and result.device_nonce
    return Device(user.id, result.device_nonce)


def details(kind):
    return [json.loads(e.details) for e in AuditEvent.select().where(AuditEvent.kind == kind)
            .order_by(AuditEvent.seq)]


def test_a_strangers_guesses_lock_unknown_browsers_but_not_the_owners(user, clock):
    device = own_device(user, clock)
    outcomes = [attempt(clock, WRONG, address="203.0.113.7").outcome for _ in range(5)]
    assert outcomes == ["failed"] * 4 + ["locked"]
    assert attempt(clock, PASSWORD, address="203.0.113.7").outcome == "locked"
    assert attempt(clock, PASSWORD, address="198.51.100.2").outcome == "locked"  # any unknown browser

    owner = attempt(clock, PASSWORD, devices=[device], address="192.0.2.10")
    assert owner.signed_in and owner.device_nonce not in (None, device.nonce)
    assert details("login.succeeded")[-1]["device"] is True
    assert details("login.succeeded")[0]["device"] is False
    assert attempt(clock, PASSWORD, address="203.0.113.7").outcome == "locked"  # still


def test_a_devices_failures_count_against_it_not_against_the_account(user, clock):
    device = own_device(user, clock)
    for _ in range(4):
        assert attempt(clock, WRONG, devices=[device]).outcome == "failed"
    assert Failure.select().where(Failure.subject == f"email:{EMAIL}").count() == 0
    assert Failure.select().where(Failure.subject == f"device:{device.nonce}").count() == 4
    assert attempt(clock, PASSWORD).signed_in  # an unknown browser is not held back either
    assert all(d["device"] for d in details("login.failed"))


def test_a_device_at_its_limit_is_locked_then_rejected_for_good(user, clock):
    device = own_device(user, clock)
    results = [attempt(clock, WRONG, devices=[device]) for _ in range(5)]
    assert [r.outcome for r in results] == ["failed"] * 4 + ["locked"]
    assert RejectedDevice.get().nonce == device.nonce
    [rejected] = details("login.device_rejected")
    assert rejected["email"] == EMAIL
    # For the rest of the window that browser is refused, right password or not ...
    refused = attempt(clock, PASSWORD, devices=[device])
    assert refused.outcome == "locked" and refused.retry_after == results[-1].retry_after
    assert refused.token is None
    assert attempt(clock, PASSWORD).signed_in  # ... while the account is not locked at all

    # ... and after it the cookie counts for nothing: the browser is an unknown one, held
    # by (and counted against) the account's lockout.
    clock.advance(minutes=20)
    again = attempt(clock, WRONG, devices=[device])
    assert again.outcome == "failed" and not details("login.failed")[-1]["device"]
    assert Failure.select().where(Failure.subject == f"email:{EMAIL}").count() == 1
    signed = attempt(clock, PASSWORD, devices=[device])
    assert signed.signed_in and details("login.succeeded")[-1]["device"] is False


def test_a_stolen_device_cookie_buys_no_more_than_the_limit(user, clock):
    """Its thief gets five guesses with it; then, with it or without, the lockouts hold."""
    device = own_device(user, clock)
    for _ in range(5):
        attempt(clock, WRONG, devices=[device], address="203.0.113.7")
    assert attempt(clock, WRONG, devices=[device], address="203.0.113.7").outcome == "locked"
    for _ in range(5):  # without the cookie: an unknown browser
        attempt(clock, WRONG, address="203.0.113.7")
    assert attempt(clock, PASSWORD, address="203.0.113.7").outcome == "locked"
    clock.advance(minutes=20)  # the cookie's lock is over, but it is trusted no more
    for _ in range(5):
        attempt(clock, WRONG, devices=[device], address="203.0.113.7")
    assert attempt(clock, PASSWORD, devices=[device], address="203.0.113.7").outcome == "locked"
    assert len(details("login.device_rejected")) == 1


def test_a_device_cookie_of_another_account_is_no_help(user, clock):
    other = add_user(org_code="042081", email="other@kakuda.example.jp", role="staff",
                     password=PASSWORD)
    borrowed = Device(other.id, attempt(clock, PASSWORD, email=other.email).device_nonce)
    for _ in range(5):
        attempt(clock, WRONG, devices=[borrowed], address="203.0.113.7")
    assert attempt(clock, PASSWORD, devices=[borrowed]).outcome == "locked"
    assert not details("login.failed")[-1]["device"]


def test_the_per_address_limit_holds_for_known_browsers_too(user, clock):
    device = own_device(user, clock)
    limits = LoginLimits(failures=5, failures_per_address=3)
    for n in range(3):
        attempt(clock, WRONG, email=f"guess{n}@kakuda.example.jp", address="192.0.2.9",
                limits=limits)
    known = attempt(clock, PASSWORD, devices=[device], address="192.0.2.9", limits=limits)
    assert known.outcome == "locked"


def test_the_browser_gets_its_device_nonce_only_after_the_second_factor(user, clock):
    secret = otp.new_secret()
    assert enrol_otp(user, secret=secret, code=otp.code_at(secret, clock()), actor="test",
                     clock=clock)
    clock.advance(seconds=90)
    first = attempt(clock, PASSWORD)
    assert first.outcome == "needs_otp" and first.device_nonce is None
    done = sign_in_with_otp(user_id=user.id, code=otp.code_at(secret, clock()), address=None,
                            limits=LIMITS, clock=clock)
    assert done.signed_in and done.device_nonce
    device = Device(user.id, done.device_nonce)

    # Wrong codes from the known browser count against its cookie, not the account.
    for _ in range(4):
        clock.advance(seconds=5)
        wrong = sign_in_with_otp(user_id=user.id, code="000000", address=None, limits=LIMITS,
                                 devices=[device], clock=clock)
        assert wrong.outcome == "failed"
    assert Failure.select().where(Failure.subject == f"device:{device.nonce}").count() == 4
    assert Failure.select().where(Failure.subject == f"email:{EMAIL}").count() == 0


def test_neither_the_nonce_nor_the_cookie_reaches_the_trail(user, clock):
    device = own_device(user, clock)
    for _ in range(5):
        attempt(clock, WRONG, devices=[device])
    attempt(clock, PASSWORD, devices=[device])
    nonce = attempt(clock, PASSWORD).device_nonce
    trail = " ".join(e.details for e in AuditEvent.select())
    assert device.nonce not in trail and nonce not in trail


def test_a_strangers_lock_does_not_stop_the_owner_proving_it_is_them(user, clock):
    """Changing the password asks for the current one: from the owner's browser that
    check is counted against its device cookie, not the account a stranger locked."""
    device = own_device(user, clock)
    for _ in range(5):
        attempt(clock, WRONG, address="203.0.113.7")
    assert reauthenticate(user, password=PASSWORD, address="192.0.2.10", limits=LIMITS,
                          clock=clock).outcome == "locked"
    proof = reauthenticate(user, password=PASSWORD, address="192.0.2.10", limits=LIMITS,
                           clock=clock, devices=[device])
    assert proof.outcome == "confirmed"
