"""A worker that serves pages does not carry the libraries of rare tasks (issue 11: worker
peak RSS ≤ 100 MiB). fpdf2 (~19 MiB), pypdf (~17 MiB) and zxcvbn (~12 MiB) load on first
use: drawing a notice, reading one, setting a password; rfc3161-client (~2 MiB) when a
time-stamp token is made or read; ua_parser with yaml (~2 MiB) at sign-in; segno (~1 MiB)
for a QR code; tqdm and the seeder's process pool (multiprocessing, concurrent.futures)
only in `dsure-portal seed` or a split `audit verify`. A worker serving SQLite runs without
psycopg (~9 MiB), which peewee would otherwise import (wsgi.py)."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]

RARE = ("fpdf", "pypdf", "zxcvbn", "rfc3161_client", "ua_parser", "yaml", "segno", "tqdm",
        "multiprocessing")


def test_the_app_starts_without_the_libraries_of_rare_tasks(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from dsure_portal import create_app
        create_app({{"INSTANCE_PATH": {str(tmp_path)!r},
                     "DATABASE_URL": "sqlite:///{tmp_path}/portal.db",
                     "SECRET_KEY": "s" * 40, "KEY_PEPPER": "p" * 40}})
        print(",".join(sorted(name for name in {RARE!r} if name in sys.modules)))
    """)
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == ""


def _serve_through_wsgi(tmp_path, database_url: str, *paths: str) -> list[str]:
    """Start the app as gunicorn does (import wsgi) in a fresh process, with a schema
    made on SQLite; say whether psycopg is loaded and what each of ``paths`` answers."""
    script = textwrap.dedent(f"""
        import sys
        import wsgi
        from registry.db import is_postgresql
        from registry.schema import create_schema
        if not is_postgresql():
            create_schema()
        client = wsgi.app.test_client()
        print(sys.modules.get("psycopg") is not None)
        for path in {list(paths)!r}:
            print(client.get(path).status_code)
    """)
    env = dict(os.environ, DSURE_DATABASE_URL=database_url, DSURE_INSTANCE_PATH=str(tmp_path),
               DSURE_SECRET_KEY="s" * 40, DSURE_KEY_PEPPER="p" * 40)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, env=env, cwd=str(ROOT)).stdout.split()


def test_a_worker_serving_sqlite_runs_without_the_postgresql_driver(tmp_path):
    """peewee imports psycopg when it is installed; a SQLite worker never uses it and it
    is about 9 MiB resident (libpq, OpenSSL, asyncio), so wsgi.py leaves it out."""
    # /obligees reads the database
    assert _serve_through_wsgi(tmp_path, f"sqlite:///{tmp_path}/portal.db",
                               "/healthz", "/obligees") == ["False", "200", "200"]


def test_a_worker_serving_postgresql_keeps_its_driver(tmp_path):
    if not PG_URL:
        pytest.skip("DSURE_TEST_DATABASE_URL is not set")
    assert _serve_through_wsgi(tmp_path, PG_URL, "/healthz") == ["True", "200"]

