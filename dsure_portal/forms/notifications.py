"""The account page's notification choice (CSRF like every form)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField


class EmailNotificationsForm(FlaskForm):
    # An unticked box sends nothing: that is the opt-out.
    notify_by_email = BooleanField("一覧の保証証書に新しい版が届いたら、メールで知らせる")
