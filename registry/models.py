"""Tables of the registry. Rows that are evidence (revisions, audit events) are
insert-only: triggers made by the migrations (``registry/migrations``) refuse UPDATE and DELETE."""
from __future__ import annotations

import peewee as pw

from .db import database


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class Organisation(BaseModel):
    KINDS = ("surety", "obligee", "operator")

    kind = pw.CharField(max_length=16, choices=[(k, k) for k in KINDS])
    code = pw.CharField(max_length=16, unique=True)
    name = pw.CharField(max_length=200)
    require_otp = pw.BooleanField(default=True)  # TOTP for every user, unless allowed otherwise
    created_at = pw.DateTimeField()


class ApiClient(BaseModel):
    """A surety system allowed to call the API. The bearer token is 256 random bits,
    so a plain SHA-256 digest is a sufficient store (above the 112-bit bar)."""

    organisation = pw.ForeignKeyField(Organisation, backref="api_clients")
    name = pw.CharField(max_length=200)
    token_digest = pw.CharField(max_length=64, unique=True)
    active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField()
    last_used_at = pw.DateTimeField(null=True)  # to the minute (organisations.authenticate_client)
    revoked_at = pw.DateTimeField(null=True)


class SigningKey(BaseModel):
    """A surety's Ed25519 public key; revisions name it by ``key_id``. A retired key
    signs no new revision, but the revisions it signed still verify with it."""

    organisation = pw.ForeignKeyField(Organisation, backref="signing_keys")
    key_id = pw.CharField(max_length=64, unique=True)
    public_key = pw.BlobField()  # 32 raw bytes
    fingerprint = pw.CharField(max_length=64)
    active = pw.BooleanField(default=True)  # False: retired, refused for new revisions
    created_at = pw.DateTimeField()
    retired_at = pw.DateTimeField(null=True)


class Certificate(BaseModel):
    """One guarantee contract. The summary columns mirror the current visible revision
    so lists can be searched without decoding documents; the revisions are the truth."""

    contract_number = pw.CharField(max_length=12, unique=True)
    surety = pw.ForeignKeyField(Organisation, backref="issued_certificates")
    obligee = pw.ForeignKeyField(Organisation, backref="certificates")
    product = pw.CharField(max_length=32)
    auth_key_digest = pw.CharField(max_length=200)
    auth_key_issued_at = pw.DateTimeField()
    latest_revision = pw.IntegerField()
    current_revision = pw.IntegerField()
    current_kind = pw.CharField(max_length=32)
    work_name = pw.CharField(max_length=500)
    principal_name = pw.CharField(max_length=500)
    guarantee_amount = pw.BigIntegerField()
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()


class Revision(BaseModel):
    certificate = pw.ForeignKeyField(Certificate, backref="revisions")
    number = pw.IntegerField()
    kind = pw.CharField(max_length=32)
    supersedes = pw.IntegerField(null=True)
    canonical = pw.BlobField()  # RFC 8785 bytes exactly as signed
    signature = pw.BlobField()  # 64-byte Ed25519 signature
    signing_key = pw.ForeignKeyField(SigningKey, backref="revisions")
    arrived_at = pw.DateTimeField()  # 電子保証発行日時: the official issue time

    class Meta:
        indexes = ((("certificate", "number"), True),)


class AuditEvent(BaseModel):
    """One link of the hash chain. ``occurred_at`` and ``details`` are stored as the
    exact text that was hashed, so no database type conversion can change a hash."""

    seq = pw.BigIntegerField(unique=True)
    occurred_at = pw.CharField(max_length=40)
    kind = pw.CharField(max_length=64, index=True)
    actor = pw.CharField(max_length=200)
    organisation_code = pw.CharField(max_length=16, null=True, index=True)
    contract_number = pw.CharField(max_length=12, null=True, index=True)
    details = pw.TextField()
    prev_hash = pw.CharField(max_length=64)
    entry_hash = pw.CharField(max_length=64)


CORE_MODELS = [Organisation, ApiClient, SigningKey, Certificate, Revision, AuditEvent]
