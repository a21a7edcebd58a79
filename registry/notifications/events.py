"""What happened, and to whom it is told: called by ``ingest`` inside the transaction
that stores a revision, so the messages exist exactly when the revision does."""
from __future__ import annotations

import json

import peewee as pw

from ..accounts.users import STAFF_ROLES, User
from ..clock import Clock, isoformat, utcnow
from ..models import Certificate, Revision
from .models import WebhookEndpoint
from .outbox import enqueue_all, message_row
from ..prepared import Prepared, Slot

REVISION_ADDED = "certificate.revision_added"


# Who is told: the opted-in active staff by email, then the active webhooks, in one read.
_RECIPIENTS = Prepared(lambda: (
    User.select(pw.SQL("'email'"), User.id)
    .where(User.organisation == Slot("organisation"), User.active == True,  # noqa: E712
           User.role.in_(STAFF_ROLES), User.notify_by_email == True)  # noqa: E712
    .union_all(WebhookEndpoint.select(pw.SQL("'webhook'"), WebhookEndpoint.id)
               .where(WebhookEndpoint.organisation == Slot("organisation"),
                      WebhookEndpoint.active == True))  # noqa: E712
    .order_by(pw.SQL("1"), pw.SQL("2")).tuples()))


def revision_added(*, certificate: Certificate, revision: Revision, amount_before: int,
                   on_obligees_list: bool, clock: Clock = utcnow) -> int:
    """Queue one email per opted-in active staff member and one POST per webhook of the
    obligee, when the certificate is on the obligee's list (``on_obligees_list``: ingest
    has just updated that list's rows and knows). Returns how many."""
    obligee_id = certificate.obligee_id
    if not on_obligees_list:
        return 0
    event = {
        "contract_number": certificate.contract_number, "revision": revision.number,
        "kind": revision.kind, "supersedes": revision.supersedes,
        "product": certificate.product, "arrived_at": isoformat(revision.arrived_at),
    }
    common = dict(event_type=REVISION_ADDED, organisation_id=obligee_id,
                  contract_number=certificate.contract_number, now=clock())
    mail = json.dumps({**event, "work_name": certificate.work_name,
                       "amount_before": amount_before, "amount_after": certificate.guarantee_amount,
                       "obligee_name": certificate.obligee.name}, ensure_ascii=False)
    # The body is fixed now and signed as stored, so every retry sends the same bytes.
    body = json.dumps({"type": REVISION_ADDED, "timestamp": event["arrived_at"], "data": event},
                      ensure_ascii=False, separators=(",", ":"))
    rows = [message_row(channel="email", payload=mail, user_id=recipient, **common)
            if channel == "email" else
            message_row(channel="webhook", payload=body, endpoint_id=recipient, **common)
            for channel, recipient in _RECIPIENTS.rows(organisation=obligee_id)]
    return enqueue_all(rows)
