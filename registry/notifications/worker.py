"""Delivering the outbox: claim due messages, send each, settle it and audit the attempt.

Any number of workers may run at once (processes, machines, the app's own thread): the
claim in ``outbox`` keeps them apart. Every attempt is one audit event (bounded: at most
``Backoff.max_attempts`` per message), and a claim that ran out because a worker died is
recorded by whoever picks the message up next.
"""
from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import json
import logging
import random
import threading

from ..accounts.users import STAFF_ROLES, User
from ..audit.chain import record
from ..clock import Clock, isoformat, utcnow
from ..db import database, write_transaction
from ..models import Organisation
from . import outbox
from .mail import (MailSettings, SmtpSender, build_message, describe, is_permanent,
                   render_revision_added)
from .models import OutboxMessage, WebhookEndpoint
from .webhook_post import WebhookFailed, post
from .webhooks import SecretBox, TargetPolicy, TargetRefused

log = logging.getLogger("dsure.outbox")
ACTOR = "outbox"


@dataclasses.dataclass(frozen=True)
class DeliverySettings:
    mail: MailSettings
    box: SecretBox
    policy: TargetPolicy
    backoff: outbox.Backoff = outbox.Backoff()
    batch: int = 10
    timeout: float = 10.0              # per SMTP or HTTP operation
    lease: dt.timedelta | None = None  # default: long enough for a whole batch to time out

    @property
    def lease_for_batch(self) -> dt.timedelta:
        return self.lease or dt.timedelta(seconds=self.batch * self.timeout * 2 + 30)


@dataclasses.dataclass
class Tally:
    delivered: int = 0
    failed: int = 0
    cancelled: int = 0
    superseded: int = 0   # sent, but the claim had passed to another worker: not counted

    @property
    def handled(self) -> int:
        return self.delivered + self.failed + self.cancelled + self.superseded


