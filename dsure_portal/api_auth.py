"""What every API blueprint shares: bearer-token authentication, the rule that a
client's organisation kind decides which API it may call, the coarse rate limits, and
registry errors as problem+json (DESIGN §4, §10)."""
from __future__ import annotations

from flask import Blueprint, current_app, g, request

from registry.audit import chain as audit
from registry.errors import NotAuthenticated, RegistryError
from registry.accounts.organisations import authenticate_client

from .extensions import bearer_token, limiter
from .input_gate import unsafe_fields
from .problems import problem, problem_for

AUDIENCES = {"surety": "a surety's system", "obligee": "an obligee's system"}


def authenticate_request(kind: str, *, public: set[str] = frozenset()):
    """A before_request: ``g.client`` is the caller, or the answer is 401 (no valid token)
    or 403 (a valid token of another kind of organisation). Both are audited."""
    if request.endpoint in public:
        return None
    try:
        g.client = authenticate_client(bearer_token())
    except NotAuthenticated as exc:
        audit.record("api.authentication_failed", actor="anonymous",
                     details={"method": request.method, "path": request.path[:200],
                              "token_presented": bearer_token() is not None})
        return problem_for(exc)
    if g.client.organisation.kind != kind:
        audit.record("api.forbidden", actor=f"api-client:{g.client.id}",
                     organisation_code=g.client.organisation.code,
                     details={"method": request.method, "path": request.path[:200],
                              "reason": "wrong_api", "client_kind": g.client.organisation.kind})
        return problem(403, "Forbidden",
                       f"This operation is for {AUDIENCES[kind]}; the token is "
                       f"{AUDIENCES.get(g.client.organisation.kind, 'of another kind')}'s.",
                       reason="wrong-api")
    return None


def limit(bp: Blueprint) -> None:
    """The coarse limits, keyed on the address, not the presented token (an attacker
    picks tokens freely); only refused authentications count against the second."""
    limiter.limit(lambda: current_app.config["API_RATE_LIMIT"])(bp)
    limiter.limit(lambda: current_app.config["API_AUTH_FAILURE_LIMIT"],
                  deduct_when=lambda response: response.status_code == 401)(bp)


def refuse_unsafe_text():
    """After authentication: a parameter with U+0000 or a lone surrogate is a 400
    problem naming it (input_gate keeps pages and APIs to the same rule)."""
    problems = unsafe_fields()
    if not problems:
        return None
    return problem(400, "Bad request", UNSAFE_TEXT, reason="invalid-text", errors_=problems)


UNSAFE_TEXT = "A parameter holds a character that is not allowed (U+0000 or a lone surrogate)."


def protect(bp: Blueprint, kind: str, *, public: set[str] = frozenset()) -> None:
    """Everything above, for a blueprint serving the API of ``kind`` organisations."""
    limit(bp)
    bp.before_request(lambda: authenticate_request(kind, public=public))
    bp.before_request(refuse_unsafe_text)
    bp.register_error_handler(RegistryError, problem_for)
