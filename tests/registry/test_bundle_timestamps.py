"""Evidence bundles carry each acceptance's checkpoint and its RFC 3161 token (from a
real TSA); the offline checker verifies them, and without rfc3161-client still checks
the imprint by finding it in the token's DER."""
from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile

from registry.audit import bundle_check, timestamps
from registry.audit.chain import record
from registry.audit.checkpoint_publishing import ProofSettings, run
from registry.audit.evidence import build_bundle
from tests.registry.test_evidence import NUMBER, _isolated_path, repack, signer, unpack, world  # noqa: F401

TOP = f"evidence-{NUMBER}/"


def stamped_bundle(world, signer, tsa) -> dict[str, bytes]:
    run(signer=signer, settings=ProofSettings(tsa_url=tsa.url))
    return unpack(build_bundle(NUMBER, platform_signer=signer).data)


def resummed(files: dict[str, bytes]) -> bytes:
    """A forger's bundle: SHA256SUMS made to agree with the changed files."""
    files = dict(files)
    files[TOP + "SHA256SUMS"] = "".join(
        f"{hashlib.sha256(d).hexdigest()}  {n[len(TOP):]}\n"
        for n, d in sorted(files.items()) if n != TOP + "SHA256SUMS").encode()
    return repack(files)


def test_each_revision_names_its_checkpoint_and_token(world, signer, tsa, tmp_path):
    files = stamped_bundle(world, signer, tsa)
    meta = json.loads(files[TOP + "revisions.json"])
    names = {(r["checkpoint"], r["timestamp"]) for r in meta["revisions"]}
    [(checkpoint, token)] = names  # all four accepted before the one checkpoint
    assert TOP + checkpoint in files and TOP + token in files
    path = tmp_path / "b.zip"
    path.write_bytes(repack(files))

    report = bundle_check.check_bundle(path, tsa_roots=timestamps.load_roots(tsa.ca_file))
    assert report.ok, report.problems
    assert "time-stamped by the TSA at" in bundle_check.summary(report)
    assert "not checked" not in bundle_check.summary(report)
    unanchored = bundle_check.check_bundle(path)
    assert unanchored.ok and "pass --tsa-ca" in bundle_check.summary(unanchored)


def test_a_token_of_another_checkpoint_is_refused(world, signer, tsa, tmp_path):
    files = stamped_bundle(world, signer, tsa)
    record("later", actor="t")
    run(signer=signer, settings=ProofSettings(tsa_url=tsa.url), reason="manual")
    [other] = [t for t in timestamps.CheckpointTimestamp.select()
               if f"checkpoints/{t.checkpoint.head_seq}.tsr" not in
               {n[len(TOP):] for n in files}]
    [token_name] = [n for n in files if n.endswith(".tsr")]
    files[token_name] = bytes(other.token)
    path = tmp_path / "b.zip"
    path.write_bytes(resummed(files))
    [problem] = bundle_check.check_bundle(path).problems
    assert problem.file == token_name[len(TOP):] and "imprint" in problem.reason


def test_a_tsa_you_do_not_trust_is_refused(world, signer, tsa, tmp_path):
    path = tmp_path / "b.zip"
    path.write_bytes(repack(stamped_bundle(world, signer, tsa)))
    not_the_root = timestamps.load_roots(tsa.directory / "tsa.pem")
    [problem] = bundle_check.check_bundle(path, tsa_roots=not_the_root).problems
    assert problem.file.endswith(".tsr") and "does not verify against --tsa-ca" in problem.reason


def test_without_rfc3161_client_the_imprint_is_found_in_the_der(world, signer, tsa, tmp_path):
    site = _isolated_path(tmp_path)
    with zipfile.ZipFile(io.BytesIO(repack(stamped_bundle(world, signer, tsa)))) as zf:
        zf.extractall(tmp_path / "out")
    folder = tmp_path / "out" / f"evidence-{NUMBER}"
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    probe = subprocess.run([sys.executable, "-S", "-c", "import rfc3161_client"], env=env,
                           capture_output=True)
    assert probe.returncode != 0
    ok = subprocess.run([sys.executable, "-S", "verify_bundle.py"], env=env, cwd=folder,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "time-stamped by the TSA at 20" in ok.stdout
    assert "imprint was located in its DER, the TSA's signature was NOT checked" in ok.stdout

    [tsr] = (folder / "checkpoints").glob("*.tsr")
    [checkpoint] = (folder / "checkpoints").glob("*.json")
    digest = hashlib.sha256(checkpoint.read_bytes()).digest()
    tsr.write_bytes(tsr.read_bytes().replace(digest, bytes(32)))
    bad = subprocess.run([sys.executable, "-S", "verify_bundle.py"], env=env, cwd=folder,
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stdout.startswith(f"FAILED: checkpoints/{tsr.name}: its SHA-256 imprint is not")
