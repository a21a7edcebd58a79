"""Revision semantics (DESIGN §4): which revisions are visible, why others are hidden,
what a correction or change cancellation may name, and the certificate's status."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Protocol, Sequence


class RevisionLike(Protocol):
    number: int
    kind: str
    supersedes: int | None
    arrived_at: dt.datetime


KIND_LABELS = {"new": "新規", "change": "変更", "correction": "訂正",
               "change_cancellation": "変更取消"}
# A change cancellation leaves the guarantee in force as it was before the change: its
# label must not read as if the guarantee itself were cancelled.
STATUS_LABELS = {"new": "有効(現行)", "change": "変更済", "correction": "訂正済",
                 "change_cancellation": "有効(変更取消)"}


def hidden_by(revisions: Sequence[RevisionLike]) -> dict[int, int]:
    """{hidden revision number: number of the revision that corrected or cancelled it}."""
    return {r.supersedes: r.number for r in revisions
            if r.kind in ("correction", "change_cancellation") and r.supersedes is not None}


def visible_revisions(revisions: Sequence[RevisionLike]) -> list:
    hidden = hidden_by(revisions)
    return [r for r in sorted(revisions, key=lambda r: r.number) if r.number not in hidden]


def current_revision(revisions: Sequence[RevisionLike]):
    return visible_revisions(revisions)[-1]


def _withdraws_a_change(target: RevisionLike, by_number: dict[int, RevisionLike]) -> bool:
    """A change, or a correction that (at any depth) replaced a change."""
    while target.kind == "correction" and target.supersedes in by_number:
        target = by_number[target.supersedes]
    return target.kind == "change"


def supersedes_problem(kind: str, supersedes: int | None,
                       revisions: Sequence[RevisionLike]) -> str | None:
    """Why a new revision of ``kind`` may not name ``supersedes``; None when it may."""
    if kind not in ("correction", "change_cancellation"):
        return None
    visible = {r.number: r for r in visible_revisions(revisions)}
    if supersedes not in visible:
        return f"revision {supersedes} is not a visible revision of this certificate"
    if kind == "change_cancellation" and not _withdraws_a_change(
            visible[supersedes], {r.number: r for r in revisions}):
        return f"revision {supersedes} is not a change (or a correction of one)"
    return None


@dataclasses.dataclass(frozen=True)
class Status:
    kind: str            # kind of the current revision
    label: str           # 有効(現行) / 変更済 / 訂正済 / 有効(変更取消)
    revision: int
    since: dt.datetime   # arrival of the current revision
    cancelled: int | None = None   # for a change cancellation: the revision it withdrew
    restored: int | None = None    # … and the visible revision whose terms stand again

    @property
    def summary(self) -> str:
        """現行: 第1版の内容(第2版の変更は取り消されました) for a change cancellation."""
        if self.cancelled is None:
            return self.label
        restored = f"第{self.restored}版の内容" if self.restored else "変更前の内容"
        return f"現行: {restored}(第{self.cancelled}版の変更は取り消されました)"


def status_of(revisions: Sequence[RevisionLike]) -> Status:
    current = current_revision(revisions)
    cancelled = restored = None
    if current.kind == "change_cancellation":
        # Name the change itself, not a correction of it that the cancellation named.
        by_number = {r.number: r for r in revisions}
        cancelled = current.supersedes
        while cancelled in by_number and by_number[cancelled].kind == "correction":
            cancelled = by_number[cancelled].supersedes
        earlier = [r.number for r in visible_revisions(revisions)
                   if cancelled is not None and r.number < cancelled]
        restored = earlier[-1] if earlier else None
    return Status(current.kind, STATUS_LABELS[current.kind], current.number, current.arrived_at,
                  cancelled, restored)
