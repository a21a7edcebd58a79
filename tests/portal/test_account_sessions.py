"""/account lists the user's live sessions (browser, address, 和暦 times, this browser
marked) and ends every other one at once, on every instance (ASVS 7.5.2)."""
import re

from registry.accounts.users import UserSession
from tests.portal.auth_helpers import another_app, audit_events, log_in, post_form

EMAIL = "staff@kakuda.example.jp"
EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")


def browser(app, user_agent, address):
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": address})
    assert log_in(client, EMAIL).status_code == 303
    return client


def session_rows(html: str) -> list[str]:
    table = html.split('<table class="sessions">')[1].split("</table>")[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in table.split("<tbody>")[1].split("</tr>")[:-1]]


def test_the_account_page_lists_each_browser_and_marks_this_one(app, make_user):
    make_user()
    office = browser(app, EDGE, "10.0.0.1")
    browser(app, IPHONE, "2001:db8::7")
    html = office.get("/account").get_data(as_text=True)
    rows = session_rows(html)
    assert len(rows) == 2
    assert rows[0].startswith("Edge 120 / Windows 10 この端末 10.0.0.1 令和")
    assert rows[1].startswith("Mobile Safari 17 / iOS 17 2001:db8::7 令和")
    assert "ほかの端末をすべてログアウトさせる" in html


def test_ending_the_other_sessions_keeps_this_one_only(app, app_config, make_user):
    make_user()
    office = browser(app, EDGE, "10.0.0.1")
    elsewhere = [browser(app, IPHONE, "2001:db8::7"),
                 browser(another_app(app_config), EDGE, "10.0.0.2")]  # another instance
    response = post_form(office, "/account/sessions/revoke-others", {}, page="/account")
    assert response.status_code == 303
    assert response.headers["Location"] == "/account#sessions-heading"
    page = office.get("/account").get_data(as_text=True)
    assert "ほかの端末のログインを終了しました(2件)" in page
    assert len(session_rows(page)) == 1 and "ほかにログイン中の端末はありません" in page
    for other in elsewhere:
        assert other.get("/lookup").status_code == 302  # sent to sign in
    [(event, details)] = audit_events(app, "session.revoked_others")
    assert details["count"] == 2 and details["address"] == "10.0.0.1"
    assert event.kind == "session.revoked_others" and event.organisation_code == "042081"


def test_ending_the_others_needs_the_csrf_token(app, make_user):
    make_user()
    office = browser(app, EDGE, "10.0.0.1")
    other = browser(app, IPHONE, "2001:db8::7")
    assert office.post("/account/sessions/revoke-others", data={}).status_code == 400
    assert other.get("/lookup").status_code == 200
    with app.app_context():
        assert UserSession.select().where(UserSession.ended_at.is_null()).count() == 2
    assert audit_events(app, "session.revoked_others") == []
