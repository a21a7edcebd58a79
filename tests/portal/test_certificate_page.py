"""The certificate page, a revision in place, the comparison and the print view."""
import json
import re

import pytest

from registry.models import AuditEvent, Revision, SigningKey
from tests.portal.certificate_fixtures import *  # noqa: F401,F403
from tests.portal.certificate_fixtures import look_up
from tests.tampering import change_revision

N = "10001-000001"
ALL_FOUR = ("01-advance-new", "02-advance-change", "03-advance-correction",
            "04-advance-change-cancellation")


@pytest.fixture
def opened(staff_client, post_vectors):
    """opened(*vectors) -> a 角田市 staff client that has looked the certificate up."""
    def open_(*names):
        key = post_vectors(*names)
        client = staff_client()
        assert look_up(client, N, key).status_code == 303
        return client
    return open_


def page(client, url, **headers):
    response = client.get(url, headers=headers)
    return response, response.get_data(as_text=True)


def history_numbers(html):
    table = html[html.index('class="history"'):html.index("</table>", html.index('class="history"'))]
    return [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', table)]


def row(html, label):
    """The text of the sheet row labelled ``label`` (tags removed)."""
    match = re.search(rf'<tr( class="changed")?>\s*<th scope="row">{re.escape(label)}</th>\s*<td>(.*?)</td>',
                      html, re.S)
    assert match, f"no row {label}"
    cell = re.sub(r'<span class="visually-hidden">.*?</span>', "", match.group(2))
    return bool(match.group(1)), re.sub(r"<[^>]+>", " ", cell).split()


def test_a_new_certificate_reads_like_the_paper_one(opened, app):
    client = opened("01-advance-new")
    response, html = page(client, f"/certificates/{N}")
    assert response.status_code == 200
    assert "<h1>保証証書(前払金保証)" in html
    assert row(html, "保証契約番号") == (False, [N])
    assert row(html, "被保証者") == (False, ["角田市長", "角田", "太郎"])
    assert row(html, "保証金額") == (False, ["20,000,000円"])
    assert row(html, "請負金額") == (False, ["50,000,000円"])
    assert row(html, "保証期間") == (False, ["令和8年4月1日", "～", "令和8年12月25日"])
    assert row(html, "工期") == (False, ["令和8年4月1日", "～", "令和8年12月25日"])
    assert row(html, "契約日") == (False, ["令和8年3月25日"])
    assert row(html, "預託金融機関") == (False, ["七十七銀行", "角田支店"])
    labels = re.findall(r'<th scope="row">([^<]+)</th>', html)
    assert labels[:12] == ["保証契約番号", "商品(保証区分)", "保証契約者", "被保証者", "保証金額", "保証期間",
                           "工事名", "工事場所", "請負金額", "工期", "契約日", "預託金融機関"]
    # The surety's closing block, from the signed document.
    assert "当社は、前払金保証契約に基づき上記のとおり保証契約を締結し、その責に任じます。" in html
    for text in ("東京都中央区八丁堀2丁目27番10号", "東日本建設業保証株式会社", "取締役社長 鈴木 次郎",
                 "取扱箇所 宮城支店", "TEL: 022-262-8531", "FAX: 022-262-0000"):
        assert text in html
    # Verification in three parts.
    assert "署名は有効です" in html
    with app.app_context():
        fingerprint = SigningKey.get().fingerprint
    groups = " ".join(fingerprint[i:i + 4] for i in range(0, 64, 4))
    assert groups in html
    assert "有効(現行)" in html
    # History: 電子保証発行日時 is the arrival time in JST.
    assert history_numbers(html) == [1]
    assert "令和8年4月1日 10:15" in html and "新規" in html


def test_a_jv_contract_guarantee(staff_client, post_vectors):
    key = post_vectors("05-contract-new-jv")
    client = staff_client()
    look_up(client, "10001-000002", key)
    _, html = page(client, "/certificates/10001-000002")
    assert "<h1>保証証書(契約保証)" in html
    assert '<th scope="row">JV名</th>' in html and '<th scope="row">構成員</th>' in html
    assert '<th scope="row">預託金融機関</th>' not in html


def test_a_changed_certificate(opened):
    client = opened("01-advance-new", "02-advance-change")
    _, html = page(client, f"/certificates/{N}")
    assert history_numbers(html) == [1, 2]
    assert "変更済" in html and "令和8年4月2日 10:15 着の第2版(変更)" in html
    assert row(html, "保証金額") == (True, ["24,000,000円"])  # marked as changed from revision 1
    assert row(html, "請負金額") == (True, ["60,000,000円"])
    assert row(html, "工事名")[0] is False
    _, first = page(client, f"/certificates/{N}?revision=1")
    assert row(first, "保証金額") == (False, ["20,000,000円"])
    assert "過去の版です" in first


def test_a_corrected_certificate_hides_the_corrected_revision(opened):
    client = opened("01-advance-new", "02-advance-change", "03-advance-correction")
    _, html = page(client, f"/certificates/{N}")
    assert history_numbers(html) == [1, 3]
    assert "訂正済" in html and "令和8年4月3日 10:15 着の第3版(訂正)" in html
    assert row(html, "保証期間")[1] == ["令和8年4月1日", "～", "令和9年1月31日"]
    assert "訂正・変更取消された版は表示されません" in html
    assert client.get(f"/certificates/{N}?revision=2").status_code == 404
    assert client.get(f"/certificates/{N}/compare?a=1&b=2").status_code == 404
    assert client.get(f"/certificates/{N}/print?revision=2").status_code == 404


def test_a_change_cancelled_certificate_shows_the_terms_before_the_change(opened):
    client = opened(*ALL_FOUR)
    _, html = page(client, f"/certificates/{N}")
    assert history_numbers(html) == [1, 4]
    assert "変更取消済" not in html and "badge-bad" not in html
    assert "現行: 第1版の内容(第2版の変更は取り消されました)" in html
    assert "令和8年4月4日 10:15 着の第4版(変更取消)で第2版の変更が取り消され" in html
    assert row(html, "保証金額") == (False, ["20,000,000円"])
    assert re.search(r"<td>変更取消 <span class=\"badge\">現行</span></td>", html)
    for hidden in (2, 3):
        assert client.get(f"/certificates/{N}?revision={hidden}").status_code == 404
    assert client.get(f"/certificates/{N}?revision=9").status_code == 404
    assert client.get(f"/certificates/{N}?revision=x").status_code == 404


def test_a_revision_opens_in_place_for_htmx_and_as_a_page_without_it(opened):
    client = opened("01-advance-new", "02-advance-change")
    _, html = page(client, f"/certificates/{N}")
    link = f'href="/certificates/{N}?revision=1" hx-get="/certificates/{N}?revision=1" hx-target="#certificate"'
    assert link in html
    fragment, body = page(client, f"/certificates/{N}?revision=1", **{"HX-Request": "true"})
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    assert "<html" not in body and "<h1>" not in body
    # The inside of #certificate: htmx swaps it in place (innerHTML).
    assert 'id="certificate"' not in body and '<article class="certificate"' in body
    assert row(body, "保証金額") == (False, ["20,000,000円"])
    full, whole = page(client, f"/certificates/{N}?revision=1")
    assert "<html" in whole and "HX-Request" in full.headers["Vary"]
    # A history restore or a boosted request wants the whole page.
    _, restored = page(client, f"/certificates/{N}?revision=1",
                       **{"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restored


def test_compare_two_revisions_field_by_field(opened):
    client = opened("01-advance-new", "02-advance-change")
    _, html = page(client, f"/certificates/{N}")
    assert f'action="/certificates/{N}/compare"' in html and 'name="a"' in html and 'name="b"' in html
    response, cmp = page(client, f"/certificates/{N}/compare?a=1&b=2")
    assert response.status_code == 200
    changed = re.findall(r'<tr class="changed">\s*<th scope="row">([^<]+)<', cmp)
    assert changed == ["保証金額", "保証期間", "請負金額", "工期", "証書日付", "対象"]
    assert "20,000,000円" in cmp and "24,000,000円" in cmp
    assert "保証の内容が<strong>4項目</strong>異なります" in cmp
    # Without a, the previous visible revision; the same revision twice is allowed.
    assert "第1版(新規)" in page(client, f"/certificates/{N}/compare?b=2")[1]
    assert "同じ版" in page(client, f"/certificates/{N}/compare?a=2&b=2")[1]
    fragment, body = page(client, f"/certificates/{N}/compare?a=2&b=1", **{"HX-Request": "true"})
    assert "<html" not in body and 'id="comparison"' not in body and 'class="comparison"' in body
    assert "HX-Request" in fragment.headers["Vary"]


def test_the_print_view_carries_the_verification_url_and_the_time_of_the_status(opened):
    client = opened(*ALL_FOUR)
    response, html = page(client, f"/certificates/{N}/print")
    assert response.status_code == 200
    assert f"http://localhost/certificates/{N}" in html
    assert re.search(r"令和\d+年\d+月\d+日 \d+時\d\d分時点の状態", html)
    assert "保証証書(前払金保証)" in html and "署名は有効です" in html and "第2版の変更は取り消されました" in html
    assert 'src="data:image/svg+xml' in html  # the QR code of the verification URL
    assert page(client, f"/certificates/{N}/print?revision=1")[0].status_code == 200


def test_every_view_is_an_audit_event_and_marks_the_revision_seen(opened, app):
    client = opened("01-advance-new", "02-advance-change")
    client.get(f"/certificates/{N}")
    client.get(f"/certificates/{N}?revision=1", headers={"HX-Request": "true"})
    client.get(f"/certificates/{N}/compare?a=1&b=2")
    client.get(f"/certificates/{N}/print")
    with app.app_context():
        viewed = list(AuditEvent.select().where(AuditEvent.kind == "certificate.viewed")
                      .order_by(AuditEvent.seq))
    assert [json.loads(e.details) for e in viewed] == [
        {"view": "page", "revisions": [2]}, {"view": "revision", "revisions": [1]},
        {"view": "compare", "revisions": [1, 2]}, {"view": "print", "revisions": [2]}]
    assert {(e.organisation_code, e.contract_number) for e in viewed} == {("042081", N)}
    assert "badge-new" not in client.get("/certificates").get_data(as_text=True)


def test_staff_of_another_organisation_never_see_it(opened, staff_client, post_vectors, post_document):
    opened("01-advance-new")  # 角田市 has looked it up
    outsider = staff_client("staff@shirako.example.jp", "124249")
    for url in (f"/certificates/{N}", f"/certificates/{N}?revision=1", f"/certificates/{N}/compare?a=1&b=1",
                f"/certificates/{N}/print", "/certificates/10001000001"):
        assert outsider.get(url).status_code == 404, url
    assert N not in outsider.get("/certificates").get_data(as_text=True)
    # The same 404 as for a number that does not exist.
    assert outsider.get("/certificates/19999-999999").get_data() == outsider.get(f"/certificates/{N}").get_data()


def test_the_obligee_sees_nothing_before_someone_of_it_looked_it_up(staff_client, post_vectors):
    post_vectors("01-advance-new")
    client = staff_client()
    assert client.get(f"/certificates/{N}").status_code == 404
    assert client.get(f"/certificates/{N}/print").status_code == 404


def test_a_colleague_opens_what_the_organisation_looked_up(opened, staff_client):
    opened("01-advance-new")
    colleague = staff_client("other@kakuda.example.jp", "042081")
    assert colleague.get(f"/certificates/{N}").status_code == 200


def test_a_signature_that_no_longer_verifies_is_shown_as_a_failure(app, opened):
    """One bit of the stored signature flipped on disk, as an attacker with the
    database's rights could: the page says so."""
    client = opened("01-advance-new")
    with app.app_context():
        stored = Revision.get(Revision.number == 1)
        flipped = bytearray(stored.signature)
        flipped[-1] ^= 0x01
        change_revision(stored.id, signature=bytes(flipped))
    html = client.get(f"/certificates/{N}").get_data(as_text=True)
    assert "署名を確認できません" in html and "署名は有効です" not in html


def test_pages_are_small_and_carry_no_inline_script_or_style(opened):
    client = opened(*ALL_FOUR)
    for url in (f"/certificates/{N}", f"/certificates/{N}?revision=1", f"/certificates/{N}/compare?a=1&b=4",
                f"/certificates/{N}/print", "/certificates", "/lookup"):
        html = client.get(url).get_data(as_text=True)
        assert len(html.encode()) < 100_000, url
        assert " style=" not in html and "<style" not in html, url
        assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html)), url
        assert 'lang="ja"' in html


def test_every_staff_url_needs_a_signed_in_user(client):
    for url in (f"/certificates/{N}", f"/certificates/{N}/compare", f"/certificates/{N}/print",
                "/certificates", "/lookup"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
        htmx = client.get(url, headers={"HX-Request": "true"})
        assert htmx.status_code == 401 and "HX-Redirect" in htmx.headers, url


def test_the_page_offers_the_evidence_bundle_and_it_downloads(opened):
    client = opened(*ALL_FOUR)
    _, html = page(client, f"/certificates/{N}")
    assert f'href="/certificates/{N}/evidence.zip"' in html
    response = client.get(f"/certificates/{N}/evidence.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.data[:2] == b"PK"


def test_a_date_before_the_eras_shows_in_seireki_not_an_error(staff_client, post_document):
    from tests.factories import make_document
    key = post_document(make_document(contract_number=N, work__contract_date="1850-01-01"))
    client = staff_client()
    assert look_up(client, N, key).status_code == 303
    for url in (f"/certificates/{N}", f"/certificates/{N}/print"):
        response, html = page(client, url)
        assert response.status_code == 200 and "1850年1月1日" in html, url


def test_a_head_request_is_not_a_view(app, opened):
    client = opened("01-advance-new")
    with app.app_context():
        before = AuditEvent.select().where(AuditEvent.kind == "certificate.viewed").count()
    assert client.head(f"/certificates/{N}").status_code == 200
    with app.app_context():
        assert AuditEvent.select().where(AuditEvent.kind == "certificate.viewed").count() == before
