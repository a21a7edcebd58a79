"""What every `dsure-portal` command shares: how it fails."""
from __future__ import annotations

import contextlib
import sys

import click

from registry.errors import RegistryError


def fail(message: str) -> None:
    """Tell the operator on stderr and exit 1, so scripts can branch on it."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@contextlib.contextmanager
def refusal_exits():
    """A registry refusal inside the block becomes `fail(its detail)`."""
    try:
        yield
    except RegistryError as exc:
        fail(exc.detail)
