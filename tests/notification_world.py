"""A certificate on 角田市's list with staff to tell, for the notification tests."""
from __future__ import annotations

import datetime as dt

from registry.certificates import ingest, portfolio
from registry.accounts.users import add_user
from registry.notifications import webhooks
from registry.notifications.mail import MailSettings
from registry.notifications.worker import DeliverySettings
from tests.factories import KAKUDA, World, make_document, next_revision

PASSWORD = "correct horse battery staple"
PUBLIC_URL = "https://portal.example.jp"
LOOPBACK = webhooks.TargetPolicy(allow_private=True, allow_http_loopback=True)


def delivery_settings(*, smtp_url: str | None = None, pepper: bytes = b"test-pepper",
                      **overrides) -> DeliverySettings:
    return DeliverySettings(
        mail=MailSettings(smtp_url=smtp_url, sender="dsure-portal <noreply@portal.example.jp>",
                          public_url=PUBLIC_URL, timeout=5),
        box=webhooks.SecretBox(pepper), policy=LOOPBACK, timeout=5, **overrides)


class ListedWorld(World):
    """World + two staff of 角田市 and a certificate they listed (revision 1)."""

    def __init__(self, hasher, *, at: dt.datetime = dt.datetime(2026, 4, 1, 1, 15)):
        super().__init__()
        self.hasher = hasher
        self.staff = add_user(org_code=KAKUDA, email="staff@kakuda.example.jp", role="staff",
                              password=PASSWORD)
        self.admin = add_user(org_code=KAKUDA, email="admin@kakuda.example.jp", role="admin",
                              password=PASSWORD)
        self.document = make_document(product="contract", deposit_bank=...,
                                      contract_amount=50_000_000, guarantee_amount=5_000_000)
        accepted = self.post(self.document, at)
        self.auth_key = accepted.auth_key
        self.certificate = accepted.certificate
        portfolio.add_to_list(organisation_id=self.staff.organisation_id,
                              certificate_id=self.certificate.id, user_id=self.staff.id)

    def post(self, document: dict, at: dt.datetime | None = None):
        return ingest.accept_revision(
            client=self.client, contract_number=document["contract_number"],
            number=document["revision"], body=self.signed(document), hasher=self.hasher,
            **({"clock": lambda: at} if at else {}))

    def change(self, at: dt.datetime | None = None, **overrides):
        """The next revision, a 変更 (by default the guarantee drops to 4,999,999)."""
        overrides = overrides or {"guarantee_amount": 4_999_999}
        self.document = next_revision(self.document, "change", **overrides)
        return self.post(self.document, at)

    def add_webhook(self, url: str, *, pepper: bytes = b"test-pepper"):
        return webhooks.add_endpoint(organisation=self.staff.organisation, url=url,
                                     box=webhooks.SecretBox(pepper), policy=LOOPBACK,
                                     actor="api-client:test")