class Worker:
    def __init__(self, settings: DeliverySettings, *, clock: Clock = utcnow,
                 rng: random.Random | None = None):
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()
        self.tally = Tally()
        self._org_codes: dict[int, str] = {}

    # --- loops ------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim one batch and deliver it; how many messages were claimed."""
        database.connect(reuse_if_open=True)
        try:
            claimed = outbox.claim(limit=self.settings.batch, lease=self.settings.lease_for_batch,
                                   clock=self.clock)
            sender = SmtpSender(self.settings.mail)
            try:
                for item in claimed:
                    if self.clock() + dt.timedelta(seconds=self.settings.timeout) > item.message.claimed_until:
                        break  # not enough lease left to finish: the rest comes free by itself
                    self._deliver(item, sender)
            finally:
                sender.close()
            return len(claimed)
        finally:
            if not database.in_transaction():
                database.close()

    def drain(self) -> int:
        """Deliver until nothing is due now (later retries stay scheduled)."""
        total = 0
        while (n := self.run_once()):
            total += n
        return total

    def run_forever(self, stop: threading.Event, *, poll_seconds: float = 2.0) -> None:
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # a database hiccup must not end the loop; the lease covers us
                log.exception("outbox: a batch failed")
                busy = 0
            if not busy:
                stop.wait(poll_seconds)

    # --- one message --------------------------------------------------------------------

    def _org_code(self, organisation_id: int) -> str:
        if organisation_id not in self._org_codes:
            self._org_codes[organisation_id] = Organisation.get_by_id(organisation_id).code
        return self._org_codes[organisation_id]

    def _audit(self, kind: str, message: OutboxMessage, details: dict) -> None:
        record(kind, actor=ACTOR, organisation_code=self._org_code(message.organisation_id),
               contract_number=message.contract_number,
               details={"message_id": message.message_id, **details}, clock=self.clock)

    def _deliver(self, item: outbox.Claimed, sender: SmtpSender) -> None:
        message = item.message
        if item.abandoned:
            with write_transaction():
                self._audit("outbox.lease_expired", message,
                            {"channel": message.channel, "attempt": message.attempts - 1})
            if message.attempts > self.settings.backoff.max_attempts:
                # Its deliveries keep dying with their worker: stop, so the trail stays bounded.
                return self._settle_failure(item, f"outbox.{message.channel}_abandoned",
                                            "interrupted too often", True, {})
        if message.channel == "email":
            self._email(item, sender)
        else:
            self._webhook(item)

    def _settle_success(self, item, kind: str, details: dict) -> None:
        with write_transaction():
            counted = outbox.mark_delivered(item, clock=self.clock)
            self._audit(kind, item.message, {**details, "attempt": item.message.attempts,
                                             "outcome": "delivered" if counted else "superseded"})
        if counted:
            self.tally.delivered += 1
        else:
            self.tally.superseded += 1

    def _settle_failure(self, item, kind: str, error: str, permanent: bool, details: dict) -> None:
        with write_transaction():
            settled, outcome, when = outbox.mark_failed(
                item, error=error, permanent=permanent, backoff=self.settings.backoff,
                rng=self.rng, clock=self.clock)
            extra = {"next_attempt_at": isoformat(when)} if settled and when else {}
            self._audit(kind, item.message, {**details, "attempt": item.message.attempts,
                                             "error": error, **extra,
                                             "outcome": outcome if settled else "superseded"})
        self.tally.failed += 1
        log.warning("outbox: %s %s attempt %s failed: %s", item.message.channel,
                    item.message.message_id, item.message.attempts, error)

    def _cancel(self, item, kind: str, reason: str, details: dict) -> None:
        with write_transaction():
            if outbox.mark_cancelled(item, reason=reason):
                self._audit(kind, item.message, {**details, "reason": reason})
        self.tally.cancelled += 1

    def _email(self, item: outbox.Claimed, sender: SmtpSender) -> None:
        message = item.message
        details = {"user_id": message.user_id}
        user = User.get_or_none(User.id == message.user_id)
        if user is None or not user.active or user.role not in STAFF_ROLES:
            return self._cancel(item, "notification.email_cancelled", "no longer active staff",
                                details)
        if not user.notify_by_email:
            return self._cancel(item, "notification.email_cancelled", "opted out", details)
        event = json.loads(message.payload)
        subject, body = render_revision_added(event, public_url=self.settings.mail.public_url)
        email = build_message(settings=self.settings.mail, to=user.email, subject=subject,
                              body=body, message_id=message.message_id)
        try:
            sender.send(email)
        except Exception as exc:  # noqa: BLE001 - any failure is a failed attempt, retried
            return self._settle_failure(item, "notification.email_failed", describe(exc),
                                        is_permanent(exc), details)
        self._settle_success(item, "notification.email_sent", details)

    def _webhook(self, item: outbox.Claimed) -> None:
        message = item.message
        endpoint = WebhookEndpoint.get_or_none(WebhookEndpoint.id == message.endpoint_id)
        details = {"endpoint_id": endpoint.public_id if endpoint else None}
        if endpoint is None or not endpoint.active:
            return self._cancel(item, "webhook.delivery_cancelled", "endpoint removed", details)
        try:
            secret = self.settings.box.open(endpoint.secret_sealed, endpoint_id=endpoint.public_id)
        except Exception:  # noqa: BLE001 - the key pepper changed: this will never sign
            return self._settle_failure(item, "webhook.delivery_attempted", "secret unreadable",
                                        True, details)
        timestamp = calendar.timegm(self.clock().utctimetuple())
        try:
            status = post(url=endpoint.url, secret=secret, message_id=message.message_id,
                          timestamp=timestamp, body=message.payload.encode(),
                          policy=self.settings.policy, timeout=self.settings.timeout)
        except WebhookFailed as exc:
            return self._settle_failure(item, "webhook.delivery_attempted", str(exc), False,
                                        {**details, "status_code": exc.status})
        except TargetRefused as exc:
            return self._settle_failure(item, "webhook.delivery_attempted",
                                        f"TargetRefused: {exc.detail}", False, details)
        except Exception as exc:  # noqa: BLE001 - refused, reset, timeout, TLS: all retried
            return self._settle_failure(item, "webhook.delivery_attempted", type(exc).__name__,
                                        False, details)
        self._settle_success(item, "webhook.delivery_attempted", {**details, "status_code": status})
