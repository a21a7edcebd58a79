"""The auditors' workspace: who sees what, the filtered and exported trail, a
certificate's whole history, checkpoints against a rewritten log, evidence bundles."""
from __future__ import annotations

import csv
import html
import datetime as dt
import io
import json
import subprocess
import sys
import zipfile

import pytest

from registry.audit import queries as audit_queries
from registry.audit.chain import record
from registry.certificates.ingest import accept_revision
from registry.models import AuditEvent, Organisation
from registry.accounts.organisations import add_api_client, add_signing_key
from registry.certificates.portfolio import add_to_list, listed_certificate
from tests.factories import TEST_PUBLIC_PEM, make_document, next_revision, sign
from tests.portal.conftest import csrf_token_from
from tests.tampering import rewrite_audit_entry

A_CERT, B_CERT = "30001-000001", "30001-000002"
AUDIT_URLS = ["/audit", "/audit/export.csv", "/audit/certificates",
              f"/audit/certificates/{A_CERT}", f"/audit/certificates/{A_CERT}/evidence.zip"]


@pytest.fixture
def world(app, orgs, hasher):
    """A's certificate with a change, a correction and a change cancellation (two hidden
    revisions); B's certificate; events of both organisations."""
    with app.app_context():
        client, _ = add_api_client(org_code="EJCS", name="ejcs")
        key = add_signing_key(org_code="EJCS", pem=TEST_PUBLIC_PEM)
        d1 = make_document(contract_number=A_CERT)
        d2 = next_revision(d1, "change", guarantee_amount=24_000_000)
        d3 = next_revision(d2, "correction", 2, guarantee_amount=25_000_000)
        d4 = next_revision(d3, "change_cancellation", 3, guarantee_amount=20_000_000)
        b1 = make_document(contract_number=B_CERT, obligee__code="124249", obligee__name="白子町長",
                           work__name="白子町公民館工事")
        for doc in (d1, d2, d3, d4, b1):
            accept_revision(client=client, contract_number=doc["contract_number"],
                            number=doc["revision"], body=sign(doc, key.key_id), hasher=app.extensions["dsure.hasher"])
    return {"key": key}


@pytest.fixture
def auditor_a(make_user):
    return make_user(email="audit@kakuda.example.jp", role="auditor", org_code="042081")


@pytest.fixture
def auditor_b(make_user):
    return make_user(email="audit@shirako.example.jp", role="auditor", org_code="124249")


@pytest.fixture
def platform_auditor(make_user):
    return make_user(email="audit@dsure.example.jp", role="platform-auditor", org_code="DSURE")


def staff_events(app, user, contract_number, org_code):
    with app.app_context():
        record("lookup.succeeded", actor=f"user:{user.id}", organisation_code=org_code,
               contract_number=contract_number, details={"added_to_list": True})
        record("certificate.viewed", actor=f"user:{user.id}", organisation_code=org_code,
               contract_number=contract_number, details={"view": "page", "revisions": [1]})


def csv_rows(response) -> list[dict]:
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


# --- who may come in ---------------------------------------------------------------

@pytest.mark.parametrize("url", AUDIT_URLS)
@pytest.mark.parametrize("role", ["staff", "admin"])
def test_staff_and_admins_are_refused(client, make_user, sign_in, world, url, role):
    sign_in(client, make_user(role=role))
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", AUDIT_URLS)
def test_strangers_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_auditors_cannot_post(client, auditor_a, sign_in):
    sign_in(client, auditor_a)
    assert client.post("/audit").status_code in (400, 405)  # CSRF or method: never a change


@pytest.mark.parametrize("auditor", ["auditor_a", "platform_auditor"])
def test_auditors_cannot_use_the_staff_pages(app, client, sign_in, world, auditor, request):
    """A lookup adds to the organisation's list and counts failures: not an auditor's to do."""
    sign_in(client, request.getfixturevalue(auditor))
    for url in ("/lookup", "/certificates", f"/certificates/{A_CERT}"):
        assert client.get(url).status_code == 403, url
    with app.app_context():
        events_before = AuditEvent.select().count()
    token = csrf_token_from(client.get("/account").data.decode())
    response = client.post("/lookup", data={"csrf_token": token, "contract_number": A_CERT,
                                            "auth_key": "WRONGKEY2345"})
    assert response.status_code == 403
    with app.app_context():
        added = AuditEvent.select().order_by(AuditEvent.seq).offset(events_before)
        assert [e.kind for e in added] == ["access.denied"]  # the refusal, not a lookup
        kakuda = Organisation.get(Organisation.code == "042081")
        assert listed_certificate(organisation_id=kakuda.id, contract_number=A_CERT) is None
    page = client.get("/audit").data.decode()
    assert 'href="/lookup"' not in page and 'href="/audit"' in page


