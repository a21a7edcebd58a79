"""The opt-out from new-revision emails on /account (DESIGN §10)."""
from __future__ import annotations

import json

from registry.accounts.users import User
from registry.models import AuditEvent
from tests.portal.conftest import csrf_token_from


def account_page(client) -> str:
    return client.get("/account").get_data(as_text=True)


def notify_flag(app, user) -> bool:
    with app.app_context():
        return User.get_by_id(user.id).notify_by_email


def changes(app):
    with app.app_context():
        return [(e.actor, json.loads(e.details)) for e in AuditEvent.select()
                .where(AuditEvent.kind == "user.notifications_changed").order_by(AuditEvent.seq)]


def test_staff_see_the_choice_ticked_until_they_opt_out(app, make_user, sign_in):
    user = make_user()
    client = app.test_client()
    sign_in(client, user)
    html = account_page(client)
    assert "お知らせメール" in html
    assert 'name="notify_by_email" value="y" checked' in html

    response = client.post("/account/notifications", data={"csrf_token": csrf_token_from(html)})

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/account#notifications-heading")
    assert notify_flag(app, user) is False
    page = client.get("/account").get_data(as_text=True)
    assert "新しい版のお知らせメールを停止しました。" in page
    assert 'name="notify_by_email" value="y" checked' not in page
    assert changes(app) == [(f"user:{user.id}", {"user_id": user.id, "notify_by_email": False})]

    client.post("/account/notifications", data={"csrf_token": csrf_token_from(page),
                                                "notify_by_email": "y"})
    assert notify_flag(app, user) is True
    assert [c[1]["notify_by_email"] for c in changes(app)] == [False, True]


def test_saving_the_same_choice_again_records_nothing(app, make_user, sign_in):
    user = make_user()
    client = app.test_client()
    sign_in(client, user)
    client.post("/account/notifications",
                data={"csrf_token": csrf_token_from(account_page(client)), "notify_by_email": "y"})
    assert notify_flag(app, user) is True and changes(app) == []


def test_without_the_csrf_token_nothing_changes(app, make_user, sign_in):
    user = make_user()
    client = app.test_client()
    sign_in(client, user)
    response = client.post("/account/notifications", data={})
    assert response.status_code == 400
    assert notify_flag(app, user) is True and changes(app) == []


def test_auditors_get_no_emails_and_no_choice(app, make_user, sign_in):
    auditor = make_user(email="audit@kakuda.example.jp", role="auditor")
    client = app.test_client()
    sign_in(client, auditor)
    html = account_page(client)
    assert "お知らせメール" not in html
    response = client.post("/account/notifications", data={"csrf_token": csrf_token_from(html)})
    assert response.status_code == 403
    assert changes(app) == []


def test_the_choice_needs_a_signed_in_user(app, client):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/account/notifications", data={"csrf_token": token})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert changes(app) == []
