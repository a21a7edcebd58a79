"""The obligee desk in real Chromium (DESIGN §10): a clerk records the contract on the
certificate's page, the surety sends a `change` that lowers the 契約保証 one yen below a
tenth, and the clerk sees the failed check on the page and its count in the menu, which
leads to the filtered list.

Screenshots go to tests/browser/screenshots/ (gitignored) for a person to look at.
"""
from __future__ import annotations

import copy
import re

import pytest

from tests.browser.conftest import PASSWORD, shot, sign_in

NUMBER = "20001-000002"   # demo: 契約保証, revision 2 made it 5,500,000円 of 55,000,000円


@pytest.fixture
def server(demo_portal):
    from registry.accounts.users import add_user

    def setup(app, demo):
        user = add_user(org_code="042081", email="desk@kakuda.example.jp", role="staff",
                        password=PASSWORD)
        keys = {s.contract_number: s.auth_key for s in demo["samples"]}
        return {"user": user, "auth_key": keys[NUMBER]}
    return demo_portal(setup)


def lower_the_guarantee(app, amount: int) -> None:
    """The demo surety sends revision 3, a change to ``amount``, through the ingest path."""
    from pathlib import Path

    from cryptography.hazmat.primitives import serialization

    from registry.demo.world import sample_histories, sign
    from registry.certificates.ingest import accept_revision
    from registry.models import ApiClient, Organisation, SigningKey

    with app.app_context():
        history = next(h for h in sample_histories() if h[0]["contract_number"] == NUMBER)
        change = copy.deepcopy(history[-1])
        change.update(revision=3, kind="change", supersedes=None, issued_on="2026-07-01",
                      guarantee_amount=amount)
        private_key = serialization.load_pem_private_key(
            (Path(app.instance_path) / "demo-surety-signing-key.pem").read_bytes(), None)
        key = SigningKey.select().order_by(SigningKey.id.desc()).first()
        client = (ApiClient.select().join(Organisation)
                  .where(Organisation.code == "EJCS").order_by(ApiClient.id).first())
        accept_revision(client=client, contract_number=NUMBER, number=3,
                        body=sign(private_key, change, key.key_id),
                        hasher=app.extensions["dsure.hasher"])


def failed_count(page) -> int:
    return int(page.locator('.queue-count [data-queue="failed"]').inner_text())


def test_desk_walk(server, browser):
    base, app = server["url"], server["app"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    sign_in(page, base, server["user"].email)
    page.goto(f"{base}/lookup")
    page.get_by_label("保証契約番号").fill(NUMBER)
    page.get_by_label("認証キー").fill(server["auth_key"])
    page.get_by_role("button", name="照会する").click()
    page.wait_for_url(f"{base}/certificates/{NUMBER}")

    # No contract yet: the form is open, and no check is claimed.
    panel = page.locator("#contract")
    assert panel.locator("[data-check]").count() == 0
    panel.get_by_label("請負金額(円)").fill("５５，０００，０００")
    panel.get_by_label("契約日").fill("令和8年3月25日")
    panel.get_by_label("工期(開始)").fill("R8.4.1")
    panel.get_by_label("工期(終了)").fill("2026-12-25")
    panel.get_by_label("工事名").fill("市道角田線　舗装補修工事")
    panel.get_by_role("button", name="登録して照合する").click()
    page.wait_for_url(f"{base}/certificates/{NUMBER}#contract")
    assert page.get_by_text("照合した6項目はすべて契約と合っています。").is_visible()
    assert failed_count(page) == 0
    shot(page, "desk-01-contract-recorded")

    # The surety lowers the 契約保証 to one yen below a tenth of 55,000,000円.
    lower_the_guarantee(app, 5_499_999)
    page.goto(f"{base}/certificates/{NUMBER}")
    assert page.get_by_text("1件が契約と合っていません。").is_visible()
    failed = panel.locator('[data-check="contract_guarantee_at_least_tenth"]')
    assert "✗ 要確認" in failed.inner_text()
    assert ("契約保証金額 5,499,999円 は、請負金額 55,000,000円 の10分の1(5,500,000円)に足りません。"
            in failed.inner_text())
    assert failed_count(page) == 1
    panel.scroll_into_view_if_needed()
    shot(page, "desk-02-check-failed", full_page=False)

    # The menu count leads to the filtered list.
    page.locator('.queue-count:has([data-queue="failed"])').click()
    page.wait_for_url(re.compile(r".*/certificates\?queue=failed$"))
    rows = page.locator("table.certificate-list tbody tr")
    assert rows.count() == 1 and NUMBER in rows.first.inner_text()
    assert "✗ 不一致1件" in rows.first.inner_text()
    shot(page, "desk-03-failed-list")

    # A register from Excel (Shift_JIS): the good row is recorded, the bad one reported.
    page.get_by_role("link", name="契約台帳(CSV)の取込").first.click()
    register = ("保証契約番号,請負金額,契約日,工期(自),工期(至),工事名\r\n"
                f"{NUMBER},\"55,000,000\",令和8年3月25日,令和8年4月1日,令和8年12月25日,市道角田線 舗装補修工事\r\n"
                "20001-000003,８１，４００，０００,令和8年3月32日,,,\r\n").encode("cp932")
    page.get_by_label("契約台帳(CSVファイル)").set_input_files(
        files=[{"name": "契約台帳.csv", "mimeType": "text/csv", "buffer": register}])
    page.get_by_role("button", name="取り込む").click()
    page.locator(".import-report").wait_for()
    report = page.locator(".import-report").inner_text()
    assert "2行を読み取り、0件を登録しました。1件は登録済みの内容と同じでした。" in report
    assert "令和8年3月32日という日付はありません" in report
    shot(page, "desk-04-register-import")

    # The public list of enrolled obligees, from the login page.
    public = browser.new_context(locale="ja-JP").new_page()
    public.goto(f"{base}/login")
    public.get_by_role("link", name="電子保証に対応している発注者の一覧").click()
    public.wait_for_url(f"{base}/obligees")  # loaded, so htmx listens before anything is typed
    public.get_by_label("団体名・団体コード・都道府県").fill("千葉県")
    public.locator("#obligee-results", has_text="2団体").wait_for()
    assert "鎌ケ谷市" in public.locator("#obligee-results").inner_text()
    shot(public, "desk-05-obligees")

    # (Chromium asks for /favicon.ico, which the portal does not have: a 404 in the console.)
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p
                or "Error" in p], problems
