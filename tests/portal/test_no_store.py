"""`Cache-Control: no-store` on every API answer and every download, set once for the
whole app (dsure_portal/security.py); static assets stay cacheable."""
import datetime as dt

import pytest

from registry.audit.chain import record
from tests.factories import make_document
from tests.portal.certificate_fixtures import *  # noqa: F401,F403
from tests.portal.certificate_fixtures import look_up

NUMBER = "30001-000001"


@pytest.fixture
def posted(app, post_document, surety):
    """The auth key of a posted certificate; the trail has a daily checkpoint due."""
    auth_key = post_document(make_document(contract_number=NUMBER))
    with app.app_context():
        record("a", actor="t", clock=lambda: dt.datetime(2030, 1, 1, 3))
        record("b", actor="t", clock=lambda: dt.datetime(2030, 1, 2, 3))
    return auth_key


@pytest.mark.parametrize("url", ["/api/v1/obligees", "/api/v1/openapi.json",
                                 f"/api/v1/certificates/{NUMBER}"])  # the last one: 401
def test_every_api_answer_is_no_store(client, url):
    response = client.get(url)
    assert response.headers["Cache-Control"] == "no-store"


def test_static_assets_stay_cacheable(client):
    response = client.get("/static/portal.css")
    response.close()
    assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", "")


def test_every_download_is_no_store(app, posted, staff_client, make_user, sign_in):
    staff = staff_client()
    look_up(staff, NUMBER, posted)  # puts it on the organisation's list
    auditor = app.test_client()
    sign_in(auditor, make_user(email="audit@kakuda.example.jp", role="auditor"))
    assert app.test_cli_runner().invoke(args=["audit", "checkpoint"]).exit_code == 0
    page = auditor.get("/audit").get_data(as_text=True)
    checkpoint = page.split('href="/audit/checkpoints/')[1].split('"')[0]
    downloads = [
        (staff, f"/certificates/{NUMBER}/evidence.zip"),
        (staff, f"/certificates/{NUMBER}/print"),
        (auditor, "/audit/export.csv"),
        (auditor, f"/audit/certificates/{NUMBER}/evidence.zip"),
        (auditor, f"/audit/checkpoints/{checkpoint}"),
    ]
    for browser, url in downloads:
        response = browser.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
