"""A user's own credential changes (password asked again, other sessions ended, recovery
codes) and an admin's resets (registry only, no Flask). Runs on SQLite and, when
configured, PostgreSQL."""
import datetime as dt
import json
import re
import threading

import pytest

from registry.accounts import credentials, otp, recovery_codes
from registry.accounts.users import (User, add_user, needs_otp_enrolment, needs_password_change,
                                     session_user, start_session, user_by_email)
from registry.db import database
from registry.errors import Forbidden
from registry.models import AuditEvent, Organisation
from registry.accounts.organisations import add_organisation
from registry.accounts.password_policy import WeakPassword
from registry.accounts.recovery_codes import RecoveryCode
from registry.accounts.sign_in import LoginLimits, sign_in, sign_in_with_otp
from tests.factories import FixedClock

PASSWORD = "correct horse battery staple"
CODE_FORMAT = re.compile(r"^[a-z0-9]{5}-[a-z0-9]{5}$")


@pytest.fixture
def clock():
    return FixedClock(dt.datetime(2026, 4, 1, 9, 0, 0))


@pytest.fixture
def user(registry_db):
    add_organisation(kind="obligee", code="042081", name="角田市")  # the default: TOTP required
    return add_user(org_code="042081", email="staff@kakuda.example.jp", role="staff",
                    password=PASSWORD)


def events(kind):
    return [json.loads(e.details) for e in
            AuditEvent.select().where(AuditEvent.kind == kind).order_by(AuditEvent.seq)]


def fresh(user):
    return user_by_email(user.email)


def enrol(user, clock, password=PASSWORD):
    secret = otp.new_secret()
    change = credentials.enrol_otp(user, password=password, secret=secret,
                                   code=otp.code_at(secret, clock()), address="10.0.0.1",
                                   clock=clock)
    clock.advance(seconds=90)  # the enrolment code's window is over
    return secret, change


# --- organisations: TOTP by default ---------------------------------------------------------

def test_a_new_organisation_requires_totp_unless_password_only_is_allowed(registry_db):
    strict = add_organisation(kind="obligee", code="042081", name="角田市")
    lax = add_organisation(kind="obligee", code="124249", name="白子町", require_otp=False)
    assert Organisation.get_by_id(strict.id).require_otp is True
    assert Organisation.get_by_id(lax.id).require_otp is False
    assert [(e["require_otp"], e["allow_password_only"]) for e in events("organisation.added")] == \
        [(True, False), (False, True)]
    newcomer = add_user(org_code="042081", email="new@kakuda.example.jp", role="staff",
                        password=PASSWORD)
    assert needs_otp_enrolment(fresh(newcomer))


# --- enrolment ------------------------------------------------------------------------------

def test_enrolment_gives_ten_recovery_codes_stored_only_as_argon2id(user, clock):
    secret, change = enrol(user, clock)
    assert change.done and len(change.recovery_codes) == 10
    assert len(set(change.recovery_codes)) == 10
    assert all(CODE_FORMAT.match(code) for code in change.recovery_codes)
    assert not set("".join(change.recovery_codes)) & set("0o1li")  # copied from paper by eye
    stored = [row.code_hash for row in RecoveryCode.select()]
    assert len(stored) == 10 and all(h.startswith("$argon2id$") for h in stored)
    for code in change.recovery_codes:
        assert not any(code in h or code.replace("-", "") in h for h in stored)
        assert all(code not in e.details and code.replace("-", "") not in e.details
                   for e in AuditEvent.select())
    assert fresh(user).otp_secret == secret and not needs_otp_enrolment(fresh(user))
    [enrolled] = events("otp.enrolled")
    assert enrolled["recovery_codes"] == 10 and secret not in json.dumps(enrolled)


@pytest.mark.parametrize("password", ["", None, "not the password, long enough"])
def test_enrolment_without_the_current_password_stores_nothing(user, clock, password):
    secret = otp.new_secret()
    change = credentials.enrol_otp(user, password=password, secret=secret,
                                   code=otp.code_at(secret, clock()), address=None, clock=clock)
    assert change.outcome == "not_confirmed"
    assert fresh(user).otp_secret is None and RecoveryCode.select().count() == 0
    assert events("otp.enrolled") == []
    assert [e["reason"] for e in events("reauthentication.failed")] == ["wrong_password"]


def test_enrolment_with_a_wrong_code_stores_nothing(user, clock):
    secret = otp.new_secret()
    right = otp.code_at(secret, clock())
    change = credentials.enrol_otp(user, password=PASSWORD, secret=secret,
                                   code="000000" if right != "000000" else "111111",
                                   address=None, clock=clock)
    assert change.outcome == "wrong_code"
    assert fresh(user).otp_secret is None and RecoveryCode.select().count() == 0


def test_enrolment_ends_every_other_session_and_starts_one_for_this_browser(user, clock):
    elsewhere = start_session(user, clock=clock)
    here = start_session(user, clock=clock)
    _, change = enrol(user, clock)
    assert session_user(elsewhere, clock=clock) is None
    assert session_user(here, clock=clock) is None  # rotated ...
    assert session_user(change.token, clock=clock).id == user.id  # ... to a new token
    assert events("otp.enrolled")[0]["sessions_ended"] == 2


