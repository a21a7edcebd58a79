"""Putting checkpoints where the database cannot rewrite them (DESIGN §11).

A checkpoint is due when the log has grown and the newest one is older than the interval.
``run`` makes it, writes it to the checkpoint directory as ``<head seq>.json`` (the exact
bytes that were signed), asks the TSA for an RFC 3161 token and keeps it in the database
and as ``<head seq>.tsr``. Whatever fails outside the database — the directory, the TSA —
is retried on the next run and recorded in the audit trail; it never undoes a write.

The web app calls ``run`` after a response when ``schedule.due()`` (a check of two
process-local values, no query); a timer calls it through ``audit checkpoint``.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import tempfile
from pathlib import Path

import peewee as pw

from . import chain as audit, checkpoints, timestamps
from .checkpoints import (Checkpoint, PlatformSigner, created_time, file_bytes, newest,
                          write_checkpoint)
from ..clock import Clock, isoformat, utcnow
from ..db import write_transaction
from ..models import AuditEvent

log = logging.getLogger(__name__)

FAILURE_KINDS = ("checkpoint.file_failed", "checkpoint.timestamp_failed")
RETRY_WINDOW = 20  # how many recent checkpoints each run looks at for a missing file or token


@dataclasses.dataclass(frozen=True)
class ProofSettings:
    interval: float = 600
    directory: Path | None = None
    tsa_url: str | None = None
    tsa_timeout: float = 10.0
    tsa_ca_file: Path | None = None
    tsa_required: bool = False  # audit verify fails, not just notes, a checkpoint without token


class Schedule:
    """When this process should next look for a due checkpoint. Appends mark activity;
    the interval is counted from the newest checkpoint this process has seen."""

    def __init__(self):
        self.active = False
        self.next_look: dt.datetime | None = None  # None: not known yet, look now

    def note_activity(self, event=None, previous=None) -> None:
        self.active = True

    def due(self, now: dt.datetime | None = None) -> bool:
        return self.active and (self.next_look is None or (now or utcnow()) >= self.next_look)

    def looked(self, last: Checkpoint | None, interval: float, *, still_active: bool) -> None:
        self.active = self.active or still_active
        self.next_look = created_time(last) + dt.timedelta(seconds=interval) if last else None


schedule = Schedule()
audit.on_append(schedule.note_activity)

_configured: tuple[PlatformSigner, ProofSettings] | None = None


def configure(signer: PlatformSigner | None, settings: ProofSettings = ProofSettings()) -> None:
    """Set (or with None, clear) the key and settings that ``run_configured`` uses."""
    global _configured
    _configured = (signer, settings) if signer is not None else None
    schedule.next_look = None


@dataclasses.dataclass(frozen=True)
class Gap:
    """A checkpoint left without its file or its token by this run."""

    kind: str  # one of FAILURE_KINDS
    head_seq: int
    reason: str

    def __str__(self) -> str:
        return f"checkpoint {self.head_seq}: {self.reason}"


@dataclasses.dataclass
class RunResult:
    made: Checkpoint | None = None
    files_written: list[int] = dataclasses.field(default_factory=list)
    tokens_fetched: list[int] = dataclasses.field(default_factory=list)
    gaps: list[Gap] = dataclasses.field(default_factory=list)


class FileConflict(Exception):
    """The directory already holds other bytes under the checkpoint's name."""


def write_file(directory: Path, name: str, data: bytes) -> bool:
    """Write ``data`` as ``directory/name`` atomically and never over another file:
    a temp file, fsync, then a hard link (fails if the name exists) or, where the file
    system has no links, a rename. False when the same bytes are already there."""
    target = directory / name
    if target.exists():
        if target.read_bytes() == data:
            return False
        raise FileConflict(f"{target} already exists with other content")
    directory.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temp, target)
        except FileExistsError:
            return write_file(directory, name, data)  # a concurrent run wrote it: compare
        except OSError:  # no hard links here (some network and object-store mounts)
            os.replace(temp, target)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    _fsync_directory(directory)
    return True


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # not every file system syncs a directory; the file itself is synced
    finally:
        os.close(fd)


def _recent(limit: int) -> list[Checkpoint]:
    return list(Checkpoint.select().order_by(Checkpoint.id.desc()).limit(limit))[::-1]


