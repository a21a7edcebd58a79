"""The one mapping from registry errors to HTTP: problem+json (RFC 9457) for the API."""
from __future__ import annotations

import datetime as dt
import math

from flask import Response, json

from registry import errors
from registry.clock import utcnow

STATUS = [  # most specific first
    (errors.NotAuthenticated, 401, "Not authenticated"),
    (errors.Forbidden, 403, "Forbidden"),
    (errors.NotFound, 404, "Not found"),
    (errors.RevisionConflict, 409, "Revision conflict"),
    (errors.InvalidDocument, 422, "Invalid document"),
    (errors.InvalidInput, 400, "Bad request"),
]


def problem(status: int, title: str, detail: str, *, reason: str = "about:blank",
            errors_: list | None = None, headers: dict | None = None) -> Response:
    body = {"type": f"urn:dsure:problem:{reason}" if reason != "about:blank" else reason,
            "title": title, "status": status, "detail": detail}
    if errors_:
        body["errors"] = errors_
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem_for(exc: errors.RegistryError) -> Response:
    for cls, status, title in STATUS:
        if isinstance(exc, cls):
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return problem(status, title, exc.detail, reason=exc.reason.replace("_", "-"),
                           errors_=exc.errors, headers=headers)
    return problem(400, "Bad request", exc.detail, reason=exc.reason)


def retry_after(until: dt.datetime) -> str:
    """The Retry-After value for a refusal that lasts until ``until`` (naive UTC): whole
    seconds, rounded up, at least 1, so a client never comes back a moment too soon."""
    return str(max(1, math.ceil((until - utcnow()).total_seconds())))
