"""How long `audit verify` takes over the audit log, next to reading the same rows and
SHA-256 of the same bytes (issue 11: at 1M entries ≤ 1.2×, peak RSS ≤ 100 MiB).

    .venv/bin/python bench/audit.py [--entries 1000000] [--database-url URL] [--keep PATH]

builds a chained log of N entries (hashes computed here, rows written in batches; not
record() a million times) in a temporary SQLite file, or in the (empty) database at
--database-url, then prints ``measure()``'s figures. Other code calls

    from bench.audit import measure
    measure("postgresql://...")   # an EXISTING database, left as it was

which times, in the same process and in alternating rounds (median of each):

  read      the rows streamed as the log's rows (registry.audit.streaming), each row's nine
            fields unpacked and nothing else
  sha256    hashlib.sha256 over every entry's bytes, the bytes built outside the clock
            (a batch at a time, so memory stays bounded)
  verify    registry.audit.chain.chain_breaks(): the chain part of `audit verify` (the
            same stream, each entry's bytes built and hashed, chain_walk.py)
  split     chain_breaks(processes=2): the same walk in two parts at once, one in a
            forked process (chain_split.py); its answer must equal verify's

and ratio = verify ÷ (read + sha256), ratio_split = split ÷ (read + sha256): wall clock,
so it shows a gain only when a second core is free. Peak memory is a child process's VmHWM: the child
walks the chain (peak_rss_mib), then runs the whole of `audit verify`'s registry
function, integrity.verify_all, which also checks every revision (verify_all_*).

Measured 2026-12-03 at 1,000,000 entries (Python 3.11.7, SQLite file 389 MB, PostgreSQL
15 on the same host), on 2 vCPUs shared with four other engineers' runs (load average
8-11 throughout, so every figure is 2-4x what a quiet machine gives; the ratios hold
better than the seconds, since the phases alternate):

               read     sha256   verify   ratio   peak RSS (walk / all of verify_all)
  SQLite       4.92 s   1.46 s   8.54 s   1.34x   57.6 / 57.6 MiB
  PostgreSQL   4.56 s   1.58 s   9.03 s   1.47x   60.0 / 60.0 MiB

Before (chain_breaks reading through peewee) the same file gave verify 11.8x of sha256
alone and a peewee read 6.4x (2026-11-24, a quieter machine); verify less read is now
2.5-2.8x sha256.
What is left over the baseline is building each entry's bytes in Python (six JSON string
quotes, one f-string, one UTF-8 encode: about 0.7 µs an entry on a quiet core).

2026-12-03 (later), 200,000 entries, the same shared host at load average about 1
(µs an entry; peak RSS is the one-process walk's):

               read   sha256   verify   ratio   split (2 processes)   ratio_split
  SQLite       3.25   0.75     5.94     1.49    3.12                  0.78
  PostgreSQL   2.88   0.90     5.49     1.45    4.23                  1.12

and at 1,000,000 entries (peak RSS 58.6 / 60.7 MiB):

  SQLite       2.80   0.94     5.53     1.48    3.01                  0.81
  PostgreSQL   2.56   0.93     5.30     1.52    3.37                  0.96

With the PostgreSQL stream reading ahead (a second thread fetches while the walk
hashes; registry/audit/streaming.py), later the same day, 1,000,000 entries, a quiet host
(µs an entry):

               read   sha256   verify   ratio   split (2 processes)   ratio_split
  SQLite       1.58   0.53     3.12     1.48    1.62                  0.77
  PostgreSQL   1.50   0.56     2.32     1.13    2.24                  1.09

Other than that read-ahead, none of the one-process changes tried made the walk cheaper (chain_walk.py lists them
with their figures); the split only pays when the other core is free (at load average
5, with other runs on both cores, it gave 1.44-1.49 against 1.38 for one process).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import rfc8785  # noqa: E402

from registry.audit.chain import GENESIS, chain_breaks  # noqa: E402
from registry.audit.chain_walk import chain_rows  # noqa: E402
from registry.audit.encoding import entry_bytes  # noqa: E402
from registry.db import database, insert_rows, open_database  # noqa: E402
from registry.models import AuditEvent  # noqa: E402

# None of these is read back by the revision checks (revision.accepted, auth_key.reissued),
# so verify_all over a built log checks the chain and finds nothing else to hold it to.
KINDS = ["lookup.succeeded", "lookup.failed", "certificate.viewed", "evidence.exported",
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


def build(n: int, batch: int = 20_000) -> float:
    """Append n chained entries to the bound (empty) log; the seconds it took."""
    prev, rows = GENESIS, []
    started = time.perf_counter()
    with database.atomic():
        for seq in range(1, n + 1):
            fields = entry_fields(seq)
            fields["prev_hash"] = prev
            prev = fields["entry_hash"] = hashlib.sha256(entry_bytes(**fields)).hexdigest()
            rows.append(fields)
            if len(rows) == batch:
                insert_rows(AuditEvent, rows)
                rows = []
        insert_rows(AuditEvent, rows)
    return time.perf_counter() - started


def _read() -> int:
    """Every row, every field in hand: what any reader of the log does at least."""
    count = 0
    for rows in chain_rows():
        for seq, at, kind, actor, org, contract, details, prev, stored in rows:
            count += 1
    return count


def _sha256_seconds() -> float:
    total = 0.0
    sha256 = hashlib.sha256
    for rows in chain_rows():
        bodies = [entry_bytes(seq=seq, occurred_at=at, kind=kind, actor=actor,
                              organisation_code=org, contract_number=contract,
                              details=details, prev_hash=prev)
                  for seq, at, kind, actor, org, contract, details, prev, _ in rows]
        started = time.perf_counter()
        for body in bodies:
            sha256(body).hexdigest()
        total += time.perf_counter() - started
    return total


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _peak_rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _child(database_url: str) -> dict:
    """Run in a fresh process: the walk, then the whole of verify_all; peaks after each."""
    from registry.audit.integrity import verify_all
    open_database(database_url)
    seconds, breaks = _timed(lambda: list(chain_breaks()))
    walk = {"verify_seconds": seconds, "breaks": len(breaks), "peak_rss_mib": _peak_rss_mib()}
    seconds, (_, problems) = _timed(verify_all)
    database.close_all()
    return {**walk, "verify_all_seconds": seconds, "verify_all_problems": len(problems),
            "verify_all_peak_rss_mib": _peak_rss_mib()}


def _in_child(database_url: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", database_url], cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=3600)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(database_url: str, *, rounds: int = 3, processes: int = 2) -> dict:
    """The figures of `audit verify` over the log already in ``database_url``."""
    open_database(database_url)
    try:
        entries = _read()  # also warms the caches for the timed rounds
        reads, verifies, splits, breaks = [], [], [], []
        for _ in range(rounds):
            reads.append(_timed(_read)[0])
            seconds, found = _timed(lambda: list(chain_breaks()))
            verifies.append(seconds)
            seconds, split_found = _timed(lambda: list(chain_breaks(processes=processes)))
            splits.append(seconds)
            if split_found != found:
                raise RuntimeError(f"the split walk found {split_found}, the walk {found}")
            breaks = found
        sha = _sha256_seconds()
    finally:
        database.close_all()
    child = _in_child(database_url)
    read, verify = statistics.median(reads), statistics.median(verifies)
    split = statistics.median(splits)
    baseline = read + sha
    return {"entries": entries, "rounds": rounds, "read_seconds": round(read, 3),
            "sha256_seconds": round(sha, 3), "baseline_seconds": round(baseline, 3),
            "verify_seconds": round(verify, 3),
            "ratio": round(verify / baseline, 3) if baseline else None,
            "processes": processes, "verify_split_seconds": round(split, 3),
            "ratio_split": round(split / baseline, 3) if baseline else None,
            "breaks": len(breaks), "peak_rss_mib": round(child["peak_rss_mib"], 1),
            "child_verify_seconds": round(child["verify_seconds"], 3),
            "verify_all_seconds": round(child["verify_all_seconds"], 3),
            "verify_all_problems": child["verify_all_problems"],
            "verify_all_peak_rss_mib": round(child["verify_all_peak_rss_mib"], 1)}


def _empty_database(url: str | None, tmp: str) -> str:
    from registry.schema import create_schema
    url = url or f"sqlite:///{os.path.join(tmp, 'bench.sqlite3')}"
    open_database(url)
    create_schema()
    if AuditEvent.select().exists():
        raise SystemExit(f"{url}: the audit log is not empty; measure() it instead of building")
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="build the log here (it must be empty)")
    parser.add_argument("--keep", help="the SQLite file to build in (kept afterwards)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2,
                        help="for the split walk's wall-clock figure (chain_split.py)")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = _empty_database(args.database_url or (args.keep and f"sqlite:///{args.keep}"), tmp)
        print(f"built {args.entries:,} entries in {build(args.entries):.1f} s", flush=True)
        database.close_all()
        figures = measure(url, rounds=args.rounds, processes=args.processes)
    print(f"python {sys.version.split()[0]}, {url.split(':')[0]}, {figures['entries']:,} entries")
    for key in ("read_seconds", "sha256_seconds", "baseline_seconds", "verify_seconds",
                "verify_split_seconds"):
        print(f"  {key:<18} {figures[key]:8.3f} s  "
              f"{figures[key] / figures['entries'] * 1e6:6.2f} µs/entry")
    print(f"  ratio {figures['ratio']} (target ≤ 1.2); wall-clock with "
          f"{figures['processes']} processes {figures['ratio_split']}")
    print(f"  peak RSS {figures['peak_rss_mib']} MiB "
          f"walking, {figures['verify_all_peak_rss_mib']} MiB for all of verify_all "
          f"(target ≤ 100)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
