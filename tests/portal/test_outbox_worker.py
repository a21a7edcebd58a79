"""`dsure-portal outbox …` and `webhook …`, the delivery thread of the app, and a worker
killed with SIGKILL in the middle of a delivery (DESIGN §10)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from registry.models import AuditEvent
from registry.notifications import outbox
from registry.notifications.models import OutboxMessage, WebhookEndpoint
from registry.notifications.preferences import set_email_notifications
from tests.conftest import TEST_PEPPER
from tests.notification_parts import Receiver, refused_port
from tests.notification_world import ListedWorld

DSURE_PORTAL = str(Path(sys.executable).parent / "dsure-portal")


def invoke(runner, *args):
    return runner.invoke(args=list(args))


def webhooks_only(world):
    for user in (world.staff, world.admin):
        set_email_notifications(user, False, actor="test")
    return world


def delivered_ids() -> set[str]:
    return {m.message_id for m in OutboxMessage.select().where(OutboxMessage.status == "delivered")}


# --- the operator's commands ---------------------------------------------------------

def test_webhook_add_prints_the_secret_once_and_list_and_remove_work(app, runner, orgs):
    added = invoke(runner, "webhook", "add", "--org", "042081", "--url",
                   "http://127.0.0.1:8099/hooks")
    assert added.exit_code == 0, added.output
    lines = added.output.strip().splitlines()
    secret, public_id = lines[-1], lines[0].split()[1]
    assert secret.startswith("whsec_") and public_id.startswith("ep_")
    listed = invoke(runner, "webhook", "list", "--org", "042081")
    assert listed.output.strip() == f"{public_id} http://127.0.0.1:8099/hooks"
    assert secret not in listed.output
    removed = invoke(runner, "webhook", "remove", "--org", "042081", "--id", public_id)
    assert removed.exit_code == 0
    assert invoke(runner, "webhook", "list", "--org", "042081").output.strip() == ""


def test_webhook_add_refuses_a_surety_or_a_bad_url_and_stores_nothing(app, runner, orgs):
    surety = invoke(runner, "webhook", "add", "--org", "EJCS", "--url", "https://93.184.216.34/")
    assert surety.exit_code == 1 and "EJCS" in surety.stderr
    plain = invoke(runner, "webhook", "add", "--org", "042081", "--url", "http://93.184.216.34/")
    assert plain.exit_code == 1 and "https" in plain.stderr
    with app.app_context():
        assert WebhookEndpoint.select().count() == 0


def test_client_add_makes_an_obligee_token_too(app, runner, orgs):
    result = invoke(runner, "client", "add", "--org", "042081", "--name", "角田市 財務会計")
    assert result.exit_code == 0
    operator = invoke(runner, "client", "add", "--org", "DSURE", "--name", "x")
    assert operator.exit_code == 1 and "for sureties and obligees" in operator.stderr


def test_outbox_status_shows_what_waits_and_what_died_and_retry_dead_requeues(app, runner, hasher):
    with app.app_context():
        world = webhooks_only(ListedWorld(hasher))
        world.add_webhook(f"http://127.0.0.1:{refused_port()}/down", pepper=TEST_PEPPER.encode())
        world.change()
    status = invoke(runner, "outbox", "status")
    assert "webhook  pending    1" in status.output and "due now: 1" in status.output
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1
    run = invoke(runner, "outbox", "run", "--once")
    assert "delivered 0, failed 1" in run.output
    status = invoke(runner, "outbox", "status")
    assert "webhook  dead       1" in status.output
    assert "attempts=1 last_error=ConnectionRefusedError" in status.output
    retried = invoke(runner, "outbox", "retry-dead")
    assert retried.output.strip() == "1 message(s) queued again"
    assert "webhook  pending    1" in invoke(runner, "outbox", "status").output


# --- the app's own delivery thread -------------------------------------------------------

class TestThread:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "OUTBOX_THREAD": True, "OUTBOX_POLL_SECONDS": 0.05}

    def test_the_app_delivers_from_its_own_thread(self, app, hasher):
        from dsure_portal.outbox import stop_thread
        try:
            with Receiver() as receiver, app.app_context():
                world = webhooks_only(ListedWorld(hasher))
                _, secret = world.add_webhook(receiver.url(), pepper=TEST_PEPPER.encode())
                world.change()
                deadline = time.monotonic() + 60
                while not receiver.received and time.monotonic() < deadline:
                    time.sleep(0.05)
                [got] = receiver.received
                assert Webhook(secret).verify(got.body, got.headers)["data"]["revision"] == 2
        finally:
            stop_thread(app)
        assert "dsure.outbox_thread" not in app.extensions


# --- SIGKILL in the middle of a delivery -----------------------------------------------

def _worker_env(database_url: str, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSURE_")}
    env.update({
        "DSURE_DATABASE_URL": database_url, "DSURE_INSTANCE_PATH": str(tmp_path / "instance"),
        "DSURE_SECRET_KEY": "test-secret-key", "DSURE_KEY_PEPPER": TEST_PEPPER,
        "DSURE_WEBHOOK_ALLOW_HTTP_LOOPBACK": "true", "DSURE_OUTBOX_BATCH": "3",
        "DSURE_OUTBOX_TIMEOUT_SECONDS": "3", "DSURE_OUTBOX_LEASE_SECONDS": "8",
        "DSURE_OUTBOX_POLL_SECONDS": "0.2",
    })
    return env


def _start_worker(env):
    return subprocess.Popen([DSURE_PORTAL, "outbox", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_worker_killed_mid_delivery_loses_nothing_and_counts_nothing_twice(
        registry_db, database_url, hasher, tmp_path):
    world = webhooks_only(ListedWorld(hasher))
    with Receiver(stall_on=3) as receiver:
        secrets = [world.add_webhook(receiver.url(path), pepper=TEST_PEPPER.encode())[1]
                   for path in ("/a", "/b")]
        for amount in (4_999_999, 4_999_998, 4_999_997):
            world.change(guarantee_amount=amount)
        every = {m.message_id for m in OutboxMessage.select()}
        assert len(every) == 6
        env = _worker_env(database_url, tmp_path)

        first = _start_worker(env)
        try:
            assert receiver.stalled.wait(120), first.stderr.read() if first.poll() else "no POST"
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.communicate(timeout=30)
        assert first.returncode == -signal.SIGKILL
        receiver.release.set()
        in_flight = receiver.received[2].headers["webhook-id"]
        assert len(delivered_ids()) == 2 and in_flight not in delivered_ids()

        second = _start_worker(env)
        try:
            deadline = time.monotonic() + 120
            while delivered_ids() != every and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            second.send_signal(signal.SIGTERM)
            output, errors = second.communicate(timeout=60)
        received = list(receiver.received)

    assert delivered_ids() == every, errors
    assert outbox.counts() == {("webhook", "delivered"): 6}
    assert "delivered 4, failed 0" in output  # the second worker: the rest, none twice
    seen = Counter(r.headers["webhook-id"] for r in received)
    assert set(seen) == every and seen[in_flight] == 2  # at least once: the cut-off one again
    assert all(seen[m] == 1 for m in every - {in_flight})
    by_path = {"/a": secrets[0], "/b": secrets[1]}
    for request in received:
        Webhook(by_path[request.path]).verify(request.body, request.headers)
    trail = [json.loads(e.details) for e in AuditEvent.select().where(
        AuditEvent.kind == "webhook.delivery_attempted").order_by(AuditEvent.seq)]
    successes = Counter(t["message_id"] for t in trail if t["outcome"] == "delivered")
    assert set(successes) == every and set(successes.values()) == {1}
    expired = [json.loads(e.details) for e in AuditEvent.select().where(
        AuditEvent.kind == "outbox.lease_expired")]
    assert in_flight in {e["message_id"] for e in expired}
