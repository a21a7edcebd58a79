"""What each ``audit verify`` found, so the auditors' page can show the chain's state
without re-walking a million entries on every request."""
from __future__ import annotations

import json

import peewee as pw

from ..clock import Clock, isoformat, utcnow
from ..models import BaseModel


class VerificationRun(BaseModel):
    ran_at = pw.CharField(max_length=40)        # UTC text, like AuditEvent.occurred_at
    entries = pw.BigIntegerField()
    ok = pw.BooleanField()
    first_problem = pw.TextField(null=True)
    problems = pw.TextField()                   # JSON list of every problem reported
    checkpoints = pw.TextField()                # JSON list of the checkpoint heads checked


MODELS = [VerificationRun]


def record_run(*, entries: int, problems: list[str], checkpoint_heads: list[dict] | None = None,
               clock: Clock = utcnow) -> VerificationRun:
    return VerificationRun.create(
        ran_at=isoformat(clock()), entries=entries, ok=not problems,
        first_problem=problems[0] if problems else None,
        problems=json.dumps(problems, ensure_ascii=False),
        checkpoints=json.dumps(checkpoint_heads or [], ensure_ascii=False))


def latest_run() -> VerificationRun | None:
    return VerificationRun.select().order_by(VerificationRun.id.desc()).first()
