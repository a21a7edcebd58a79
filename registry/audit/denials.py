"""Refused access in the audit trail (ASVS 16.3.2): ``access.denied`` for a 403 or 404 on
a protected page, a refused CSRF token, or a 429.

Who (actor, or ``anonymous``, and the address), what (the URL's class: the endpoint and
its rule, never the URL itself, which may carry numbers or keys) and why.

A flood must not grow the trail without bound, so each source (a signed-in actor, or an
anonymous address) has at most ``per_source`` entries per window, and the platform as a
whole at most ``overall``. What is left out is counted in the database, so every worker
shares the count, and the source's next entry carries it as ``suppressed``.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import peewee as pw

from .chain import record
from ..clock import Clock, utcnow
from ..db import write_transaction
from ..models import AuditEvent, BaseModel
from ..safe_text import shown

KIND = "access.denied"
REASONS = ("forbidden", "not_found", "csrf", "rate_limited")
REASON_LABELS = {"forbidden": "権限なし", "not_found": "対象なし(他組織・権限外を含む)",
                 "csrf": "フォームの有効期限切れ・不正な送信", "rate_limited": "回数制限"}
_ALL = "*"   # the window of the whole platform


class DenialWindow(BaseModel):
    """How many denials of ``source`` the current window has recorded, and how many it
    left out."""

    source = pw.CharField(max_length=200, unique=True)  # "user:12", "ip:203.0.113.9", "*"
    window_start = pw.DateTimeField()
    recorded = pw.IntegerField(default=0)
    suppressed = pw.IntegerField(default=0)


MODELS = [DenialWindow]


@dataclasses.dataclass(frozen=True)
class DenialLimits:
    per_source: int = 20
    overall: int = 1000
    window: dt.timedelta = dt.timedelta(minutes=10)


@dataclasses.dataclass(frozen=True)
class Denial:
    reason: str                     # one of REASONS
    endpoint: str                   # "audit.trail": the URL's class
    rule: str                       # "/certificates/<contract_number>"
    method: str
    status: int
    actor: str = "anonymous"        # "user:12", "api-client:3" or "anonymous"
    address: str | None = None
    organisation_code: str | None = None   # the actor's: their auditors read it

    @property
    def source(self) -> str:
        return self.actor if self.actor != "anonymous" else f"ip:{self.address or '?'}"


def _take(source: str, limit: int, window: dt.timedelta, now: dt.datetime) -> tuple[bool, int]:
    """Count one denial of ``source``: (recorded?, how many were left out before it)."""
    row = DenialWindow.get_or_none(DenialWindow.source == source)
    if row is None:
        # Sources whose window ended with nothing left to tell are forgotten, so the
        # table holds only what is being refused now.
        DenialWindow.delete().where(DenialWindow.window_start <= now - window,
                                    DenialWindow.suppressed == 0).execute()
        DenialWindow.create(source=source, window_start=now, recorded=1)
        return True, 0
    if row.window_start <= now - window:
        carried = row.suppressed
        row.window_start, row.recorded, row.suppressed = now, 1, 0
        row.save()
        return True, carried
    if row.recorded < limit:
        row.recorded += 1
        row.save()
        return True, 0
    row.suppressed += 1
    row.save()
    return False, 0


def record_denial(denial: Denial, *, limits: DenialLimits = DenialLimits(),
                  clock: Clock = utcnow) -> AuditEvent | None:
    """Append ``access.denied`` unless its source or the platform has had its share of
    the window; None when it was only counted."""
    if denial.reason not in REASONS:
        raise ValueError(f"reason must be one of {REASONS}")
    with write_transaction():
        now = clock()
        taken, suppressed = _take(shown(denial.source, 190), limits.per_source, limits.window, now)
        if not taken:
            return None
        overall, suppressed_overall = _take(_ALL, limits.overall, limits.window, now)
        if not overall:
            _give_back(shown(denial.source, 190), suppressed)
            return None
        details = {"reason": denial.reason, "endpoint": shown(denial.endpoint),
                   "rule": shown(denial.rule, 200), "method": shown(denial.method, 16),
                   "status": denial.status, "address": shown(denial.address or "", 64)}
        if suppressed:
            details["suppressed"] = suppressed
        if suppressed_overall:
            details["suppressed_overall"] = suppressed_overall
        return record(KIND, actor=denial.actor, organisation_code=denial.organisation_code,
                      details=details, clock=clock)


def _give_back(source: str, carried: int) -> None:
    """The platform's share was used up after the source's was counted: the denial is
    left out after all, and what the source carried stays to be told next time."""
    row = DenialWindow.get(DenialWindow.source == source)
    row.recorded -= 1
    row.suppressed += carried + 1
    row.save()
