"""`audit verify` against reading the same rows plus SHA-256 of the same bytes.

bench/audit.py's ``measure(database_url)`` gives the figure when it has one; until then
(or when it is missing) the same figure is timed here over the world's own chain."""
from __future__ import annotations

import hashlib
import importlib
import time

BATCH = 10_000
# Below this many entries one walk takes a fraction of a second, which a shared machine
# moves by tens of percent: repeat, and keep the walk with the median ratio.
REPEAT_BELOW = 200_000
MAX_REPEATS = 7


def measure(database_url: str) -> dict:
    try:
        module = importlib.import_module("bench.audit")
    except ImportError:
        module = None
    once, source = ((module.measure, "bench.audit.measure") if getattr(module, "measure", None)
                    else (_fallback, "bench.harness.audit_figure"))
    walks = [once(database_url)]
    entries = walks[0].get("entries") or 0
    repeats = 1 if entries >= REPEAT_BELOW else min(MAX_REPEATS, max(1, REPEAT_BELOW // max(entries, 1)))
    walks += [once(database_url) for _ in range(repeats - 1)]
    ordered = sorted(walks, key=lambda w: w.get("ratio") or 0)
    return dict(ordered[len(ordered) // 2], source=source, repeats=repeats,
                ratios=[w.get("ratio") for w in walks])


def _rows():
    from registry.models import AuditEvent
    return (AuditEvent.select(AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.kind,
                              AuditEvent.actor, AuditEvent.organisation_code,
                              AuditEvent.contract_number, AuditEvent.details,
                              AuditEvent.prev_hash, AuditEvent.entry_hash)
            .order_by(AuditEvent.seq).tuples())


def _fallback(database_url: str) -> dict:
    from registry.audit.chain import chain_breaks
    from registry.db import database, open_database
    open_database(database_url)
    try:
        t0 = time.perf_counter()
        with database.atomic():
            entries = sum(1 for _ in _rows().iterator())
        read = time.perf_counter() - t0
        sha = _sha256_seconds()
        t0 = time.perf_counter()
        breaks = list(chain_breaks())
        verify = time.perf_counter() - t0
    finally:
        database.close_all()
    baseline = read + sha
    return {"entries": entries, "read_seconds": round(read, 3), "sha256_seconds": round(sha, 3),
            "baseline_seconds": round(baseline, 3), "verify_seconds": round(verify, 3),
            "ratio": round(verify / baseline, 3) if baseline else None, "breaks": len(breaks),
            "peak_rss_mib": None}


def _sha256_seconds() -> float:
    """SHA-256 of every entry's bytes, the bytes built outside the clock in batches so
    memory stays bounded at a million entries."""
    from registry.audit.encoding import entry_bytes
    from registry.db import database
    total, batch = 0.0, []

    def hash_batch():
        nonlocal total
        t0 = time.perf_counter()
        for body in batch:
            hashlib.sha256(body).hexdigest()
        total += time.perf_counter() - t0
        batch.clear()

    with database.atomic():
        for seq, at, kind, actor, org, contract, details, prev, _ in _rows().iterator():
            batch.append(entry_bytes(seq=seq, occurred_at=at, kind=kind, actor=actor,
                                     organisation_code=org, contract_number=contract,
                                     details=details, prev_hash=prev))
            if len(batch) == BATCH:
                hash_batch()
    hash_batch()
    return total
