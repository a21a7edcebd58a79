"""A clerk with the 認証キー notice, in real Chromium: uploads the PDF and lands on the
certificate; drops a second notice on the form; opens the lookup from the notice's QR
link (number and key in the fragment) and presses 照会する, signing in on the way.

Screenshots go to tests/browser/screenshots/ (gitignored) for a person to look at.
"""
from __future__ import annotations

import base64
import os

import pytest

from tests import notices
from tests.browser.conftest import PASSWORD, shot, sign_in

FIRST = "20001-000002"    # demo: 契約保証 to a JV (角田市)
SECOND = "20001-000001"   # demo: 前払金保証 of the same work


@pytest.fixture
def server(demo_portal):
    from registry.accounts.users import add_user
    from registry.models import Certificate
    from registry.notices.issuing import notice_content
    from registry.notices.pdf import DEFAULT_FONT, render_notice

    if not os.path.isfile(DEFAULT_FONT):
        pytest.skip("fonts-ipaexfont-gothic is not installed")

    def setup(app, demo):
        user = add_user(org_code="042081", email="notice@kakuda.example.jp", role="staff",
                        password=PASSWORD)
        keys = {s.contract_number: s.auth_key for s in demo["samples"]}
        pdfs = {number: render_notice(notice_content(
            Certificate.get(Certificate.contract_number == number), keys[number],
            portal_url="http://portal.test")) for number in (FIRST, SECOND)}
        return {"user": user, "keys": keys, "pdfs": pdfs}
    return demo_portal(setup)


def test_a_clerk_reads_the_notice(server, browser, tmp_path):
    base = server["url"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, base, server["user"].email)

    # Upload the notice PDF: the certificate opens.
    notice = tmp_path / "電子保証にかかる「認証キー」のお知らせ.pdf"
    notice.write_bytes(server["pdfs"][FIRST])
    page.goto(f"{base}/lookup")
    page.get_by_label("お知らせのPDFファイル").set_input_files(str(notice))
    shot(page, "notice-01-lookup-with-file")
    page.get_by_role("button", name="読み取って照会").click()
    page.wait_for_url(f"{base}/certificates/{FIRST}")
    assert page.locator("h1").inner_text().startswith("保証証書(契約保証)")
    assert page.get_by_text("署名は有効です").is_visible()
    shot(page, "notice-02-certificate")

    # Drop the other notice on the form (portal.js puts it in the file field).
    page.goto(f"{base}/lookup")
    page.evaluate("""([name, data]) => {
        const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, {type: "application/pdf"}));
        const form = document.getElementById("notice-form");
        form.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        form.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }""", ["notice-2.pdf", base64.b64encode(server["pdfs"][SECOND]).decode()])
    assert page.get_by_text("「notice-2.pdf」を選びました").is_visible()
    assert page.evaluate("document.querySelector('#notice').files.length") == 1
    shot(page, "notice-03-dropped")
    page.get_by_role("button", name="読み取って照会").click()
    page.wait_for_url(f"{base}/certificates/{SECOND}")

    # One file with both notices: both are listed, each with its link.
    both = tmp_path / "both.pdf"
    both.write_bytes(notices.merged(server["pdfs"][FIRST], server["pdfs"][SECOND]))
    page.goto(f"{base}/lookup")
    page.get_by_label("お知らせのPDFファイル").set_input_files(str(both))
    page.get_by_role("button", name="読み取って照会").click()
    page.get_by_text("お知らせから読み取った保証証書").wait_for()
    assert page.locator("#notice-results a").count() == 2
    shot(page, "notice-04-two-notices")

    # A scan has no text: the clerk is told so and asked to type.
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(notices.scanned_notice())
    page.get_by_label("お知らせのPDFファイル").set_input_files(str(scan))
    page.get_by_role("button", name="読み取って照会").click()
    page.get_by_text("文字の情報がありません").wait_for()
    shot(page, "notice-05-scan")

    # Both joined the organisation's list.
    page.goto(f"{base}/certificates")
    for number in (FIRST, SECOND):
        assert page.locator("table.certificate-list tr", has_text=number).count() == 1
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p
                or "Uncaught" in p], problems
    context.close()


def test_the_qr_link_fills_the_lookup_even_through_sign_in(server, browser):
    base = server["url"]
    key = server["keys"][FIRST]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    page.goto(f"{base}/lookup#n={FIRST}&k={key}")
    assert "/login" in page.url
    page.get_by_label("メールアドレス").fill(server["user"].email)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{base}/lookup")  # the fragment is gone from the address bar
    assert page.get_by_label("保証契約番号").input_value() == FIRST
    assert page.get_by_label("認証キー").input_value() == key
    assert "#" not in page.url
    shot(page, "notice-06-filled-from-qr")
    page.get_by_role("button", name="照会する").click()   # the clerk still presses it
    page.wait_for_url(f"{base}/certificates/{FIRST}")
    context.close()
