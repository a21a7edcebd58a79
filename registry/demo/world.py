"""The demo world of DESIGN §7, posted through the same path as the API.

Idempotent: organisations are reused, and every sample is signed deterministically
(Ed25519 over fixed documents), so a second run is a series of idempotent retries.
The demo auth keys are kept in the instance folder (demo data only) so each run can
print them; the database holds only their digests, as for any certificate.
"""
from __future__ import annotations

import base64
import copy
import dataclasses
import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..certificates.auth_keys import AuthKeyHasher
from ..certificates.ingest import accept_revision
from ..models import ApiClient, Organisation
from ..accounts.organisations import add_api_client, add_organisation, add_signing_key
from ..certificates.signatures import canonical_bytes

OBLIGEES = [("042081", "角田市", "角田市長 角田 太郎"), ("124249", "白子町", "白子町長 白子 花子"),
            ("122246", "鎌ケ谷市", "鎌ケ谷市長 鎌ケ谷 健"), ("203629", "富士見町", "富士見町長 富士見 誠"),
            ("102083", "渋川市", "渋川市長 渋川 学")]
SURETY = {"code": "EJCS", "name": "東日本建設業保証株式会社",
          "address": "東京都中央区八丁堀2丁目27番10号", "representative": "取締役社長 鈴木 次郎",
          "branch": "宮城支店", "tel": "022-262-8531", "fax": "022-262-0000"}


@dataclasses.dataclass
class Sample:
    contract_number: str
    obligee: str
    product: str
    auth_key: str | None
    revisions: int


def _base(number: str, product: str, obligee_index: int, work: str, principal: dict,
          contract_amount: int, guarantee_amount: int) -> dict:
    code, _, mayor = OBLIGEES[obligee_index]
    doc = {
        "contract_number": number, "product": product, "revision": 1, "kind": "new",
        "supersedes": None, "issued_on": "2026-04-01",
        "obligee": {"code": code, "name": mayor},
        "principal": {"jv_name": None, "jv_members": [], **principal},
        "work": {"name": work, "location": f"{OBLIGEES[obligee_index][1]}地内",
                 "contract_date": "2026-03-25", "period_start": "2026-04-01",
                 "period_end": "2026-12-25"},
        "contract_amount": contract_amount, "guarantee_amount": guarantee_amount,
        "guarantee_period": {"start": "2026-04-01", "end": "2026-12-25"},
        "surety": dict(SURETY),
    }
    if product != "contract":
        doc["deposit_bank"] = "七十七銀行 角田支店"
    return doc


def _next(doc: dict, kind: str, supersedes: int | None = None, issued_on: str = "2026-06-01",
          **changes) -> dict:
    new = copy.deepcopy(doc)
    new.update(revision=doc["revision"] + 1, kind=kind, supersedes=supersedes, issued_on=issued_on)
    for path, value in changes.items():
        target = new
        *parents, leaf = path.split("__")
        for p in parents:
            target = target[p]
        target[leaf] = value
    return new


