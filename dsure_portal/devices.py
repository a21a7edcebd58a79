"""The browser's device cookie (why: registry/accounts/devices.py) and what a new session keeps
about the browser.

One cookie holds the accounts this browser has signed in to (a town hall PC is shared),
each with its nonce, signed with HMAC-SHA256 under a key derived from SECRET_KEY and
dated: a cookie older than DEVICE_COOKIE_DAYS, or altered, counts for nothing. HttpOnly,
SameSite=Lax; Secure and __Host- whenever the session cookie is Secure.
"""
from __future__ import annotations

import hashlib

from flask import after_this_request, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

from registry.accounts.devices import Device
from registry.accounts.sign_in import SignIn

from .config import HOST_PREFIX

COOKIE = "dsure_device"
MAX_ACCOUNTS = 8  # the newest sign-ins; an older account's entry drops out
_SALT = "dsure-device-cookie"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT,
                                  signer_kwargs={"digest_method": hashlib.sha256})


def _secure() -> bool:
    return bool(current_app.config["SESSION_COOKIE_SECURE"])


def cookie_name() -> str:
    return HOST_PREFIX + COOKIE if _secure() else COOKIE


def _max_age() -> int:
    return int(current_app.config["DEVICE_COOKIE_DAYS"]) * 24 * 3600


def browser_devices() -> list[Device]:
    """The verified device cookies this browser sent; none when absent, altered or old."""
    value = request.cookies.get(cookie_name())
    if not value or len(value) > 2000:
        return []
    try:
        entries = _serializer().loads(value, max_age=_max_age())
    except BadData:
        return []
    if not isinstance(entries, list):
        return []
    return [Device(int(user_id), nonce) for user_id, nonce in
            (e for e in entries if isinstance(e, list) and len(e) == 2)
            if isinstance(user_id, int) and isinstance(nonce, str)]


def _store(devices: list[Device]):
    """Set the cookie on this request's response."""
    @after_this_request
    def write(response):
        value = _serializer().dumps([[d.user_id, d.nonce] for d in devices[:MAX_ACCOUNTS]])
        response.set_cookie(cookie_name(), value, max_age=_max_age(), path="/",
                            secure=_secure(), httponly=True, samesite="Lax")
        return response


def keep_device_cookie(result: SignIn) -> None:
    """After a sign-in step: a successful one gives the browser a fresh device cookie for
    the account, in place of any it had. (A rejected one stays until then: it holds the
    browser for the rest of its lock, and counts for nothing after.)"""
    if result.signed_in and result.device_nonce:
        others = [d for d in browser_devices() if d.user_id != result.user.id]
        _store([Device(result.user.id, result.device_nonce)] + others)


def browser_summary() -> str | None:
    """"Edge 120 / Windows 10": enough for a user to tell their own browsers apart."""
    header = request.headers.get("User-Agent", "")[:1000]
    if not header:
        return None
    # Imported here: ua_parser brings yaml and its regexes (2 MiB), wanted only at sign-in,
    # and every worker's resident set counts (issue 11).
    from ua_parser import parse_os, parse_user_agent
    agent, system = parse_user_agent(header), parse_os(header)
    parts = [" ".join(p for p in (agent.family, agent.major) if p) if agent else None,
             " ".join(p for p in (system.family, system.major) if p) if system else None]
    summary = " / ".join(p for p in parts if p and p != "Other")
    return summary[:100] or header.split(" ", 1)[0][:100]