def test_an_auditor_of_a_sees_none_of_bs_events_or_certificates(app, client, make_user, sign_in,
                                                                world, auditor_a):
    staff_b = make_user(email="staff@shirako.example.jp", org_code="124249")
    staff_events(app, staff_b, B_CERT, "124249")
    sign_in(client, auditor_a)

    page = client.get("/audit").data.decode()
    assert A_CERT in page and B_CERT not in page and "124249" not in page.split("<form")[0]
    rows = csv_rows(client.get("/audit/export.csv"))
    assert rows and all(r["contract_number"] != B_CERT and r["organisation_code"] != "124249"
                        for r in rows)
    # revisions of A's certificate came from the surety: seen through the contract number
    assert any(r["kind"] == "revision.accepted" and r["contract_number"] == A_CERT for r in rows)
    assert csv_rows(client.get("/audit/export.csv?organisation=124249")) == []
    assert csv_rows(client.get(f"/audit/export.csv?contract_number={B_CERT}")) == []
    assert B_CERT not in client.get("/audit/certificates").data.decode()
    assert client.get(f"/audit/certificates/{B_CERT}").status_code == 404
    assert client.get(f"/audit/certificates/{B_CERT}/evidence.zip").status_code == 404


def test_a_platform_auditor_sees_everything(app, client, make_user, sign_in, world, platform_auditor):
    staff_b = make_user(email="staff@shirako.example.jp", org_code="124249")
    staff_events(app, staff_b, B_CERT, "124249")
    sign_in(client, platform_auditor)
    rows = csv_rows(client.get("/audit/export.csv"))
    with app.app_context():
        assert len(rows) == AuditEvent.select().count()
    listing = client.get("/audit/certificates").data.decode()
    assert A_CERT in listing and B_CERT in listing
    assert client.get(f"/audit/certificates/{B_CERT}").status_code == 200


# --- the trail ---------------------------------------------------------------------

def test_the_trail_filters_and_pages(app, client, sign_in, world, auditor_a):
    base = dt.datetime(2026, 5, 1, 0, 0)  # JST 09:00
    with app.app_context():
        for n in range(audit_queries.PAGE_SIZE + 20):
            record("lookup.failed", actor="user:999", organisation_code="042081",
                   contract_number=A_CERT, details={"reason": "bad_key", "n": n},
                   clock=lambda n=n: base + dt.timedelta(minutes=n))
    sign_in(client, auditor_a)

    first = html.unescape(client.get("/audit?kind=lookup.failed").data.decode())
    assert first.count('<dt>理由</dt><dd>bad_key</dd>') == audit_queries.PAGE_SIZE
    assert "さらに古い記録を表示" in first
    assert '<dt>n</dt><dd>69</dd>' in first and '<dt>n</dt><dd>19</dd>' not in first  # newest first
    # the next page as htmx asks for it: the rows only, then no more link
    before = first.split("before=")[1].split('"')[0]
    more = client.get(f"/audit?kind=lookup.failed&before={before}", headers={"HX-Request": "true"})
    body = html.unescape(more.data.decode())
    assert body.lstrip().startswith("<tr") and "<html" not in body
    assert body.count('<dt>理由</dt><dd>bad_key</dd>') == 20 and "さらに古い記録を表示" not in body
    assert "HX-Request" in more.headers["Vary"]
    # without JavaScript the same link is a whole page
    assert "<html" in client.get(f"/audit?kind=lookup.failed&before={before}").data.decode()

    # time range (JST), actor, contract number
    ranged = client.get("/audit/export.csv?kind=lookup.failed&since=2026-05-01T09:10&until=2026-05-01T09:19")
    assert sorted(json.loads(r["details"])["n"] for r in csv_rows(ranged)) == list(range(10, 20))
    assert len(csv_rows(client.get("/audit/export.csv?actor=user:999"))) == 70
    assert len(csv_rows(client.get("/audit/export.csv?actor=user:998"))) == 0
    bad = client.get("/audit?since=yesterday").data.decode()
    assert "開始日時の形式が正しくありません" in bad


def test_the_filter_form_answers_htmx_with_the_results_block(client, sign_in, world, auditor_a):
    sign_in(client, auditor_a)
    response = client.get("/audit?kind=revision.accepted", headers={"HX-Request": "true"})
    body = response.data.decode()
    assert body.lstrip().startswith('<div id="trail-results">') and "<form" not in body