def sample_histories() -> list[list[dict]]:
    """Each list is one certificate's revisions in order."""
    kakuda = {"name": "角田建設株式会社", "address": "宮城県角田市角田字大坊41",
              "representative": "代表取締役 山田 一郎"}
    jv = {"name": "角田・仙南特定建設工事共同企業体", "address": "宮城県角田市角田字大坊41",
          "representative": "代表者 角田建設株式会社 代表取締役 山田 一郎",
          "jv_name": "角田・仙南特定建設工事共同企業体", "jv_members": ["角田建設株式会社", "仙南工業株式会社"]}
    a1 = _base("20001-000001", "advance_payment", 0, "市道角田線舗装補修工事", kakuda, 50_000_000, 20_000_000)
    a2 = _next(a1, "change", contract_amount=60_000_000, guarantee_amount=24_000_000,
               guarantee_period__end="2027-01-29", work__period_end="2027-01-29")
    a3 = _next(a2, "correction", 2, issued_on="2026-06-03",
               guarantee_period__end="2027-01-31", work__period_end="2027-01-31")
    a4 = _next(a1, "change_cancellation", 3, issued_on="2026-06-10")
    a4["revision"] = 4
    c1 = _base("20001-000002", "contract", 0, "市道角田線舗装補修工事", jv, 50_000_000, 5_000_000)
    c2 = _next(c1, "change", contract_amount=55_000_000, guarantee_amount=5_500_000)
    s1 = _base("20001-000003", "advance_payment", 1, "白子町中央公民館耐震改修工事",
               {"name": "外房工務店株式会社", "address": "千葉県長生郡白子町関5074",
                "representative": "代表取締役 佐藤 正"}, 81_400_000, 32_560_000)
    s2 = _next(s1, "correction", 1, issued_on="2026-04-02", principal__representative="代表取締役 佐藤 正人")
    k1 = _base("20001-000004", "intermediate_advance_payment", 2, "鎌ケ谷市立第二中学校屋上防水工事",
               {"name": "北総建設株式会社", "address": "千葉県鎌ケ谷市新鎌ケ谷2丁目6番1号",
                "representative": "代表取締役 高橋 誠"}, 33_000_000, 6_600_000)
    f1 = _base("20001-000005", "contract", 3, "富士見町役場庁舎空調設備更新工事",
               {"name": "八ヶ岳設備工業株式会社", "address": "長野県諏訪郡富士見町落合10777",
                "representative": "代表取締役 小林 修"}, 120_000_000, 12_000_000)
    h1 = _base("20001-000006", "advance_payment", 4, "渋川市道1-2345号線道路改良工事",
               {"name": "赤城土木株式会社", "address": "群馬県渋川市石原80",
                "representative": "代表取締役 伊藤 浩"}, 45_000_000, 18_000_000)
    h2 = _next(h1, "change", contract_amount=48_600_000, guarantee_amount=19_440_000)
    h3 = _next(h2, "change_cancellation", 2, issued_on="2026-07-01",
               contract_amount=45_000_000, guarantee_amount=18_000_000)
    return [[a1, a2, a3, a4], [c1, c2], [s1, s2], [k1], [f1], [h1, h2, h3]]


def _load_or_create_key(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    key = Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return key


def sign(private_key: Ed25519PrivateKey, document: dict, key_id: str) -> dict:
    signature = private_key.sign(canonical_bytes(document))
    return {"document": document, "signature": base64.b64encode(signature).decode(), "key_id": key_id}


def load_demo(*, instance_path: str, hasher: AuthKeyHasher) -> dict:
    """Create (or find) the demo world. Returns what the operator should be shown."""
    instance = Path(instance_path)
    for code, name, _ in OBLIGEES:
        if not Organisation.get_or_none(Organisation.code == code):
            # Password-only on purpose: the printed demo logins work without an
            # authenticator app. A real organisation requires TOTP unless told otherwise.
            add_organisation(kind="obligee", code=code, name=name, require_otp=False,
                             actor="demo")
    if not Organisation.get_or_none(Organisation.code == SURETY["code"]):
        add_organisation(kind="surety", code=SURETY["code"], name=SURETY["name"], actor="demo")
    token = None
    client = ApiClient.select().join(Organisation).where(Organisation.code == SURETY["code"]).first()
    if client is None:
        client, token = add_api_client(org_code=SURETY["code"], name="demo surety system", actor="demo")
    private_key = _load_or_create_key(instance / "demo-surety-signing-key.pem")
    pem = private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    key = add_signing_key(org_code=SURETY["code"], pem=pem, actor="demo")

    keys_file = instance / "demo-auth-keys.json"
    known = json.loads(keys_file.read_text()) if keys_file.exists() else {}
    samples = []
    for history in sample_histories():
        number = history[0]["contract_number"]
        for doc in history:
            accepted = accept_revision(client=client, contract_number=number, number=doc["revision"],
                                       body=sign(private_key, doc, key.key_id), hasher=hasher)
            if accepted.auth_key:
                known[number] = accepted.auth_key
        samples.append(Sample(number, _obligee_name(history[0]["obligee"]["code"]), history[0]["product"],
                              known.get(number), len(history)))
    keys_file.write_text(json.dumps(known, indent=1))
    keys_file.chmod(0o600)
    return {"samples": samples, "api_token": token, "key_id": key.key_id,
            "obligee_api_token": _obligee_client(OBLIGEES[0][0])}


def _obligee_client(code: str) -> str | None:
    """An API client for the obligee's own systems (the obligee API); its token only
    when it is made, like the surety's."""
    if ApiClient.select().join(Organisation).where(Organisation.code == code).exists():
        return None
    return add_api_client(org_code=code, name="demo e-contract system", actor="demo")[1]


def _obligee_name(code: str) -> str:
    return next(name for c, name, _ in OBLIGEES if c == code)