def _publish_file(cp: Checkpoint, directory: Path, result: RunResult) -> bool:
    """True when ``<seq>.json`` holds this checkpoint's bytes (written now or before)."""
    try:
        if write_file(directory, f"{cp.head_seq}.json", file_bytes(cp)):
            result.files_written.append(cp.head_seq)
        return True
    except FileConflict as exc:
        if _same_head(directory / f"{cp.head_seq}.json", cp):
            return False  # two checkpoints of one head (earlier releases): the first stands
        result.gaps.append(Gap("checkpoint.file_failed", cp.head_seq, str(exc)))
    except OSError as exc:
        result.gaps.append(Gap("checkpoint.file_failed", cp.head_seq,
                               f"cannot write to the checkpoint directory: {exc.strerror or exc}"))
    return False


def _same_head(path: Path, cp: Checkpoint) -> bool:
    try:
        return checkpoints.parse(path.read_bytes())["head_hash"] == cp.head_hash
    except (OSError, ValueError):
        return False


def _timestamp(cp: Checkpoint, settings: ProofSettings, clock: Clock,
               result: RunResult) -> timestamps.CheckpointTimestamp | None:
    """Fetch and keep a token for ``cp``; None when the TSA failed."""
    try:
        token = timestamps.request_token(file_bytes(cp), settings.tsa_url,
                                         timeout=settings.tsa_timeout)
    except timestamps.TsaError as exc:
        result.gaps.append(Gap("checkpoint.timestamp_failed", cp.head_seq, str(exc)))
        return None
    try:
        with write_transaction():
            kept = timestamps.CheckpointTimestamp.create(
                checkpoint=cp.id, token=token.der, nonce=str(token.nonce),
                gen_time=isoformat(token.gen_time), received_at=isoformat(clock()))
    except pw.IntegrityError:  # another instance kept its token for it first: that one stands
        return timestamps.token_for(cp)
    result.tokens_fetched.append(cp.head_seq)
    return kept


def _publish(settings: ProofSettings, clock: Clock, limit: int, result: RunResult) -> None:
    recent = _recent(limit)
    tokens = timestamps.tokens_for(recent)
    tsa_working = bool(settings.tsa_url)
    for cp in recent:
        in_directory = settings.directory is not None and _publish_file(cp, settings.directory, result)
        token = tokens.get(cp.id)
        if token is None and tsa_working:
            token = _timestamp(cp, settings, clock, result)
            tsa_working = token is not None  # one failed request per run is enough
        if token is not None and in_directory:
            try:
                write_file(settings.directory, f"{cp.head_seq}.tsr", bytes(token.token))
            except (FileConflict, OSError) as exc:
                result.gaps.append(Gap("checkpoint.file_failed", cp.head_seq, str(exc)))


def _record_failures(result: RunResult, clock: Clock) -> None:
    """One audit event per run that left a gap, unless the log's newest entry already
    says so: an idle platform with its TSA down must not make a checkpoint (and a new
    failure) at every run."""
    if not result.gaps:
        return
    head = AuditEvent.select(AuditEvent.kind).order_by(AuditEvent.seq.desc()).first()
    if head is not None and head.kind in FAILURE_KINDS:
        return
    first = result.gaps[0]
    audit.record(first.kind, actor="system", clock=clock,
                 details={"head_seq": first.head_seq, "reason": first.reason[:500],
                          "checkpoints_left_without": len({g.head_seq for g in result.gaps})})


def run(*, signer: PlatformSigner, settings: ProofSettings, reason: str = "interval",
        clock: Clock = utcnow, limit: int = RETRY_WINDOW) -> RunResult:
    """Make a checkpoint if one is due (``interval``: after the interval; ``manual``:
    whenever the log has grown), then copy out and time-stamp the recent ones that are
    not yet."""
    schedule.active = False  # appends from here on count towards the next checkpoint
    made = write_checkpoint(signer=signer, reason=reason, clock=clock,
                            interval=settings.interval if reason == "interval" else None)
    last = made or newest()
    head = AuditEvent.select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).first()
    schedule.looked(last, settings.interval,
                    still_active=head is not None and (last is None or last.head_seq < head.seq))
    result = RunResult(made=made)
    if settings.directory is not None or settings.tsa_url:
        _publish(settings, clock, limit, result)
        for gap in result.gaps:
            log.warning("audit checkpoint not published: %s", gap)
        _record_failures(result, clock)
    return result


def run_configured() -> RunResult | None:
    """``run`` with the configured key and settings; never raises (the write that
    triggered it is already committed, and the next run retries)."""
    if _configured is None:
        return None
    signer, settings = _configured
    try:
        return run(signer=signer, settings=settings)
    except Exception:  # noqa: BLE001 - a background duty: log it, the timer run will retry
        log.exception("the automatic audit checkpoint failed")
        return None
