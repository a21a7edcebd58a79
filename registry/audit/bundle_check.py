#!/usr/bin/env python3
"""Check a dsure-portal evidence bundle offline.

    python verify_bundle.py [BUNDLE.zip | DIRECTORY] [--surety-key FINGERPRINT|PEM]...
                            [--platform-key FINGERPRINT|PEM]... [--tsa-ca PEM]

Needs only Python 3.10+, ``cryptography`` and ``rfc8785`` (pip install cryptography
rfc8785); no database, no network. Without an argument it checks the directory it sits
in (the unpacked bundle). The checkpoints and RFC 3161 time-stamps are checked by
bundle_checkpoints.py beside it (its docstring says how far without rfc3161-client). Exit status 0: every revision verifies; 1: the first problem is
printed, naming the file. This very file is ``registry/audit/bundle_check.py`` of dsure-portal,
copied into every bundle unchanged.

What is checked, per revision: the surety's Ed25519 signature over the stored bytes with
the public key in keys/ (and that key's SHA-256 fingerprint); that the bytes are RFC 8785
canonical JSON; that the document's own number, kind and supersedes match revisions.json;
the SHA-256 recorded at acceptance. Then: revisions numbered 1..n without gaps, which
revisions are hidden (corrected or cancelled) recomputed from the signed documents, the
platform's signature over revisions.json when present, each revision's checkpoint of the
platform's audit chain and its time-stamp token, and SHA256SUMS over every file.

Trust: a bundle alone only proves it agrees with itself; whoever forged it could have put
their own keys in. Pass the fingerprints you trust from outside the bundle (the surety's
published key, the platform's key from a checkpoint you kept) as --surety-key and
--platform-key: then a bundle signed by any other key, or without the platform's
signature, fails. Without them, the OK line says the keys were not anchored.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import zipfile
from pathlib import Path, PurePosixPath

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

try:
    from . import bundle_checkpoints
except ImportError:  # run stand-alone from an unpacked bundle: the copy beside this file
    import bundle_checkpoints

FORMAT = "dsure-portal/evidence-bundle/v1"
METADATA = "revisions.json"
SUMS = "SHA256SUMS"
PLATFORM_KEY = "platform-public-key.pem"
PLATFORM_SIGNATURE = "revisions.json.sig"


@dataclasses.dataclass(frozen=True)
class Problem:
    file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


@dataclasses.dataclass(frozen=True)
class Anchors:
    """SHA-256 fingerprints of the keys the verifier trusts, learnt outside the bundle."""

    surety: frozenset = frozenset()
    platform: frozenset = frozenset()


@dataclasses.dataclass
class Report:
    contract_number: str | None = None
    revisions: int = 0
    fingerprints: tuple = ()
    platform_fingerprint: str | None = None
    anchored: Anchors = Anchors()
    problems: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)  # what the checkpoints showed
    # Files that proved authentic on their own (a signature over them verified): when
    # SHA256SUMS disagrees with one of these, SHA256SUMS is what was changed.
    authentic: set = dataclasses.field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Files:
    """The bundle's files by relative path, from a zip or an unpacked directory."""

    def __init__(self, path: Path):
        self.files: dict[str, bytes] = {}
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file() and "__pycache__" not in p.parts:
                    self.files[p.relative_to(path).as_posix()] = p.read_bytes()
        else:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if not info.is_dir():
                        self.files[info.filename] = zf.read(info)
        # A zip holds one top folder (evidence-<number>/); paths are relative to it.
        tops = {PurePosixPath(name).parts[0] for name in self.files}
        if len(tops) == 1 and METADATA not in self.files:
            top = tops.pop() + "/"
            self.files = {name[len(top):]: data for name, data in self.files.items()}

    def get(self, name: str) -> bytes | None:
        return self.files.get(name)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sums(files: _Files) -> tuple[dict[str, str], list[Problem]]:
    data = files.get(SUMS)
    if data is None:
        return {}, [Problem(SUMS, "missing")]
    sums, problems = {}, []
    for line in data.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            problems.append(Problem(SUMS, f"cannot read the line {line!r}"))
            continue
        sums[name] = digest
    return sums, problems


def _changed(files: _Files, sums: dict[str, str], *names: str) -> str | None:
    """The first of ``names`` whose bytes differ from SHA256SUMS (to name the culprit)."""
    for name in names:
        data = files.get(name)
        if name in sums and data is not None and _sha256(data) != sums[name]:
            return name
    return None


def _hidden_by(revisions: list[dict]) -> dict[int, int]:
    return {r["supersedes"]: r["number"] for r in revisions
            if r.get("kind") in ("correction", "change_cancellation") and r.get("supersedes") is not None}


