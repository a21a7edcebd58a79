"""The method: after a warm-up of the same endpoint, rounds that alternate the endpoint
with /healthz and the bare Flask app (E H B, then B H E, …), so slow drifts of a shared
machine fall on all three alike; ratios are taken per round, then their median."""
from __future__ import annotations

from . import load
from .endpoints import Endpoint, argon2id, bare, healthz
from .stats import median_ratio, spread, summary


def measure(endpoint: Endpoint, *, portal_port: int, bare_port: int, rounds: int,
            seconds: float, threads: int, warmup: float) -> dict:
    warm = load.run(portal_port, endpoint.next_request, threads=threads, seconds=warmup)
    phases = {"endpoint": [], "healthz": [], "bare": []}
    plan = [("endpoint", portal_port, endpoint.next_request), ("healthz", portal_port, healthz),
            ("bare", bare_port, bare)]
    if endpoint.argon2id_bound:
        phases["argon2id"] = []
        plan.insert(1, ("argon2id", bare_port, argon2id))
    for r in range(rounds):
        for name, port, make in (plan if r % 2 == 0 else plan[::-1]):
            phases[name].append(load.run(port, make, threads=threads, seconds=seconds))
    rps = {name: [p.figures()["rps"] for p in runs] for name, runs in phases.items()}
    errors = warm.errors + sum(p.errors for runs in phases.values() for p in runs)
    first_error = next((p.first_error for p in [warm, *sum(phases.values(), [])] if p.first_error), None)
    per_round = [e / h if e is not None and h else None for e, h in zip(rps["endpoint"], rps["healthz"])]
    return {
        "label": endpoint.label, "rounds": rounds, "seconds_per_phase": seconds,
        "threads": threads, "warmup_requests": len(warm.latencies),
        **{name: dict(_pooled(runs), rps_per_round=rps[name]) for name, runs in phases.items()},
        "ratio_healthz": median_ratio(rps["endpoint"], rps["healthz"]),
        "ratio_bare": median_ratio(rps["endpoint"], rps["bare"]),
        "ratio_argon2id": median_ratio(rps["endpoint"], rps["argon2id"]) if "argon2id" in rps else None,
        "ratio_healthz_round_spread": spread(per_round),
        "errors": errors, "first_error": first_error,
    }


def _pooled(runs: list[load.Phase]) -> dict:
    """p50 and p99 over every request of every round; rps as the median round's."""
    latencies = [x for p in runs for x in p.latencies]
    figures = summary(latencies, sum(p.wall for p in runs))
    rates = sorted(p.figures()["rps"] or 0 for p in runs)
    figures["rps"] = rates[len(rates) // 2] if rates else None
    return figures
