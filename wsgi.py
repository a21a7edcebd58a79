"""The served app: `gunicorn wsgi:app` (the Makefile's `make run`, the benchmarks)."""
import os
import sys


def leave_out_the_postgresql_driver(database_url: str) -> None:
    """peewee imports PostgreSQL's driver whenever it is installed. A worker serving
    SQLite never uses it, and psycopg with libpq, OpenSSL and asyncio is about 9 MiB
    resident in every such worker (issue 11: worker peak RSS ≤ 100 MiB). So before
    peewee is imported, mark it absent: an import of it then fails as if it were not
    installed, which peewee takes in its stride. The URL comes from the environment
    only (dsure_portal.config), so it is known here, before the app is made."""
    if not database_url.startswith("postgres") and "psycopg" not in sys.modules:
        sys.modules["psycopg"] = None


leave_out_the_postgresql_driver(os.environ.get("DSURE_DATABASE_URL", "sqlite:"))

from dsure_portal import create_app  # noqa: E402 - after the driver is settled

app = create_app()
