"""How long `audit verify` takes over a million entries, next to plain SHA-256.

    .venv/bin/python bench/audit.py [--entries 1000000] [--keep DB] [--skip-reference]

Builds the chain in Python (hashes computed here, rows written with insert_many in
batches into a temporary SQLite file; record() is not called a million times), then
times, in the same run:

  sha256      hashlib.sha256 over every entry's canonical bytes, already in memory:
              the floor no verifier can beat
  read        reading the rows back through peewee, no hashing
  verify      registry.audit.chain.chain_breaks(): read, rebuild the bytes, hash, compare
  reference   the same walk with the bytes made by rfc8785.dumps (what entry_hash did
              before registry/audit/encoding.py); shows what the fast path saves

and prints each with its ratio to sha256.

Measured (1,000,000 entries, Python 3.11.7, SQLite file of 389 MB, 2-vCPU container,
build 58.9 s), 2026-11-24:

  sha256       0.52 s    1.0x   0.52 µs/entry
  read         3.33 s    6.4x   3.33 µs/entry
  verify       6.16 s   11.8x   6.16 µs/entry   (chain_breaks, fast canonical bytes)
  reference   21.86 s   41.9x  21.86 µs/entry   (chain_breaks with rfc8785.dumps per entry)

Building the bytes without rfc8785 made `audit verify` 3.5x faster; what is left is
mostly reading rows through peewee (3.3 of 6.2 s). The reference walk finding no break
also shows the fast bytes equal rfc8785's for all million entries.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rfc8785  # noqa: E402

from registry.audit import chain as audit  # noqa: E402
from registry.audit.chain import GENESIS, chain_breaks  # noqa: E402
from registry.audit.encoding import entry_bytes  # noqa: E402
from registry.db import database, open_database  # noqa: E402
from registry.models import AuditEvent  # noqa: E402
from registry.schema import create_schema  # noqa: E402

KINDS = ["lookup.succeeded", "lookup.failed", "certificate.viewed", "revision.accepted",
         "login.succeeded", "login.failed"]
ORGS = ["042081", "124249", "122246", "203629", "102083", "EJCS"]


def entry_fields(seq: int) -> dict:
    kind = KINDS[seq % len(KINDS)]
    number = f"2{seq % 10000:04d}-{seq % 999983:06d}"
    details = rfc8785.dumps({"reason": "bad_key", "view": "page", "revisions": [1, 2],
                             "note": "照会" if seq % 3 == 0 else "ok", "n": seq}).decode()
    return {"seq": seq,
            "occurred_at": f"2026-{1 + seq % 12:02d}-{1 + seq % 28:02d}T0{seq % 10}:00:00.{seq % 1000000:06d}Z",
            "kind": kind, "actor": f"user:{seq % 500}", "organisation_code": ORGS[seq % len(ORGS)],
            "contract_number": number if seq % 4 else None, "details": details}


def build(n: int, batch: int = 20_000) -> list[bytes]:
    """Insert n chained entries; return each entry's canonical bytes (for the baseline)."""
    prev = GENESIS
    canonical = []
    rows = []
    started = time.perf_counter()
    with database.atomic():
        for seq in range(1, n + 1):
            fields = entry_fields(seq)
            fields["prev_hash"] = prev
            body = entry_bytes(**fields)
            canonical.append(body)
            prev = fields["entry_hash"] = hashlib.sha256(body).hexdigest()
            rows.append(fields)
            if len(rows) == batch:
                AuditEvent.insert_many(rows).execute()
                rows = []
        if rows:
            AuditEvent.insert_many(rows).execute()
    print(f"built {n:,} entries in {time.perf_counter() - started:.1f} s")
    return canonical


def timed(label: str, fn) -> float:
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    print(f"  {label:<10} {elapsed:8.2f} s   {result}")
    return elapsed


def reference_entry_hash(**fields) -> str:
    return hashlib.sha256(rfc8785.dumps(fields)).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--keep", help="keep the SQLite file at this path")
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    path = args.keep or os.path.join(tmp.name, "bench.sqlite3")
    open_database(f"sqlite:///{path}")
    create_schema()
    canonical = build(args.entries)

    def sha256_only():
        for body in canonical:
            hashlib.sha256(body).hexdigest()
        return f"{len(canonical):,} digests"

    def read_only():
        query = (AuditEvent.select(AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.kind,
                                   AuditEvent.actor, AuditEvent.organisation_code,
                                   AuditEvent.contract_number, AuditEvent.details,
                                   AuditEvent.prev_hash, AuditEvent.entry_hash)
                 .order_by(AuditEvent.seq).tuples())
        with database.atomic():
            count = sum(1 for _ in query.iterator())
        return f"{count:,} rows"

    def verify():
        breaks = list(chain_breaks())
        return f"breaks={breaks}"

    def reference():
        original = audit.entry_hash
        audit.entry_hash = reference_entry_hash
        try:
            return f"breaks={list(chain_breaks())}"
        finally:
            audit.entry_hash = original

    print(f"python {sys.version.split()[0]}, sqlite file {path}, "
          f"{os.path.getsize(path) / 1e6:.0f} MB")
    base = timed("sha256", sha256_only)
    results = {"sha256": base, "read": timed("read", read_only), "verify": timed("verify", verify)}
    if not args.skip_reference:
        results["reference"] = timed("reference", reference)
    print("ratios to plain SHA-256 over the same bytes:")
    for label, seconds in results.items():
        print(f"  {label:<10} {seconds / base:6.1f}x   ({seconds / args.entries * 1e6:.2f} µs/entry)")
    print(json.dumps({k: round(v, 3) for k, v in results.items()}))
    database.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