def test_users_are_filtered_by_email(app, client, make_user, sign_in, world, auditor_a):
    staff = make_user()
    staff_events(app, staff, A_CERT, "042081")
    sign_in(client, auditor_a)
    rows = csv_rows(client.get("/audit/export.csv?actor=staff@kakuda.example.jp"))
    assert [r["kind"] for r in rows] == ["certificate.viewed", "lookup.succeeded"]
    assert "staff@kakuda.example.jp" in client.get("/audit").data.decode()


def test_the_csv_export_has_every_matching_row(app, client, sign_in, world, auditor_a):
    with app.app_context():
        for n in range(3 * audit_queries.PAGE_SIZE + 7):
            record("lookup.failed", actor="user:5", organisation_code="042081",
                   details={"reason": "bad_key", "note": "カンマ,と\"引用符\"\n改行"})
    sign_in(client, auditor_a)
    response = client.get("/audit/export.csv?kind=lookup.failed")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.is_streamed
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(response)
    assert len(rows) == 3 * audit_queries.PAGE_SIZE + 7
    assert list(rows[0]) == audit_queries.CSV_COLUMNS
    assert json.loads(rows[0]["details"])["note"] == "カンマ,と\"引用符\"\n改行"
    seqs = [int(r["seq"]) for r in rows]
    assert seqs == sorted(seqs, reverse=True)
    with app.app_context():  # the rows are the stored entries, hashes included
        stored = AuditEvent.get(AuditEvent.seq == seqs[0])
    assert rows[0]["entry_hash"] == stored.entry_hash
    assert rows[0]["occurred_at_utc"] == stored.occurred_at
    # and taking it is itself in the trail
    exported = csv_rows(client.get("/audit/export.csv?kind=audit.exported"))
    assert json.loads(exported[-1]["details"]) == {"filter": {"kind": "lookup.failed"}}


def test_the_chain_state_shows_the_latest_verification(app, client, runner, sign_in, world, auditor_a):
    sign_in(client, auditor_a)
    assert "未検証" in client.get("/audit").data.decode()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    page = client.get("/audit").data.decode()
    assert "改ざんなし" in page and "未検証" not in page



def test_audit_verify_reads_in_batches_and_names_what_changed_across_them(app, runner, world,
                                                                          monkeypatch):
    """Streamed two rows at a time, `audit verify` still walks every entry and every
    certificate, and names a tampered entry and a tampered revision."""
    from registry.audit import streaming
    from registry.models import Certificate, Revision
    from tests.tampering import change_revision
    monkeypatch.setattr(streaming, "BATCH", 2)
    with app.app_context():
        count = AuditEvent.select().count()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and f"OK {count} entries" in ok.output
    with app.app_context():
        rev = Revision.select().join(Certificate).where(Certificate.contract_number == B_CERT).get()
        change_revision(rev.id, kind="change")
        from tests.registry.test_audit import drop_guards
        drop_guards("audit_event")
        AuditEvent.update(actor="someone-else").where(AuditEvent.seq == 3).execute()
    failed = runner.invoke(args=["audit", "verify"])
    assert failed.exit_code == 1 and "FAILED: audit entry 3: entry_hash does not match" in failed.output
    assert f"revision {B_CERT}/1: stored kind 'change' differs" in failed.output

# --- a certificate's whole history -----------------------------------------------------

def test_the_full_history_shows_hidden_revisions_and_why(app, client, make_user, sign_in, world,
                                                         auditor_a):
    staff = make_user()
    staff_events(app, staff, A_CERT, "042081")
    sign_in(client, auditor_a)
    page = client.get(f"/audit/certificates/{A_CERT}").data.decode()
    for n in (1, 2, 3, 4):
        assert f'id="revision-{n}"' in page and f'id="document-{n}"' in page
    assert "訂正により非表示 (No.3)" in page
    assert "変更取消により非表示 (No.4)" in page
    assert page.count("署名有効") == 4
    assert '"guarantee_amount": 24000000' in html.unescape(page)
    assert "staff@kakuda.example.jp" in page  # who opened it
    assert "照会(成功)" in page and "保証証書の閲覧" in page


