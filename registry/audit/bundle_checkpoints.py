"""The checkpoints and RFC 3161 time-stamps in a dsure-portal evidence bundle, checked
offline. Carried into every bundle beside verify_bundle.py, which imports it.

Each revision's entry in revisions.json may name ``checkpoint`` (checkpoints/<seq>.json:
the first checkpoint of the platform's audit chain made after the revision was accepted,
signed with the platform's key) and ``timestamp`` (checkpoints/<seq>.tsr: a TSA's RFC 3161
token over that file's bytes). Together they show that the platform's log up to the
revision's acceptance existed no later than the TSA's time.

Needs only cryptography and rfc8785. With rfc3161-client installed the token is parsed
and, given the TSA's root certificate (--tsa-ca), its signature verified; without it the
SHA-256 imprint is located in the token's DER and only that is checked — the output says so.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey



def _rfc3161():
    """rfc3161-client, or None when it is not installed (the DER fallback below). Imported
    on first use: the portal imports this module at start-up, and a worker that never
    checks a bundle should not carry the library (issue 11: worker RSS)."""
    try:
        import rfc3161_client
    except ImportError:
        return None
    return rfc3161_client

CHECKPOINT_FORMAT = "dsure-portal/audit-checkpoint/v1"
_SHA256_OID_DER = bytes.fromhex("0609608648016503040201")


def checkpoint_problem(data: bytes) -> tuple[dict | None, str | None]:
    """(document, None) for a checkpoint whose own signature verifies; else (None, why)."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None, "not JSON"
    if not isinstance(document, dict) or document.get("format") != CHECKPOINT_FORMAT:
        return None, f"not a {CHECKPOINT_FORMAT} file"
    try:
        raw = base64.b64decode(document["public_key"], validate=True)
        signature = base64.b64decode(document["signature"], validate=True)
        signed = rfc8785.dumps({k: v for k, v in document.items() if k != "signature"})
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, signed)
    except (KeyError, TypeError, binascii.Error, ValueError, InvalidSignature,
            rfc8785.CanonicalizationError):
        return None, "the platform's signature over the checkpoint does not verify"
    if not isinstance(document.get("head_seq"), int):
        return None, "head_seq is missing"
    document["_fingerprint"] = hashlib.sha256(raw).hexdigest()
    return document, None


def _der_length(der: bytes, at: int) -> tuple[int, int]:
    """(length, offset of the contents) of the DER element whose length byte is at ``at``."""
    first = der[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    return int.from_bytes(der[at + 1:at + 1 + count], "big"), at + 1 + count


def _located_gen_time(der: bytes, after: int) -> dt.datetime | None:
    """TSTInfo's serialNumber then genTime follow the imprint: read them there."""
    try:
        if der[after] != 0x02:  # INTEGER serialNumber
            return None
        length, start = _der_length(der, after + 1)
        at = start + length
        if der[at] != 0x18:  # GeneralizedTime
            return None
        length, start = _der_length(der, at + 1)
        text = der[start:start + length].decode("ascii").rstrip("Z").split(".")[0]
        return dt.datetime.strptime(text, "%Y%m%d%H%M%S")
    except (IndexError, ValueError, UnicodeDecodeError):
        return None


def token_problem(token: bytes, data: bytes, roots: list) -> tuple[dt.datetime | None, str | None]:
    """(the TSA's time, None) when ``token`` is a granted time-stamp of ``data``'s SHA-256
    (and, given ``roots``, signed by a TSA that chains to one); else (None, why)."""
    digest = hashlib.sha256(data).digest()
    rfc3161_client = _rfc3161()
    if rfc3161_client is None:
        imprint = _SHA256_OID_DER + b"\x05\x00\x04\x20" + digest  # AlgorithmIdentifier, NULL
        at = token.find(imprint)
        if at < 0:
            at = token.find(_SHA256_OID_DER + b"\x04\x20" + digest)  # parameters absent
            imprint = _SHA256_OID_DER + b"\x04\x20" + digest
        if at < 0:
            return None, "its SHA-256 imprint is not the checkpoint's"
        return _located_gen_time(token, at + len(imprint)), None
    try:
        response = rfc3161_client.decode_timestamp_response(token)
    except ValueError:
        return None, "it cannot be read as an RFC 3161 TimeStampResp"
    if response.status not in (0, 1):  # granted, granted with modifications
        return None, f"the TSA refused (status {response.status})"
    info = response.tst_info
    if info.message_imprint.message != digest:
        return None, "its SHA-256 imprint is not the checkpoint's"
    if roots:
        builder = rfc3161_client.VerifierBuilder()
        for root in roots:
            builder = builder.add_root_certificate(root)
        try:
            builder.build().verify(response, digest)
        except rfc3161_client.VerificationError as exc:
            return None, f"the TSA's signature does not verify against --tsa-ca: {exc}"
    return info.gen_time.replace(tzinfo=None), None


def check(files, revisions: list[dict], platform_fingerprints: set, roots: list) -> tuple[list, list]:
    """([(file, problem)], [note]) for the checkpoints and tokens the revisions name.
    ``platform_fingerprints``: keys a checkpoint may be signed with (empty: any)."""
    problems, notes, times = [], [], []
    checked: dict[str, dict | None] = {}
    for meta in revisions:
        name, tsr_name = meta.get("checkpoint"), meta.get("timestamp")
        if not isinstance(name, str):
            continue
        if name not in checked:
            checked[name] = _check_one(files, name, tsr_name, platform_fingerprints, roots,
                                       problems, times)
        document = checked[name]
        seq = meta.get("accepted_event_seq")
        if document is not None and isinstance(seq, int) and document["head_seq"] < seq:
            problems.append((name, f"names audit entry {document['head_seq']}, before revision "
                                   f"{meta.get('number')} was accepted (entry {seq})"))
    if times:
        notes.append("time-stamped by the TSA at " + ", ".join(
            f"{t:%Y-%m-%d %H:%M:%S} UTC" for t in sorted(set(times))))
        if _rfc3161() is None:
            notes.append("rfc3161-client is not installed: each token's SHA-256 imprint was "
                         "located in its DER, the TSA's signature was NOT checked "
                         "(pip install rfc3161-client, or openssl ts -verify)")
        elif not roots:
            notes.append("the TSA's signature was not checked: pass --tsa-ca with the TSA's "
                         "root certificate")
    return problems, notes


def _check_one(files, name, tsr_name, platform_fingerprints, roots, problems, times) -> dict | None:
    data = files.get(name)
    if data is None:
        problems.append((name, "missing"))
        return None
    document, problem = checkpoint_problem(data)
    if problem:
        problems.append((name, problem))
        return None
    if platform_fingerprints and document["_fingerprint"] not in platform_fingerprints:
        problems.append((name, f"signed by a key that is not the platform's "
                               f"(fingerprint {document['_fingerprint']})"))
    if isinstance(tsr_name, str):
        token = files.get(tsr_name)
        if token is None:
            problems.append((tsr_name, "missing"))
        else:
            gen_time, problem = token_problem(token, data, roots)
            if problem:
                problems.append((tsr_name, problem))
            elif gen_time is not None:
                times.append(gen_time)
    return document
