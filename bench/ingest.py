"""Ingest throughput of the surety API next to a bare Flask app, in one run.

    .venv/bin/python bench/ingest.py [--n 300] [--workers 4] [--threads 8]
                                     [--database-url URL] [--keep]

Makes a temporary instance folder and SQLite database (or uses ``--database-url``), runs
``dsure-portal init-db``, sets up an obligee, a surety, its API client and a fresh Ed25519
signing key through the registry, and signs ``--n`` revisions up front: revision 1
(``new``) of n/2 certificates, then revision 2 (``change``) of each. Starts gunicorn on
``wsgi:app`` (sync workers) and PUTs them over HTTP from ``--threads`` client threads:
first every revision 1 (each generates an auth key and hashes it with argon2id, 19 MiB,
t=2), then every revision 2 (no hashing). Every revision is a serialised write: the
revision, the certificate summary and one audit-chain append in one transaction.

Then starts ``bench/bare_app.py`` (one route: parse the JSON body, answer JSON) under
gunicorn with the same worker count and sends it the same revision-2 bodies with the same
client. Prints revisions/s for both phases, requests/s of the bare app, and the ratios;
writes bench/out/ingest.json. The coarse API rate limit is raised for the run
(DSURE_API_RATE_LIMIT) so that it measures the ingest path, not the limiter.
"""
from __future__ import annotations

import argparse
import base64
import copy
import http.client
import json
import os
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OBLIGEE = ("042081", "角田市", "角田市長 角田 太郎")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _document(number: str, surety_code: str) -> dict:
    return {
        "contract_number": number, "product": "advance_payment", "revision": 1, "kind": "new",
        "supersedes": None, "issued_on": "2026-04-01",
        "obligee": {"code": OBLIGEE[0], "name": OBLIGEE[2]},
        "principal": {"name": "角田建設株式会社", "address": "宮城県角田市角田字大坊41",
                      "representative": "代表取締役 山田 一郎", "jv_name": None, "jv_members": []},
        "work": {"name": f"市道{number}号線舗装補修工事", "location": "宮城県角田市角田地内",
                 "contract_date": "2026-03-25", "period_start": "2026-04-01",
                 "period_end": "2026-12-25"},
        "contract_amount": 50_000_000, "guarantee_amount": 20_000_000,
        "guarantee_period": {"start": "2026-04-01", "end": "2026-12-25"},
        "deposit_bank": "七十七銀行 角田支店",
        "surety": {"code": surety_code, "name": "ベンチ建設業保証株式会社",
                   "address": "東京都中央区八丁堀2丁目27番10号", "representative": "取締役社長 鈴木 次郎",
                   "branch": "宮城支店", "tel": "022-262-8531", "fax": "022-262-0000"},
    }


