"""A world to measure: the demo, then N seeded certificates on 角田市's list (042081), on
SQLite or PostgreSQL, kept in a folder with a world.json saying how to reach it.

The secrets in world.json (session key, pepper) belong to this throwaway benchmark world
only; they are written with mode 0600 and never printed."""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
OBLIGEE = "042081"
SAMPLE = 50
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/dsure_bench"
# Limits that would measure the limiter instead of the endpoint (the failure limits stay:
# the benchmark only ever types right keys).
RAISED_LIMITS = {"DSURE_LOOKUP_RATE_LIMIT": "1000000 per minute",
                 "DSURE_API_RATE_LIMIT": "1000000 per minute"}


DEFAULT_REDIS = "redis://127.0.0.1:6379/13"


@functools.cache
def rate_limit_storage() -> str:
    """Where the served app counts request rates: in Redis, as production does (README:
    shared by every worker), when one answers at DSURE_BENCH_REDIS_URL (default
    DEFAULT_REDIS); else the in-memory default, one count per worker. The in-memory
    store (limits' MemoryStorage) starts a timer thread on nearly every request; on this
    2-CPU machine under load that cost each lookup 2.5-4 ms (2026-12-03)."""
    url = os.environ.get("DSURE_BENCH_REDIS_URL", DEFAULT_REDIS)
    try:
        import redis
        redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
    except Exception:
        return "memory://"
    return url


def size_label(size: int) -> str:
    return f"{size // 1_000_000}m" if size % 1_000_000 == 0 else (
        f"{size // 1000}k" if size % 1000 == 0 else str(size))


def postgres_url(base: str, size: int) -> str:
    """The bench database for this size: the base name (which must say "bench") with the
    size appended, so a 10k and a 1M world live side by side and never in `test`."""
    parts = urlsplit(base)
    name = f"{parts.path.lstrip('/') or 'dsure_bench'}_{size_label(size)}"
    if "bench" not in name or name == "test":
        raise SystemExit(f"refusing PostgreSQL database {name!r}: its name must contain 'bench'")
    return urlunsplit(parts._replace(path="/" + name))


def _recreate_postgres(url: str) -> None:
    import psycopg
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


@dataclasses.dataclass
class World:
    folder: Path
    engine: str
    size: int
    database_url: str
    secret_key: str
    key_pepper: str
    seed_seconds: float | None = None
    next_change: int = 0   # changes made so far, counted from the first changeable certificate

    @property
    def instance(self) -> Path:
        return self.folder / "instance"

    @property
    def sample_file(self) -> Path:
        return self.folder / "sample.json"

    def sample(self) -> list[tuple[str, str]]:
        data = json.loads(self.sample_file.read_text())
        return [(s["contract_number"], s["auth_key"]) for s in data["sample"]]

    def env(self) -> dict:
        return dict(os.environ, PYTHONPATH=str(ROOT), DSURE_DATABASE_URL=self.database_url,
                    DSURE_INSTANCE_PATH=str(self.instance), DSURE_SECRET_KEY=self.secret_key,
                    DSURE_KEY_PEPPER=self.key_pepper, DSURE_SESSION_COOKIE_SECURE="false",
                    DSURE_RATELIMIT_STORAGE_URI=rate_limit_storage(), **RAISED_LIMITS)

    def save(self) -> None:
        path = self.folder / "world.json"
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k != "folder"}
        path.write_text(json.dumps(fields, indent=1))
        path.chmod(0o600)

    @classmethod
    def load(cls, folder: Path) -> "World":
        return cls(folder=folder, **json.loads((folder / "world.json").read_text()))


def cli(world: World, *args: str, progress: bool = False, check: bool = True) -> subprocess.CompletedProcess:
    """Run `dsure-portal`; what it prints is kept, not shown (the seed lists the sample's
    auth keys). ``progress``: let its stderr (tqdm's bar, on a terminal) through."""
    return subprocess.run([str(Path(sys.executable).with_name("dsure-portal")), *args],
                          cwd=ROOT, env=world.env(), check=check, text=True,
                          stdout=subprocess.PIPE, stderr=None if progress else subprocess.STDOUT)


def build(folder: Path, *, engine: str, size: int, pg_base: str = DEFAULT_PG) -> World:
    """A fresh world in ``folder`` (emptied first; the PostgreSQL database recreated)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    url = (f"sqlite:///{folder / 'bench.sqlite3'}" if engine == "sqlite"
           else postgres_url(pg_base, size))
    if engine == "postgresql":
        _recreate_postgres(url)
    world = World(folder=folder, engine=engine, size=size, database_url=url,
                  secret_key=secrets.token_hex(32), key_pepper=secrets.token_hex(32))
    world.save()
    cli(world, "init-db")
    cli(world, "demo")
    started = time.monotonic()
    cli(world, "seed", "--certificates", str(size), "--obligee", OBLIGEE, "--sample", str(SAMPLE),
        "--sample-file", str(world.sample_file), progress=size >= 100_000)
    world.seed_seconds = round(time.monotonic() - started, 1)
    world.save()
    return world


def reuse(folder: Path) -> World:
    world = World.load(folder)
    if not world.sample_file.exists():
        raise SystemExit(f"{folder} has no sample.json: not a finished world")
    return world
