"""The admin's staff page as a new admin would use it: names and sections in the list,
deactivation asked for on a page of its own before it happens, and undone with one
button (issue 9 §5)."""
from __future__ import annotations

import re

from registry.accounts.users import User
from tests.portal.auth_helpers import audit_events, log_in, post_form
from tests.portal.conftest import PASSWORD
from tests.portal.test_staff_admin import ADMIN, OTHER, STAFF, admin, people  # noqa: F401


def test_the_list_shows_name_and_section(app, admin):
    added = post_form(admin, "/staff", {"name": "角田　花子", "section": " 契約管財課　契約係 ",
                                        "email": "hanako@kakuda.example.jp", "role": "staff",
                                        "password": "a sentence the admin chose"})
    assert added.status_code == 303
    html = admin.get("/staff").get_data(as_text=True)
    assert "角田 花子" in html and "契約管財課 契約係" in html
    [(event, details)] = audit_events(app, "user.added")[-1:]
    assert details["name"] == "角田 花子" and details["section"] == "契約管財課 契約係"


def test_a_name_too_long_is_refused_and_nothing_is_added(app, admin):
    response = post_form(admin, "/staff", {"name": "長" * 101, "email": "long@kakuda.example.jp",
                                           "role": "staff", "password": "a sentence the admin chose"})
    assert response.status_code == 400
    with app.app_context():
        assert User.get_or_none(User.email == "long@kakuda.example.jp") is None


def test_deactivation_asks_first_and_the_question_changes_nothing(app, admin, people):
    member = people["staff"]
    question = admin.get(f"/staff/{member.id}/deactivate")
    html = question.get_data(as_text=True)
    assert question.status_code == 200 and "アカウントを無効にしますか" in html
    assert STAFF in html and "有効に戻す" in html  # says it can be undone
    with app.app_context():
        assert User.get_by_id(member.id).active
    assert audit_events(app, "user.deactivated") == []


def test_deactivation_can_be_undone_from_the_message_and_the_list(app, admin, people):
    member = people["staff"]
    done = post_form(admin, f"/staff/{member.id}/deactivate", {},
                     page=f"/staff/{member.id}/deactivate")
    assert done.status_code == 303
    page = admin.get("/staff").get_data(as_text=True)
    undo = re.search(r'<form class="flash[^"]*flash-undo"[^>]*action="([^"]+)"', page)
    assert undo and undo.group(1) == f"/staff/{member.id}/reactivate" and "元に戻す" in page
    assert log_in(app.test_client(), STAFF).status_code == 200  # refused while inactive

    restored = post_form(admin, undo.group(1), {}, page="/staff")
    assert restored.status_code == 303
    with app.app_context():
        assert User.get_by_id(member.id).active
    assert log_in(app.test_client(), STAFF, PASSWORD).status_code == 303
    assert [e.actor for e, _ in audit_events(app, "user.reactivated")] == [f"user:{people['admin'].id}"]


def test_an_inactive_member_has_a_reactivate_button_in_the_list(app, admin, people):
    post_form(admin, f"/staff/{people['staff'].id}/deactivate", {}, page="/staff")
    admin.get("/staff")  # the message is shown once
    html = admin.get("/staff").get_data(as_text=True)
    assert f'action="/staff/{people["staff"].id}/reactivate"' in html


def test_only_an_admin_of_the_same_organisation_can_reactivate(app, admin, people):
    other = people["other"]
    with app.app_context():
        User.update(active=False).where(User.id == other.id).execute()
    assert post_form(admin, f"/staff/{other.id}/reactivate", {}, page="/staff").status_code == 403
    staff = app.test_client()
    log_in(staff, STAFF)
    assert post_form(staff, f"/staff/{people['admin'].id}/reactivate", {},
                     page="/account").status_code == 403
    with app.app_context():
        assert not User.get_by_id(other.id).active


def test_user_add_on_the_command_line_takes_name_and_section(runner, orgs):
    result = runner.invoke(args=["user", "add", "--org", "042081", "--email", "cli@kakuda.example.jp",
                                 "--role", "staff", "--name", "角田 一郎", "--section", "建設課",
                                 "--password-stdin"], input="a sentence the operator chose\n")
    assert result.exit_code == 0, result.output
    user = User.get(User.email == "cli@kakuda.example.jp")
    assert (user.name, user.section) == ("角田 一郎", "建設課")