def test_a_tampered_revision_shows_as_not_verified(app, client, sign_in, world, auditor_a):
    from registry.models import Certificate, Revision
    from tests.tampering import change_revision_bytes
    with app.app_context():
        rev = Revision.select().join(Certificate).where(Certificate.contract_number == A_CERT,
                                                        Revision.number == 2).get()
        change_revision_bytes(rev.id, bytes(rev.canonical).replace(b"24000000", b"94000000"))
    sign_in(client, auditor_a)
    page = client.get(f"/audit/certificates/{A_CERT}").data.decode()
    assert page.count("署名有効") == 3 and "署名が一致しません" in page


# --- checkpoints -------------------------------------------------------------------

def test_a_recomputed_rewrite_passes_verify_alone_but_not_against_a_checkpoint(app, runner, world,
                                                                                tmp_path):
    out = tmp_path / "checkpoint.json"
    made = runner.invoke(args=["audit", "checkpoint", "--out", str(out)])
    assert made.exit_code == 0, made.output
    head = json.loads(out.read_text())["head_seq"]
    assert runner.invoke(args=["audit", "verify", "--checkpoint", str(out)]).exit_code == 0
    with app.app_context():
        record("later", actor="operator")
        rewrite_audit_entry(2, actor="someone-else")

    alone = runner.invoke(args=["audit", "verify"])
    assert alone.exit_code == 0 and f"OK {head + 1} entries" in alone.output

    against = runner.invoke(args=["audit", "verify", "--checkpoint", str(out)])
    assert against.exit_code == 1
    assert f"FAILED: audit entry {head}:" in against.output


def test_a_forged_checkpoint_file_fails(runner, world, tmp_path):
    out = tmp_path / "checkpoint.json"
    runner.invoke(args=["audit", "checkpoint", "--out", str(out)])
    doc = json.loads(out.read_text())
    doc["entries"] += 1
    out.write_text(json.dumps(doc))
    result = runner.invoke(args=["audit", "verify", "--checkpoint", str(out)])
    assert result.exit_code == 1 and "checkpoint signature does not verify" in result.output
    out.write_text("{}")
    assert "not a checkpoint" in runner.invoke(args=["audit", "verify", "--checkpoint", str(out)]).output


def test_checkpoints_are_made_after_a_response_listed_and_downloadable(app, client, sign_in, world,
                                                                      auditor_a):
    sign_in(client, auditor_a)
    client.get("/audit").close()  # the world's writes are due a checkpoint once this is sent
    page = client.get("/audit").data.decode()
    assert "定期(自動)" in page
    link = page.split('href="/audit/checkpoints/')[1].split('"')[0]
    document = client.get(f"/audit/checkpoints/{link}")
    assert document.status_code == 200 and json.loads(document.data)["reason"] == "interval"


# --- evidence bundles --------------------------------------------------------------

def test_auditors_download_a_bundle_that_verifies_offline(client, sign_in, world, auditor_a, tmp_path):
    sign_in(client, auditor_a)
    response = client.get(f"/audit/certificates/{A_CERT}/evidence.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    path = tmp_path / "bundle.zip"
    path.write_bytes(response.data)
    code = ("import sys; from registry.audit.bundle_check import main\n"
            "rc = main([sys.argv[1]])\n"
            "assert not [m for m in sys.modules if m.split('.')[0] in ('peewee', 'flask')]\n"
            "sys.exit(rc)")
    ok = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith(f"OK 4 revisions of {A_CERT}")

    files = {}
    with zipfile.ZipFile(path) as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist()}
    name = f"evidence-{A_CERT}/revisions/003.json"
    files[name] = files[name].replace(b"25000000", b"25000001")
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)
    bad = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stdout.startswith("FAILED: revisions/003.json:")


