"""A user's own list of sessions and ending the others (registry only)."""
import datetime as dt
import json

import pytest

from registry.accounts.users import SessionLimits, UserSession, add_user, end_session, session_user
from registry.models import AuditEvent
from registry.accounts.organisations import add_organisation
from registry.accounts.sign_in import sign_in
from registry.accounts.user_sessions import end_other_sessions, live_sessions
from tests.factories import FixedClock

PASSWORD = "correct horse battery staple"
LIMITS = SessionLimits(idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=12))


@pytest.fixture
def clock():
    return FixedClock(dt.datetime(2026, 4, 1, 0, 0, 0))


@pytest.fixture
def user(registry_db):
    add_organisation(kind="obligee", code="042081", name="角田市")
    return add_user(org_code="042081", email="staff@kakuda.example.jp", role="staff",
                    password=PASSWORD)


def signed_in(user, clock, address, browser) -> str:
    clock.advance(minutes=1)
    result = sign_in(email=user.email, password=PASSWORD, address=address, browser=browser,
                     clock=clock)
    assert result.signed_in
    return result.token


def test_a_session_keeps_where_it_started_and_the_list_shows_this_one_first(user, clock):
    office = signed_in(user, clock, "10.0.0.1", "Edge 120 / Windows 10")
    phone = signed_in(user, clock, "2001:db8::1", "Mobile Safari 17 / iOS 17")
    ended = signed_in(user, clock, "10.0.0.9", "Firefox 121 / Windows 10")
    end_session(ended, clock=clock)
    clock.advance(minutes=5)
    sessions = live_sessions(user, current_token=office, limits=LIMITS, clock=clock)
    assert [(s.address, s.browser, s.current) for s in sessions] == [
        ("10.0.0.1", "Edge 120 / Windows 10", True),
        ("2001:db8::1", "Mobile Safari 17 / iOS 17", False)]
    assert sessions[0].started_at == dt.datetime(2026, 4, 1, 0, 1)
    assert sessions[1].last_seen_at == dt.datetime(2026, 4, 1, 0, 2)


def test_expired_sessions_are_not_listed(user, clock):
    idle = signed_in(user, clock, "10.0.0.1", None)
    clock.advance(minutes=31)
    fresh = signed_in(user, clock, "10.0.0.2", None)
    assert [s.address for s in live_sessions(user, current_token=fresh, limits=LIMITS,
                                             clock=clock)] == ["10.0.0.2"]
    assert session_user(idle, limits=LIMITS, clock=clock) is None


def test_ending_the_others_keeps_this_one_and_is_audited_with_the_count(user, clock):
    stale = signed_in(user, clock, "10.0.0.1", None)
    clock.advance(hours=1)  # idle: dead already, not counted, but ended all the same
    mine = signed_in(user, clock, "10.0.0.2", None)
    others = [signed_in(user, clock, f"10.0.1.{n}", None) for n in range(2)]

    assert end_other_sessions(user, keep_token=mine, actor=f"user:{user.id}", address="10.0.0.2",
                              limits=LIMITS, clock=clock) == 2
    assert session_user(mine, limits=LIMITS, clock=clock).id == user.id
    for token in others:
        assert session_user(token, limits=LIMITS, clock=clock) is None
    assert UserSession.select().where(UserSession.ended_at.is_null()).count() == 1
    event = AuditEvent.get(AuditEvent.kind == "session.revoked_others")
    assert event.actor == f"user:{user.id}" and event.organisation_code == "042081"
    assert json.loads(event.details) == {"user_id": user.id, "count": 2, "address": "10.0.0.2"}


def test_ending_the_others_when_there_are_none(user, clock):
    mine = signed_in(user, clock, "10.0.0.2", None)
    assert end_other_sessions(user, keep_token=mine, actor="x", clock=clock) == 0
    assert session_user(mine, clock=clock) is not None
