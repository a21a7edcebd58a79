"""The schema: made and changed only by the versioned migrations in ``migrations/``.

The models describe the tables as the code reads them; ``tests/registry/test_migrations``
holds the two equal, so a model change without a migration fails the suite.
"""
from __future__ import annotations

from .migrations import Upgrade, upgrade
from .models import CORE_MODELS


def all_models() -> list:
    from .accounts import users as accounts, devices, recovery_codes, throttle
    from .audit import checkpoints, denials, timestamps, verification_runs
    from .certificates import portfolio
    from .contracts import models as contracts
    from .notifications import models as notifications
    return (CORE_MODELS + accounts.MODELS + recovery_codes.MODELS + throttle.MODELS
            + portfolio.MODELS + checkpoints.MODELS + timestamps.MODELS + verification_runs.MODELS
            + devices.MODELS + denials.MODELS + contracts.MODELS + notifications.MODELS)


def create_schema() -> Upgrade:
    """``init-db``: the newest schema, from nothing or from any earlier release."""
    return upgrade()
