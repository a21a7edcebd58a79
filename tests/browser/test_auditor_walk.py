"""An auditor's walk in real Chromium: filter the trail (htmx, URL pushed), page through
it, download the CSV of the filter, open a certificate's full history with its hidden
revisions, download its evidence bundle and check it offline.

Screenshots go to tests/browser/screenshots/auditor-*.png for a person to look at.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, shot, sign_in

NUMBER = "20001-000001"   # demo: 角田市, new → change → correction → change cancellation
FAILED_LOOKUPS = 60


@pytest.fixture
def server(demo_portal):
    """The demo world, an auditor and a member of staff of 角田市, the staff member's
    lookups, and 60 failed lookups."""
    from registry.accounts.users import add_user
    from registry.audit.chain import record
    from registry.clock import utcnow

    def setup(app, demo):
        auditor = add_user(org_code="042081", email="kansa@kakuda.example.jp", role="auditor",
                           password=PASSWORD)
        staff = add_user(org_code="042081", email="shokuin@kakuda.example.jp", role="staff",
                         password=PASSWORD)
        record("lookup.succeeded", actor=f"user:{staff.id}", organisation_code="042081",
               contract_number=NUMBER, details={"added_to_list": True})
        record("certificate.viewed", actor=f"user:{staff.id}", organisation_code="042081",
               contract_number=NUMBER, details={"view": "page", "revisions": [1, 4]})
        start = utcnow().replace(microsecond=0) - dt.timedelta(hours=1)
        for n in range(FAILED_LOOKUPS):
            record("lookup.failed", actor=f"user:{staff.id}", organisation_code="042081",
                   contract_number="20001-000002", details={"reason": "bad_key"},
                   clock=lambda n=n: start + dt.timedelta(seconds=n))
        return {"user": auditor}
    return demo_portal(setup)


def test_auditor_walk(server, browser, tmp_path):
    from registry.audit.bundle_check import check_bundle

    base = server["url"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP",
                                  accept_downloads=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, base, server["user"].email)

    page.goto(f"{base}/audit")
    assert page.get_by_role("heading", name="監査ログ").is_visible()
    assert page.locator("#chain-entries").inner_text().endswith("件")
    shot(page, "auditor-01-trail")

    # Filter: failed lookups. htmx swaps the results in and pushes the URL.
    page.select_option("#kind", "lookup.failed")
    page.get_by_role("button", name="絞り込む").click()
    page.wait_for_url("**/audit?*kind=lookup.failed*")
    rows = page.locator("#trail-rows tr:not(.more-row)")
    rows.first.wait_for()
    assert rows.count() == 50
    assert page.locator("h1").count() == 1  # a block was swapped in, not a second page
    page.get_by_text("さらに古い記録を表示").click()
    # A locator assertion, not wait_for_function: that evaluates a string in the page,
    # which the CSP (no 'unsafe-eval') refuses now and then.
    expect(page.locator("#trail-rows tr")).to_have_count(FAILED_LOOKUPS)
    assert page.locator(".more-row").count() == 0
    shot(page, "auditor-02-filtered-and-paged")

    # The CSV of this filter: every matching row, not just the page.
    with page.expect_download() as download_info:
        page.click("#export-csv")
    data = Path(download_info.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    exported = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(exported) == FAILED_LOOKUPS and {r["kind"] for r in exported} == {"lookup.failed"}

    # Narrow to one certificate's revisions, then open its full history.
    page.goto(f"{base}/audit?contract_number={NUMBER}&kind=revision.accepted")
    assert page.locator("#trail-rows tr").count() == 4
    page.locator(f"#trail-rows a:text('{NUMBER}')").first.click()
    page.wait_for_url(f"**/audit/certificates/{NUMBER}")
    assert page.locator("#revision-2").get_by_text("訂正により非表示 (No.3)").is_visible()
    assert page.locator("#revision-3").get_by_text("変更取消により非表示 (No.4)").is_visible()
    assert page.get_by_text("署名有効").count() == 4
    assert page.get_by_text("shokuin@kakuda.example.jp").first.is_visible()
    page.locator("#document-2 summary").click()
    assert '"guarantee_amount": 24000000' in page.locator("#document-2 pre").inner_text()
    shot(page, "auditor-03-certificate-history")

    with page.expect_download() as download_info:
        page.click("#evidence-download")
    download = download_info.value
    assert download.suggested_filename == f"evidence-{NUMBER}.zip"
    bundle = tmp_path / download.suggested_filename
    download.save_as(bundle)
    report = check_bundle(bundle)
    assert report.ok and report.revisions == 4, report.problems

    # Narrow screen: the trail still reads (tables scroll inside their box).
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/audit?kind=revision.accepted")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "auditor-04-trail-narrow", full_page=False)
    assert errors == []
    context.close()
