"""Deliveries per second from the outbox, next to bare signed POSTs, in one run.

    .venv/bin/python bench/outbox.py [--changes 200] [--endpoints 5] [--staff 5]
                                     [--database-url URL]

Sets up 角田市 with ``--staff`` opted-in staff and ``--endpoints`` webhooks pointing at a
receiver on loopback (a separate process: ThreadingHTTPServer answering 204), lists a
certificate, and stores ``--changes`` 変更 revisions through ``ingest.accept_revision``:
changes × endpoints webhook messages and changes × staff emails in the outbox. Then:

  bare         the same bodies, signed and POSTed one by one with http.client (a new
               connection each, as the worker does): the floor, no database
  webhook ×1   one Worker.drain() in this process
  webhook ×2   two `dsure-portal outbox run --once` processes at once (wall time
               includes their start-up, about a second each)
  email ×1     one Worker.drain() to an SMTP sink (aiosmtpd's Sink, its own process),
               one SMTP connection per batch of 10

Every delivered message is a claim (batch of 10), the POST or SMTP send, and its own
serialised transaction: the row settled and one audit-chain append. The outbox is reset
to pending between phases (outbox rows are not evidence; the audit trail only grows).

Measured 2026-12-02 (400 changes × 5 webhooks and × 5 staff, Python 3.11.7, 2-vCPU
container shared with other work, load average 4-5):

  SQLite              bare 999/s   webhook ×1 279/s   webhook ×2 procs 229/s   email ×1 157/s
  PostgreSQL (local)  bare 731/s   webhook ×1 101/s   webhook ×2 procs 131/s   email ×1  97/s

About 8 database round trips per message (a tenth of a claim; the endpoint; the settling
transaction: lock, conditional UPDATE, audit head, audit INSERT, commit): cheap on SQLite,
about 1 ms each to PostgreSQL here, so PostgreSQL gains from a second worker and SQLite,
one writer at a time, does not. Under a load average of 9 the same PostgreSQL run gave
41/s. Either is far above what a municipality's list produces (a few revisions a day).
"""
from __future__ import annotations

import argparse
import calendar
import datetime as dt
import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from registry.accounts.users import add_user  # noqa: E402
from registry.certificates.auth_keys import AuthKeyHasher  # noqa: E402
from registry.clock import utcnow  # noqa: E402
from registry.db import database, open_database  # noqa: E402
from registry.notifications import webhooks  # noqa: E402
from registry.notifications.models import OutboxMessage, WebhookEndpoint  # noqa: E402
from registry.notifications.worker import Worker  # noqa: E402
from registry.schema import create_schema  # noqa: E402
from tests.notification_parts import free_port  # noqa: E402
from tests.notification_world import ListedWorld, delivery_settings  # noqa: E402

PEPPER = "bench-pepper-0123456789abcdef"
RECEIVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
s.daemon_threads = True
print("ready", flush=True)
s.serve_forever()
"""


def _start(args: list[str], ready: str | None = None) -> subprocess.Popen:
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if ready:
        assert process.stdout.readline().strip() == ready
    return process


def _wait_port(port: int) -> None:
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def _reset(channel: str) -> int:
    other = "email" if channel == "webhook" else "webhook"
    OutboxMessage.update(status="cancelled").where(OutboxMessage.channel == other).execute()
    return (OutboxMessage.update(status="pending", attempts=0, next_attempt_at=utcnow(),
                                 delivered_at=None, claim_token=None, claimed_until=None)
            .where(OutboxMessage.channel == channel).execute())


def _delivered(channel: str) -> int:
    return OutboxMessage.select().where(OutboxMessage.channel == channel,
                                        OutboxMessage.status == "delivered").count()


def bare(port: int) -> tuple[int, float]:
    box = webhooks.SecretBox(PEPPER.encode())
    secrets_by_id = {e.id: box.open(e.secret_sealed, endpoint_id=e.public_id)
                     for e in WebhookEndpoint.select()}
    messages = list(OutboxMessage.select().where(OutboxMessage.channel == "webhook"))
    start = time.perf_counter()
    for m in messages:
        timestamp = calendar.timegm(utcnow().utctimetuple())
        body = m.payload.encode()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/hook", body=body, headers={
            "Content-Type": "application/json", "webhook-id": m.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": webhooks.signature(secrets_by_id[m.endpoint_id],
                                                    message_id=m.message_id,
                                                    timestamp=timestamp, body=body)})
        response = conn.getresponse()
        response.read()
        conn.close()
        assert response.status == 204
    return len(messages), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--endpoints", type=int, default=5)
    parser.add_argument("--staff", type=int, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dsure-bench-outbox-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    if url.startswith("postgresql"):
        import psycopg
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")
    open_database(url)
    create_schema()

    http_port, smtp_port = free_port(), free_port()
    receiver = _start([sys.executable, "-c", RECEIVER, str(http_port)], ready="ready")
    sink = _start([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}",
                   "-c", "aiosmtpd.handlers.Sink"])
    _wait_port(smtp_port)
    try:
        world = ListedWorld(AuthKeyHasher(pepper=PEPPER.encode()))
        for n in range(args.staff - 2):
            add_user(org_code="042081", email=f"staff{n}@kakuda.example.jp", role="staff",
                     password="correct horse battery staple")
        for n in range(args.endpoints):
            world.add_webhook(f"http://127.0.0.1:{http_port}/hook/{n}", pepper=PEPPER.encode())
        started = time.perf_counter()
        for n in range(args.changes):
            world.change(guarantee_amount=4_000_000 - n)
        print(f"setup: {args.changes} changes stored in {time.perf_counter() - started:.1f} s; "
              f"{OutboxMessage.select().count()} messages queued ({url.split(':')[0]})")
        settings = delivery_settings(smtp_url=f"smtp://127.0.0.1:{smtp_port}",
                                     pepper=PEPPER.encode())

        results = {}
        count, seconds = bare(http_port)
        results["bare"] = (count, seconds)

        count = _reset("webhook")
        started = time.perf_counter()
        Worker(settings).drain()
        results["webhook x1"] = (_delivered("webhook"), time.perf_counter() - started)
        assert results["webhook x1"][0] == count

        count = _reset("webhook")
        database.close_all()
        env = {**os.environ, "DSURE_DATABASE_URL": url, "DSURE_INSTANCE_PATH": str(tmp / "instance"),
               "DSURE_SECRET_KEY": "bench", "DSURE_KEY_PEPPER": PEPPER,
               "DSURE_WEBHOOK_ALLOW_HTTP_LOOPBACK": "true"}
        started = time.perf_counter()
        workers = [subprocess.Popen([str(Path(sys.executable).parent / "dsure-portal"), "outbox",
                                     "run", "--once"], env=env, stdout=subprocess.DEVNULL)
                   for _ in range(2)]
        for w in workers:
            w.wait()
        results["webhook x2 processes"] = (_delivered("webhook"), time.perf_counter() - started)
        assert results["webhook x2 processes"][0] == count

        count = _reset("email")
        started = time.perf_counter()
        Worker(settings).drain()
        results["email x1"] = (_delivered("email"), time.perf_counter() - started)
        assert results["email x1"][0] == count
    finally:
        receiver.terminate()
        sink.terminate()
        database.close_all()

    floor = results["bare"][0] / results["bare"][1]
    print(f"measured {dt.date.today()}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for name, (count, seconds) in results.items():
        rate = count / seconds
        print(f"  {name:22} {count:6} in {seconds:6.2f} s  {rate:7.1f}/s  "
              f"{rate / floor:5.2f}x bare")


if __name__ == "__main__":
    main()
