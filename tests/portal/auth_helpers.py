"""Signing in through the real forms, for the auth, session and staff tests."""
from __future__ import annotations

import json

from registry.models import AuditEvent
from tests.portal.conftest import PASSWORD, csrf_token_from


def post_form(client, url: str, data: dict, *, page: str | None = None, **kwargs):
    """POST ``data`` with the CSRF token of ``page`` (default: ``url`` itself)."""
    token = csrf_token_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


def log_in(client, email: str, password: str = PASSWORD, *, next: str | None = None,
           page: str = "/login", **kwargs):
    """POST the login form (``page`` supplies the CSRF token: a signed-in browser is sent
    on from /login, so signing in again takes it from another page)."""
    url = "/login" + (f"?next={next}" if next else "")
    return post_form(client, url, {"email": email, "password": password}, page=page, **kwargs)


def session_cookie(client, app) -> str | None:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


def session_data(client) -> dict:
    with client.session_transaction() as session:
        return dict(session)


def audit_events(app, kind: str | None = None) -> list[tuple[AuditEvent, dict]]:
    with app.app_context():
        query = AuditEvent.select().order_by(AuditEvent.seq)
        if kind:
            query = query.where(AuditEvent.kind == kind)
        return [(e, json.loads(e.details)) for e in query]


def another_app(config: dict):
    """A second app instance (another worker or machine) over the same database. The
    registry's database handle is process-wide: the first pool's idle connections are
    closed before the new app opens its own, so none is left for the GC to find."""
    from dsure_portal import create_app
    from registry.db import database
    database.close_all()
    return create_app(config)
