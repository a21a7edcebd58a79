"""The issue's Targets table from one run's results: figure, measured, target, pass/fail."""
from __future__ import annotations

import dataclasses
import operator

from .stats import change

AT_MOST, AT_LEAST = ("≤", operator.le), ("≥", operator.ge)
TARGETS = {   # key: (label, comparison, target)
    "list_first_scaling": ("list page 1 p50, 1M ÷ 10k listed", AT_MOST, 1.3),
    "list_last_scaling": ("list last page p50, 1M ÷ 10k listed", AT_MOST, 1.3),
    "certificate": ("certificate page ÷ /healthz (req/s)", AT_LEAST, 0.5),
    "change_put": ("change PUT ÷ /healthz (req/s)", AT_LEAST, 0.3),
    "staff_lookup": ("staff lookup ÷ (workers × 1000 / argon2id ms)", AT_LEAST, 0.85),
    "api_lookup": ("obligee API lookup ÷ (workers × 1000 / argon2id ms)", AT_LEAST, 0.85),
    "audit_verify": ("audit verify ÷ (reading the rows + SHA-256)", AT_MOST, 1.2),
    "peak_rss": ("worker peak RSS (MiB)", AT_MOST, 100.0),
    "spread": ("the same ratios vs the previous run (largest change)", AT_MOST, 0.15),
}
# The figures that are ratios, compared with the previous run for the spread row.
RATIOS = ("certificate", "change_put", "staff_lookup", "api_lookup", "audit_verify")


@dataclasses.dataclass(frozen=True)
class Row:
    key: str
    engine: str
    size: str
    measured: float | None
    note: str = ""

    @property
    def label(self) -> str:
        return TARGETS[self.key][0]

    @property
    def target(self) -> str:
        (sign, _), value = TARGETS[self.key][1], TARGETS[self.key][2]
        return f"{sign} {value:.0%}" if self.key == "spread" else f"{sign} {value:g}"

    @property
    def verdict(self) -> str:
        if self.measured is None:
            return "n/a"
        (_, compare), value = TARGETS[self.key][1], TARGETS[self.key][2]
        return "pass" if compare(abs(self.measured) if self.key == "spread" else self.measured, value) else "FAIL"

    def shown(self) -> str:
        if self.measured is None:
            return "—"
        return f"{self.measured:+.1%}" if self.key == "spread" else f"{self.measured:.3g}"

    def as_json(self) -> dict:
        return {"figure": self.label, "key": self.key, "engine": self.engine, "size": self.size,
                "measured": self.measured, "target": self.target, "result": self.verdict,
                "note": self.note}


def lookup_ratio(world: dict, name: str) -> float | None:
    """Lookups per second against what argon2id alone allows the workers: the bare app's
    /argon2id measured in the same rounds (that is workers × 1000 / argon2id ms, under
    the same load), else the formula with argon2id timed in the bench's own process."""
    measured = world["endpoints"].get(name, {})
    if measured.get("ratio_argon2id") is not None:
        return measured["ratio_argon2id"]
    return formula_lookup_ratio(world, name)


def formula_lookup_ratio(world: dict, name: str) -> float | None:
    rps = world["endpoints"].get(name, {}).get("endpoint", {}).get("rps")
    ceiling = world["workers"] * 1000 / world["argon2id_ms"] if world.get("argon2id_ms") else None
    return round(rps / ceiling, 4) if rps and ceiling else None


def ratios_of(world: dict) -> dict[str, float | None]:
    eps = world["endpoints"]
    return {"certificate": eps.get("certificate", {}).get("ratio_healthz"),
            "change_put": eps.get("change_put", {}).get("ratio_healthz"),
            "staff_lookup": lookup_ratio(world, "staff_lookup"),
            "api_lookup": lookup_ratio(world, "api_lookup"),
            "audit_verify": (world.get("audit") or {}).get("ratio")}


def rows(worlds: list[dict], previous: list[dict] | None = None) -> list[Row]:
    out = []
    for engine in dict.fromkeys(w["engine"] for w in worlds):
        mine = {w["size"]: w for w in worlds if w["engine"] == engine}
        out += _scaling_rows(engine, mine)
        for size, world in sorted(mine.items()):
            label = world["size_label"]
            ratios = ratios_of(world)
            for key in RATIOS:
                out.append(Row(key, engine, label, ratios[key], _note(key, world)))
            out.append(Row("peak_rss", engine, label, world.get("peak_rss_mib")))
            out.append(_spread_row(engine, world, ratios, previous or []))
    return out


