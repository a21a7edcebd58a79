"""The organisation's list at 10k and at scale, at the registry level (issue 11 §2).

    .venv/bin/python bench/list.py [--sizes 10000,200000] [--rounds 15]
                                   [--database-url sqlite:///… | postgresql://…]
                                   [--plans bench/out/list-plans-sqlite.txt]

For each size, in a database of its own (…-N.sqlite3, or <name>_N on PostgreSQL,
created when missing and emptied): a fresh schema, one obligee with N listed certificates inserted directly
(executemany: the list reads only the summary columns, so no revisions are stored),
1 % of them opened by the user, 1 % with a contract record (a tenth of those failing),
ANALYZE; then every list query is timed ``--rounds`` times after two warm-up rounds,
the sizes' databases alternating round by round: p50 and p90 in ms. Prints a table with the ratio of each figure to the first size and writes
bench/out/list-<engine>.json. ``--plans`` writes the query plan of every statement each
case runs (EXPLAIN QUERY PLAN / EXPLAIN) at the largest size. Not a test: nothing is
asserted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from registry.accounts.organisations import add_organisation  # noqa: E402
from registry.accounts.users import add_user  # noqa: E402
from registry.certificates import keyset, portfolio  # noqa: E402
from registry.certificates.portfolio import CertificateView, OrganisationCertificate  # noqa: E402
from registry.contracts import queue  # noqa: E402
from registry.contracts.models import ObligeeContract  # noqa: E402
from registry.db import database, insert_rows, is_postgresql, open_database  # noqa: E402
from registry.models import Certificate  # noqa: E402
from registry.schema import create_schema  # noqa: E402

BATCH = 20_000
BASE = dt.datetime(2020, 1, 1)
TODAY = dt.date(2026, 4, 1)
PRODUCTS = ("advance_payment", "contract", "intermediate_advance_payment")


def _reset(url: str) -> None:
    if url.startswith("postgresql"):
        import psycopg
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
    else:
        path = url[len("sqlite:///"):]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)


def _certificate(i: int, surety: int, obligee: int) -> dict:
    # Every seventh shares its neighbour's second: ties in the sort key are ordinary.
    updated = BASE + dt.timedelta(seconds=i - (i % 7 == 1))
    return {"contract_number": f"{70000 + i // 1_000_000:05d}-{i % 1_000_000:06d}",
            "surety": surety, "obligee": obligee, "product": PRODUCTS[i % 3],
            "auth_key_digest": "seeded", "auth_key_issued_at": updated,
            "latest_revision": 1, "current_revision": 1, "current_kind": "new",
            "work_name": f"市道{i}号線舗装補修工事", "principal_name": f"建設{i % 5000}株式会社",
            "guarantee_amount": 20_000_000, "created_at": updated - dt.timedelta(days=i % 30),
            "updated_at": updated,
            "guarantee_period_end": TODAY + dt.timedelta(days=i % 730 - 365)}


def _sized(url: str, n: int) -> str:
    """One database per size, side by side: …/list-10000.sqlite3 or …/<name>_10000."""
    if url.startswith("postgresql"):
        import psycopg
        server, name = url.rsplit("/", 1)
        sized = f"{name}_{n}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (sized,)).fetchone():
                conn.execute(f'CREATE DATABASE "{sized}"')
        return f"{server}/{sized}"
    return url.replace(".sqlite3", f"-{n}.sqlite3")


def build(url: str, n: int):
    """A fresh database with n listed certificates; (user, organisation id)."""
    _reset(url)
    open_database(url)
    create_schema()
    obligee = add_organisation(kind="obligee", code="042081", name="角田市", require_otp=False)
    surety = add_organisation(kind="surety", code="EJCS", name="東日本建設業保証株式会社")
    user = add_user(org_code="042081", email="a@kakuda.example.jp", role="staff",
                    password="correct horse battery staple")
    started = time.perf_counter()
    for start in range(0, n, BATCH):
        with database.atomic():
            chunk = [_certificate(i, surety.id, obligee.id) for i in range(start, min(n, start + BATCH))]
            insert_rows(Certificate, chunk)
            ids = dict(Certificate.select(Certificate.contract_number, Certificate.id)
                       .where(Certificate.contract_number.in_([c["contract_number"] for c in chunk]))
                       .tuples())
            insert_rows(OrganisationCertificate, [
                {"organisation": obligee.id, "certificate": ids[c["contract_number"]],
                 "added_at": c["updated_at"], "certificate_updated_at": c["updated_at"]}
                for c in chunk])
            hundredth = [ids[c["contract_number"]] for j, c in enumerate(chunk) if j % 100 == 0]
            insert_rows(CertificateView, [{"user": user.id, "certificate": cid, "seen_revision": 1,
                                           "seen_at": BASE} for cid in hundredth])
            insert_rows(ObligeeContract, [{
                "organisation": obligee.id, "certificate": cid, "recorded_at": BASE,
                "recorded_by": "operator", "checked_revision": 1,
                "failed_checks": "amount" if k % 10 == 0 else ""} for k, cid in enumerate(hundredth)])
    database.execute_sql("ANALYZE")
    print(f"  built {n:,} listed certificates in {time.perf_counter() - started:.1f}s", flush=True)
    return user, obligee.id


def cases(user, organisation_id: int, n: int) -> dict:
    """name → a call that runs one list query as the page would."""
    def page(position=keyset.FIRST, restrict=None, **search):
        return lambda: portfolio.list_page(organisation_id=organisation_id, user_id=user.id,
                                           position=position, search=portfolio.Search(**search),
                                           restrict=restrict)
    middle = (OrganisationCertificate.select(OrganisationCertificate.certificate_updated_at,
                                             OrganisationCertificate.certificate)
              .where(OrganisationCertificate.organisation == organisation_id)
              .order_by(OrganisationCertificate.certificate_updated_at.desc(),
                        OrganisationCertificate.certificate.desc())
              .offset(n // 2).limit(1).tuples().get())
    cursor = keyset.Cursor(portfolio._as_datetime(middle[0]), middle[1])
    day = (BASE + dt.timedelta(seconds=n // 2)).date()
    return {
        "page 1": page(),
        "middle page (after=)": page(keyset.Position(after=cursor)),
        "previous page (before=)": page(keyset.Position(before=cursor)),
        "last page (last=1)": page(keyset.Position(last=True)),
        "search, every row matches": page(text="舗装"),
        "search, one row in the list": page(text=f"市道{n // 2}号線"),
        "updated on one day": page(date_from=day, date_to=day),
        "product": page(product="contract"),
        "queue: ending within 30 days": lambda: queue.list_page(
            organisation_id=organisation_id, user_id=user.id, search=portfolio.Search(),
            queue="ending", today=TODAY),
        "menu counts (3 queues)": lambda: queue.counts(organisation_id=organisation_id,
                                                       user_id=user.id, today=TODAY),
    }


def measure(by_size: dict, rounds: int) -> dict:
    """size → case → p50/p90 in ms. Rounds alternate between the sizes (each its own
    database, all open), so a busy neighbour on the machine slows every size alike."""
    times = {n: {name: [] for name in cases_} for n, (_, cases_) in by_size.items()}
    for round_ in range(rounds + 2):
        for n, (db, cases_) in by_size.items():
            database.initialize(db)
            for name, call in cases_.items():
                started = time.perf_counter()
                call()
                if round_ >= 2:  # the first two warm caches up
                    times[n][name].append((time.perf_counter() - started) * 1000)
    return {n: {name: {"p50_ms": round(statistics.median(t), 3),
                       "p90_ms": round(sorted(t)[int(len(t) * 0.9) - 1], 3)}
                for name, t in per_case.items()} for n, per_case in times.items()}


class _Recorder:
    """The statements a call sends, to explain them afterwards."""

    def __init__(self):
        self.statements = []

    def __enter__(self):
        self.original = database.obj.execute_sql

        def execute_sql(sql, params=None, *args, **kwargs):
            self.statements.append((sql, params))
            return self.original(sql, params, *args, **kwargs)
        database.obj.execute_sql = execute_sql
        return self

    def __exit__(self, *exc):
        database.obj.execute_sql = self.original


def plans(all_cases: dict) -> str:
    prefix = "EXPLAIN " if is_postgresql() else "EXPLAIN QUERY PLAN "
    out = []
    for name, call in all_cases.items():
        with _Recorder() as recorder:
            call()
        out.append(f"## {name}\n")
        for sql, params in recorder.statements:
            rows = database.execute_sql(prefix + sql, params).fetchall()
            text = "\n".join(str(row[0]) if len(row) == 1 else str(row[-1]) for row in rows)
            out.append(f"```\n{sql}\n-- params: {params}\n{text}\n```\n")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,200000")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--plans", default="")
    args = parser.parse_args()
    base_url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/list.sqlite3"
    engine = "postgresql" if base_url.startswith("postgresql") else "sqlite"
    sizes = [int(s) for s in args.sizes.split(",")]
    by_size = {}
    for n in sizes:
        print(f"{engine}, {n:,} listed:", flush=True)
        url = _sized(base_url, n)
        user, organisation_id = build(url, n)
        by_size[n] = (database.obj, cases(user, organisation_id, n))
        if args.plans and n == sizes[-1]:
            Path(args.plans).write_text(f"# {engine}, {n:,} listed, after ANALYZE\n\n"
                                        + plans(by_size[n][1]))
    results = measure(by_size, args.rounds)
    for db, _ in by_size.values():
        db.close_all()
    base = results[sizes[0]]
    print(f"\n{'case':32}" + "".join(f"{f'p50 @{n:,}':>16}" for n in sizes) + f"{'ratio':>8}")
    for name in base:
        figures = [results[n][name]["p50_ms"] for n in sizes]
        print(f"{name:32}" + "".join(f"{f:>13.2f} ms" for f in figures)
              + f"{figures[-1] / figures[0]:>7.2f}×")
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"list-{engine}.json").write_text(json.dumps(
        {"engine": engine, "rounds": args.rounds, "results": results}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
