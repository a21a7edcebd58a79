"""Configuration: defaults, then DSURE_* environment variables, then a test mapping.

Secrets are generated into the instance folder on a first local run so `make run` needs
nothing; in production (DSURE_ENV=production) they must come from the environment.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from registry.certificates.lookup import LookupLimits
from registry.notices.pdf import DEFAULT_FONT, font_problem

GENERATED_SECRETS = ("SECRET_KEY", "KEY_PEPPER")
MIN_SECRET_BYTES = 32  # 256 bits: the HMAC keys of sessions and device cookies, the pepper
HOST_PREFIX = "__Host-"


def defaults(instance_path: str) -> dict:
    return {
        "ENV": "development",
        "DATABASE_URL": f"sqlite:///{Path(instance_path) / 'dsure.sqlite3'}",
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAX_CONTENT_LENGTH": 256 * 1024,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "dsure_session",
        "WTF_CSRF_TIME_LIMIT": None,  # the session's own lifetime bounds the token
        "LOOKUP_FAILURE_LIMIT": 10,
        "LOOKUP_FAILURE_WINDOW_MINUTES": 15,
        # Looser, per client address: a whole town hall shares one address, so this only
        # stops a single source guessing across many accounts. Behind a load balancer set
        # TRUSTED_PROXIES so the address is the client's, not the balancer's.
        "LOOKUP_ADDRESS_FAILURE_LIMIT": 100,
        # Coarse lookups per signed-in user (Flask-Limiter syntax); a benchmark raises it.
        "LOOKUP_RATE_LIMIT": "60 per minute",
        "TRUSTED_PROXIES": 0,
        "LOGIN_FAILURE_LIMIT": 5,
        "LOGIN_FAILURE_WINDOW_MINUTES": 15,
        "LOGIN_ADDRESS_FAILURE_LIMIT": 50,
        "LOGIN_RATE_LIMIT": "30 per minute",
        "API_RATE_LIMIT": "1200 per minute",
        "API_AUTH_FAILURE_LIMIT": "20 per 10 minutes",
        "PLATFORM_KEY_FILE": None,
        # Proof outside the database (DESIGN §11): a checkpoint at least every interval of
        # activity, copied to CHECKPOINT_DIR and time-stamped by the RFC 3161 TSA at TSA_URL.
        "CHECKPOINT_INTERVAL": 600,
        "CHECKPOINT_DIR": None,
        "TSA_URL": None,
        "TSA_CA_FILE": None,
        "TSA_TIMEOUT": 10,
        "TSA_REQUIRED": False,
        # access.denied entries per source (actor, or address when anonymous) and for
        # the whole platform per window; what is left out is counted and told later.
        "DENIAL_AUDIT_PER_SOURCE": 20,
        "DENIAL_AUDIT_OVERALL": 1000,
        "DENIAL_AUDIT_WINDOW_MINUTES": 10,
        "SESSION_IDLE_MINUTES": 30,
        "SESSION_ABSOLUTE_HOURS": 12,
        # The Japanese font embedded in the 認証キー notice PDF (Debian's fonts-ipaexfont-gothic).
        "NOTICE_FONT": DEFAULT_FONT,
        # The portal's address as clerks reach it, for the notice's QR code; by default the
        # address the API request came in on.
        "PORTAL_URL": None,
        "DEVICE_COOKIE_DAYS": 180,
        # Notifications (DESIGN §10): email through SMTP, webhooks, the outbox workers.
        "SMTP_URL": None,                       # smtp://host:port (smtp+starttls://, smtps://)
        "MAIL_FROM": "電子保証ポータル <noreply@localhost>",
        "OUTBOX_THREAD": False,                 # the app delivers too (a thread per process)
        "OUTBOX_POLL_SECONDS": 2,
        "OUTBOX_BATCH": 10,
        "OUTBOX_TIMEOUT_SECONDS": 10,           # per SMTP or HTTP operation
        "OUTBOX_LEASE_SECONDS": None,           # default: long enough for a batch of timeouts
        "OUTBOX_MAX_ATTEMPTS": 10,
        "WEBHOOK_ALLOW_HTTP_LOOPBACK": False,   # plain http to 127.0.0.1 / ::1 (tests, local receivers)
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": None,  # None: allowed unless DSURE_ENV=production
    }


class ConfigError(RuntimeError):
    pass


def lookup_limits(config) -> LookupLimits:
    """The failure limits on guessing auth keys, shared by the staff lookup and the
    surety's notice."""
    return LookupLimits(
        failures=int(config["LOOKUP_FAILURE_LIMIT"]),
        window=dt.timedelta(minutes=float(config["LOOKUP_FAILURE_WINDOW_MINUTES"])),
        failures_per_address=config["LOOKUP_ADDRESS_FAILURE_LIMIT"])


