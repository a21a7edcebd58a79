"""A user's own view of their sessions: which browsers are signed in to the account, and
ending every one but this (OWASP ASVS 7.5.2). A session is a row (accounts.py), so
ending it takes effect at once on every instance."""
from __future__ import annotations

import dataclasses
import datetime as dt

from .users import SessionLimits, User, UserSession, _digest
from ..audit.chain import record
from ..clock import Clock, utcnow
from ..db import write_transaction


@dataclasses.dataclass(frozen=True)
class LiveSession:
    started_at: dt.datetime
    last_seen_at: dt.datetime
    address: str | None
    browser: str | None
    current: bool           # the session of the browser asking


def _live(user: User, limits: SessionLimits, now: dt.datetime):
    return UserSession.select().where(UserSession.user == user, UserSession.ended_at.is_null(),
                                      UserSession.last_seen_at >= now - limits.idle,
                                      UserSession.created_at >= now - limits.absolute)


def live_sessions(user: User, *, current_token: str | None,
                  limits: SessionLimits = SessionLimits(), clock: Clock = utcnow) -> list[LiveSession]:
    """The user's sessions that still let a browser in, this browser's first, then the
    most recently used."""
    current = _digest(current_token) if current_token else None
    rows = _live(user, limits, clock()).order_by(UserSession.last_seen_at.desc(),
                                                 UserSession.id.desc())
    sessions = [LiveSession(row.created_at, row.last_seen_at, row.address, row.browser,
                            row.token_digest == current) for row in rows]
    return sorted(sessions, key=lambda s: not s.current)  # stable: the rest keep their order


def end_other_sessions(user: User, *, keep_token: str, actor: str, address: str | None = None,
                       limits: SessionLimits = SessionLimits(), clock: Clock = utcnow) -> int:
    """End every session of ``user`` but the one holding ``keep_token``; audited with
    how many were live. Returns that number."""
    now = clock()
    others = (UserSession.token_digest != _digest(keep_token))
    with write_transaction():
        live = _live(user, limits, now).where(others).count()
        # Expired ones end too: a later, longer timeout must not bring them back.
        UserSession.update(ended_at=now).where(UserSession.user == user,
                                               UserSession.ended_at.is_null(), others).execute()
        record("session.revoked_others", actor=actor, organisation_code=user.organisation.code,
               details={"user_id": user.id, "count": live, "address": address}, clock=clock)
    return live
