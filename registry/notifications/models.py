"""Tables of notifications: the obligee's webhook endpoints and the outbox."""
from __future__ import annotations

import peewee as pw

from ..accounts.users import User
from ..models import BaseModel, Organisation


class WebhookEndpoint(BaseModel):
    """A URL an obligee's system registered. ``public_id`` is what the API shows.

    ``secret_sealed`` is the signing secret encrypted (AES-256-GCM) under a key derived
    from the key pepper, which lives outside the database: a copy of the database alone
    cannot sign a webhook (see ``webhooks.SecretBox``)."""

    public_id = pw.CharField(max_length=40, unique=True)
    organisation = pw.ForeignKeyField(Organisation, backref="webhook_endpoints")
    url = pw.CharField(max_length=2048)
    secret_sealed = pw.TextField()
    active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField()
    removed_at = pw.DateTimeField(null=True)


class OutboxMessage(BaseModel):
    """One message to one recipient (a user's mailbox or an endpoint), written in the
    transaction of the event that caused it.

    ``status``: pending → delivered (once, by the worker whose claim it is) or dead
    (attempts exhausted, or refused for good) or cancelled (recipient gone or opted out
    before delivery). A claim is ``claim_token`` + ``claimed_until``: a worker that dies
    leaves a lease that simply runs out."""

    STATUSES = ("pending", "delivered", "dead", "cancelled")
    CHANNELS = ("email", "webhook")

    message_id = pw.CharField(max_length=40, unique=True)  # webhook-id; stable across retries
    channel = pw.CharField(max_length=16)
    event_type = pw.CharField(max_length=64)
    organisation = pw.ForeignKeyField(Organisation, backref="+")
    contract_number = pw.CharField(max_length=12)
    user = pw.ForeignKeyField(User, null=True, backref="+")
    endpoint = pw.ForeignKeyField(WebhookEndpoint, null=True, backref="messages")
    payload = pw.TextField()  # JSON; for a webhook, exactly the body that is signed
    created_at = pw.DateTimeField()
    status = pw.CharField(max_length=16, default="pending")
    attempts = pw.IntegerField(default=0)
    next_attempt_at = pw.DateTimeField()
    claim_token = pw.CharField(max_length=32, null=True)
    claimed_until = pw.DateTimeField(null=True)
    delivered_at = pw.DateTimeField(null=True)
    last_error = pw.CharField(max_length=200, null=True)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False),)


MODELS = [WebhookEndpoint, OutboxMessage]
