"""`audit verify` against what lies outside the database (DESIGN §11): the checkpoint
directory and the RFC 3161 tokens.

Someone who can rewrite the database can delete the newest audit entries and the
checkpoint rows that name them; the chain that is left is self-consistent. The
directory still holds ``<seq>.json`` for the deleted head, signed by our key, so the
database is checked against every file there (the newest above all) without being told.

Files are read before the database snapshot is taken: a checkpoint written while we
verify names entries committed before it, which the later snapshot sees.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

from . import checkpoints, timestamps
from .checkpoints import Checkpoint, created_time, file_bytes
from ..clock import parse_isoformat
from ..models import AuditEvent

_FILE_NAME = re.compile(r"^(\d{1,18})\.json$")


@dataclasses.dataclass(frozen=True)
class CheckpointFile:
    seq: int
    data: bytes
    token: bytes | None  # the <seq>.tsr beside it


@dataclasses.dataclass
class Outside:
    """What was read outside the database, before the snapshot."""

    directory: Path | None = None
    files: list[CheckpointFile] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Findings:
    problems: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    heads: list[dict] = dataclasses.field(default_factory=list)  # for the verification record
    files: int = 0
    tokens: int = 0


def read_directory(directory: Path | None) -> Outside:
    outside = Outside(directory)
    if directory is None:
        return outside
    try:
        names = sorted((int(m.group(1)), entry.name) for entry in directory.iterdir()
                       if (m := _FILE_NAME.match(entry.name)))
        for seq, name in names:
            tsr = directory / f"{seq}.tsr"
            outside.files.append(CheckpointFile(seq, (directory / name).read_bytes(),
                                                tsr.read_bytes() if tsr.exists() else None))
    except OSError as exc:
        outside.problems.append(f"checkpoint directory {directory}: cannot be read "
                                f"({exc.strerror or exc})")
    return outside


def _documents(outside: Outside, trusted: bytes, findings: Findings) -> dict[int, dict]:
    """The files that are genuine checkpoints of ours, by head seq."""
    documents = {}
    for f in outside.files:
        label = f"checkpoint file {f.seq}.json"
        try:
            document = checkpoints.parse(f.data)
        except ValueError as exc:
            findings.problems.append(f"{label}: {exc}")
            continue
        problem = checkpoints.signature_problem(document, trusted_public_key=trusted)
        if problem is None and document["head_seq"] != f.seq:
            problem = f"it names audit entry {document['head_seq']}, not {f.seq}"
        if problem:
            findings.problems.append(f"{label}: {problem}")
            continue
        documents[f.seq] = document
    return documents


def _stored_hashes(seqs: list[int]) -> dict[int, str]:
    hashes = {}
    for i in range(0, len(seqs), 500):
        rows = (AuditEvent.select(AuditEvent.seq, AuditEvent.entry_hash)
                .where(AuditEvent.seq.in_(seqs[i:i + 500])).tuples())
        hashes.update(rows)
    return hashes


def _check_heads(documents: dict[int, dict], findings: Findings) -> None:
    """Every file's head is still in the chain; the newest one is checked first, so the
    first problem says what was cut off."""
    if not documents:
        return
    hashes = _stored_hashes(sorted(documents))
    last = AuditEvent.select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).scalar() or 0
    newest = max(documents)
    for seq in sorted(documents, reverse=True):
        label = f"checkpoint file {seq}.json"
        if seq not in hashes and last < seq:
            findings.problems.append(
                f"{label}: audit entry {seq} is missing (the log ends at entry {last}: "
                f"entries {last + 1} to {seq} at least were deleted)")
        elif seq not in hashes:
            findings.problems.append(f"{label}: audit entry {seq} is missing")
        elif hashes[seq] != documents[seq]["head_hash"]:
            findings.problems.append(f"{label}: audit entry {seq} has another hash "
                                     "(the log up to it was rewritten)")
        elif seq == newest:
            result = checkpoints.check(documents[seq])  # and how many entries lead to it
            if not result.ok:
                findings.problems.append(f"{label}: {result.problem}")
    findings.heads.append({"file": f"{newest}.json", "head_seq": newest,
                           "head_hash": documents[newest]["head_hash"],
                           "ok": not any(p.startswith(f"checkpoint file {newest}.json")
                                         for p in findings.problems)})


def _check_rows_exist(outside: Outside, documents: dict[int, dict], findings: Findings) -> None:
    """A file whose checkpoint row is gone: rows were deleted (the table refuses DELETE)."""
    stored: set[str] = set()
    seqs = sorted(documents)
    for i in range(0, len(seqs), 500):
        for (document,) in (Checkpoint.select(Checkpoint.document)
                            .where(Checkpoint.head_seq.in_(seqs[i:i + 500])).tuples()):
            stored.add(hashlib.sha256(document.encode("utf-8")).hexdigest())
    for f in outside.files:
        if f.seq in documents and hashlib.sha256(f.data).hexdigest() not in stored:
            findings.problems.append(f"checkpoint file {f.seq}.json: its checkpoint is missing "
                                     "from the database (checkpoint rows were deleted)")


def _check_file_tokens(outside: Outside, documents: dict[int, dict], roots, findings: Findings) -> None:
    for f in outside.files:
        if f.token is None or f.seq not in documents:
            continue
        findings.tokens += 1
        made = created_time(documents[f.seq])
        problem = timestamps.token_problem(f.token, f.data, roots=roots, not_before=made)
        if problem:
            findings.problems.append(f"checkpoint file {f.seq}.tsr: {problem}")


def _check_stored_tokens(roots, findings: Findings) -> None:
    query = (timestamps.CheckpointTimestamp.select(timestamps.CheckpointTimestamp, Checkpoint)
             .join(Checkpoint).order_by(Checkpoint.id))
    for token in query.iterator():
        cp = token.checkpoint
        findings.tokens += 1
        try:
            problem = timestamps.token_problem(
                bytes(token.token), file_bytes(cp), nonce=int(token.nonce), roots=roots,
                not_before=created_time(cp), not_after=parse_isoformat(token.received_at))
        except (TypeError, ValueError, AttributeError):
            problem = "its stored values cannot be read"
        if problem:
            findings.problems.append(f"checkpoint {cp.head_seq} (id {cp.id}): time-stamp token: {problem}")


def _without_token() -> list[int]:
    """Head seqs of checkpoints that should have a token and have none: every one since
    the first made by interval or time-stamped (earlier releases made none)."""
    first = (Checkpoint.select(Checkpoint.id)
             .where((Checkpoint.reason == "interval")
                    | Checkpoint.id.in_(timestamps.CheckpointTimestamp.select(
                        timestamps.CheckpointTimestamp.checkpoint)))
             .order_by(Checkpoint.id).scalar())
    if first is None:
        return []
    has = timestamps.CheckpointTimestamp.select(timestamps.CheckpointTimestamp.checkpoint)
    query = (Checkpoint.select(Checkpoint.head_seq)
             .where(Checkpoint.id >= first, Checkpoint.id.not_in(has)).order_by(Checkpoint.id))
    return [seq for (seq,) in query.tuples()]


def _unpublished(outside: Outside, findings: Findings) -> None:
    if outside.directory is None or not outside.files:
        return
    on_disk = {f.seq for f in outside.files}
    missing = [seq for (seq,) in Checkpoint.select(Checkpoint.head_seq)
               .where(Checkpoint.head_seq > min(on_disk)).order_by(Checkpoint.id).tuples()
               if seq not in on_disk]
    if missing:
        findings.notes.append(f"{len(missing)} checkpoint(s) not yet in the checkpoint directory: "
                              f"{_listing(missing)} (audit checkpoint copies the recent ones)")


def _listing(seqs: list[int]) -> str:
    return ", ".join(map(str, seqs[:10])) + (f" and {len(seqs) - 10} more" if len(seqs) > 10 else "")


def check(outside: Outside, *, trusted_public_key: bytes, tsa_roots: list = (),
          tsa_configured: bool = False, tsa_required: bool = False) -> Findings:
    """Run inside the verification's snapshot."""
    findings = Findings(problems=list(outside.problems), files=len(outside.files))
    documents = _documents(outside, trusted_public_key, findings)
    _check_heads(documents, findings)
    _check_rows_exist(outside, documents, findings)
    _check_file_tokens(outside, documents, tsa_roots, findings)
    _check_stored_tokens(tsa_roots, findings)
    _unpublished(outside, findings)
    if tsa_configured or tsa_required:
        missing = _without_token()
        if missing:
            line = (f"{len(missing)} checkpoint(s) without an RFC 3161 time-stamp token: "
                    f"{_listing(missing)} (the TSA could not be reached; audit checkpoint retries)")
            (findings.problems if tsa_required else findings.notes).append(line)
    return findings
