"""Configuration: defaults, then DSURE_* environment variables, then a test mapping.

Secrets are generated into the instance folder on a first local run so `make run` needs
nothing; in production (DSURE_ENV=production) they must come from the environment.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from registry.lookup import LookupLimits

GENERATED_SECRETS = ("SECRET_KEY", "KEY_PEPPER")


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
        "TRUSTED_PROXIES": 0,
        "LOGIN_FAILURE_LIMIT": 5,
        "LOGIN_FAILURE_WINDOW_MINUTES": 15,
        "LOGIN_ADDRESS_FAILURE_LIMIT": 50,
        "LOGIN_RATE_LIMIT": "30 per minute",
        "API_RATE_LIMIT": "1200 per minute",
        "API_AUTH_FAILURE_LIMIT": "20 per 10 minutes",
        "PLATFORM_KEY_FILE": None,
        "SESSION_IDLE_MINUTES": 30,
        "SESSION_ABSOLUTE_HOURS": 12,
    }


class ConfigError(RuntimeError):
    pass


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


def lookup_limits(config) -> LookupLimits:
    """The lookup failure limits (DESIGN §5), the same for staff and for obligee systems."""
    return LookupLimits(
        failures=int(config["LOOKUP_FAILURE_LIMIT"]),
        window=dt.timedelta(minutes=float(config["LOOKUP_FAILURE_WINDOW_MINUTES"])),
        failures_per_address=config["LOOKUP_ADDRESS_FAILURE_LIMIT"])
