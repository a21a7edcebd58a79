"""Accounts, sign-in and its lockout, TOTP use, server-side sessions (registry only, no
Flask). Runs on SQLite and, when configured, PostgreSQL."""
import datetime as dt
import json

import pytest

from registry.accounts import users as accounts, otp
from registry.accounts.users import (SessionLimits, User, add_user, deactivate_user, end_session,
                                     enrol_otp, member_for_admin, set_password, start_session,
                                     session_user)
from registry.accounts.sign_in import LoginLimits, reauthenticate, sign_in, sign_in_with_otp
from registry.errors import Forbidden, InvalidInput, NotFound
from registry.models import AuditEvent
from registry.accounts.organisations import add_organisation
from tests.factories import FixedClock, all_at_once

PASSWORD = "correct horse battery staple"
START = dt.datetime(2026, 4, 1, 9, 0, 0)


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def orgs(registry_db):
    """角田市 allows password-only sign-in (explicitly: TOTP is the default), 白子町
    requires TOTP."""
    add_organisation(kind="obligee", code="042081", name="角田市", require_otp=False)
    add_organisation(kind="obligee", code="124249", name="白子町", require_otp=True)
    add_organisation(kind="operator", code="DSURE", name="運営事業者", require_otp=False)


@pytest.fixture
def user(orgs):
    return add_user(org_code="042081", email="Staff@Kakuda.example.jp", role="staff",
                    password=PASSWORD)


def events(kind=None):
    query = AuditEvent.select().order_by(AuditEvent.seq)
    if kind:
        query = query.where(AuditEvent.kind == kind)
    return list(query)


# --- accounts --------------------------------------------------------------------------

def test_a_password_is_stored_as_argon2id_only(user):
    stored = User.get_by_id(user.id)
    assert stored.email == "staff@kakuda.example.jp"
    assert stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in stored.password_hash
    [added] = events("user.added")
    assert PASSWORD not in added.details


@pytest.mark.parametrize("change, message", [
    ({"role": "root"}, "role"), ({"email": "no-at-sign"}, "email"),
    ({"password": "short"}, "12"), ({"org_code": "999999"}, "organisation"),
    ({"role": "platform-auditor"}, "operator"),
    ({"org_code": "DSURE"}, "obligee"), ({"org_code": "DSURE", "role": "auditor"}, "obligee"),
])
def test_add_user_refuses_bad_input(orgs, change, message):
    args = dict(org_code="042081", email="new@kakuda.example.jp", role="staff", password=PASSWORD)
    with pytest.raises(InvalidInput, match=message):
        add_user(**{**args, **change})


def test_an_email_is_unique_whatever_its_case(user):
    with pytest.raises(InvalidInput, match="exists"):
        add_user(org_code="124249", email="STAFF@kakuda.example.jp", role="staff", password=PASSWORD)


# --- signing in -------------------------------------------------------------------------

def test_the_right_password_starts_a_session(user, clock):
    result = sign_in(email=" STAFF@kakuda.example.jp ", password=PASSWORD, address="10.0.0.1",
                     clock=clock)
    assert result.signed_in and result.user.id == user.id
    assert session_user(result.token, clock=clock).id == user.id
    [event] = events("login.succeeded")
    assert event.actor == f"user:{user.id}" and event.organisation_code == "042081"
    assert json.loads(event.details) == {"email": user.email, "address": "10.0.0.1", "otp": False,
                                         "device": False}


@pytest.mark.parametrize("email, password, reason", [
    ("staff@kakuda.example.jp", "wrong password, long enough", "wrong_password"),
    ("nobody@kakuda.example.jp", PASSWORD, "unknown_email"),
])
def test_a_failure_is_the_same_whichever_part_is_wrong(user, clock, email, password, reason):
    result = sign_in(email=email, password=password, address="10.0.0.1", clock=clock)
    assert result.outcome == "failed" and result.user is None and result.token is None
    [event] = events("login.failed")
    details = json.loads(event.details)
    assert details["reason"] == reason and details["email"] == email
    assert password not in event.details


