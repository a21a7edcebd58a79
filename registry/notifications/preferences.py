"""A staff member's own choice: email about new revisions, or not (on /account)."""
from __future__ import annotations

from ..accounts.users import User
from ..audit.chain import record
from ..clock import Clock, utcnow
from ..db import write_transaction


def set_email_notifications(user: User, enabled: bool, *, actor: str,
                            clock: Clock = utcnow) -> bool:
    """Turn the emails on or off; True when that changed something (then audited)."""
    enabled = bool(enabled)
    with write_transaction():
        changed = (User.update(notify_by_email=enabled)
                   .where(User.id == user.id, User.notify_by_email != enabled)
                   .execute())
        if changed:
            record("user.notifications_changed", actor=actor,
                   organisation_code=user.organisation.code,
                   details={"user_id": user.id, "notify_by_email": enabled}, clock=clock)
    user.notify_by_email = enabled
    return bool(changed)
