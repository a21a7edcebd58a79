"""Signed checkpoints of the audit chain (DESIGN §6, §11).

A checkpoint is a small JSON document, signed with the platform's own Ed25519 key, that
names the chain head at a moment: its sequence number and entry hash. Someone who keeps
a copy outside the platform can later prove that the log still *extends* it: the entry
at that sequence number still has that hash. Recomputing every hash after a rewrite
makes ``audit verify`` pass again, but cannot bring back the hash a checkpoint names.

One is made when the log has grown and the newest is older than the interval
(``write_checkpoint(interval=...)``, run after writes and by ``audit checkpoint``);
checkpoint_publishing.py copies each out of the database and has it time-stamped.
Rows with reason ``daily`` were made by earlier releases, one per JST day.

The signing key is a collaborator passed in by the caller; nothing here reads app config.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import peewee as pw
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..clock import Clock, isoformat, parse_isoformat, utcnow
from ..db import write_transaction
from ..models import AuditEvent, BaseModel

FORMAT = "dsure-portal/audit-checkpoint/v1"
REASONS = ("daily", "manual", "interval")  # daily: earlier releases only

class Checkpoint(BaseModel):
    """A checkpoint as it was signed; ``document`` is the exact JSON handed out."""

    head_seq = pw.BigIntegerField(index=True)
    head_hash = pw.CharField(max_length=64)
    reason = pw.CharField(max_length=16)
    created_at = pw.CharField(max_length=40)  # same text as in the document
    document = pw.TextField()


MODELS = [Checkpoint]


class PlatformSigner:
    """The platform's Ed25519 key: signs checkpoints and evidence bundles."""

    def __init__(self, private_key: Ed25519PrivateKey):
        self._key = private_key
        public = private_key.public_key()
        self.public_key_raw = public.public_bytes(serialization.Encoding.Raw,
                                                  serialization.PublicFormat.Raw)
        self.public_key_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.fingerprint = hashlib.sha256(self.public_key_raw).hexdigest()

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, create: bool = True) -> "PlatformSigner":
        """Load the PEM (PKCS#8) key at ``path``; make one (mode 0600) when missing and
        ``create`` is true."""
        path = Path(path)
        if not path.exists():
            if not create:
                raise FileNotFoundError(f"platform signing key {path} does not exist")
            path.parent.mkdir(parents=True, exist_ok=True)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another worker made it first: use theirs
                pass
            else:
                with os.fdopen(fd, "wb") as f:
                    f.write(pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return cls(key)


def _signed_bytes(document: dict) -> bytes:
    return rfc8785.dumps({k: v for k, v in document.items() if k != "signature"})


def _document(signer: PlatformSigner, head: AuditEvent, *, entries: int, reason: str,
              created_at: str) -> dict:
    document = {
        "format": FORMAT,
        "reason": reason,
        "sealed_day_jst": None,  # the JST day a "daily" checkpoint of earlier releases sealed
        "created_at": created_at,
        "entries": entries,
        "head_seq": head.seq,
        "head_hash": head.entry_hash,
        "head_occurred_at": head.occurred_at,
        "public_key": base64.b64encode(signer.public_key_raw).decode(),
        "public_key_pem": signer.public_key_pem,
        "key_fingerprint": signer.fingerprint,
    }
    document["signature"] = base64.b64encode(signer.sign(_signed_bytes(document))).decode()
    return document


def file_bytes(checkpoint: Checkpoint) -> bytes:
    """The checkpoint as handed out: the bytes of its file, of its download, and the ones
    an RFC 3161 time-stamp covers."""
    return checkpoint.document.encode("utf-8")


def _store(document: dict) -> Checkpoint:
    return Checkpoint.create(head_seq=document["head_seq"], head_hash=document["head_hash"],
                             reason=document["reason"], created_at=document["created_at"],
                             document=json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def write_checkpoint(*, signer: PlatformSigner, reason: str = "manual", clock: Clock = utcnow,
                     interval: float | None = None, force: bool = False) -> Checkpoint | None:
    """Sign the current chain head and keep the checkpoint. None when the log is empty,
    when the newest checkpoint already names the head (unless ``force``), or when it is
    younger than ``interval`` seconds. Serialised with every chain append, so two
    instances asking at once make one checkpoint, not two."""
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {REASONS}")
    with write_transaction():
        head = AuditEvent.select().order_by(AuditEvent.seq.desc()).first()
        if head is None:
            return None
        now = clock()
        last = newest()
        if last is not None and not force:
            if last.head_seq >= head.seq:
                return None
            if interval is not None and now - created_time(last) < dt.timedelta(seconds=interval):
                return None
        entries = AuditEvent.select().where(AuditEvent.seq <= head.seq).count()
        return _store(_document(signer, head, entries=entries, reason=reason,
                                created_at=isoformat(now)))


def created_time(checkpoint: Checkpoint | dict) -> dt.datetime:
    """When a checkpoint (row or document) was made, naive UTC; one whose time cannot be
    read counts as made long ago."""
    text = checkpoint.get("created_at") if isinstance(checkpoint, dict) else checkpoint.created_at
    try:
        return parse_isoformat(text)
    except (TypeError, ValueError):
        return dt.datetime.min


def newest() -> Checkpoint | None:
    return Checkpoint.select().order_by(Checkpoint.id.desc()).first()


def parse(data: bytes | str) -> dict:
    """A checkpoint document from a file's bytes; ValueError when it is not one."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"not a checkpoint (format must be {FORMAT})")
    for name, kind in (("head_seq", int), ("entries", int), ("head_hash", str),
                       ("public_key", str), ("signature", str)):
        if not isinstance(document.get(name), kind) or isinstance(document.get(name), bool):
            raise ValueError(f"field {name} is missing or has the wrong type")
    return document


@dataclasses.dataclass(frozen=True)
class CheckpointCheck:
    ok: bool
    problem: str | None = None  # names the audit entry when the log no longer extends it


def signature_problem(document: dict, *, trusted_public_key: bytes | None = None) -> str | None:
    """Why the checkpoint's own signature is not acceptable; None when it is."""
    try:
        raw = base64.b64decode(document["public_key"], validate=True)
        signature = base64.b64decode(document["signature"], validate=True)
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, _signed_bytes(document))
    except (binascii.Error, ValueError, InvalidSignature, rfc8785.CanonicalizationError):
        return "checkpoint signature does not verify"
    if trusted_public_key is not None and raw != trusted_public_key:
        return ("checkpoint is signed by a key that is not this platform's "
                f"(fingerprint {hashlib.sha256(raw).hexdigest()})")
    return None


def check(document: dict, *, trusted_public_key: bytes | None = None) -> CheckpointCheck:
    """Is the checkpoint genuine, and does the stored log still extend it?

    The whole chain's own consistency is ``audit.chain_breaks``' job; together they show
    that nothing up to the checkpoint was rewritten."""
    problem = signature_problem(document, trusted_public_key=trusted_public_key)
    if problem:
        return CheckpointCheck(False, problem)
    seq = document["head_seq"]
    entry = AuditEvent.get_or_none(AuditEvent.seq == seq)
    if entry is None:
        return CheckpointCheck(False, f"audit entry {seq}: missing, but the checkpoint names it")
    if entry.entry_hash != document["head_hash"]:
        return CheckpointCheck(False, f"audit entry {seq}: hash differs from the checkpoint's "
                                      "(the log up to it was rewritten)")
    count = AuditEvent.select().where(AuditEvent.seq <= seq).count()
    if count != document["entries"]:
        return CheckpointCheck(False, f"audit entry {seq}: the log holds {count} entries up to it, "
                                      f"the checkpoint {document['entries']}")
    return CheckpointCheck(True)

