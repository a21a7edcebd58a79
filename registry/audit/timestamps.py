"""RFC 3161 time-stamps of checkpoints (DESIGN §11).

A time-stamping authority (TSA) signs the SHA-256 of a checkpoint file's bytes together
with its own time. Kept beside the checkpoint, the token proves the checkpoint — and so
the audit chain up to its head — existed at that time, on the word of a third party
rather than our own key (the 認定タイムスタンプ of Japan's e-document practice).

The ASN.1 (request, response, CMS signature) is rfc3161-client's; the HTTP exchange is
the standard library's: one POST of ``application/timestamp-query``.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import urllib.error
import urllib.request
from pathlib import Path

import peewee as pw
from cryptography import x509

from .checkpoints import Checkpoint
from ..models import BaseModel

SHA256_OID = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")
MAX_RESPONSE_BYTES = 256 * 1024
# How far the TSA's clock may disagree with ours before a token's time is implausible.
CLOCK_TOLERANCE = dt.timedelta(minutes=5)


class CheckpointTimestamp(BaseModel):
    """A TSA's token for one checkpoint, as it answered (insert-only, like the checkpoint)."""

    checkpoint = pw.ForeignKeyField(Checkpoint, unique=True, backref="timestamps")
    token = pw.BlobField()                   # the DER TimeStampResp, byte for byte
    nonce = pw.CharField(max_length=40)      # the request's nonce, decimal
    gen_time = pw.CharField(max_length=40)   # the TSA's time (UTC text, as AuditEvent's)
    received_at = pw.CharField(max_length=40)


MODELS = [CheckpointTimestamp]


class TsaError(Exception):
    """The TSA gave no usable token: unreachable, refused, or an answer that is wrong."""


@dataclasses.dataclass(frozen=True)
class Token:
    der: bytes
    nonce: int
    gen_time: dt.datetime  # naive UTC


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _post(url: str, body: bytes, timeout: float) -> bytes:
    if not url.lower().startswith(("http://", "https://")):
        raise TsaError("the TSA URL must be http:// or https://")
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
            data = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise TsaError(f"the TSA answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise TsaError(f"the TSA cannot be reached: {getattr(exc, 'reason', exc)}") from None
    if len(data) > MAX_RESPONSE_BYTES:
        raise TsaError("the TSA's answer is too large")
    return data


def request_token(data: bytes, url: str, *, timeout: float = 10.0) -> Token:
    """Ask the TSA at ``url`` to time-stamp ``data`` (SHA-256, a fresh nonce, its
    certificate in the answer) and check the answer belongs to this request."""
    # rfc3161-client is imported where a token is made or read, not at start-up: every
    # worker imports this module, few ever touch a token (issue 11: worker RSS).
    import rfc3161_client
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

    query = (TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256)
             .nonce(nonce=True).cert_request(cert_request=True).build())
    der = _post(url, query.as_bytes(), timeout)
    problem = token_problem(der, data, nonce=query.nonce)
    if problem:
        raise TsaError(problem)
    return Token(der, query.nonce, _utc(rfc3161_client.decode_timestamp_response(der)
                                        .tst_info.gen_time))


def load_roots(path: str | Path) -> list[x509.Certificate]:
    """The TSA certificates to trust (PEM, one or more); ValueError when there are none."""
    certificates = x509.load_pem_x509_certificates(Path(path).read_bytes())
    if not certificates:
        raise ValueError(f"{path} holds no certificate")
    return certificates


def token_problem(der: bytes, data: bytes, *, nonce: int | None = None,
                  roots: list[x509.Certificate] = (), not_before: dt.datetime | None = None,
                  not_after: dt.datetime | None = None) -> str | None:
    """Why the DER TimeStampResp ``der`` does not prove ``data``; None when it does.

    Always: granted, a SHA-256 imprint equal to the SHA-256 of ``data``. When given: the
    request's nonce, a time between ``not_before`` and ``not_after`` (naive UTC, give or
    take CLOCK_TOLERANCE), and a signature chaining to one of ``roots``."""
    import rfc3161_client
    from rfc3161_client import PKIStatus, VerifierBuilder

    try:
        response = rfc3161_client.decode_timestamp_response(der)
    except ValueError:
        return "it cannot be read as an RFC 3161 TimeStampResp"
    if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        return f"the TSA refused (status {response.status})"
    info = response.tst_info
    digest = hashlib.sha256(data).digest()
    if info.message_imprint.hash_algorithm != SHA256_OID:
        return "its message imprint is not a SHA-256"
    if info.message_imprint.message != digest:
        return "its message imprint is not the SHA-256 of the checkpoint's bytes"
    if nonce is not None and info.nonce != nonce:
        return "its nonce is not the one we sent"
    gen_time = _utc(info.gen_time)
    if not_before is not None and gen_time < not_before - CLOCK_TOLERANCE:
        return f"its time {gen_time:%Y-%m-%dT%H:%M:%SZ} is before the checkpoint was made"
    if not_after is not None and gen_time > not_after + CLOCK_TOLERANCE:
        return f"its time {gen_time:%Y-%m-%dT%H:%M:%SZ} is after we received it"
    if roots:
        builder = VerifierBuilder()
        for root in roots:
            builder = builder.add_root_certificate(root)
        try:
            builder.build().verify(response, digest)
        except rfc3161_client.VerificationError as exc:
            return f"the TSA's signature does not verify against the trusted certificate: {exc}"
    return None


def gen_time_of(der: bytes) -> dt.datetime | None:
    """The TSA's time in a token (naive UTC); None when it cannot be read."""
    import rfc3161_client

    try:
        return _utc(rfc3161_client.decode_timestamp_response(der).tst_info.gen_time)
    except ValueError:
        return None


def token_for(checkpoint: Checkpoint) -> CheckpointTimestamp | None:
    return CheckpointTimestamp.get_or_none(CheckpointTimestamp.checkpoint == checkpoint.id)


def tokens_for(checkpoints: list[Checkpoint]) -> dict[int, CheckpointTimestamp]:
    """Checkpoint id -> its token, for the ones that have one."""
    ids = [cp.id for cp in checkpoints]
    if not ids:
        return {}
    query = CheckpointTimestamp.select().where(CheckpointTimestamp.checkpoint.in_(ids))
    return {t.checkpoint_id: t for t in query}


def latest_with_tokens(limit: int = 10) -> list[tuple[Checkpoint, CheckpointTimestamp | None]]:
    """The newest checkpoints, each with its token when it has one."""
    recent = list(Checkpoint.select().order_by(Checkpoint.id.desc()).limit(limit))
    tokens = tokens_for(recent)
    return [(cp, tokens.get(cp.id)) for cp in recent]


def covering(seq: int) -> tuple[Checkpoint, CheckpointTimestamp | None] | None:
    """The first checkpoint whose head is at or after audit entry ``seq``, preferring
    one with a token, and its token."""
    after = Checkpoint.select().where(Checkpoint.head_seq >= seq)
    stamped = (after.join(CheckpointTimestamp)
               .order_by(Checkpoint.head_seq, Checkpoint.id).first())
    if stamped is not None:
        return stamped, token_for(stamped)
    first = after.order_by(Checkpoint.head_seq, Checkpoint.id).first()
    return (first, None) if first is not None else None