def test_an_unknown_email_costs_one_argon2_verification_like_a_known_one(user, monkeypatch):
    calls = []
    real = accounts._PASSWORDS

    class Counting:
        def verify(self, hash_, password):
            calls.append(hash_)
            return real.verify(hash_, password)

    monkeypatch.setattr(accounts, "_PASSWORDS", Counting())
    sign_in(email="nobody@kakuda.example.jp", password=PASSWORD, address=None)
    sign_in(email="staff@kakuda.example.jp", password="wrong password, long enough", address=None)
    assert len(calls) == 2 and calls[0] == accounts._DECOY_PASSWORD_HASH


def test_an_inactive_user_cannot_sign_in(user, clock):
    deactivate_user(email=user.email)
    result = sign_in(email=user.email, password=PASSWORD, address=None, clock=clock)
    assert result.outcome == "failed" and result.token is None
    assert json.loads(events("login.failed")[0].details)["reason"] == "inactive"


def test_the_account_locks_after_the_limit_even_for_the_right_password(user, clock):
    limits = LoginLimits(failures=5, window=dt.timedelta(minutes=15))
    outcomes = []
    for _ in range(5):
        clock.advance(seconds=10)
        outcomes.append(sign_in(email=user.email, password="wrong password, long enough",
                                address="10.0.0.1", limits=limits, clock=clock).outcome)
    assert outcomes == ["failed"] * 4 + ["locked"]
    right = sign_in(email=user.email, password=PASSWORD, address="10.0.0.2", limits=limits,
                    clock=clock)
    assert right.outcome == "locked" and right.token is None
    # The lock lasts until the first failure leaves the window, then the account opens.
    assert right.retry_after == START + dt.timedelta(seconds=10, minutes=15)
    clock.now = right.retry_after + dt.timedelta(seconds=1)
    assert sign_in(email=user.email, password=PASSWORD, address="10.0.0.2", limits=limits,
                   clock=clock).signed_in
    assert len(events("login.locked")) == 2  # when it tripped, and the refused attempt


def test_unknown_emails_lock_too_so_a_lock_tells_nothing(orgs, clock):
    limits = LoginLimits(failures=2)
    for _ in range(2):
        sign_in(email="ghost@kakuda.example.jp", password="x" * 12, address=None, limits=limits,
                clock=clock)
    assert sign_in(email="ghost@kakuda.example.jp", password="x" * 12, address=None,
                   limits=limits, clock=clock).outcome == "locked"


def test_an_address_with_too_many_failures_is_locked_for_every_account(user, clock):
    limits = LoginLimits(failures=100, failures_per_address=3)
    for n in range(3):
        sign_in(email=f"guess{n}@kakuda.example.jp", password="x" * 12, address="192.0.2.9",
                limits=limits, clock=clock)
    assert sign_in(email=user.email, password=PASSWORD, address="192.0.2.9", limits=limits,
                   clock=clock).outcome == "locked"
    assert sign_in(email=user.email, password=PASSWORD, address="192.0.2.10", limits=limits,
                   clock=clock).signed_in


# --- TOTP ------------------------------------------------------------------------------

@pytest.fixture
def otp_user(user, clock):
    secret = otp.new_secret()
    assert enrol_otp(user, secret=secret, code=otp.code_at(secret, clock()), actor="test",
                     clock=clock)
    clock.advance(seconds=90)  # the enrolment code's window is over
    return user, secret


def test_enrolment_needs_a_right_code_and_is_audited_without_the_secret(user, clock):
    secret = otp.new_secret()
    assert not enrol_otp(user, secret=secret, code="000000" if otp.code_at(secret, clock()) != "000000"
                         else "111111", actor="test", clock=clock)
    assert User.get_by_id(user.id).otp_secret is None
    assert enrol_otp(user, secret=secret, code=otp.code_at(secret, clock()), actor="test",
                     clock=clock)
    assert User.get_by_id(user.id).otp_secret == secret
    for event in events():
        assert secret not in event.details
    assert len(events("otp.enrolled")) == 1


def test_with_totp_the_password_alone_does_not_sign_in(otp_user, clock):
    user, secret = otp_user
    first = sign_in(email=user.email, password=PASSWORD, address=None, clock=clock)
    assert first.outcome == "needs_otp" and first.token is None
    code = otp.code_at(secret, clock())
    second = sign_in_with_otp(user_id=user.id, code=code, address=None, clock=clock)
    assert second.signed_in and session_user(second.token, clock=clock).id == user.id
    assert json.loads(events("login.succeeded")[-1].details)["otp"] is True
    for event in events():
        assert code not in event.details and secret not in event.details