def set_up(env: dict, certificates: int) -> tuple[str, list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """init-db, then the organisations, client and key through the registry; returns the
    API token and the signed request bodies (path, JSON bytes) of both phases."""
    subprocess.run([str(Path(sys.executable).with_name("dsure-portal")), "init-db"],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from registry.db import database, open_database
    from registry.models import Organisation
    from registry.accounts.organisations import add_api_client, add_organisation, add_signing_key
    from registry.certificates.signatures import canonical_bytes

    open_database(env["DSURE_DATABASE_URL"])
    # Fresh codes per run, so a --database-url that already holds data works too.
    run = secrets.token_hex(3).upper()
    surety_code = f"BENCH{run}"
    if not Organisation.get_or_none(Organisation.code == OBLIGEE[0]):
        add_organisation(kind="obligee", code=OBLIGEE[0], name=OBLIGEE[1], actor="bench")
    add_organisation(kind="surety", code=surety_code, name="ベンチ建設業保証株式会社", actor="bench")
    _, token = add_api_client(org_code=surety_code, name="bench", actor="bench")
    private_key = Ed25519PrivateKey.generate()
    key = add_signing_key(org_code=surety_code, actor="bench", pem=private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    database.close_all()

    def body(document: dict) -> tuple[str, bytes]:
        signature = private_key.sign(canonical_bytes(document))
        path = (f"/api/v1/certificates/{document['contract_number']}"
                f"/revisions/{document['revision']}")
        return path, json.dumps({"document": document, "key_id": key.key_id,
                                 "signature": base64.b64encode(signature).decode()},
                                ensure_ascii=False).encode()

    prefix = 90000 + secrets.randbelow(10000)
    firsts, seconds = [], []
    for i in range(certificates):
        doc = _document(f"{prefix:05d}-{i:06d}", surety_code)
        firsts.append(body(doc))
        change = copy.deepcopy(doc)
        change.update(revision=2, kind="change", contract_amount=60_000_000,
                      guarantee_amount=24_000_000, issued_on="2026-06-01")
        seconds.append(body(change))
    return token, firsts, seconds


def start_gunicorn(app_spec: str, cwd: Path, port: int, workers: int, env: dict,
                   log: Path, ready_path: str) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", app_spec],
        cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", ready_path)
            if conn.getresponse().status == 200:
                conn.close()
                # warm every worker (imports, first connection) before measuring
                for _ in range(workers * 4):
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    conn.request("GET", ready_path)
                    conn.getresponse().read()
                    conn.close()
                return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise SystemExit(f"gunicorn ({app_spec}) did not start; see {log}")


def stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def send_all(port: int, requests: list[tuple[str, bytes]], headers: dict, threads: int,
             expect: int) -> dict:
    """PUT every (path, body) once from a pool of ``threads`` clients; one connection per
    request (gunicorn's sync workers close them anyway)."""
    latencies: list[float] = []
    unexpected: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def one(item):
        path, body = item
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("PUT", path, body=body, headers=headers)
        response = conn.getresponse()
        answer = response.read()
        conn.close()
        elapsed = time.perf_counter() - t0
        with lock:
            latencies.append(elapsed)
            if response.status != expect:
                unexpected.append((response.status, answer[:300]))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, requests))
    wall = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(requests), "errors": len(unexpected),
            "first_error": (f"HTTP {unexpected[0][0]}: {unexpected[0][1].decode(errors='replace')}"
                            if unexpected else None),
            "seconds": round(wall, 3), "per_second": round(len(requests) / wall, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))] * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="revisions to post (half of them revision 1)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers, both apps")
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    certificates = max(1, args.n // 2)

    workdir = Path(tempfile.mkdtemp(prefix="dsure-bench-ingest-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    env = dict(os.environ,
               DSURE_INSTANCE_PATH=str(workdir / "instance"), DSURE_DATABASE_URL=database_url,
               DSURE_SECRET_KEY=secrets.token_hex(32), DSURE_KEY_PEPPER=secrets.token_hex(32),
               DSURE_API_RATE_LIMIT="1000000 per minute", PYTHONPATH=str(ROOT))
    os.environ.update({k: v for k, v in env.items() if k.startswith("DSURE_")})
    portal = bare = None
    try:
        token, firsts, seconds = set_up(env, certificates)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        port = _free_port()
        portal = start_gunicorn("wsgi:app", ROOT, port, args.workers, env,
                                workdir / "gunicorn-portal.log", "/healthz")
        new = send_all(port, firsts, headers, args.threads, expect=201)
        later = send_all(port, seconds, headers, args.threads, expect=201)
        stop(portal)
        portal = None

        port = _free_port()
        bare = start_gunicorn("bare_app:app", ROOT / "bench", port, args.workers, env,
                              workdir / "gunicorn-bare.log", "/")
        baseline = send_all(port, [("/", body) for _, body in firsts + seconds], headers, args.threads,
                            expect=200)
        stop(bare)
        bare = None

        total = new["requests"] + later["requests"]
        overall = round(total / (new["seconds"] + later["seconds"]), 1)
        result = {
            "database": database_url.split(":", 1)[0], "workers": args.workers,
            "client_threads": args.threads, "cpus": os.cpu_count(),
            "revision_1_argon2id": new, "later_revisions": later,
            "all_revisions_per_second": overall, "bare_flask": baseline,
            "ratio_revision_1_vs_bare": round(new["per_second"] / baseline["per_second"], 3),
            "ratio_later_vs_bare": round(later["per_second"] / baseline["per_second"], 3),
            "ratio_all_vs_bare": round(overall / baseline["per_second"], 3),
        }
        print(f"database {result['database']}, {args.workers} gunicorn workers, "
              f"{args.threads} client threads, {os.cpu_count()} CPUs")
        for label, r in (("revision 1 (argon2id)", new), ("later revisions", later),
                         ("bare Flask JSON", baseline)):
            unit = "req/s" if r is baseline else "rev/s"
            print(f"{label:24} {r['requests']:5d} in {r['seconds']:6.2f}s  "
                  f"{r['per_second']:8.1f} {unit}  p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  "
                  f"errors {r['errors']}" + (f"  first: {r['first_error']}" if r["errors"] else ""))
        print(f"{'all revisions':24} {total:5d}              {overall:8.1f} rev/s")
        print(f"ratio to bare Flask: revision 1 {result['ratio_revision_1_vs_bare']:.3f}, "
              f"later {result['ratio_later_vs_bare']:.3f}, all {result['ratio_all_vs_bare']:.3f}")
        out = ROOT / "bench" / "out"
        out.mkdir(parents=True, exist_ok=True)
        (out / "ingest.json").write_text(json.dumps(result, indent=1))
        if new["errors"] or later["errors"] or baseline["errors"]:
            args.keep = True
            raise SystemExit(f"some requests failed; the logs are in {workdir}")
    finally:
        stop(portal)
        stop(bare)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
