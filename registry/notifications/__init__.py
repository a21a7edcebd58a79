"""Notifications (DESIGN §10): telling an obligee that a certificate on its list changed.

Owns the outbox (``models.OutboxMessage``), the obligee's webhook endpoints, and the two
ways a message leaves: email over SMTP and a signed webhook POST (Standard Webhooks).

How it fits: ``ingest`` calls ``events.revision_added`` inside the transaction that
stores a revision, which writes one outbox row per recipient and nothing else, so a dead
mail server or endpoint can never slow or fail an ingest. Workers (``worker``: the
``dsure-portal outbox run`` command, or a thread of the app) claim due rows with a lease,
deliver them, and record each attempt in the audit trail.

Modules: ``models`` (tables), ``events`` (who is told what), ``outbox`` (claims, leases,
back-off), ``webhooks`` (endpoints, SSRF rules, secrets, signatures), ``webhook_post`` and
``mail`` (the two transports), ``worker`` (the delivery loop), ``preferences`` (a staff
member's opt-out).

May call: models, accounts (users and their opt-out), portfolio (who listed what), audit,
history/presentation (labels). Never called by them, except ``events`` from ``ingest``.
"""
