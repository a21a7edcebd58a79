"""Extension objects, bound to the app in create_app()."""
from __future__ import annotations

import datetime as dt

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from .problems import retry_after

csrf = CSRFProtect()
# Coarse request-rate limits only. The limits that stop key and password guessing are
# counted in the database (registry), so every worker and instance sees one count.
# No X-RateLimit-* headers on every answer: with Redis each set costs one more round trip
# a request (0.24-0.39 ms of a worker's CPU, about a seventh of a lookup's besides argon2id;
# issue 11). A refusal still says when to come back (tell_when_to_retry).
limiter = Limiter(key_func=get_remote_address, default_limits=[],
                  headers_enabled=False, strategy="moving-window")


def tell_when_to_retry(response: Response) -> Response:
    """Retry-After (whole seconds) on Flask-Limiter's own 429s: what a client that retries
    acts on. A lockout of the registry's sets its own and keeps it."""
    if response.status_code == 429 and "Retry-After" not in response.headers:
        refused = limiter.current_limit
        if refused is not None and refused.breached:
            # the window's reset: when the oldest counted request leaves it (epoch seconds)
            reset_at = dt.datetime.fromtimestamp(refused.window[0], dt.timezone.utc)
            response.headers["Retry-After"] = retry_after(reset_at.replace(tzinfo=None))
    return response


def init_limiter(app: Flask) -> None:
    limiter.init_app(app)
    app.after_request(tell_when_to_retry)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
