"""Refused requests into the audit trail (registry.audit.denials): every 403 or 404 of a page
that exists and is not public, every refused CSRF token, every 429, whoever raised it
(an ``abort``, a registry refusal in the API, Flask-Limiter, or a view's own lockout)."""
from __future__ import annotations

import datetime as dt

from flask import Flask, current_app, g, request
from flask_login import current_user

from registry.audit.denials import Denial, DenialLimits, record_denial

PUBLIC_ENDPOINTS = {"static", "public.healthz", "api.openapi", "api.obligees"}
# Every refusal of a revision is already in the trail as revision.refused.
AUDITED_ELSEWHERE = {"api.put_revision"}
CSRF_REFUSED = "dsure_csrf_refused"


def note_csrf_refusal() -> None:
    """Called by the error handler: a 400 that is a refused CSRF token."""
    g.setdefault(CSRF_REFUSED, True)


def _reason(status: int, headers) -> str | None:
    if g.get(CSRF_REFUSED):
        return "csrf"
    if status == 429:
        return "rate_limited"
    endpoint = request.endpoint
    if request.url_rule is None or endpoint in PUBLIC_ENDPOINTS or endpoint in AUDITED_ELSEWHERE:
        return None  # no such URL, or nothing protected was asked for
    if status == 403 and "HX-Redirect" not in headers:  # not htmx sent to OTP enrolment
        return "forbidden"
    if status == 404:
        return "not_found"
    return None


def _who() -> tuple[str, str | None]:
    client = g.get("client")
    if client is not None:
        return f"api-client:{client.id}", client.organisation.code
    if request.blueprint != "api" and current_user.is_authenticated:
        return current_user.actor, current_user.organisation.code
    return "anonymous", None


def _limits() -> DenialLimits:
    config = current_app.config
    return DenialLimits(per_source=int(config["DENIAL_AUDIT_PER_SOURCE"]),
                        overall=int(config["DENIAL_AUDIT_OVERALL"]),
                        window=dt.timedelta(minutes=float(config["DENIAL_AUDIT_WINDOW_MINUTES"])))


def record_refused_access(response):
    reason = _reason(response.status_code, response.headers)
    if reason is None:
        return response
    actor, organisation_code = _who()
    rule = request.url_rule.rule if request.url_rule is not None else ""
    record_denial(Denial(reason=reason, endpoint=request.endpoint or "", rule=rule,
                         method=request.method, status=response.status_code, actor=actor,
                         address=request.remote_addr, organisation_code=organisation_code),
                  limits=_limits())
    return response


def install(app: Flask) -> None:
    app.after_request(record_refused_access)
