"""Certificate-page throughput next to /healthz, on 100,000 certificates.

    .venv/bin/python bench/portal.py [--certificates 100000] [--workers 2]
                                     [--threads 8] [--seconds 10]

Builds a temporary SQLite database: the demo world (real signed revisions), then
``--certificates`` more certificates inserted in bulk with peewee ``insert_many``; their
revisions reuse the demo's signed canonical bytes, so every page view re-verifies a real
Ed25519 signature. All are on 角田市's list. Starts gunicorn on ``wsgi:app`` with that
database, signs a staff user in (a server-side session row and the signed Flask session
cookie, exactly what POST /login would set), then measures requests per second of
/healthz and of certificate pages (random certificates; each view also writes its audit
event and the user's seen revision) in the same run. Prints both; writes
bench/out/portal.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 2000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_database(workdir: Path, certificates: int, env: dict) -> tuple[str, list[str]]:
    """Create the database; return the session token and the contract numbers to hit."""

    from dsure_portal import create_app
    from registry.accounts import users as accounts
    from registry.db import database
    from registry.demo.world import load_demo
    from registry.models import Certificate, Organisation, Revision
    from registry.certificates.portfolio import OrganisationCertificate
    from registry.schema import create_schema

    app = create_app({"INSTANCE_PATH": env["DSURE_INSTANCE_PATH"],
                      "DATABASE_URL": env["DSURE_DATABASE_URL"],
                      "SECRET_KEY": env["DSURE_SECRET_KEY"], "KEY_PEPPER": env["DSURE_KEY_PEPPER"]})
    with app.app_context():
        database.connect(reuse_if_open=True)
        create_schema()
        load_demo(instance_path=app.instance_path, hasher=app.extensions["dsure.hasher"])
        kakuda = Organisation.get(Organisation.code == "042081")
        surety = Organisation.get(Organisation.code == "EJCS")
        user = accounts.add_user(org_code="042081", email="bench@kakuda.example.jp", role="staff",
                                 password=secrets.token_urlsafe(16))
        # Real signed revisions to reuse: the demo's four-revision history (1 … 4).
        template = list(Revision.select().join(Certificate)
                        .where(Certificate.contract_number == "20001-000001")
                        .order_by(Revision.number))
        digest = Certificate.get(Certificate.contract_number == "20001-000001").auth_key_digest
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        numbers = [f"{50000 + i // 1_000_000:05d}-{i % 1_000_000:06d}" for i in range(certificates)]
        started = time.perf_counter()
        for offset in range(0, certificates, BATCH):
            chunk = numbers[offset:offset + BATCH]
            with database.atomic():
                Certificate.insert_many([{
                    "contract_number": n, "surety": surety.id, "obligee": kakuda.id,
                    "product": "advance_payment", "auth_key_digest": digest,
                    "auth_key_issued_at": now, "latest_revision": 4, "current_revision": 4,
                    "current_kind": "change_cancellation", "work_name": f"市道{n}号線舗装補修工事",
                    "principal_name": "角田建設株式会社", "guarantee_amount": 20_000_000,
                    "created_at": now - dt.timedelta(minutes=offset), "updated_at": now,
                } for n in chunk]).execute()
                ids = dict(Certificate.select(Certificate.contract_number, Certificate.id)
                           .where(Certificate.contract_number.in_(chunk)).tuples())
                Revision.insert_many([{
                    "certificate": ids[n], "number": r.number, "kind": r.kind,
                    "supersedes": r.supersedes, "canonical": bytes(r.canonical),
                    "signature": bytes(r.signature), "signing_key": r.signing_key_id,
                    "arrived_at": r.arrived_at,
                } for n in chunk for r in template]).execute()
                OrganisationCertificate.insert_many([{
                    "organisation": kakuda.id, "certificate": ids[n], "added_at": now,
                    "certificate_updated_at": now, "added_by": user.id} for n in chunk]).execute()
        print(f"inserted {certificates:,} certificates ({certificates * len(template):,} revisions) "
              f"in {time.perf_counter() - started:.1f}s", flush=True)
        token = accounts.start_session(user)
        # The cookie Flask-Login would set after POST /login: the signed session holding
        # the session token as the user id.
        serializer = app.session_interface.get_signing_serializer(app)
        cookie = serializer.dumps({"_user_id": token, "_fresh": True})
        database.close()
    database.close_all()
    return cookie, numbers


def start_gunicorn(port: int, workers: int, env: dict, log: Path) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn did not start; see {log}")


def measure(port: int, paths, headers: dict, threads: int, seconds: float) -> dict:
    """Requests per second over ``seconds`` with ``threads`` clients (new connection per
    request: gunicorn's sync workers close them anyway)."""
    stop = time.perf_counter() + seconds
    latencies: list[float] = []
    errors: list[int] = []
    sizes: list[int] = []
    lock = threading.Lock()

    def client():
        rng = random.Random()
        mine, bad, size = [], 0, 0
        while time.perf_counter() < stop:
            path = paths(rng)
            t0 = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            conn.close()
            mine.append(time.perf_counter() - t0)
            if response.status != 200:
                bad += 1
            size = max(size, len(body))
        with lock:
            latencies.extend(mine)
            errors.append(bad)
            sizes.append(size)

    started = time.perf_counter()
    pool = [threading.Thread(target=client) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "errors": sum(errors), "seconds": round(elapsed, 2),
            "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 1) if latencies else None,
            "max_body_bytes": max(sizes) if sizes else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--certificates", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="dsure-bench-portal-"))
    env = dict(os.environ,
               DSURE_DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
               DSURE_INSTANCE_PATH=str(workdir / "instance"),
               DSURE_SECRET_KEY=secrets.token_hex(32), DSURE_KEY_PEPPER=secrets.token_hex(32),
               DSURE_SESSION_COOKIE_SECURE="false", PYTHONPATH=str(ROOT))
    os.environ.update({k: v for k, v in env.items() if k.startswith("DSURE_")})
    process = None
    try:
        cookie, numbers = build_database(workdir, args.certificates, env)
        port = _free_port()
        process = start_gunicorn(port, args.workers, env, workdir / "gunicorn.log")
        headers = {"Cookie": f"dsure_session={cookie}"}
        probe = http.client.HTTPConnection("127.0.0.1", port)
        probe.request("GET", f"/certificates/{numbers[0]}", headers=headers)
        first = probe.getresponse()
        body = first.read()
        if first.status != 200 or "署名は有効です".encode() not in body:
            raise SystemExit(f"the certificate page did not render (HTTP {first.status}); "
                             f"see {workdir / 'gunicorn.log'}")
        health = measure(port, lambda rng: "/healthz", {}, args.threads, args.seconds)
        pages = measure(port, lambda rng: f"/certificates/{rng.choice(numbers)}", headers,
                        args.threads, args.seconds)
        result = {"certificates": args.certificates, "workers": args.workers,
                  "client_threads": args.threads, "database": "sqlite",
                  "healthz": health, "certificate_page": pages,
                  "page_vs_healthz": round(pages["rps"] / health["rps"], 3) if health["rps"] else None}
        print(f"/healthz            {health['rps']:8.1f} req/s  p50 {health['p50_ms']} ms  "
              f"p95 {health['p95_ms']} ms  errors {health['errors']}")
        print(f"/certificates/<n>   {pages['rps']:8.1f} req/s  p50 {pages['p50_ms']} ms  "
              f"p95 {pages['p95_ms']} ms  errors {pages['errors']}  page {pages['max_body_bytes']:,} bytes")
        out = ROOT / "bench" / "out"
        out.mkdir(parents=True, exist_ok=True)
        (out / "portal.json").write_text(json.dumps(result, indent=1))
        print(json.dumps(result))
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
