"""The evidence bundle of one certificate: everything needed to re-verify it by hand,
years later, without this platform (DESIGN §4: anyone holding the surety's public key
can re-verify a stored revision).

A zip with one folder ``evidence-<contract number>/`` holding each revision's canonical
bytes exactly as signed (``revisions/NNN.json``) and its raw 64-byte Ed25519 signature
(``revisions/NNN.sig``), the surety's public keys (``keys/<key_id>.pem``), the revision
metadata (``revisions.json``; arrival times are the platform's statement, so the platform
signs that file when it has a key), the first audit checkpoint after each acceptance with
its RFC 3161 token (``checkpoints/``), a README in Japanese and English,
``verify_bundle.py`` (registry/audit/bundle_check.py, which needs only cryptography and rfc8785,
with registry/audit/bundle_checkpoints.py beside it) and SHA256SUMS.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from pathlib import Path

from . import bundle_check, bundle_checkpoints, timestamps
from .chain import record
from .queries import revision_records
from .checkpoints import PlatformSigner, file_bytes
from ..clock import Clock, isoformat, utcnow
from ..errors import NotFound
from ..models import Certificate, Organisation
from ..certificates.signatures import public_key_pem

README = """\
電子保証 証拠パッケージ / Evidence bundle — {contract_number}
======================================================================

作成 / generated: {generated_at} (UTC)   プラットフォーム / platform: dsure-portal

【日本語】
このパッケージには、保証契約番号 {contract_number} の電子保証の全リビジョン
(訂正・変更取消により通常画面では非表示のものを含む)が、保証会社が署名した
そのままのバイト列で入っています。

  revisions/NNN.json   リビジョン No.NNN の文書 (RFC 8785 正規化 JSON、署名対象そのもの)
  revisions/NNN.sig    保証会社の Ed25519 署名 (64 バイトのバイナリ)
  keys/<key_id>.pem    保証会社の公開鍵 (PEM)
  revisions.json       各リビジョンの番号・対象・supersedes・電子保証発行日時(到着時刻)・
                       鍵ID・指紋・非表示の理由
  revisions.json.sig   revisions.json へのプラットフォームの署名 (platform-public-key.pem で検証)
  checkpoints/NNN.json 受付後最初の監査ログのチェックポイント (プラットフォームの署名付き)
  checkpoints/NNN.tsr  そのチェックポイントへの時刻認証局の RFC 3161 タイムスタンプ
  verify_bundle.py     一括検証スクリプト (bundle_checkpoints.py も使います)
  SHA256SUMS           全ファイルの SHA-256

検証のしかた:
 1. まとめて検証する (Python 3.10 以上、pip install cryptography rfc8785):
      python3 verify_bundle.py --surety-key <保証会社の公開鍵の指紋> \\
          --platform-key <プラットフォームの公開鍵の指紋>
    「OK」で終われば全リビジョンの署名が有効です。問題があれば該当ファイル名を表示し、
    終了コード 1 で終わります。指紋は、このパッケージの外から入手したもの(保証会社の
    公表値、保管しておいたチェックポイントの key_fingerprint)を指定してください。
    指定しないと、パッケージ内の鍵で自己整合性だけを確かめ、その旨を表示します。
 2. OpenSSL 3 で 1 件ずつ署名を検証する:
      openssl pkeyutl -verify -pubin -inkey keys/<key_id>.pem -rawin \\
          -in revisions/001.json -sigfile revisions/001.sig
    「Signature Verified Successfully」と表示されれば有効です。
    タイムスタンプは、時刻認証局のルート証明書 (tsa-ca.pem) を用意して:
      openssl ts -verify -data checkpoints/NNN.json -in checkpoints/NNN.tsr -CAfile tsa-ca.pem
    「Verification: OK」で、そのチェックポイント (受付までの監査ログ) がその時刻に
    存在し、以後改ざんされていないことが確かめられます。
 3. 公開鍵の指紋 (SHA-256) を、保証会社が公表している指紋と照合してください:
      openssl pkey -pubin -in keys/<key_id>.pem -outform DER | tail -c 32 | sha256sum
 4. ファイルの欠損・破損の確認: sha256sum -c SHA256SUMS