def test_a_code_cannot_be_used_twice(otp_user, clock):
    user, secret = otp_user
    code = otp.code_at(secret, clock())
    assert sign_in_with_otp(user_id=user.id, code=code, address=None, clock=clock).signed_in
    clock.advance(seconds=20)  # still within the code's window
    again = sign_in_with_otp(user_id=user.id, code=code, address=None, clock=clock)
    assert again.outcome == "failed"
    assert json.loads(events("login.failed")[-1].details)["reason"] == "wrong_otp"


def test_wrong_codes_count_towards_the_account_lock(otp_user, clock):
    user, secret = otp_user
    limits = LoginLimits(failures=3)
    right = otp.code_at(secret, clock())
    wrong = "000000" if right != "000000" else "111111"
    outcomes = [sign_in_with_otp(user_id=user.id, code=wrong, address=None, limits=limits,
                                 clock=clock).outcome for _ in range(3)]
    assert outcomes == ["failed", "failed", "locked"]
    assert sign_in_with_otp(user_id=user.id, code=right, address=None, limits=limits,
                            clock=clock).outcome == "locked"


def test_an_organisation_that_requires_totp_makes_enrolment_due(orgs):
    shirako = add_user(org_code="124249", email="staff@shirako.example.jp", role="staff",
                       password=PASSWORD)
    kakuda = add_user(org_code="042081", email="staff@kakuda.example.jp", role="staff",
                      password=PASSWORD)
    assert accounts.needs_otp_enrolment(accounts.user_by_email(shirako.email))
    assert not accounts.needs_otp_enrolment(accounts.user_by_email(kakuda.email))


# --- sessions ----------------------------------------------------------------------------

def test_a_session_ends_when_idle_too_long_or_too_old(user, clock):
    limits = SessionLimits(idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=12))
    token = start_session(user, clock=clock)
    clock.advance(minutes=29)
    assert session_user(token, limits=limits, clock=clock) is not None
    clock.advance(minutes=29)  # touched 29 minutes ago: still alive
    assert session_user(token, limits=limits, clock=clock) is not None
    clock.advance(minutes=31)
    assert session_user(token, limits=limits, clock=clock) is None

    busy = start_session(user, clock=clock)
    for _ in range(12 * 4 + 1):
        clock.advance(minutes=15)
        alive = session_user(busy, limits=limits, clock=clock)
    assert alive is None  # 12 hours, however busy


@pytest.mark.parametrize("how", ["sign out", "deactivate", "password reset"])
def test_ending_a_session_works_at_once(user, clock, how):
    token = start_session(user, clock=clock)
    other = start_session(user, clock=clock)
    if how == "sign out":
        end_session(token, clock=clock)
        assert session_user(other, clock=clock) is not None  # only that one ends
    elif how == "deactivate":
        deactivate_user(email=user.email, clock=clock)
    else:
        set_password(user, "a brand new passphrase", actor="test", clock=clock)
    assert session_user(token, clock=clock) is None
    if how != "sign out":
        assert session_user(other, clock=clock) is None


def test_the_session_token_is_stored_only_as_a_digest(user):
    token = start_session(user)
    stored = accounts.UserSession.select().first()
    assert token not in stored.token_digest and len(stored.token_digest) == 64


# --- admins --------------------------------------------------------------------------------

def test_an_admin_manages_only_their_own_organisation(orgs):
    admin = add_user(org_code="042081", email="admin@kakuda.example.jp", role="admin",
                     password=PASSWORD)
    mine = add_user(org_code="042081", email="staff@kakuda.example.jp", role="staff",
                    password=PASSWORD)
    theirs = add_user(org_code="124249", email="staff@shirako.example.jp", role="staff",
                      password=PASSWORD)
    admin = accounts.user_by_email(admin.email)
    assert member_for_admin(admin, mine.id).id == mine.id
    with pytest.raises(Forbidden):
        member_for_admin(admin, theirs.id)
    with pytest.raises(NotFound):
        member_for_admin(admin, 99999)
    with pytest.raises(Forbidden):
        member_for_admin(accounts.user_by_email(mine.email), mine.id)


