"""The obligee desk for staff through HTTP (DESIGN §10): the contract form and the checks
panel on a certificate's page, the work-queue counts in the menu and the filtered list,
the list as CSV, the register upload, and the public list of enrolled obligees."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest

from registry.clock import utcnow
from registry.contracts.models import ObligeeContract
from registry.models import AuditEvent
from registry.wareki import jst_date
from tests.factories import make_document, next_revision
from tests.portal.certificate_fixtures import *  # noqa: F401,F403
from tests.portal.certificate_fixtures import ARRIVAL
from tests.portal.conftest import csrf_token_from

N = "30001-000002"
BASE = make_document(contract_number=N, product="contract", deposit_bank=...,
                     guarantee_amount=5_000_000)


@pytest.fixture
def opened(staff_client, post_document):
    """A clerk of 角田市 who looked up the 契約保証 N (5,000,000円)."""
    key = post_document(BASE)
    client = staff_client()
    assert look_up(client, N, key).status_code == 303  # noqa: F405
    return client


def send_contract(client, **fields):
    page = client.get(f"/certificates/{N}").get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(page), "contract_amount": "", "contract_date": "",
            "period_start": "", "period_end": "", "work_name": "", **fields}
    return client.post(f"/certificates/{N}/contract", data=data)


def panel(html: str) -> str:
    return html[html.index('id="contract"'):html.index("</section>", html.index('id="contract"'))]


def check_items(html: str) -> dict:
    """{check id: its text} from the panel."""
    items = re.findall(r'data-check="([a-z_]+)">(.*?)</li>', panel(html), re.S)
    return {check_id: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()
            for check_id, body in items}


def menu_count(html: str, queue: str) -> int:
    return int(re.search(rf'data-queue="{queue}">(\d+)<', html)[1])


# --- done when: on the page ---------------------------------------------------------------

def test_a_tenth_passes_on_the_page_until_a_change_makes_it_one_yen_short(opened, post_document):
    response = send_contract(opened, contract_amount="５０，０００，０００")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/certificates/{N}#contract")
    html = opened.get(f"/certificates/{N}").get_data(as_text=True)
    items = check_items(html)
    assert "✓ 問題なし 契約保証金額が請負金額の10分の1以上" in items["contract_guarantee_at_least_tenth"]
    assert "すべて契約と合っています" in panel(html)
    assert menu_count(html, "failed") == 0

    post_document(next_revision(BASE, "change", guarantee_amount=4_999_999),
                  at=ARRIVAL + dt.timedelta(days=1))

    html = opened.get("/certificates").get_data(as_text=True)
    assert menu_count(html, "failed") == 1
    html = opened.get(f"/certificates/{N}").get_data(as_text=True)
    text = items = check_items(html)["contract_guarantee_at_least_tenth"]
    assert text.startswith("✗ 要確認 契約保証金額が請負金額の10分の1以上")
    assert ("契約保証金額 4,999,999円 は、請負金額 50,000,000円 の10分の1(5,000,000円)に足りません。"
            in items)
    assert "1件が契約と合っていません" in panel(html)
    assert "現行の第2版" in panel(html)


def test_a_full_contract_that_disagrees_shows_the_wareki_dates_that_disagree(opened):
    send_contract(opened, contract_amount="50,000,000", contract_date="令和8年3月25日",
                  period_start="R8.4.1", period_end="2027-01-29", work_name="市道角田線 舗装補修工事")
    items = check_items(opened.get(f"/certificates/{N}").get_data(as_text=True))
    assert items["work_name_matches"].startswith("✓")
    assert "令和8年4月1日 ～ 令和8年12月25日" in items["work_period_matches"]
    assert "令和8年4月1日 ～ 令和9年1月29日" in items["work_period_matches"]
    assert "保証期間の終わり 令和8年12月25日 が工期の終わり 令和9年1月29日 より前です" in \
        items["guarantee_covers_work_period"]


def test_the_form_shows_what_was_recorded_in_wareki_and_yen(opened):
    send_contract(opened, contract_amount="50000000", contract_date="2026-03-25")
    html = opened.get(f"/certificates/{N}").get_data(as_text=True)
    assert 'value="50,000,000"' in html and 'value="令和8年3月25日"' in html
    [event] = AuditEvent.select().where(AuditEvent.kind == "contract.recorded")
    assert json.loads(event.details)["source"] == "form"


def test_a_contract_that_does_not_read_is_shown_again_with_its_errors_and_stores_nothing(opened):
    response = send_contract(opened, contract_amount="五千万", period_start="2026-04-01",
                             work_name="工事")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "「五千万」は金額として読めません" in html
    assert "工期は開始と終了の両方を入力してください。" not in html  # reading errors come first
    assert 'value="五千万"' in html  # what was typed stays in the form
    assert ObligeeContract.select().count() == 0
    assert AuditEvent.select().where(AuditEvent.kind == "contract.recorded").count() == 0
    response = send_contract(opened, period_start="2026-04-01")
    assert "工期は開始と終了の両方を入力してください。" in response.get_data(as_text=True)


def test_a_certificate_not_on_the_list_gets_no_contract(opened, staff_client):
    other = staff_client("staff@shirako.example.jp", "124249")
    page = other.get("/lookup").get_data(as_text=True)
    response = other.post(f"/certificates/{N}/contract",
                          data={"csrf_token": csrf_token_from(page), "contract_amount": "1"})
    assert response.status_code == 404
    assert ObligeeContract.select().count() == 0


def test_without_a_contract_the_panel_offers_the_form_and_reports_no_check(opened):
    html = opened.get(f"/certificates/{N}").get_data(as_text=True)
    assert "data-check=" not in panel(html)
    assert "<details class=\"contract-form\" open>" in panel(html)


# --- the work queue -------------------------------------------------------------------------

def test_the_menu_counts_link_to_the_filtered_list(opened, post_document):
    second = make_document(contract_number="30001-000003",
                           guarantee_period={"start": "2026-04-01", "end": "2099-01-01"})
    post_document(second)  # on nobody's list: counts for nothing
    html = opened.get("/certificates").get_data(as_text=True)
    assert menu_count(html, "unseen") == 1  # looked up, but the page not yet opened
    opened.get(f"/certificates/{N}")
    html = opened.get("/certificates").get_data(as_text=True)
    assert menu_count(html, "unseen") == 0 and menu_count(html, "failed") == 0
    assert 'href="/certificates?queue=failed"' in html
    send_contract(opened, contract_amount="60,000,000")
    html = opened.get("/certificates?queue=failed").get_data(as_text=True)
    assert menu_count(html, "failed") == 1
    assert f'href="/certificates/{N}"' in html and "契約との照合で不一致" in html
    assert "✗ 不一致2件" in html



def test_the_ending_queue_lists_guarantees_ending_within_30_days_of_today(opened, post_document):
    today = jst_date(utcnow())
    soon = (today + dt.timedelta(days=30)).isoformat()
    later = (today + dt.timedelta(days=31)).isoformat()
    for number, end in (("30001-000005", soon), ("30001-000006", later)):
        key = post_document(make_document(contract_number=number,
                                          guarantee_period={"start": "2026-01-01", "end": end}))
        look_up(opened, number, key)  # noqa: F405
    html = opened.get("/certificates?queue=ending").get_data(as_text=True)
    assert 'href="/certificates/30001-000005"' in html
    assert 'href="/certificates/30001-000006"' not in html
    n_ends_soon = 0 <= (dt.date(2026, 12, 25) - today).days <= 30   # BASE ends 2026-12-25
    assert (f'href="/certificates/{N}"' in html) == n_ends_soon
    assert menu_count(html, "ending") == 1 + n_ends_soon


def test_a_new_revision_counts_as_unseen_until_opened(opened, post_document):
    opened.get(f"/certificates/{N}")
    post_document(next_revision(BASE, "change", guarantee_amount=6_000_000),
                  at=ARRIVAL + dt.timedelta(days=1))
    assert menu_count(opened.get("/lookup").get_data(as_text=True), "unseen") == 1
    opened.get(f"/certificates/{N}")
    assert menu_count(opened.get("/lookup").get_data(as_text=True), "unseen") == 0


def test_an_auditor_sees_no_work_queue(app, client, make_user, sign_in):
    sign_in(client, make_user(email="audit@kakuda.example.jp", role="auditor"))
    assert "data-queue=" not in client.get("/audit").get_data(as_text=True)


# --- the list as CSV ------------------------------------------------------------------------

def test_the_list_exports_as_excel_safe_csv_with_the_same_filters(opened, post_document, staff_client):
    send_contract(opened, contract_amount="60,000,000")
    response = opened.get("/certificates/export.csv?queue=failed")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff保証契約番号,")
    [row] = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert row["保証契約番号"] == N and row["保証金額"] == "5,000,000円"
    assert row["保証期間の終了"] == "令和8年12月25日"
    assert row["契約との照合"].startswith("不一致: 請負金額が契約と一致")
    [event] = AuditEvent.select().where(AuditEvent.kind == "list.exported")
    assert json.loads(event.details) == {"filter": {"queue": "failed"}}


def test_a_work_name_a_spreadsheet_would_run_leaves_quoted(staff_client, post_document):
    key = post_document(make_document(contract_number="30001-000004", work__name="=HYPERLINK(1)"))
    client = staff_client()
    look_up(client, "30001-000004", key)  # noqa: F405
    [row] = list(csv.DictReader(io.StringIO(
        client.get("/certificates/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert row["工事名"] == "'=HYPERLINK(1)"


# --- the register upload --------------------------------------------------------------------

def upload(client, data: bytes, name="台帳.csv"):
    page = client.get("/contracts/import").get_data(as_text=True)
    return client.post("/contracts/import", content_type="multipart/form-data",
                       data={"csrf_token": csrf_token_from(page), "register": (io.BytesIO(data), name)})


def test_an_excel_register_in_shift_jis_is_imported_and_bad_rows_reported(opened):
    text = ("保証契約番号,請負金額,契約日,工期(自),工期(至),工事名\r\n"
            f"{N},\"５０，０００，０００\",令和8年3月25日,2026/4/1,2026/12/25,市道角田線舗装補修工事\r\n"
            "30001-000999,50000000,,,,\r\n"
            "30001-000002x,1,,,,\r\n")
    response = upload(opened, text.encode("cp932"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "3行を読み取り、1件を登録しました。" in html
    assert "保証証書一覧にありません" in html and "保証契約番号が読み取れません" in html
    assert re.search(r'<td class="num">3</td>', html) and re.search(r'<td class="num">4</td>', html)
    assert ObligeeContract.select().count() == 1
    assert "✓ 問題なし" in panel(opened.get(f"/certificates/{N}").get_data(as_text=True))


def test_a_file_that_is_not_a_register_is_refused_whole(opened):
    response = upload(opened, "請負金額\r\n1\r\n".encode())
    assert response.status_code == 422
    assert "「保証契約番号」の列見出しがありません" in response.get_data(as_text=True)
    assert ObligeeContract.select().count() == 0


def test_a_register_may_be_larger_than_a_form_but_not_without_bound(opened):
    big = ("保証契約番号,請負金額\r\n" + f"{N},1\r\n" * 20_000).encode()   # ~ 380 KB
    assert len(big) > 256 * 1024
    assert upload(opened, big).status_code == 422  # read, then refused for too many rows
    # Raw bytes: the test client would spool a multipart file this size to a temp file.
    too_big = opened.post("/contracts/import", data=b"x" * (3 * 1024 * 1024),
                          content_type="multipart/form-data; boundary=x")
    assert too_big.status_code == 413


def test_the_register_template_is_a_header_row(opened):
    body = opened.get("/contracts/register-template.csv").get_data(as_text=True)
    assert body == "\ufeff保証契約番号,請負金額,契約日,工期(自),工期(至),工事名\r\n"


# --- enrolled obligees ----------------------------------------------------------------------

def test_the_enrolled_obligees_are_public_and_searchable(client, orgs):
    assert 'href="/obligees"' in client.get("/login").get_data(as_text=True)
    html = client.get("/obligees").get_data(as_text=True)
    assert "角田市" in html and "白子町" in html and "宮城県" in html
    for q in ("宮城", "角田", "042081", "０４２０８１", "宮城県 角田"):
        found = client.get("/obligees", query_string={"q": q}).get_data(as_text=True)
        assert "角田市" in found and "白子町" not in found, q
    assert "運営事業者" not in html and "東日本建設業保証" not in html
    fragment = client.get("/obligees?q=千葉", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "白子町" in fragment