注意: 電子保証発行日時はプラットフォームが記録した到着時刻で、保証会社の署名の
対象ではありません。revisions.json.sig はプラットフォームによるその記録の署名です。

【English】
This bundle holds every revision of guarantee contract {contract_number} (including
revisions hidden from the normal view because they were corrected or cancelled), as the
exact bytes the surety signed.

  revisions/NNN.json   revision NNN: RFC 8785 canonical JSON, exactly the signed bytes
  revisions/NNN.sig    the surety's Ed25519 signature (64 raw bytes)
  keys/<key_id>.pem    the surety's public key (PEM)
  revisions.json       number, kind, supersedes, arrival time (the official issue time),
                       key id, fingerprint and why a revision is hidden, per revision
  revisions.json.sig   the platform's signature over revisions.json (platform-public-key.pem)
  checkpoints/NNN.json the first checkpoint of the audit log after the revision was
                       accepted, signed by the platform
  checkpoints/NNN.tsr  a time-stamping authority's RFC 3161 token over that checkpoint
  verify_bundle.py     checks everything at once (with bundle_checkpoints.py)
  SHA256SUMS           SHA-256 of every file

To verify:
 1. All at once (Python 3.10+, pip install cryptography rfc8785):
      python3 verify_bundle.py --surety-key <the surety's key fingerprint> \\
          --platform-key <the platform's key fingerprint>
    It prints OK when every signature verifies; otherwise it names the file at fault and
    exits with status 1. Take the fingerprints from outside this bundle (the surety's
    published one, the key_fingerprint of a checkpoint you kept): without them the bundle
    is only checked against the keys it carries, and the output says so.
 2. One signature with OpenSSL 3:
      openssl pkeyutl -verify -pubin -inkey keys/<key_id>.pem -rawin \\
          -in revisions/001.json -sigfile revisions/001.sig
    "Signature Verified Successfully" means valid.
    A time-stamp, with the TSA's root certificate (tsa-ca.pem):
      openssl ts -verify -data checkpoints/NNN.json -in checkpoints/NNN.tsr -CAfile tsa-ca.pem
    "Verification: OK" shows the checkpoint (the log up to the acceptance) existed, unchanged
    since, at the TSA's time.
 3. Compare the key's SHA-256 fingerprint with the one the surety publishes:
      openssl pkey -pubin -in keys/<key_id>.pem -outform DER | tail -c 32 | sha256sum
 4. Missing or damaged files: sha256sum -c SHA256SUMS

Note: arrival times are recorded by the platform and are not covered by the surety's
signature; revisions.json.sig is the platform's signature over that record.

Fingerprints / 指紋:
{fingerprints}
"""


@dataclasses.dataclass(frozen=True)
class Bundle:
    filename: str
    data: bytes


def _revision_file(number: int, suffix: str) -> str:
    return f"revisions/{number:03d}.{suffix}"


def _add_checkpoints(records, files: dict[str, bytes]) -> dict[int, tuple[str, str | None]]:
    """Each acceptance's covering checkpoint and its token into ``files``; their names
    by the acceptance's audit seq."""
    named = {}
    for seq in sorted({r.accepted_seq for r in records if r.accepted_seq is not None}):
        found = timestamps.covering(seq)
        if found is None:
            continue  # not yet checkpointed: the next checkpoint run will
        checkpoint, token = found
        name = f"checkpoints/{checkpoint.head_seq}.json"
        files[name] = file_bytes(checkpoint)
        if token is not None:
            files[f"checkpoints/{checkpoint.head_seq}.tsr"] = bytes(token.token)
        named[seq] = (name, f"checkpoints/{checkpoint.head_seq}.tsr" if token else None)
    return named