# --- demo ------------------------------------------------------------------------------------

def test_demo_users_are_idempotent_and_their_printed_passwords_work(registry_db):
    from registry.demo.users import load_demo_users
    first = load_demo_users()
    assert {role for _, _, role, _ in first} == {"staff", "admin", "auditor", "platform-auditor"}
    # Someone tried the demo: changed a password, deactivated an account.
    email, password, _, _ = first[0]
    set_password(accounts.user_by_email(email), "changed during the demo", actor="test")
    deactivate_user(email=first[1][0])
    assert load_demo_users() == first
    for email, password, role, org_name in first:
        result = sign_in(email=email, password=password, address=None)
        assert result.signed_in, email
        assert result.user.role == role and result.user.organisation.name == org_name
    assert User.select().count() == len(first)


def test_parallel_wrong_passwords_get_no_more_guesses_than_the_limit(user):
    """Each guess is counted before its (slow) check: sixteen at once, limit five."""
    limits = LoginLimits(failures=5, window=dt.timedelta(minutes=15), failures_per_address=1000)
    outcomes = all_at_once(16, lambda: sign_in(email=user.email, address="10.0.0.1",
                                               password="wrong password, long enough",
                                               limits=limits).outcome)
    assert len(outcomes) == 16
    assert len(events("login.failed")) == 5  # five passwords were checked, no more
    refused_unchecked = [e for e in events("login.locked")
                         if json.loads(e.details).get("attempt_refused")]
    assert len(refused_unchecked) == 11 and set(outcomes) <= {"failed", "locked"}


def test_a_right_password_does_not_count_as_a_failure(user):
    limits = LoginLimits(failures=2, window=dt.timedelta(minutes=15))
    for _ in range(3):
        assert sign_in(email=user.email, password=PASSWORD, address="10.0.0.1",
                       limits=limits).signed_in


def test_reauthentication_counts_against_the_same_account_limit(user, clock):
    limits = LoginLimits(failures=3, window=dt.timedelta(minutes=15))
    assert reauthenticate(user, password=PASSWORD, address=None, limits=limits,
                          clock=clock).outcome == "confirmed"
    outcomes = [reauthenticate(user, password="not it, but long enough", address=None,
                               limits=limits, clock=clock).outcome for _ in range(3)]
    assert outcomes == ["failed", "failed", "locked"]
    assert reauthenticate(user, password=PASSWORD, address=None, limits=limits,
                          clock=clock).outcome == "locked"
    # The account's sign-in is locked too: the guesses were against the same password.
    assert sign_in(email=user.email, password=PASSWORD, address=None, limits=limits,
                   clock=clock).outcome == "locked"
    assert [json.loads(e.details)["reason"] for e in events("reauthentication.failed")] == \
        ["wrong_password"] * 3


def test_something_typed_for_an_unknown_account_is_kept_only_when_it_is_an_address(orgs):
    sign_in(email="Tr0ub4dor&3-long-secret", password=PASSWORD, address=None)
    sign_in(email="nobody@kakuda.example.jp", password=PASSWORD, address=None)
    emails = [json.loads(e.details)["email"] for e in events("login.failed")]
    assert emails == ["(not an email address)", "nobody@kakuda.example.jp"]
    assert all("Tr0ub4dor" not in e.details for e in AuditEvent.select())


def test_reauthentication_with_a_code_counts_and_spends_the_code(user, clock):
    limits = LoginLimits(failures=3, window=dt.timedelta(minutes=15))
    secret = otp.new_secret()
    assert enrol_otp(user, secret=secret, code=otp.code_at(secret, clock()), actor="test", clock=clock)
    clock.advance(seconds=60)
    right = otp.code_at(secret, clock())
    wrong = "000000" if right != "000000" else "111111"
    assert reauthenticate(user, otp_code=right, address=None, limits=limits,
                          clock=clock).outcome == "confirmed"
    # the same code twice is a replay, and counts as a failure like a wrong one
    outcomes = [reauthenticate(user, otp_code=code, address=None, limits=limits,
                               clock=clock).outcome for code in (right, wrong, wrong)]
    assert outcomes == ["failed", "failed", "locked"]
    assert [json.loads(e.details)["reason"] for e in events("reauthentication.failed")] == \
        ["wrong_otp"] * 3
