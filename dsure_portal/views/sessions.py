"""The user's own sessions on /account: which browsers are signed in, and ending every one
but this (registry.accounts.user_sessions)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from registry.accounts.user_sessions import end_other_sessions, live_sessions
from registry.wareki import wareki_datetime

from ..forms.auth import ConfirmForm
from ..login import require_login, session_limits

bp = Blueprint("sessions", __name__)
bp.before_request(require_login)


@bp.app_template_global()
def account_sessions() -> list[dict]:
    """For the sessions block of auth/account.html, whichever view renders the page."""
    return [{"started": wareki_datetime(s.started_at), "last_seen": wareki_datetime(s.last_seen_at),
             "address": s.address, "browser": s.browser, "current": s.current}
            for s in live_sessions(current_user.user, current_token=current_user.token,
                                   limits=session_limits())]


@bp.post("/account/sessions/revoke-others")
def revoke_others():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ended = end_other_sessions(current_user.user, keep_token=current_user.token,
                               actor=current_user.actor, address=request.remote_addr,
                               limits=session_limits())
    flash(f"ほかの端末のログインを終了しました({ended}件)。" if ended
          else "ほかにログイン中の端末はありませんでした。", "info")
    return redirect(url_for("auth.account", _anchor="sessions-heading"), 303)
