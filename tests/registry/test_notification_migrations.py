"""Migrations 0002-0003 on a database of the release before them: every existing user
is opted in, nothing else about them changes, and the outbox starts empty."""
from __future__ import annotations

from registry.accounts.users import User
from registry.notifications.models import OutboxMessage, WebhookEndpoint
from registry.schema import create_schema
from tests.registry.test_migrations import old_release  # noqa: F401 - the fixture


def test_existing_users_are_opted_in_and_keep_everything_else(old_release):  # noqa: F811
    from registry.db import database
    before = database.execute_sql(
        'SELECT "id", "email", "role", "password_hash", "otp_secret", "active" FROM "user" '
        'ORDER BY "id"').fetchall()
    assert before

    create_schema()

    after = [(u.id, u.email, u.role, u.password_hash, u.otp_secret, u.active)
             for u in User.select().order_by(User.id)]
    assert [(*row[:5], bool(row[5])) for row in before] == after
    assert {u.notify_by_email for u in User.select()} == {True}
    assert OutboxMessage.select().count() == 0 and WebhookEndpoint.select().count() == 0
