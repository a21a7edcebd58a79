"""The outbox worker as the app runs it: settings from the configuration, and the
optional delivery thread (DSURE_OUTBOX_THREAD=true), one per app process."""
from __future__ import annotations

import atexit
import datetime as dt
import threading

from flask import Flask

from registry.notifications.mail import MailSettings
from registry.notifications.outbox import Backoff
from registry.notifications.webhooks import SecretBox, TargetPolicy
from registry.notifications.worker import DeliverySettings, Worker

from .config import ConfigError

DEVELOPMENT_URL = "http://127.0.0.1:8000"


def target_policy(config) -> TargetPolicy:
    allow_private = config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]
    if allow_private is None:
        allow_private = config["ENV"] != "production"
    return TargetPolicy(allow_private=bool(allow_private),
                        allow_http_loopback=bool(config["WEBHOOK_ALLOW_HTTP_LOOPBACK"]))


def secret_box(config) -> SecretBox:
    return SecretBox(config["KEY_PEPPER"].encode())


def check_config(config) -> None:
    if config["ENV"] == "production" and config["SMTP_URL"] and not config["PORTAL_URL"]:
        raise ConfigError("DSURE_PORTAL_URL (the portal's https address, for the links in "
                          "emails) must be set when DSURE_SMTP_URL is, in production")


def delivery_settings(config) -> DeliverySettings:
    lease = config["OUTBOX_LEASE_SECONDS"]
    return DeliverySettings(
        mail=MailSettings(smtp_url=config["SMTP_URL"] or None, sender=config["MAIL_FROM"],
                          public_url=config["PORTAL_URL"] or DEVELOPMENT_URL,
                          timeout=float(config["OUTBOX_TIMEOUT_SECONDS"])),
        box=secret_box(config), policy=target_policy(config),
        backoff=Backoff(max_attempts=int(config["OUTBOX_MAX_ATTEMPTS"])),
        batch=int(config["OUTBOX_BATCH"]), timeout=float(config["OUTBOX_TIMEOUT_SECONDS"]),
        lease=dt.timedelta(seconds=float(lease)) if lease else None)


def start_thread(app: Flask) -> None:
    """Deliver from inside this process too. Safe beside `dsure-portal outbox run` and
    other instances: claims keep them apart. Start gunicorn without --preload, so each
    worker process starts its own thread after the fork."""
    stop = threading.Event()
    worker = Worker(delivery_settings(app.config))
    thread = threading.Thread(target=worker.run_forever, args=(stop,),
                              kwargs={"poll_seconds": float(app.config["OUTBOX_POLL_SECONDS"])},
                              name="dsure-outbox", daemon=True)
    thread.start()
    app.extensions["dsure.outbox_thread"] = (thread, stop)
    atexit.register(stop.set)


def stop_thread(app: Flask, timeout: float = 30) -> None:
    running = app.extensions.pop("dsure.outbox_thread", None)
    if running:
        thread, stop = running
        stop.set()
        thread.join(timeout)
