"""The outbox (DESIGN §10): at-least-once delivery with back-off, claims that two workers
never share, leases that outlive a dead worker, and a success recorded once per message.
Real SMTP and HTTP on loopback; time moves by the registry's clock, never by sleeping."""
from __future__ import annotations

import datetime as dt
import json
import random
import threading
from collections import Counter

import pytest

from registry.models import AuditEvent
from registry.notifications import outbox
from registry.notifications.models import OutboxMessage
from registry.notifications.worker import Worker
from tests.factories import FixedClock
from tests.notification_parts import Receiver, SmtpServer, refused_port
from tests.notification_world import ListedWorld, delivery_settings

START = dt.datetime(2026, 4, 2, 1, 0)


class Fixed(random.Random):
    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def world(registry_db, hasher, clock):
    made = ListedWorld(hasher, at=START - dt.timedelta(days=1))
    from registry.notifications.preferences import set_email_notifications
    for user in (made.staff, made.admin):  # webhooks only, unless a test wants mail
        set_email_notifications(user, False, actor="test")
    return made


def attempts(kind="webhook.delivery_attempted"):
    return [json.loads(e.details) for e in
            AuditEvent.select().where(AuditEvent.kind == kind).order_by(AuditEvent.seq)]


def only(channel="webhook") -> OutboxMessage:
    [message] = OutboxMessage.select().where(OutboxMessage.channel == channel)
    return message


def test_the_back_off_doubles_from_30_seconds_up_to_an_hour_with_jitter_taken_off():
    backoff = outbox.Backoff()
    full = [backoff.delay(n, Fixed(0.0)).total_seconds() for n in range(1, 11)]
    assert full == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    jittered = [backoff.delay(n, Fixed(0.999)).total_seconds() for n in (1, 8)]
    assert 24 <= jittered[0] < 24.1 and 2880 <= jittered[1] < 2881


def test_a_refused_connection_is_retried_with_back_off_until_dead(world, clock):
    world.add_webhook(f"http://127.0.0.1:{refused_port()}/hook")
    world.change(at=START)
    worker = Worker(delivery_settings(), clock=clock, rng=Fixed(0.0))
    backoff = outbox.Backoff()

    for attempt in range(1, backoff.max_attempts + 1):
        assert worker.run_once() == 1, attempt
        assert worker.run_once() == 0  # not due again until its back-off has passed
        if attempt < backoff.max_attempts:
            delay = backoff.delay(attempt, Fixed(0.0))
            assert only().next_attempt_at == clock.now + delay
            clock.advance(seconds=delay.total_seconds() - 1)
            assert worker.run_once() == 0
            clock.advance(seconds=1)

    message = only()
    assert message.status == "dead" and message.attempts == backoff.max_attempts
    assert message.last_error == "ConnectionRefusedError"
    trail = attempts()
    assert [t["attempt"] for t in trail] == list(range(1, backoff.max_attempts + 1))
    assert [t["outcome"] for t in trail] == ["retry"] * (backoff.max_attempts - 1) + ["dead"]
    assert {t["error"] for t in trail} == {"ConnectionRefusedError"}
    clock.advance(days=30)
    assert worker.run_once() == 0  # dead stays dead until an operator retries it
    assert outbox.counts()[("webhook", "dead")] == 1


def test_a_500_is_retried_and_delivered_once_the_receiver_recovers(world, clock):
    with Receiver(status=500) as receiver:
        world.add_webhook(receiver.url())
        world.change(at=START)
        worker = Worker(delivery_settings(), clock=clock, rng=Fixed(0.5))
        worker.run_once()
        assert only().status == "pending" and only().attempts == 1
        receiver.status = 200
        clock.advance(seconds=30)
        worker.run_once()
    assert only().status == "delivered" and only().delivered_at == clock.now
    assert [(t["attempt"], t["status_code"], t["outcome"]) for t in attempts()] == [
        (1, 500, "retry"), (2, 200, "delivered")]
    assert attempts()[0]["next_attempt_at"] == "2026-04-02T01:00:27.000000Z"  # 30 s less 10 %
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # one message, retried
    assert first.body == second.body


def test_a_dead_mail_server_is_retried_and_a_refused_mailbox_gives_up_at_once(world, clock):
    from registry.notifications.preferences import set_email_notifications
    set_email_notifications(world.staff, True, actor="test")
    set_email_notifications(world.admin, True, actor="test")
    world.change(at=START)
    down = Worker(delivery_settings(smtp_url=f"smtp://127.0.0.1:{refused_port()}"), clock=clock)
    assert down.drain() == 2
    assert {m.status for m in OutboxMessage.select()} == {"pending"}
    assert {t["error"] for t in attempts("notification.email_failed")} == {"ConnectionRefusedError"}

    clock.advance(minutes=1)
    with SmtpServer(refuse={"admin@kakuda.example.jp"}) as smtp:
        Worker(delivery_settings(smtp_url=smtp.url), clock=clock).drain()
        assert [m["To"] for m in smtp.messages] == ["staff@kakuda.example.jp"]
    statuses = {m.user_id: m.status for m in OutboxMessage.select()}
    assert statuses == {world.staff.id: "delivered", world.admin.id: "dead"}
    refused = [t for t in attempts("notification.email_failed") if t["outcome"] == "dead"]
    assert refused == [{"message_id": refused[0]["message_id"], "user_id": world.admin.id,
                        "attempt": 2, "error": "SMTPRecipientsRefused 550", "outcome": "dead"}]
    assert "admin@kakuda.example.jp" not in json.dumps(attempts("notification.email_failed"))


