"""A member of staff's walk through the portal in real Chromium: sign in, look a
certificate up with a full-width number, open revision 1 in place (htmx), compare 1 with
2, print on one A4 page, find it read in the list, sign out.

Screenshots go to tests/browser/screenshots/ (gitignored) for a person to look at.
"""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PASSWORD, SCREENSHOTS, shot, sign_in

NUMBER = "20001-000002"          # demo: 契約保証 to a JV, revision 2 changes the amounts
FULL_WIDTH = "２０００１－０００００２"


@pytest.fixture
def server(demo_portal):
    """The demo world and one member of 角田市's staff."""
    from registry.accounts.users import add_user

    def setup(app, demo):
        user = add_user(org_code="042081", email="walk@kakuda.example.jp", role="staff",
                        password=PASSWORD)
        keys = {s.contract_number: s.auth_key for s in demo["samples"]}
        return {"user": user, "auth_key": keys[NUMBER]}
    return demo_portal(setup)


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


def test_staff_walk(server, browser):
    base = server["url"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    sign_in(page, base, server["user"].email)

    # Look up with a full-width number.
    page.goto(f"{base}/lookup")
    page.get_by_label("保証契約番号").fill(FULL_WIDTH)
    page.get_by_label("認証キー").fill(server["auth_key"])
    shot(page, "01-lookup")
    page.get_by_role("button", name="照会する").click()
    page.wait_for_url(f"{base}/certificates/{NUMBER}")
    assert page.locator("h1").inner_text().startswith("保証証書(契約保証)")
    assert page.get_by_text("署名は有効です").is_visible()
    assert page.locator(".certificate").get_by_text("5,500,000円").is_visible()
    shot(page, "02-certificate")

    # Revision 1 opens in place: htmx swaps the block, the page itself stays.
    page.evaluate("window.__stayed = true")
    page.get_by_role("link", name="第1版を表示").click()
    page.wait_for_url(f"{base}/certificates/{NUMBER}?revision=1")
    page.locator(".sheet-meta", has_text="第1版(新規)").wait_for()
    assert page.evaluate("window.__stayed === true"), "the page reloaded instead of swapping"
    assert page.locator(".certificate").get_by_text("5,000,000円").is_visible()
    assert page.get_by_text("過去の版です").is_visible()
    # Focus follows the swapped-in certificate for keyboard users.
    assert page.evaluate("document.activeElement.id") == "sheet-title"
    shot(page, "03-revision-1-in-place")

    # Compare 1 with 2 (a plain GET form).
    page.select_option("#compare-a", "1")
    page.select_option("#compare-b", "2")
    page.get_by_role("button", name="比較する").click()
    page.wait_for_url(re.compile(r".*/compare\?a=1&b=2$"))
    changed = [t.split("(")[0].strip() for t in
               page.locator("table.comparison tr.changed th").all_text_contents()]
    assert "保証金額" in changed and "請負金額" in changed
    shot(page, "04-compare")

    # The print view: verification URL, status as of, one A4 page.
    page.goto(f"{base}/certificates/{NUMBER}")
    page.get_by_role("link", name="印刷用の表示(A4)").click()
    page.wait_for_url(f"{base}/certificates/{NUMBER}/print")
    assert page.get_by_text(f"{base}/certificates/{NUMBER}").is_visible()
    assert page.get_by_text(re.compile(r"時\d\d分時点の状態")).first.is_visible()
    assert page.get_by_role("button", name="印刷する").is_visible()  # shown by portal.js
    shot(page, "05-print-screen")
    page.emulate_media(media="print")
    # The printable area of A4 under @page margins 15/15/18 mm: 180 x 264 mm at 96 dpi.
    page.set_viewport_size({"width": 680, "height": 997})
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 997, f"the print view is {height}px tall; one A4 page holds 997px"
    shot(page, "06-print-media")
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    (SCREENSHOTS / "print.pdf").write_bytes(pdf)
    assert pdf_pages(pdf) == 1, f"the print view takes {pdf_pages(pdf)} A4 pages"
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The list shows it, read (no 未読 / 新しい版あり badge).
    page.goto(f"{base}/certificates")
    row = page.locator("table.certificate-list tr", has_text=NUMBER)
    assert row.count() == 1
    assert row.locator(".badge-new").count() == 0
    # Active search narrows the list in place.
    page.get_by_label("キーワード").fill("存在しない工事")
    page.get_by_text("条件に合う保証証書はありません").wait_for()
    assert "q=" in page.url
    page.get_by_label("キーワード").fill("")
    row.wait_for()
    shot(page, "07-list")

    # Phone width: readable without sideways scrolling.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/certificates/{NUMBER}")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px at phone width"
    shot(page, "08-phone-certificate")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_load_state()
    page.goto(f"{base}/certificates")
    assert "/login" in page.url
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    context.close()
