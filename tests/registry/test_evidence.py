"""Evidence bundles: built from the registry, checked offline by a module that needs only
cryptography and rfc8785, in a process that has nothing else."""
from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.audit import bundle_check
from registry.audit.chain import first_event
from registry.audit.checkpoints import PlatformSigner
from registry.errors import NotFound
from registry.audit.evidence import build_bundle, export_bundle
from registry.certificates.ingest import accept_revision
from tests.factories import VECTORS, World, vector

ROOT = Path(__file__).resolve().parents[2]
NUMBER = "10001-000001"


@pytest.fixture
def world(registry_db, hasher):
    world = World()
    for name in ("01-advance-new", "02-advance-change", "03-advance-correction",
                 "04-advance-change-cancellation"):
        body = vector(name, world.key.key_id)
        accept_revision(client=world.client, contract_number=NUMBER,
                        number=body["document"]["revision"], body=body, hasher=hasher)
    return world


@pytest.fixture
def signer():
    return PlatformSigner(Ed25519PrivateKey.generate())


def unpack(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def repack(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def flip_one_byte(data: bytes, name: str) -> bytes:
    files = unpack(data)
    target = bytearray(files[name])
    target[len(target) // 2] ^= 0x01
    files[name] = bytes(target)
    return repack(files)


def test_the_bundle_holds_every_revision_as_signed(world, signer, tmp_path):
    bundle = build_bundle(NUMBER, platform_signer=signer)
    assert bundle.filename == f"evidence-{NUMBER}.zip"
    files = unpack(bundle.data)
    top = f"evidence-{NUMBER}/"
    for n, name in enumerate(["01-advance-new", "02-advance-change", "03-advance-correction",
                              "04-advance-change-cancellation"], 1):
        assert files[f"{top}revisions/{n:03d}.json"] == (VECTORS / f"{name}.canonical").read_bytes()
        assert len(files[f"{top}revisions/{n:03d}.sig"]) == 64
    assert files[f"{top}keys/{world.key.key_id}.pem"].startswith(b"-----BEGIN PUBLIC KEY-----")
    assert files[f"{top}verify_bundle.py"] == (ROOT / "registry" / "audit" / "bundle_check.py").read_bytes()
    readme = files[f"{top}README.txt"].decode()
    assert "openssl pkeyutl -verify" in readme and "検証のしかた" in readme and "To verify" in readme


def test_the_metadata_says_why_revisions_are_hidden(world, signer):
    files = unpack(build_bundle(NUMBER, platform_signer=signer).data)
    meta = json.loads(files[f"evidence-{NUMBER}/revisions.json"])
    rows = {r["number"]: r for r in meta["revisions"]}
    assert [r["kind"] for r in rows.values()] == ["new", "change", "correction", "change_cancellation"]
    assert (rows[2]["hidden_by"], rows[2]["hidden_reason"]) == (3, "訂正により非表示 (No.3)")
    assert (rows[3]["hidden_by"], rows[3]["hidden_reason"]) == (4, "変更取消により非表示 (No.4)")
    assert rows[1]["hidden_by"] is None and rows[4]["hidden_by"] is None
    assert rows[1]["fingerprint"] == world.key.fingerprint and rows[1]["key_id"] == world.key.key_id
    assert rows[1]["arrived_at"].endswith("Z")
    assert rows[1]["accepted_event_seq"] == first_event(kind="revision.accepted",
                                                        contract_number=NUMBER).seq


def test_a_bundle_checks_out(world, signer, tmp_path):
    path = tmp_path / "b.zip"
    path.write_bytes(build_bundle(NUMBER, platform_signer=signer).data)
    report = bundle_check.check_bundle(path)
    assert report.ok, report.problems
    assert (report.revisions, report.contract_number) == (4, NUMBER)
    assert report.platform_fingerprint == signer.fingerprint


def test_a_bundle_without_a_platform_key_checks_out_too(world, tmp_path):
    path = tmp_path / "b.zip"
    path.write_bytes(build_bundle(NUMBER).data)
    assert bundle_check.check_bundle(path).ok


@pytest.mark.parametrize("name, reason", [
    ("revisions/002.json", "signature"),
    ("revisions/003.sig", "signature"),
    ("revisions.json", "platform's signature"),
    ("README.txt", "SHA256SUMS"),
    ("verify_bundle.py", "SHA256SUMS"),
])
def test_one_byte_changed_fails_naming_the_file(world, signer, tmp_path, name, reason):
    path = tmp_path / "b.zip"
    path.write_bytes(flip_one_byte(build_bundle(NUMBER, platform_signer=signer).data,
                                   f"evidence-{NUMBER}/{name}"))
    report = bundle_check.check_bundle(path)
    assert not report.ok
    assert report.problems[0].file == name, report.problems
    assert reason in report.problems[0].reason


def test_a_substituted_key_is_caught_by_its_fingerprint(world, signer, tmp_path):
    from cryptography.hazmat.primitives import serialization
    data = build_bundle(NUMBER, platform_signer=signer).data
    files = unpack(data)
    name = f"evidence-{NUMBER}/keys/{world.key.key_id}.pem"
    files[name] = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    path = tmp_path / "b.zip"
    path.write_bytes(repack(files))
    problem = bundle_check.check_bundle(path).problems[0]
    assert problem.file == f"keys/{world.key.key_id}.pem" and "fingerprint" in problem.reason


def test_a_changed_line_of_sha256sums_names_sha256sums(world, signer, tmp_path):
    """revisions/002.json verifies on its own (the surety's signature, the digest the
    platform signed): when SHA256SUMS disagrees with it, SHA256SUMS was changed."""
    files = unpack(build_bundle(NUMBER, platform_signer=signer).data)
    name = f"evidence-{NUMBER}/SHA256SUMS"
    lines = files[name].decode().splitlines(keepends=True)
    lines = [("0" * 64 + line[64:]) if line.endswith("  revisions/002.json\n") else line
             for line in lines]
    files[name] = "".join(lines).encode()
    path = tmp_path / "b.zip"
    path.write_bytes(repack(files))
    [problem] = bundle_check.check_bundle(path).problems
    assert problem.file == "SHA256SUMS" and "revisions/002.json" in problem.reason


def forge(data: bytes, surety_key: Ed25519PrivateKey, platform_key: Ed25519PrivateKey) -> bytes:
    """What someone with the bundle and no private key of the surety or the platform can
    make: changed documents, re-signed with keys of their own, every digest recomputed."""
    files = unpack(data)
    top = f"evidence-{NUMBER}/"
    meta = json.loads(files[top + "revisions.json"])
    raw = surety_key.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
    for r in meta["revisions"]:
        document = files[top + r["document"]].replace(b"20000000", b"2000000")
        files[top + r["document"]] = document
        files[top + r["signature"]] = surety_key.sign(document)
        files[top + r["public_key"]] = surety_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        r["fingerprint"] = hashlib.sha256(raw).hexdigest()
        r["canonical_sha256"] = hashlib.sha256(document).hexdigest()
    files[top + "revisions.json"] = json.dumps(meta).encode()
    files[top + "platform-public-key.pem"] = platform_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    files[top + "revisions.json.sig"] = platform_key.sign(files[top + "revisions.json"])
    files[top + "SHA256SUMS"] = "".join(
        f"{hashlib.sha256(d).hexdigest()}  {n[len(top):]}\n" for n, d in sorted(files.items())
        if n != top + "SHA256SUMS").encode()
    return repack(files)


def test_a_forged_bundle_fails_against_the_keys_you_trust(world, signer, tmp_path):
    genuine, forged = tmp_path / "genuine.zip", tmp_path / "forged.zip"
    genuine.write_bytes(build_bundle(NUMBER, platform_signer=signer).data)
    forged.write_bytes(forge(genuine.read_bytes(), Ed25519PrivateKey.generate(),
                             Ed25519PrivateKey.generate()))
    # On its own a forgery agrees with itself: the check says the keys were not anchored.
    alone = bundle_check.check_bundle(forged)
    assert alone.ok and "NOTE" in bundle_check.summary(alone)
    trusted = bundle_check.Anchors(frozenset({world.key.fingerprint}), frozenset({signer.fingerprint}))
    assert bundle_check.check_bundle(genuine, trusted).ok
    assert "NOTE" not in bundle_check.summary(bundle_check.check_bundle(genuine, trusted))
    problems = bundle_check.check_bundle(forged, trusted).problems
    # The platform's record is checked first, then each surety signature.
    assert problems[0].file == "platform-public-key.pem" and "trust" in problems[0].reason
    assert any(p.file == f"keys/{world.key.key_id}.pem" and "trust" in p.reason for p in problems)


def test_a_bundle_stripped_of_the_platform_signature_fails_when_it_is_expected(world, signer, tmp_path):
    files = unpack(build_bundle(NUMBER, platform_signer=signer).data)
    top = f"evidence-{NUMBER}/"
    for name in ("platform-public-key.pem", "revisions.json.sig"):
        del files[top + name]
    files[top + "SHA256SUMS"] = b"".join(line + b"\n" for line in files[top + "SHA256SUMS"].splitlines()
                                         if not line.endswith((b"platform-public-key.pem",
                                                               b"revisions.json.sig")))
    path = tmp_path / "b.zip"
    path.write_bytes(repack(files))
    assert bundle_check.check_bundle(path).ok
    problem = bundle_check.check_bundle(path, bundle_check.Anchors(
        platform=frozenset({signer.fingerprint}))).problems[0]
    assert problem.file == "revisions.json.sig" and "missing" in problem.reason


def test_trusted_keys_are_given_as_fingerprints_or_pem_files(world, tmp_path):
    from registry.certificates.signatures import public_key_pem
    pem = tmp_path / "surety.pem"
    pem.write_bytes(public_key_pem(bytes(world.key.public_key)))
    assert bundle_check.fingerprint_of(str(pem)) == world.key.fingerprint
    assert bundle_check.fingerprint_of(world.key.fingerprint.upper()) == world.key.fingerprint


def test_a_dropped_revision_is_caught(world, signer, tmp_path):
    files = unpack(build_bundle(NUMBER, platform_signer=signer).data)
    del files[f"evidence-{NUMBER}/revisions/004.json"]
    path = tmp_path / "b.zip"
    path.write_bytes(repack(files))
    report = bundle_check.check_bundle(path)
    assert report.problems[0].file == "revisions/004.json"


def test_not_a_zip(tmp_path):
    path = tmp_path / "b.zip"
    path.write_bytes(b"nothing")
    assert bundle_check.check_bundle(path).problems[0].file == "b.zip"


def test_export_is_recorded(world, signer):
    export_bundle(NUMBER, actor="user:7", organisation_code="042081", platform_signer=signer)
    event = first_event(kind="evidence.exported", contract_number=NUMBER)
    assert event.actor == "user:7"


def test_unknown_certificate(registry_db):
    with pytest.raises(NotFound):
        build_bundle("99999-999999")


def test_the_checker_module_loads_neither_peewee_nor_flask():
    code = ("import sys; import registry.audit.bundle_check\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('peewee', 'playhouse', 'flask', 'werkzeug', 'dsure_portal')]\n"
            "assert not bad, bad\n"
            "others = [m for m in sys.modules if m.startswith('registry.')\n"
            "          and m not in ('registry.audit', 'registry.audit.bundle_check',\n"
            "                        'registry.audit.bundle_checkpoints')]\n"
            "assert not others, others")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def _isolated_path(tmp_path: Path) -> Path:
    """A directory holding only cryptography (with cffi, its one dependency) and rfc8785."""
    import cffi
    import cryptography
    import rfc8785
    site = tmp_path / "site"
    site.mkdir()
    for module in (cryptography, rfc8785, cffi):
        (site / module.__name__).symlink_to(Path(module.__file__).parent)
    import _cffi_backend
    (site / Path(_cffi_backend.__file__).name).symlink_to(_cffi_backend.__file__)
    return site


def test_verify_bundle_py_runs_alone_from_the_unpacked_bundle(world, signer, tmp_path):
    site = _isolated_path(tmp_path)
    with zipfile.ZipFile(io.BytesIO(build_bundle(NUMBER, platform_signer=signer).data)) as zf:
        zf.extractall(tmp_path / "out")
    folder = tmp_path / "out" / f"evidence-{NUMBER}"
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    # -S: no site-packages; only the three packages above are importable.
    probe = subprocess.run([sys.executable, "-S", "-c", "import peewee"], env=env, cwd=folder,
                           capture_output=True)
    assert probe.returncode != 0
    ok = subprocess.run([sys.executable, "-S", "verify_bundle.py"], env=env, cwd=folder,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"OK 4 revisions of {NUMBER}")

    (folder / "revisions" / "001.json").write_bytes(
        (folder / "revisions" / "001.json").read_bytes().replace(b"20000000", b"90000000"))
    bad = subprocess.run([sys.executable, "-S", "verify_bundle.py"], env=env, cwd=folder,
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stdout.startswith("FAILED: revisions/001.json:")