def notice_font_problem(config) -> str | None:
    """Why the notice PDF cannot be printed (its font is missing), or None. In production
    that refuses start-up; elsewhere the notice endpoint answers 503 and says so."""
    problem = font_problem(config["NOTICE_FONT"])
    if problem and config.get("ENV") == "production":
        raise ConfigError(problem)
    return problem


def ensure_secrets(config: dict, instance_path: str) -> None:
    """Fill missing secrets from instance files, creating them; refuse in production."""
    for name in GENERATED_SECRETS:
        if config.get(name) is not None and not isinstance(config[name], str):
            # from_prefixed_env reads values as JSON: an all-digit secret arrives as an int
            config[name] = os.environ.get(f"DSURE_{name}", str(config[name]))
        if config.get(name):
            continue
        if config.get("ENV") == "production":
            raise ConfigError(f"DSURE_{name} must be set when DSURE_ENV=production")
        path = Path(instance_path) / name.lower()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        config[name] = path.read_text().strip()


def proof_settings(config: dict):
    """The checkpoint and time-stamp settings; ConfigError names a bad one."""
    from registry.audit.checkpoint_publishing import ProofSettings
    numbers = {}
    for name in ("CHECKPOINT_INTERVAL", "TSA_TIMEOUT"):
        try:
            numbers[name] = float(config[name])
        except (TypeError, ValueError):
            numbers[name] = 0.0
        if not numbers[name] > 0:
            raise ConfigError(f"DSURE_{name} must be a number of seconds above 0")
    url = config.get("TSA_URL") or None
    if url is not None and not str(url).lower().startswith(("http://", "https://")):
        raise ConfigError("DSURE_TSA_URL must be an http:// or https:// URL")
    directory, ca_file = config.get("CHECKPOINT_DIR"), config.get("TSA_CA_FILE")
    return ProofSettings(
        interval=numbers["CHECKPOINT_INTERVAL"], tsa_timeout=numbers["TSA_TIMEOUT"],
        directory=Path(str(directory)) if directory else None, tsa_url=url and str(url),
        tsa_ca_file=Path(str(ca_file)) if ca_file else None,
        tsa_required=config.get("TSA_REQUIRED") in (True, "true", "1", 1))


def check_production(config: dict) -> None:
    """In production, refuse what would let sessions be forged or travel in clear text."""
    if config.get("ENV") != "production":
        return
    for name in GENERATED_SECRETS:
        if len(str(config[name]).encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"DSURE_{name} must be at least {MIN_SECRET_BYTES} bytes when "
                              "DSURE_ENV=production (for instance: python3 -c "
                              "'import secrets; print(secrets.token_hex(32))')")
    if config.get("SESSION_COOKIE_SECURE") is not True:
        raise ConfigError("DSURE_SESSION_COOKIE_SECURE must not be false when DSURE_ENV=production: "
                          "serve over HTTPS")


def secure_cookie_scope(config: dict) -> None:
    """A Secure session cookie is named __Host-…: the browser then keeps it only when it
    is Secure, for Path=/ and without Domain, so no other host (a sibling subdomain, a
    plain-HTTP page) can plant or overwrite it."""
    if not config.get("SESSION_COOKIE_SECURE"):
        return
    if config.get("SESSION_COOKIE_DOMAIN"):
        raise ConfigError("DSURE_SESSION_COOKIE_DOMAIN must not be set: the Secure session "
                          "cookie is a __Host- cookie, which has no Domain")
    if not config["SESSION_COOKIE_NAME"].startswith(HOST_PREFIX):
        config["SESSION_COOKIE_NAME"] = HOST_PREFIX + config["SESSION_COOKIE_NAME"]
    config["SESSION_COOKIE_PATH"] = "/"
