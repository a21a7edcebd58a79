"""The served app: `gunicorn wsgi:app` (the Makefile's `make run`, the benchmarks)."""
import os
import sys


def leave_out_the_postgresql_driver(database_url: str) -> bool:
    """peewee imports PostgreSQL's driver whenever it is installed. A worker serving
    SQLite never uses it, and psycopg with libpq, OpenSSL and asyncio is about 9 MiB
    resident in every such worker (issue 11: worker peak RSS ≤ 100 MiB). So before
    peewee is imported, mark it absent: an import of it then fails as if it were not
    installed, which peewee takes in its stride. True when it was left out."""
    if database_url.startswith("postgres") or "psycopg" in sys.modules:
        return False
    sys.modules["psycopg"] = None
    return True


leave_out_the_postgresql_driver(os.environ.get("DSURE_DATABASE_URL", "sqlite:"))

from dsure_portal import create_app  # noqa: E402 - after the driver is settled

app = create_app()
