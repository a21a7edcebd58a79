"""access.denied in the trail, at most so many per source and window (registry.audit.denials)."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from registry.audit.chain import chain_breaks
from registry.audit.denials import Denial, DenialLimits, DenialWindow, record_denial
from registry.models import AuditEvent
from tests.factories import FixedClock

LIMITS = DenialLimits(per_source=3, overall=5, window=dt.timedelta(minutes=10))


def denial(actor="user:7", address="203.0.113.9", reason="forbidden") -> Denial:
    return Denial(reason=reason, endpoint="audit.trail", rule="/audit", method="GET",
                  status=403, actor=actor, address=address, organisation_code="042081")


def denied() -> list[dict]:
    return [dict(json.loads(e.details), actor=e.actor, org=e.organisation_code)
            for e in AuditEvent.select().where(AuditEvent.kind == "access.denied")
            .order_by(AuditEvent.seq)]


def test_a_denial_says_who_what_and_why_without_the_url(registry_db):
    record_denial(denial(), limits=LIMITS)
    [entry] = denied()
    assert entry == {"reason": "forbidden", "endpoint": "audit.trail", "rule": "/audit",
                     "method": "GET", "status": 403, "address": "203.0.113.9",
                     "actor": "user:7", "org": "042081"}


def test_a_flood_from_one_source_is_cut_and_the_rest_counted(registry_db):
    clock = FixedClock()
    for _ in range(10):
        record_denial(denial(), limits=LIMITS, clock=clock)
    assert len(denied()) == 3
    assert DenialWindow.get(DenialWindow.source == "user:7").suppressed == 7

    clock.advance(minutes=10)
    record_denial(denial(), limits=LIMITS, clock=clock)
    assert len(denied()) == 4 and denied()[-1]["suppressed"] == 7
    assert list(chain_breaks()) == []


def test_sources_are_counted_apart_and_anonymous_ones_by_address(registry_db):
    clock = FixedClock()
    for source in ({"actor": "user:7"}, {"actor": "anonymous", "address": "198.51.100.1"},
                   {"actor": "anonymous", "address": "198.51.100.2"}):
        for _ in range(2):
            record_denial(denial(**source), limits=LIMITS, clock=clock)
    # 6 asked, 5 recorded: the platform's own ceiling holds whatever the sources
    assert [(e["actor"], e["address"]) for e in denied()] == [
        ("user:7", "203.0.113.9"), ("user:7", "203.0.113.9"),
        ("anonymous", "198.51.100.1"), ("anonymous", "198.51.100.1"),
        ("anonymous", "198.51.100.2")]
    clock.advance(minutes=11)
    record_denial(denial(actor="anonymous", address="198.51.100.2"), limits=LIMITS, clock=clock)
    assert denied()[-1]["suppressed"] == 1 and denied()[-1]["suppressed_overall"] == 1


def test_what_the_caller_controls_is_escaped_and_cut(registry_db):
    record_denial(Denial(reason="not_found", endpoint="x", rule="/x", method="GET\x00",
                         status=404, actor="anonymous", address="\ud800" * 500),
                  limits=LIMITS)
    [entry] = denied()
    assert entry["method"] == "GET\\u0000" and entry["address"].startswith("\\ud800")
    assert len(entry["address"]) < 400


def test_only_known_reasons(registry_db):
    with pytest.raises(ValueError):
        record_denial(denial(reason="curious"), limits=LIMITS)