def test_enrolment_is_refused_when_totp_is_already_there(user, clock):
    enrol(user, clock)
    with pytest.raises(Forbidden):
        enrol(fresh(user), clock)


# --- signing in with a recovery code --------------------------------------------------------

def test_a_recovery_code_signs_in_once_and_never_twice(user, clock):
    _, change = enrol(user, clock)
    code = change.recovery_codes[3]
    assert sign_in(email=user.email, password=PASSWORD, address=None, clock=clock).outcome == "needs_otp"
    first = sign_in_with_otp(user_id=user.id, code=code, address="10.0.0.2", clock=clock)
    assert first.signed_in
    [used] = events("otp.recovery_code_used")
    assert used == {"user_id": user.id, "remaining": 9, "address": "10.0.0.2"}
    again = sign_in_with_otp(user_id=user.id, code=code, address=None, clock=clock)
    assert again.outcome == "failed"
    assert events("login.failed")[-1]["reason"] == "wrong_recovery_code"
    assert recovery_codes.remaining(fresh(user)) == 9
    assert all(code not in e.details and code.replace("-", "") not in e.details
               for e in AuditEvent.select())


def test_a_recovery_code_may_be_typed_loosely(user, clock):
    _, change = enrol(user, clock)
    code = change.recovery_codes[0]
    typed = " " + code.upper().replace("-", "ー").translate(
        str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                      "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ")) + " "
    assert sign_in_with_otp(user_id=user.id, code=typed, address=None, clock=clock).signed_in


def test_wrong_recovery_codes_count_towards_the_account_lock(user, clock):
    _, change = enrol(user, clock)
    limits = LoginLimits(failures=3)
    outcomes = [sign_in_with_otp(user_id=user.id, code="aaaaa-bbbbb", address=None,
                                 limits=limits, clock=clock).outcome for _ in range(3)]
    assert outcomes == ["failed", "failed", "locked"]
    assert sign_in_with_otp(user_id=user.id, code=change.recovery_codes[0], address=None,
                            limits=limits, clock=clock).outcome == "locked"
    assert recovery_codes.remaining(fresh(user)) == 10  # a locked account spends nothing