def test_a_claim_is_not_shared_and_a_lease_that_ran_out_is_taken_over(world, clock):
    world.add_webhook("http://127.0.0.1:9/x")
    world.change(at=START)
    lease = dt.timedelta(seconds=60)
    [first] = outbox.claim(limit=10, lease=lease, clock=clock)
    assert outbox.claim(limit=10, lease=lease, clock=clock) == []
    clock.advance(seconds=59)
    assert outbox.claim(limit=10, lease=lease, clock=clock) == []
    clock.advance(seconds=2)
    [second] = outbox.claim(limit=10, lease=lease, clock=clock)
    assert second.message.id == first.message.id and second.abandoned and not first.abandoned
    assert second.message.attempts == 2

    assert outbox.mark_delivered(second, clock=clock)
    assert not outbox.mark_delivered(first, clock=clock)  # the late worker is not counted
    assert not outbox.mark_delivered(second, clock=clock)
    assert only().status == "delivered"


def test_a_worker_that_outlived_its_lease_is_not_counted_twice(world, clock):
    """Worker A claims and stalls past its lease; B takes the message over and delivers;
    A's delivery then reaches the receiver too (at least once), but the outbox records
    one success, and the trail says which attempt was superseded."""
    with Receiver() as receiver:
        world.add_webhook(receiver.url())
        world.change(at=START)
        settings = delivery_settings(lease=dt.timedelta(seconds=60))
        late = Worker(settings, clock=clock)
        [stale] = outbox.claim(limit=1, lease=settings.lease_for_batch, clock=clock)
        clock.advance(seconds=61)
        taker = Worker(settings, clock=clock)
        assert taker.run_once() == 1
        late._deliver(stale, sender=None)  # noqa: SLF001 - the stalled worker wakes up
    assert len(receiver.received) == 2
    assert only().status == "delivered"
    assert taker.tally.delivered == 1 and late.tally.superseded == 1 and late.tally.delivered == 0
    assert [(t["attempt"], t["outcome"]) for t in attempts()] == [(2, "delivered"),
                                                                   (1, "superseded")]
    [expired] = attempts("outbox.lease_expired")
    assert expired["attempt"] == 1


def _two_workers_drain(settings, clock=None):
    barrier = threading.Barrier(2)
    workers = [Worker(settings, **({"clock": clock} if clock else {})) for _ in range(2)]
    errors = []

    def run(worker):
        try:
            barrier.wait(10)
            worker.drain()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    return workers


def test_two_workers_at_once_record_each_success_once(world):
    from registry.notifications.preferences import set_email_notifications
    set_email_notifications(world.staff, True, actor="test")
    with Receiver() as receiver, SmtpServer() as smtp:
        for path in ("/a", "/b", "/c"):
            world.add_webhook(receiver.url(path))
        for amount in range(4_000_000, 4_000_010):
            world.change(guarantee_amount=amount)
        total = OutboxMessage.select().count()
        assert total == 40  # 10 revisions × (3 webhooks + 1 email)

        workers = _two_workers_drain(delivery_settings(smtp_url=smtp.url, batch=3))

        webhook_ids = Counter(r.headers["webhook-id"] for r in receiver.received)
        mail_ids = Counter(m["Message-ID"] for m in smtp.messages)
    assert len(webhook_ids) == 30 and set(webhook_ids.values()) == {1}
    assert len(mail_ids) == 10 and set(mail_ids.values()) == {1}
    assert sum(w.tally.delivered for w in workers) == total
    assert all(w.tally.delivered for w in workers), "both workers took a share"
    assert outbox.counts() == {("webhook", "delivered"): 30, ("email", "delivered"): 10}
    delivered = Counter(t["message_id"] for t in
                        attempts() + attempts("notification.email_sent")
                        if t["outcome"] == "delivered")
    assert len(delivered) == total and set(delivered.values()) == {1}


def test_retrying_dead_messages_gives_them_a_fresh_set_of_attempts(world, clock):
    world.add_webhook(f"http://127.0.0.1:{refused_port()}/hook")
    world.change(at=START)
    worker = Worker(delivery_settings(backoff=outbox.Backoff(max_attempts=1)), clock=clock)
    worker.run_once()
    assert only().status == "dead"
    assert outbox.retry_dead(actor="operator", clock=clock) == 1
    assert only().status == "pending" and only().attempts == 0
    assert attempts("outbox.retried") == [{"message_ids": [only().message_id]}]


def test_a_message_whose_deliveries_keep_dying_is_given_up(world, clock):
    """Claimed and abandoned (the worker died each time) as often as attempts allow:
    the next worker records it dead instead of trying once more."""
    world.add_webhook("http://127.0.0.1:9/never-reached")
    world.change(at=START)
    backoff = outbox.Backoff(max_attempts=3)
    lease = dt.timedelta(seconds=60)
    for _ in range(backoff.max_attempts):
        assert len(outbox.claim(limit=1, lease=lease, clock=clock)) == 1
        clock.advance(seconds=61)
    Worker(delivery_settings(backoff=backoff), clock=clock).run_once()
    message = only()
    assert message.status == "dead" and message.last_error == "interrupted too often"
    assert len(attempts("outbox.lease_expired")) == 1
    assert attempts("outbox.webhook_abandoned")[0]["outcome"] == "dead"