def _note(key: str, world: dict) -> str:
    if key == "audit_verify":
        audit = world.get("audit") or {}
        split = (f"; in {audit['processes']} processes {audit['ratio_split']}"
                 if audit.get("ratio_split") else "")
        return f"{audit.get('entries', 0):,} entries, median of {audit.get('repeats', 1)}{split}"
    if key in ("staff_lookup", "api_lookup"):
        formula = formula_lookup_ratio(world, key)
        return (f"vs bare /argon2id in the same rounds; by formula ({world['workers']} × 1000 / "
                f"{world['argon2id_ms']} ms in-process) {formula}")
    return ""


def _scaling_rows(engine: str, by_size: dict[int, dict]) -> list[Row]:
    out = []
    for key, name in (("list_first_scaling", "list_first"), ("list_last_scaling", "list_last")):
        p50 = {size: w["endpoints"].get(name, {}).get("endpoint", {}).get("p50_ms")
               for size, w in by_size.items()}
        small, large = p50.get(10_000), p50.get(1_000_000)
        if small and large:
            out.append(Row(key, engine, "1m/10k", round(large / small, 3),
                           f"p50 {large:.1f} ms at 1M, {small:.1f} ms at 10k"))
        else:
            seen = ", ".join(f"{v:.1f} ms at {by_size[s]['size_label']}" for s, v in sorted(p50.items()) if v)
            out.append(Row(key, engine, "/".join(w["size_label"] for w in by_size.values()), None,
                           f"p50 {seen}; 1M not run" if large is None else f"p50 {seen}; 10k not run"))
    return out


def _spread_row(engine: str, world: dict, ratios: dict, previous: list[dict]) -> Row:
    before = next((w for w in previous if w["engine"] == engine and w["size"] == world["size"]), None)
    if before is None:
        return Row("spread", engine, world["size_label"], None, "no previous run in bench/out/")
    old = ratios_of(before)
    changes = {k: change(ratios[k], old[k]) for k in RATIOS}
    known = {k: v for k, v in changes.items() if v is not None}
    if not known:
        return Row("spread", engine, world["size_label"], None, "nothing to compare")
    worst = max(known, key=lambda k: abs(known[k]))
    note = ", ".join(f"{k} {v:+.1%}" for k, v in known.items())
    return Row("spread", engine, world["size_label"], known[worst], note)


def table(rows_: list[Row]) -> str:
    header = ("figure", "engine", "size", "measured", "target", "result", "note")
    lines = [header] + [(r.label, r.engine, r.size, r.shown(), r.target, r.verdict, r.note)
                        for r in rows_]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    text = []
    for n, line in enumerate(lines):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(line[:-1])] + [line[-1]]
        text.append("  ".join(cells).rstrip())
        if n == 0:
            text.append("  ".join("-" * w for w in widths) + "  ----")
    return "\n".join(text)


def endpoint_lines(world: dict) -> list[str]:
    """The raw figures behind the ratios, one line per endpoint."""
    lines = [f"{world['engine']} {world['size_label']}: {world['workers']} workers, "
             f"{world['threads']} client threads, argon2id {world['argon2id_ms']} ms"]
    for name, e in world["endpoints"].items():
        ep, hz, bare = e["endpoint"], e["healthz"], e["bare"]
        ceiling = (f" | bare /argon2id {e['argon2id']['rps']} req/s ÷argon2id {e['ratio_argon2id']}"
                   if e.get("argon2id") else "")
        lines.append(f"  {e['label']:<20} {ep['rps']:>8} req/s  p50 {ep['p50_ms']} ms  p99 {ep['p99_ms']} ms"
                     f" | /healthz {hz['rps']} req/s | bare {bare['rps']} req/s"
                     f" | ÷healthz {e['ratio_healthz']}  ÷bare {e['ratio_bare']}{ceiling}"
                     f"  errors {e['errors']}" + (f" ({e['first_error']})" if e["errors"] else ""))
    return lines