def test_the_evidence_and_verify_bundle_commands(runner, world, tmp_path):
    out = tmp_path / "e.zip"
    made = runner.invoke(args=["evidence", "--contract-number", "３０００１－０００００１", "--out", str(out)])
    assert made.exit_code == 0, made.output
    checked = runner.invoke(args=["verify-bundle", str(out)])
    assert checked.exit_code == 0 and f"OK 4 revisions of {A_CERT}" in checked.output
    assert "NOTE: the surety and platform key(s) were taken from the bundle itself" in checked.output
    anchored = runner.invoke(args=["verify-bundle", str(out), "--this-platform"])
    assert anchored.exit_code == 0 and "NOTE" not in anchored.output, anchored.output
    stranger = runner.invoke(args=["verify-bundle", str(out), "--surety-key", "ab" * 32])
    assert stranger.exit_code == 1
    assert f"FAILED: keys/{world['key'].key_id}.pem: not a surety key you trust" in stranger.output

    data = bytearray(out.read_bytes())
    with zipfile.ZipFile(out) as zf:
        info = zf.getinfo(f"evidence-{A_CERT}/revisions/001.sig")
        assert info.compress_type == zipfile.ZIP_DEFLATED
    files = {}
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist()}
    sig = bytearray(files[f"evidence-{A_CERT}/revisions/001.sig"])
    sig[0] ^= 0xFF
    files[f"evidence-{A_CERT}/revisions/001.sig"] = bytes(sig)
    with zipfile.ZipFile(out, "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    failed = runner.invoke(args=["verify-bundle", str(out)])
    assert failed.exit_code == 1 and "FAILED: revisions/001.sig:" in failed.output
    assert runner.invoke(args=["evidence", "--contract-number", "99999-999999",
                               "--out", str(out)]).exit_code == 1


def test_staff_take_the_bundle_of_a_certificate_on_their_list(app, client, make_user, sign_in, world):
    staff = make_user()
    sign_in(client, staff)
    url = f"/certificates/{A_CERT}/evidence.zip"
    assert client.get(url).status_code == 404  # not looked up yet: not theirs to open
    with app.app_context():
        add_to_list(organisation_id=staff.organisation_id,
                    certificate_id=AuditEvent._meta.database.execute_sql(
                        "SELECT id FROM certificate WHERE contract_number = %s" % repr(A_CERT)).fetchone()[0],
                    user_id=staff.id)
    response = client.get(url)
    assert response.status_code == 200 and response.data[:2] == b"PK"
    assert client.get(f"/certificates/{B_CERT}/evidence.zip").status_code == 404


def test_auditors_following_the_staff_link_are_sent_to_their_own(client, sign_in, world, auditor_a):
    sign_in(client, auditor_a)
    response = client.get(f"/certificates/{A_CERT}/evidence.zip")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/audit/certificates/{A_CERT}/evidence.zip")


def test_production_refuses_to_start_without_the_platform_key(app_config, tmp_path):
    from dsure_portal import create_app
    from dsure_portal.config import ConfigError
    config = dict(app_config, ENV="production", INSTANCE_PATH=str(tmp_path / "prod"),
                  PLATFORM_KEY_FILE=str(tmp_path / "missing.pem"),
                  SECRET_KEY="s" * 32, SESSION_COOKIE_SECURE=True)  # production's other needs
    with pytest.raises(ConfigError, match="platform signing key"):
        create_app(config)


def test_the_platform_key_file_can_be_named(app_config, tmp_path):
    from dsure_portal import create_app
    from registry.audit.checkpoints import PlatformSigner
    path = tmp_path / "keys" / "platform.pem"
    signer = PlatformSigner.from_file(path)
    app = create_app(dict(app_config, PLATFORM_KEY_FILE=str(path)))
    assert app.extensions["dsure.platform_signer"].public_key_raw == signer.public_key_raw


@pytest.mark.parametrize("typed", ["=1+1", "+1", "-1", "@SUM(A1)", " =1+1", "\n=1+1",
                                   "\u3000=1", "＝1+1", "|calc", "\t=1", "%0A"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_quoted(typed):
    from dsure_portal.spreadsheet import excel_safe
    assert excel_safe(typed) == "'" + typed


@pytest.mark.parametrize("plain", ["30001-000001", '{"reason": "wrong_key"}', "角田市", "", None])
def test_ordinary_cells_are_left_alone(plain):
    from dsure_portal.spreadsheet import excel_safe
    assert excel_safe(plain) == ("" if plain is None else plain)


def test_a_cell_starting_with_a_formula_reaches_the_csv_quoted(app, client, sign_in, platform_auditor):
    """Through the export itself: a column that starts with a formula leaves quoted."""
    with app.app_context():
        record("test.formula", actor="=HYPERLINK(\"http://evil.example\")", organisation_code="DSURE")
    sign_in(client, platform_auditor)
    [row] = csv_rows(client.get("/audit/export.csv?kind=test.formula"))
    assert row["actor"] == "'=HYPERLINK(\"http://evil.example\")"


def test_the_kind_filter_offers_no_kind_only_another_organisation_has(app, client, sign_in,
                                                                       auditor_a, platform_auditor):
    with app.app_context():
        record("test.only_shirako", actor="user:99", organisation_code="124249")
    sign_in(client, auditor_a)
    assert "test.only_shirako" not in client.get("/audit").data.decode()
    other = app.test_client()
    sign_in(other, platform_auditor)
    assert "test.only_shirako" in other.get("/audit").data.decode()