def build_bundle(contract_number: str, *, platform_signer: PlatformSigner | None = None,
                 clock: Clock = utcnow) -> Bundle:
    """The evidence zip of one certificate. Who may have it is the caller's decision."""
    certificate = (Certificate.select(Certificate, Organisation)
                   .join(Organisation, on=(Certificate.obligee == Organisation.id))
                   .where(Certificate.contract_number == contract_number).first())
    if certificate is None:
        raise NotFound(f"no certificate {contract_number}")
    records = revision_records(certificate)
    generated_at = isoformat(clock())
    files: dict[str, bytes] = {}
    keys: dict[str, str] = {}
    proofs = _add_checkpoints(records, files)
    entries = []
    for r in records:
        key_file = f"keys/{r.key_id}.pem"
        files[_revision_file(r.number, "json")] = r.canonical
        files[_revision_file(r.number, "sig")] = r.signature
        files[key_file] = public_key_pem(r.public_key)
        keys[r.key_id] = r.fingerprint
        checkpoint, timestamp = proofs.get(r.accepted_seq, (None, None))
        entries.append({
            "number": r.number, "kind": r.kind, "supersedes": r.supersedes,
            "arrived_at": isoformat(r.arrived_at), "key_id": r.key_id, "fingerprint": r.fingerprint,
            "hidden_by": r.hidden_by, "hidden_reason": r.hidden_reason,
            "document": _revision_file(r.number, "json"),
            "signature": _revision_file(r.number, "sig"), "public_key": key_file,
            "canonical_sha256": r.canonical_sha256, "accepted_event_seq": r.accepted_seq,
            "checkpoint": checkpoint, "timestamp": timestamp,
        })
    metadata = {
        "format": bundle_check.FORMAT, "contract_number": certificate.contract_number,
        "product": certificate.product,
        "obligee": {"code": certificate.obligee.code, "name": certificate.obligee.name},
        "surety_code": Organisation.get_by_id(certificate.surety_id).code,
        "generated_at": generated_at, "revisions": entries,
    }
    files[bundle_check.METADATA] = (json.dumps(metadata, ensure_ascii=False, indent=2) + "\n").encode()
    if platform_signer is not None:
        files[bundle_check.PLATFORM_KEY] = platform_signer.public_key_pem.encode()
        files[bundle_check.PLATFORM_SIGNATURE] = platform_signer.sign(files[bundle_check.METADATA])
    fingerprints = "\n".join(f"  {key_id}: {fp}" for key_id, fp in sorted(keys.items()))
    if platform_signer is not None:
        fingerprints += f"\n  platform: {platform_signer.fingerprint}"
    files["README.txt"] = README.format(contract_number=certificate.contract_number,
                                        generated_at=generated_at,
                                        fingerprints=fingerprints).encode()
    files["verify_bundle.py"] = Path(bundle_check.__file__).read_bytes()
    files["bundle_checkpoints.py"] = Path(bundle_checkpoints.__file__).read_bytes()
    files[bundle_check.SUMS] = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items())
    ).encode()

    top = f"evidence-{certificate.contract_number}"
    stamp = tuple(int(x) for x in (generated_at[0:4], generated_at[5:7], generated_at[8:10],
                                   generated_at[11:13], generated_at[14:16], generated_at[17:19]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            info = zipfile.ZipInfo(f"{top}/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if name.endswith(".py") else 0o644) << 16
            zf.writestr(info, data)
    return Bundle(f"{top}.zip", buffer.getvalue())


def export_bundle(contract_number: str, *, actor: str, organisation_code: str | None,
                  platform_signer: PlatformSigner | None = None, clock: Clock = utcnow) -> Bundle:
    """Build the bundle and put who took it into the audit trail."""
    bundle = build_bundle(contract_number, platform_signer=platform_signer, clock=clock)
    record("evidence.exported", actor=actor, organisation_code=organisation_code,
           contract_number=contract_number,
           details={"sha256": hashlib.sha256(bundle.data).hexdigest()}, clock=clock)
    return bundle
