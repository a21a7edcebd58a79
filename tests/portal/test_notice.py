"""The 認証キー notice through HTTP, both ends (DESIGN §9): the surety's
POST /api/v1/certificates/{n}/notice, and /lookup reading a notice PDF or pasted text."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess

import pytest
import werkzeug.formparser
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from registry.certificates import portfolio
from registry.models import AuditEvent, Organisation
from registry.notices.pdf import DEFAULT_FONT
from registry.accounts.throttle import Failure
from tests import notices
from tests.portal.certificate_fixtures import *  # noqa: F401,F403
from tests.portal.conftest import csrf_token_from
from tests.portal.test_api import PROBLEM, call

needs_font = pytest.mark.skipif(not os.path.isfile(DEFAULT_FONT),
                                reason="fonts-ipaexfont-gothic is not installed")
N1, N2 = "10001-000001", "10001-000002"   # vector 01 (前払金保証), vector 05 (契約保証, a JV)


@pytest.fixture
def api_token(app, surety):
    from registry.accounts.organisations import add_api_client
    with app.app_context():
        _, token = add_api_client(org_code="EJCS", name="notice printer")
    return token


def request_notice(client, token, number, key):
    return call(client, "POST", f"/api/v1/certificates/{number}/notice", token=token,
                json={"auth_key": key})


def events(app, kind):
    with app.app_context():
        return list(AuditEvent.select().where(AuditEvent.kind == kind).order_by(AuditEvent.seq))


def listed(app, number, org_code="042081") -> bool:
    with app.app_context():
        org = Organisation.get(Organisation.code == org_code)
        return portfolio.listed_certificate(organisation_id=org.id, contract_number=number) is not None


def audit_text(app) -> str:
    with app.app_context():
        return " ".join(f"{e.details} {e.contract_number}" for e in AuditEvent.select())


# --- the surety's end ----------------------------------------------------------------

@needs_font
def test_the_surety_gets_the_notice_as_a_pdf(app, client, post_vectors, api_token):
    key = post_vectors("05-contract-new-jv")
    app.config["PORTAL_URL"] = "https://dsure.example.jp"
    response = request_notice(client, api_token, N2, key)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == f'attachment; filename="notice-{N2}.pdf"'
    pdf = response.data
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                              check=True).stdout.decode()
        for expected in (N2, key, "市道角田線舗装補修工事", "角田・仙南特定建設工事共同企業体",
                         "契約保証", "https://dsure.example.jp/lookup"):
            assert expected in text
    [event] = events(app, "notice.issued")
    assert event.contract_number == N2 and key not in audit_text(app)


def test_every_miss_gets_the_same_problem_and_counts(app, client, post_vectors, post_document,
                                                    api_token):
    key = post_vectors("01-advance-new")
    bodies = []
    for number, typed in ((N1, key[::-1]), ("19999-999999", key), ("abc", key)):
        response = request_notice(client, api_token, number, typed)
        assert response.status_code == 404 and response.mimetype == PROBLEM
        bodies.append(response.get_json())
    assert bodies[0] == bodies[1] == bodies[2]
    assert len(events(app, "notice.refused")) == 3
    with app.app_context():
        assert Failure.select().where(Failure.subject.startswith("api-client:")).count() == 3
    assert key not in audit_text(app) and key[::-1] not in audit_text(app)


def test_another_suretys_number_is_answered_as_unknown(app, client, post_vectors, orgs):
    from registry.accounts.organisations import add_api_client
    key = post_vectors("01-advance-new")
    with app.app_context():
        from registry.accounts.organisations import add_organisation
        add_organisation(kind="surety", code="WJCS", name="西日本建設業保証株式会社")
        _, other = add_api_client(org_code="WJCS", name="wjcs")
    theirs = request_notice(client, other, N1, key)
    unknown = request_notice(client, other, "19999-999999", key)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.get_json() == unknown.get_json()


def test_guessing_keys_through_the_notice_is_locked_with_retry_after(app, client, post_vectors,
                                                                     api_token):
    app.config.update(LOOKUP_FAILURE_LIMIT=2)
    key = post_vectors("01-advance-new")
    for _ in range(2):
        assert request_notice(client, api_token, N1, "WRNGKEYX2345").status_code == 404
    locked = request_notice(client, api_token, N1, key)
    assert locked.status_code == 429 and locked.mimetype == PROBLEM
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert events(app, "notice.locked")


@pytest.mark.parametrize("body", [None, {}, {"auth_key": 12}, {"auth_key": "x", "more": 1},
                                  ["auth_key"], {"auth_key": "x" * 101}])
def test_a_bad_body_is_422_and_not_a_guess(app, client, api_token, post_vectors, body):
    post_vectors("01-advance-new")
    response = call(client, "POST", f"/api/v1/certificates/{N1}/notice", token=api_token,
                    **({"json": body} if body is not None else {"data": "not json"}))
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.get_json()["errors"][0]["field"] == "auth_key"
    with app.app_context():
        assert Failure.select().count() == 0


def test_the_notice_needs_the_suretys_token(client, post_vectors):
    key = post_vectors("01-advance-new")
    assert request_notice(client, None, N1, key).status_code == 401
    assert request_notice(client, "not-a-token", N1, key).status_code == 401


def test_without_the_font_the_notice_is_503_and_says_nothing_else(app, client, post_vectors,
                                                                 api_token):
    app.config["NOTICE_FONT"] = "/nonexistent/ipaexg.ttf"
    key = post_vectors("01-advance-new")
    response = request_notice(client, api_token, N1, key)
    assert response.status_code == 503 and response.get_json()["type"].endswith("notice-font-missing")


def test_production_refuses_to_start_without_the_notice_font(app_config):
    from dsure_portal import create_app
    from dsure_portal.config import ConfigError
    config = dict(app_config, ENV="production", NOTICE_FONT="/nonexistent/ipaexg.ttf",
                  PLATFORM_KEY_FILE=None, SECRET_KEY="s" * 32, KEY_PEPPER="p" * 32,
                  SESSION_COOKIE_SECURE=True)
    with pytest.raises(ConfigError, match="fonts-ipaexfont-gothic"):
        create_app(config)


# --- the clerk's end -------------------------------------------------------------------

def upload(client, data: bytes | None = None, text: str = "", filename="notice.pdf"):
    token = csrf_token_from(client.get("/lookup").get_data(as_text=True))
    form = {"csrf_token": token, "notice_text": text}
    form["notice"] = FileStorage(io.BytesIO(data or b""), filename if data is not None else "",
                                 content_type="application/pdf" if data is not None
                                 else "application/octet-stream")
    # Encoded here, in memory: the test client would spool a large body to a temporary file.
    boundary, body = encode_multipart(form)
    return client.post("/lookup", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


@needs_font
def test_uploading_the_notice_opens_the_certificate(app, staff_client, post_vectors, api_token):
    key = post_vectors("01-advance-new")
    pdf = request_notice(app.test_client(), api_token, N1, key).data
    client = staff_client()
    response = upload(client, pdf)
    assert response.status_code == 303 and response.headers["Location"] == f"/certificates/{N1}"
    assert listed(app, N1)
    [event] = events(app, "lookup.succeeded")
    assert json.loads(event.details)["source"] == "notice_pdf"
    assert key not in audit_text(app)


def test_a_notice_printed_by_another_program_opens_the_certificate(app, staff_client, post_vectors):
    key = post_vectors("01-advance-new")
    response = upload(staff_client(), notices.other_program_notice((N1, key)))
    assert response.status_code == 303 and response.headers["Location"] == f"/certificates/{N1}"


def test_pasted_notice_text_opens_the_certificate(app, staff_client, post_vectors):
    key = post_vectors("01-advance-new")
    text = f"○○建設です。お知らせを送ります。\n保 証 契 約 番 号 ：１０００１－０００００１\n認 証 キー：\n{key}\n"
    response = upload(staff_client(), text=text)
    assert response.status_code == 303 and response.headers["Location"] == f"/certificates/{N1}"
    [event] = events(app, "lookup.succeeded")
    assert json.loads(event.details)["source"] == "notice_text"


def test_a_two_notice_pdf_lists_both_and_both_join_the_list(app, staff_client, post_vectors):
    key1 = post_vectors("01-advance-new")
    key2 = post_vectors("05-contract-new-jv")
    response = upload(staff_client(), notices.other_program_notice((N1, key1), (N2, key2)))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "お知らせから読み取った保証証書" in html
    assert f'href="/certificates/{N1}"' in html and f'href="/certificates/{N2}"' in html
    assert listed(app, N1) and listed(app, N2)
    assert key1 not in html and key2 not in html


def test_a_pair_that_fails_reads_like_a_typed_failure_keeping_the_number(app, staff_client,
                                                                         post_vectors):
    post_vectors("01-advance-new")
    response = upload(staff_client(), notices.other_program_notice((N1, "WRNGKEYX2345")))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "保証契約番号または認証キーが正しくありません" in html
    assert f'value="{N1}"' in html and "WRNGKEYX2345" not in html
    assert json.loads(events(app, "lookup.failed")[0].details)["reason"] == "wrong_key"
    assert not listed(app, N1)


def _padded_notice(size: int) -> bytes:
    """A real notice with an attachment of random bytes, ``size`` bytes or a little more."""
    from pypdf import PdfReader, PdfWriter
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(notices.other_program_notice((N1, "x" * 12)))))
    writer.add_attachment("padding.bin", os.urandom(size))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


BAD_NOTICES = {
    "not a pdf": (lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * 2000, 422, "PDFではありません"),
    "encrypted": (lambda: notices.encrypted(notices.other_program_notice((N1, "Z28YUE4J3Bux")),
                                            user_password="secret"), 422, "パスワードで保護されている"),
    "broken": (lambda: b"%PDF-1.7\n" + bytes(range(256)) * 40, 422, "壊れているか"),
    "scan": (notices.scanned_notice, 422, "文字の情報がありません"),
    "bomb": (lambda: notices.raw_pdf(b"BT (x) Tj ET\n" + b" " * 40_000_000), 422, "多すぎるため"),
    "no pair": (lambda: notices.pages_of_text(1), 422, "保証契約番号と認証キーが見つかりませんでした"),
    "over 2 MiB": (lambda: _padded_notice(2 * 1024 * 1024 + 1000), 413, "2MBまで"),
    "over the body limit": (lambda: b"%PDF-1.7\n" + b"0" * (3 * 1024 * 1024), 413, "2MBまで"),
}


@pytest.mark.parametrize("case", list(BAD_NOTICES))
def test_every_bad_notice_gets_its_message_and_changes_nothing(app, staff_client, post_vectors, case):
    post_vectors("01-advance-new")
    make, status, message = BAD_NOTICES[case]
    client = staff_client()
    with app.app_context():
        before = AuditEvent.select().count()
    response = upload(client, make())
    html = response.get_data(as_text=True)
    assert response.status_code == status, case
    assert message in html and "保証証書の照会" in html
    with app.app_context():
        assert AuditEvent.select().count() == before and Failure.select().count() == 0
    assert not listed(app, N1)


def test_neither_file_nor_text_asks_for_one(staff_client):
    response = upload(staff_client())
    assert response.status_code == 422
    assert "お知らせのPDFファイルを選ぶか" in response.get_data(as_text=True)


def test_an_upload_is_read_in_memory_never_spooled_to_disk(app, staff_client, post_vectors,
                                                          monkeypatch):
    """Werkzeug spools file parts over 500 KB to a temporary file; ours must not."""
    spooled = []

    def spy(*args, **kwargs):
        spooled.append(args)
        raise AssertionError("an upload was about to be written to disk")
    monkeypatch.setattr(werkzeug.formparser, "SpooledTemporaryFile", spy)
    key = post_vectors("01-advance-new")
    big = _padded_notice(1_500_000)
    assert len(big) > 1_500_000
    response = upload(staff_client(), big)
    assert response.status_code == 200 and not spooled  # read (its pair's key is wrong)
    assert key


def test_a_large_post_without_a_session_gets_the_plain_413_page(client):
    boundary, body = encode_multipart({"notice_text": "x" * (3 * 1024 * 1024)})
    response = client.post("/lookup", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert "送信データが大きすぎます" in response.get_data(as_text=True)


def test_other_pages_keep_the_small_body_limit(app, staff_client):
    client = staff_client()
    token = csrf_token_from(client.get("/account").get_data(as_text=True))
    response = client.post("/account/password", data={"csrf_token": token, "x": "y" * 300_000})
    assert response.status_code == 413


def test_the_lookup_page_offers_the_notice_to_a_clerk(staff_client):
    html = staff_client().get("/lookup").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'name="notice"' in html
    assert 'name="notice_text"' in html and 'accept="application/pdf,.pdf"' in html
    assert "<script>" not in html  # the drop zone is portal.js's, no inline script