def test_two_parallel_uses_of_one_code_sign_in_once(user, clock):
    _, change = enrol(user, clock)
    code = change.recovery_codes[0]
    limits = LoginLimits(failures=50, failures_per_address=1000)
    barrier = threading.Barrier(4)
    outcomes = []

    def use():
        barrier.wait()
        try:
            outcomes.append(sign_in_with_otp(user_id=user.id, code=code, address=None,
                                             limits=limits).outcome)
        finally:
            database.close()

    threads = [threading.Thread(target=use) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["failed", "failed", "failed", "signed_in"]
    assert len(events("otp.recovery_code_used")) == 1
    assert recovery_codes.remaining(fresh(user)) == 9


def test_new_recovery_codes_need_the_password_and_replace_the_old(user, clock):
    _, change = enrol(user, clock)
    old = change.recovery_codes
    refused = credentials.regenerate_recovery_codes(fresh(user), password="wrong, long enough",
                                                    address=None, clock=clock)
    assert refused.outcome == "not_confirmed" and refused.recovery_codes == ()
    assert sign_in_with_otp(user_id=user.id, code=old[0], address=None, clock=clock).signed_in
    renewed = credentials.regenerate_recovery_codes(fresh(user), password=PASSWORD, address=None,
                                                    clock=clock)
    assert renewed.done and len(set(renewed.recovery_codes)) == 10
    assert set(renewed.recovery_codes).isdisjoint(old)
    assert not sign_in_with_otp(user_id=user.id, code=old[1], address=None, clock=clock).signed_in
    assert sign_in_with_otp(user_id=user.id, code=renewed.recovery_codes[1], address=None,
                            clock=clock).signed_in
    assert recovery_codes.remaining(fresh(user)) == 9
    assert events("otp.recovery_codes_replaced")[0]["recovery_codes"] == 10


# --- removal and password change ----------------------------------------------------------

@pytest.fixture
def optional_user(registry_db):
    add_organisation(kind="obligee", code="124249", name="白子町", require_otp=False)
    return add_user(org_code="124249", email="staff@shirako.example.jp", role="staff",
                    password=PASSWORD)


def test_removal_needs_the_password_and_a_code_and_ends_other_sessions(optional_user, clock):
    secret, _ = enrol(optional_user, clock)
    user = fresh(optional_user)
    elsewhere = start_session(user, clock=clock)
    code = otp.code_at(secret, clock())
    assert credentials.remove_otp(user, password="wrong, long enough", code=code, address=None,
                                  clock=clock).outcome == "not_confirmed"
    assert credentials.remove_otp(user, password=PASSWORD, code=None, address=None,
                                  clock=clock).outcome == "not_confirmed"
    assert fresh(user).otp_secret == secret
    clock.advance(seconds=30)
    removed = credentials.remove_otp(user, password=PASSWORD, code=otp.code_at(secret, clock()),
                                     address=None, clock=clock)
    assert removed.done and session_user(removed.token, clock=clock).id == user.id
    assert session_user(elsewhere, clock=clock) is None
    assert fresh(user).otp_secret is None and RecoveryCode.select().count() == 0
    assert events("otp.removed")[0]["sessions_ended"] >= 1


def test_removal_is_refused_where_the_organisation_requires_totp(user, clock):
    secret, _ = enrol(user, clock)
    with pytest.raises(Forbidden):
        credentials.remove_otp(fresh(user), password=PASSWORD, code=otp.code_at(secret, clock()),
                               address=None, clock=clock)


def test_a_password_change_needs_the_current_one_and_a_strong_new_one(optional_user, clock):
    user = optional_user
    elsewhere = start_session(user, clock=clock)
    with pytest.raises(WeakPassword, match="推測されやすい"):
        credentials.change_password(user, current_password=PASSWORD,
                                    new_password="passwordpassword", address=None, clock=clock)
    assert events("reauthentication.failed") == []  # refused before any guess was counted
    assert credentials.change_password(user, current_password="wrong, long enough",
                                       new_password="a fresh mountain stream", address=None,
                                       clock=clock).outcome == "not_confirmed"
    with pytest.raises(WeakPassword, match="違うもの"):
        credentials.change_password(user, current_password=PASSWORD, new_password=PASSWORD,
                                    address=None, clock=clock)
    changed = credentials.change_password(user, current_password=PASSWORD,
                                          new_password="a fresh mountain stream", address=None,
                                          clock=clock)
    assert changed.done and session_user(changed.token, clock=clock).id == user.id
    assert session_user(elsewhere, clock=clock) is None
    assert events("user.password_changed")[0]["sessions_ended"] == 1


# --- an admin's or the operator's reset -----------------------------------------------------

def test_a_password_reset_makes_the_user_choose_their_own_next(optional_user, clock):
    user = optional_user
    session = start_session(user, clock=clock)
    credentials.reset_password(user, "the admin chose this one", actor="user:99", clock=clock)
    assert session_user(session, clock=clock) is None
    assert needs_password_change(fresh(user))
    [reset] = events("user.password_reset")
    assert reset["must_change_password"] is True and "the admin chose" not in json.dumps(reset)
    signed = sign_in(email=user.email, password="the admin chose this one", address=None, clock=clock)
    assert signed.signed_in and needs_password_change(signed.user)
    own = credentials.change_password(fresh(user), current_password="the admin chose this one",
                                      new_password="only I know this sentence", address=None,
                                      clock=clock)
    assert own.done and not needs_password_change(fresh(user))


def test_a_password_reset_keeps_the_user_s_authenticator(user, clock):
    secret, _ = enrol(user, clock)
    credentials.reset_password(fresh(user), "the admin chose this one", actor="operator", clock=clock)
    assert fresh(user).otp_secret == secret  # whoever reset it still lacks the second factor
    assert sign_in(email=user.email, password="the admin chose this one", address=None,
                   clock=clock).outcome == "needs_otp"


def test_a_weak_reset_password_is_refused_and_changes_nothing(optional_user, clock):
    session = start_session(optional_user, clock=clock)
    with pytest.raises(WeakPassword):
        credentials.reset_password(optional_user, "123456789012", actor="operator", clock=clock)
    assert session_user(session, clock=clock) is not None
    assert not needs_password_change(fresh(optional_user)) and events("user.password_reset") == []


def test_a_totp_reset_forgets_it_and_asks_for_a_new_password_and_enrolment(optional_user, clock):
    _, change = enrol(optional_user, clock)
    user = fresh(optional_user)
    session = start_session(user, clock=clock)
    assert credentials.reset_otp(user, actor="user:99", clock=clock)
    assert session_user(session, clock=clock) is None
    after = fresh(user)
    assert after.otp_secret is None and RecoveryCode.select().count() == 0
    # The organisation allows password-only sign-in, but the member had TOTP: enrol again.
    assert needs_password_change(after) and needs_otp_enrolment(after)
    [reset] = events("otp.reset")
    assert reset["must_enrol_otp"] is True and reset["sessions_ended"] >= 1
    assert not sign_in_with_otp(user_id=user.id, code=change.recovery_codes[0], address=None,
                                clock=clock).signed_in
    assert credentials.reset_otp(after, actor="user:99", clock=clock) is False  # nothing to do
    secret, enrolled = enrol(after, clock)
    assert enrolled.done and not needs_otp_enrolment(fresh(user))


def test_an_account_added_by_someone_else_replaces_its_password_first(optional_user):
    added = add_user(org_code="124249", email="new@shirako.example.jp", role="staff",
                     password="initial sentence from admin", must_change_password=True)
    assert needs_password_change(User.get_by_id(added.id))
    assert events("user.added")[-1]["must_change_password"] is True
