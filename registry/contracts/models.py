"""The obligee's own record of a contract (契約情報), one per listed certificate."""
from __future__ import annotations

import peewee as pw

from ..models import BaseModel, Certificate, Organisation


class ObligeeContract(BaseModel):
    """What the obligee recorded about the contract behind ``certificate``. Every field
    is optional: a check whose input is missing is left out, never reported as passed.

    ``failed_checks`` (space-separated check ids, "" when none failed) is the result for
    ``checked_revision``; it is rewritten whenever the record or the certificate's
    current revision changes, in the same transaction, and only serves the work queue's
    counts and filters. Pages and the API compute the checks afresh when read."""

    organisation = pw.ForeignKeyField(Organisation, backref="+")
    certificate = pw.ForeignKeyField(Certificate, backref="+")
    contract_amount = pw.BigIntegerField(null=True)   # 請負金額 (yen)
    contract_date = pw.DateField(null=True)           # 契約日
    period_start = pw.DateField(null=True)            # 工期 (start)
    period_end = pw.DateField(null=True)              # 工期 (end)
    work_name = pw.CharField(max_length=300, null=True)  # 工事名
    recorded_at = pw.DateTimeField()
    recorded_by = pw.CharField(max_length=200)        # the audit actor: user:3, api-client:5, operator
    checked_revision = pw.IntegerField()
    failed_checks = pw.CharField(max_length=400, default="")

    class Meta:
        indexes = ((("organisation", "certificate"), True),)


MODELS = [ObligeeContract]