def _load_key(files: _Files, name: str, problems: list) -> bytes | None:
    pem = files.get(name)
    if pem is None:
        problems.append(Problem(name, "missing"))
        return None
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        problems.append(Problem(name, "not a PEM public key"))
        return None
    if not isinstance(key, Ed25519PublicKey):
        problems.append(Problem(name, "not an Ed25519 public key"))
        return None
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def verify_signature(raw_key: bytes, signature: bytes, data: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(raw_key).verify(signature, data)
        return True
    except (InvalidSignature, ValueError):
        return False


def canonical_document(data: bytes) -> dict | None:
    """The document when ``data`` is its RFC 8785 canonical form, else None. This checker
    and ``verify_signature`` are the stand-alone copy of registry.certificates.signatures.check_stored
    (tests/registry/test_one_verifier.py holds the two to the same verdicts)."""
    try:
        document = json.loads(data)
        return document if rfc8785.dumps(document) == data else None
    except (ValueError, UnicodeDecodeError, rfc8785.CanonicalizationError):
        return None


def _check_revision(files: _Files, sums: dict, meta: dict, report: Report) -> dict | None:
    """Check one revision; returns the signed document when it could be read."""
    problems = report.problems
    doc_name, sig_name, key_name = meta.get("document"), meta.get("signature"), meta.get("public_key")
    if not all(isinstance(n, str) for n in (doc_name, sig_name, key_name)):
        problems.append(Problem(METADATA, f"revision {meta.get('number')}: file names missing"))
        return None
    canonical, signature = files.get(doc_name), files.get(sig_name)
    for name, data in ((doc_name, canonical), (sig_name, signature)):
        if data is None:
            problems.append(Problem(name, "missing"))
    raw_key = _load_key(files, key_name, problems)
    if canonical is None or signature is None or raw_key is None:
        return None
    if _sha256(raw_key) != meta.get("fingerprint"):
        problems.append(Problem(key_name, "its SHA-256 fingerprint differs from revisions.json"))
        return None
    if not verify_signature(raw_key, signature, canonical):
        culprit = _changed(files, sums, doc_name, sig_name) or doc_name
        problems.append(Problem(culprit, f"the surety's signature ({sig_name}) does not verify over "
                                         f"{doc_name} with {key_name}"))
        return None
    document = canonical_document(canonical)
    if document is None:
        problems.append(Problem(doc_name, "not RFC 8785 canonical JSON"))
        return None
    if meta.get("canonical_sha256") not in (None, _sha256(canonical)):
        # The surety's signature holds, so the record of it is the suspect when it changed.
        problems.append(Problem(_changed(files, sums, METADATA) or doc_name,
                                f"the SHA-256 of {doc_name} differs from the one recorded at acceptance"))
    else:
        report.authentic |= {doc_name, sig_name, key_name}
    if report.anchored.surety and meta["fingerprint"] not in report.anchored.surety:
        problems.append(Problem(key_name, f"not a surety key you trust (fingerprint {meta['fingerprint']})"))
    for field, key in (("revision", "number"), ("kind", "kind"), ("supersedes", "supersedes")):
        if document.get(field) != meta.get(key):
            problems.append(Problem(METADATA, f"revision {meta.get('number')}: {key} differs from "
                                              f"the signed document {doc_name}"))
    if document.get("contract_number") != report.contract_number:
        problems.append(Problem(doc_name, "contract_number differs from revisions.json"))
    return document


def _check_platform_signature(files: _Files, sums: dict, raw_metadata: bytes, report: Report) -> None:
    platform_pem, platform_sig = files.get(PLATFORM_KEY), files.get(PLATFORM_SIGNATURE)
    if platform_pem is None and platform_sig is None:
        if report.anchored.platform:
            report.problems.append(Problem(PLATFORM_SIGNATURE, "missing, but you asked to check "
                                                               "the platform's signature"))
        return
    raw = _load_key(files, PLATFORM_KEY, report.problems)
    if platform_sig is None:
        report.problems.append(Problem(PLATFORM_SIGNATURE, "missing"))
    elif raw is not None:
        if verify_signature(raw, platform_sig, raw_metadata):
            report.platform_fingerprint = _sha256(raw)
            report.authentic |= {METADATA, PLATFORM_SIGNATURE, PLATFORM_KEY}
        else:
            culprit = _changed(files, sums, METADATA, PLATFORM_SIGNATURE) or METADATA
            report.problems.append(Problem(culprit, "the platform's signature "
                                                    f"({PLATFORM_SIGNATURE}) does not verify"))
    if report.anchored.platform and report.platform_fingerprint is not None \
            and report.platform_fingerprint not in report.anchored.platform:
        report.problems.append(Problem(PLATFORM_KEY, "not the platform key you trust "
                                                     f"(fingerprint {report.platform_fingerprint})"))


def _check_sums(files: _Files, sums: dict, report: Report) -> None:
    for name, digest in sums.items():
        data = files.get(name)
        if data is None:
            report.problems.append(Problem(name, "listed in SHA256SUMS but missing"))
        elif _sha256(data) != digest:
            report.problems.append(
                Problem(SUMS, f"its line for {name} differs from that file, which verifies on its own")
                if name in report.authentic else Problem(name, "its SHA-256 differs from SHA256SUMS"))
    for name in files.files:
        if name != SUMS and name not in sums:
            report.problems.append(Problem(name, "not listed in SHA256SUMS"))


def check_bundle(path: str | Path, anchors: Anchors = Anchors(), tsa_roots: list = ()) -> Report:
    """Check the bundle at ``path`` (a .zip or an unpacked directory), against the
    trusted key fingerprints in ``anchors`` and TSA root certificates when given."""
    path = Path(path)
    report = Report(anchored=anchors)
    try:
        files = _Files(path)
    except (OSError, zipfile.BadZipFile) as exc:
        report.problems.append(Problem(path.name, f"cannot read the bundle: {exc}"))
        return report
    sums, sum_problems = _sums(files)
    raw_metadata = files.get(METADATA)
    try:
        metadata = json.loads(raw_metadata) if raw_metadata is not None else None
    except (ValueError, UnicodeDecodeError):
        metadata = None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT \
            or not isinstance(metadata.get("revisions"), list):
        report.problems.append(Problem(METADATA, "missing" if raw_metadata is None
                                       else f"not a {FORMAT} file"))
        return report
    report.contract_number = metadata.get("contract_number")
    revisions = [r for r in metadata["revisions"] if isinstance(r, dict)]
    report.revisions = len(revisions)

    _check_platform_signature(files, sums, raw_metadata, report)  # is the record itself genuine?
    for meta in revisions:
        _check_revision(files, sums, meta, report)
    numbers = [r.get("number") for r in revisions]
    if numbers != list(range(1, len(revisions) + 1)):
        report.problems.append(Problem(METADATA, f"revisions are not numbered 1..n: {numbers}"))
    hidden = _hidden_by(revisions)
    for meta in revisions:
        if meta.get("hidden_by") != hidden.get(meta.get("number")):
            report.problems.append(Problem(METADATA, f"revision {meta.get('number')}: hidden_by "
                                                     "does not follow from the signed documents"))
    report.fingerprints = tuple(sorted({r.get("fingerprint") for r in revisions}))

    platform = set(anchors.platform) or ({report.platform_fingerprint} - {None})
    problems, report.notes = bundle_checkpoints.check(files, revisions, platform, list(tsa_roots))
    report.problems += [Problem(name, reason) for name, reason in problems]
    report.problems += sum_problems
    _check_sums(files, sums, report)
    return report


def fingerprint_of(text: str) -> str:
    """A trusted key given as its SHA-256 fingerprint (64 hex digits) or a PEM file."""
    candidate = text.strip().lower()
    if len(candidate) == 64 and all(c in "0123456789abcdef" for c in candidate):
        return candidate
    key = serialization.load_pem_public_key(Path(text).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{text} is not an Ed25519 public key")
    return _sha256(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def anchors_from(surety_keys, platform_keys) -> Anchors:
    """Anchors from what a user typed (fingerprints or PEM files); ValueError or
    OSError when one cannot be read."""
    return Anchors(frozenset(map(fingerprint_of, surety_keys)),
                   frozenset(map(fingerprint_of, platform_keys)))


def tsa_roots_from(path: str | None) -> list:
    """The TSA root certificates in a PEM file (none without a path); ValueError or
    OSError when it cannot be read."""
    if not path:
        return []
    from cryptography import x509
    roots = x509.load_pem_x509_certificates(Path(path).read_bytes())
    if not roots:
        raise ValueError(f"{path} holds no certificate")
    return roots


def summary(report: Report) -> str:
    """The OK line, saying which keys were anchored to a trusted fingerprint."""
    line = (f"OK {report.revisions} revisions of {report.contract_number}; "
            f"surety key {', '.join(report.fingerprints)}"
            + (f"; platform key {report.platform_fingerprint}" if report.platform_fingerprint else ""))
    unanchored = [who for who, given in (("surety", report.anchored.surety),
                                         ("platform", report.anchored.platform)) if not given]
    if unanchored:
        line += (f"\nNOTE: the {' and '.join(unanchored)} key(s) were taken from the bundle itself; "
                 "compare the fingerprints above with the published ones, or pass "
                 "--surety-key / --platform-key")
    return "\n".join([line, *(f"NOTE: {note}" for note in report.notes)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a dsure-portal evidence bundle offline.")
    parser.add_argument("bundle", nargs="?", help="the .zip or unpacked folder (default: here)")
    parser.add_argument("--surety-key", action="append", default=[], metavar="FINGERPRINT|PEM",
                        help="a surety key you trust (repeatable)")
    parser.add_argument("--platform-key", action="append", default=[], metavar="FINGERPRINT|PEM",
                        help="the platform key you trust (repeatable)")
    parser.add_argument("--tsa-ca", metavar="PEM",
                        help="the time-stamping authority's root certificate(s) you trust")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        anchors = anchors_from(args.surety_key, args.platform_key)
        roots = tsa_roots_from(args.tsa_ca)
    except (OSError, ValueError) as exc:
        parser.error(f"a trusted key cannot be read: {exc}")
    report = check_bundle(Path(args.bundle) if args.bundle else Path(__file__).resolve().parent,
                          anchors, roots)
    if not report.ok:
        for problem in report.problems:
            print(problem, file=sys.stderr)
        print(f"FAILED: {report.problems[0]}")
        return 1
    print(summary(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
