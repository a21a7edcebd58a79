"""What the obligee desk's checks cost (DESIGN §10), in process, on SQLite.

    .venv/bin/python bench/desk.py [--certificates 10000] [--rounds 2000]

- ``run_checks``: the eight rules on one signed document and a full contract record
  (pure Python; what the page and the API compute when read);
- ``check_run``: the same as the page does it, reading the record from the database;
- ``recheck``: what storing a new revision adds to the ingest transaction (the kept
  summary of a certificate with a recorded contract rewritten);
- ``queue counts``: the staff menu's three counts over an organisation's list of
  ``--certificates`` certificates, every one with a recorded contract.

Prints milliseconds per operation; writes bench/out/desk.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 2000


def per_call_ms(fn, rounds: int) -> float:
    """Median over five batches of ``rounds`` calls, in milliseconds per call."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            fn()
        times.append((time.perf_counter() - started) / rounds * 1000)
    return statistics.median(times)


def build(workdir: Path, certificates: int):
    from dsure_portal import create_app
    from registry.accounts import users as accounts
    from registry.contracts.models import ObligeeContract
    from registry.db import database
    from registry.demo.world import load_demo
    from registry.models import Certificate, Organisation, Revision
    from registry.certificates.portfolio import OrganisationCertificate
    from registry.schema import create_schema

    app = create_app({"INSTANCE_PATH": str(workdir / "instance"),
                      "DATABASE_URL": f"sqlite:///{workdir / 'desk.sqlite3'}",
                      "SECRET_KEY": "bench", "KEY_PEPPER": "bench-pepper-0123456789abcdef"})
    with app.app_context():
        database.connect(reuse_if_open=True)
        create_schema()
        load_demo(instance_path=app.instance_path, hasher=app.extensions["dsure.hasher"])
        kakuda = Organisation.get(Organisation.code == "042081")
        user = accounts.add_user(org_code="042081", email="bench@kakuda.example.jp", role="staff",
                                 password="bench-password-0123")
        source = Certificate.get(Certificate.contract_number == "20001-000002")  # 契約保証, rev 2
        template = list(Revision.select().where(Revision.certificate == source)
                        .order_by(Revision.number))
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        numbers = [f"{60000 + i // 1_000_000:05d}-{i % 1_000_000:06d}" for i in range(certificates)]
        for offset in range(0, certificates, BATCH):
            chunk = numbers[offset:offset + BATCH]
            with database.atomic():
                Certificate.insert_many([{
                    "contract_number": n, "surety": source.surety_id, "obligee": kakuda.id,
                    "product": "contract", "auth_key_digest": source.auth_key_digest,
                    "auth_key_issued_at": now, "latest_revision": 2, "current_revision": 2,
                    "current_kind": "change", "work_name": source.work_name,
                    "principal_name": source.principal_name, "guarantee_amount": 5_500_000,
                    "guarantee_period_end": dt.date(2026, 12, 25) + dt.timedelta(days=i % 90),
                    "created_at": now, "updated_at": now} for i, n in enumerate(chunk)]).execute()
                ids = dict(Certificate.select(Certificate.contract_number, Certificate.id)
                           .where(Certificate.contract_number.in_(chunk)).tuples())
                Revision.insert_many([{
                    "certificate": ids[n], "number": r.number, "kind": r.kind,
                    "supersedes": r.supersedes, "canonical": bytes(r.canonical),
                    "signature": bytes(r.signature), "signing_key": r.signing_key_id,
                    "arrived_at": r.arrived_at} for n in chunk for r in template]).execute()
                OrganisationCertificate.insert_many([{
                    "organisation": kakuda.id, "certificate": ids[n], "added_at": now,
                    "certificate_updated_at": now, "added_by": user.id} for n in chunk]).execute()
                ObligeeContract.insert_many([{
                    "organisation": kakuda.id, "certificate": ids[n],
                    # one in ten disagrees on the amount, so some checks fail
                    "contract_amount": 55_000_000 if i % 10 else 60_000_000,
                    "contract_date": dt.date(2026, 3, 25), "period_start": dt.date(2026, 4, 1),
                    "period_end": dt.date(2026, 12, 25), "work_name": source.work_name,
                    "recorded_at": now, "recorded_by": f"user:{user.id}", "checked_revision": 2,
                    "failed_checks": "" if i % 10 else "contract_amount_matches"}
                    for i, n in enumerate(chunk)]).execute()
    return app, kakuda.id, user.id, numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--certificates", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()

    from registry.contracts import queue
    from registry.contracts.records import (check_run, current_document, recheck_certificate,
                                            terms_of)
    from registry.contracts.models import ObligeeContract
    from registry.contracts.rules import run_checks
    from registry.db import database, write_transaction
    from registry.models import Certificate

    with tempfile.TemporaryDirectory(prefix="dsure-bench-desk-") as workdir:
        app, organisation_id, user_id, numbers = build(Path(workdir), args.certificates)
        with app.app_context():
            database.connect(reuse_if_open=True)
            cert = Certificate.get(Certificate.contract_number == numbers[0])
            document = current_document(cert)
            terms = terms_of(ObligeeContract.get(ObligeeContract.certificate == cert.id))
            assert len(run_checks(document, terms)) == 6
            results = {
                "run_checks_ms": per_call_ms(lambda: run_checks(document, terms), args.rounds),
                "check_run_with_database_ms": per_call_ms(
                    lambda: check_run(organisation_id=organisation_id, certificate=cert),
                    max(1, args.rounds // 10)),
            }

            def recheck():
                with write_transaction():
                    recheck_certificate(cert, document)
            results["recheck_in_ingest_transaction_ms"] = per_call_ms(recheck, max(1, args.rounds // 10))
            today = dt.date(2026, 12, 1)
            counts = queue.counts(organisation_id=organisation_id, user_id=user_id, today=today)
            results["queue_counts_ms"] = per_call_ms(
                lambda: queue.counts(organisation_id=organisation_id, user_id=user_id, today=today), 5)
            results.update(certificates=args.certificates, counts=counts.__dict__)
            database.close()
        database.close_all()
    for name, value in results.items():
        print(f"{name:36} {value:.4f}" if isinstance(value, float) else f"{name:36} {value}")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "desk.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
