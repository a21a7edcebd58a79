"""`dsure-portal seed`: many real certificates for one obligee (registry.demo.seed)."""
from __future__ import annotations

import json
import time

import click
from flask import Flask, current_app

from .cli_support import fail, refusal_exits


def register_seed_commands(app: Flask) -> None:
    @app.cli.command("seed")
    @click.option("--certificates", type=int, required=True, help="How many certificates in all.")
    @click.option("--obligee", "obligee_code", required=True, help="The obligee's code, e.g. 042081.")
    @click.option("--revisions", type=int, default=1, show_default=True,
                  help="Revisions per certificate: a new one, then changes.")
    @click.option("--unlisted", is_flag=True, help="Do not put them on the obligee's list.")
    @click.option("--sample", type=int, default=10, show_default=True,
                  help="How many get their own auth key (printed at the end).")
    @click.option("--batch", type=int, default=1000, show_default=True,
                  help="Certificates per transaction.")
    @click.option("--sample-file", type=click.Path(dir_okay=False, writable=True),
                  help="Also write the sample as JSON here (for the benchmarks).")
    def seed_command(certificates, obligee_code, revisions, unlisted, sample, batch, sample_file):
        """Load N signed certificates for an obligee (after `init-db` and `demo`).

        Running it again continues where it stopped; only the sample can be opened by
        lookup (the others share one digest of a discarded key and are listed directly)."""
        if current_app.config["ENV"] == "production":
            fail("seeding is for test and benchmark databases; refused when DSURE_ENV=production")
        if not 1 <= batch <= 10_000 or not 0 <= sample <= 1000:
            fail("--batch must be 1 to 10,000 and --sample 0 to 1,000")
        # Here, not above: the commands are registered in every worker, and tqdm and the
        # seeder's process pool would stay resident in each (issue 11: worker RSS).
        from tqdm import tqdm

        from registry.demo.seed import SeedPlan, seed

        plan = SeedPlan(obligee_code=obligee_code, certificates=certificates, revisions=revisions,
                        listed=not unlisted, sample=sample, batch=batch)
        started = time.monotonic()
        # disable=None: a bar on a terminal, nothing in a log or a pipe.
        with tqdm(total=certificates, unit="件", unit_scale=True, disable=None,
                  desc=f"seed {obligee_code}") as bar, refusal_exits():
            result = seed(plan, instance_path=current_app.instance_path,
                          hasher=current_app.extensions["dsure.hasher"],
                          progress=bar.update, started=lambda done: bar.update(done))
        took = time.monotonic() - started
        click.echo(f"seeded {result.added:,} certificates ({result.revisions:,} revisions) for "
                   f"{obligee_code} in {took:.1f} s; {result.already:,} were there before; "
                   f"numbers {result.first} … {result.last}")
        if sample_file:
            with open(sample_file, "w", encoding="utf-8") as out:
                json.dump({"obligee": obligee_code, "certificates": certificates,
                           "sample": [{"contract_number": n, "auth_key": k} for n, k in result.sample],
                           "numbers": {"first": result.first, "last": result.last}}, out, indent=1)
        click.echo("サンプル (保証契約番号 / 認証キー):")
        for number, key in result.sample:
            click.echo(f"  {number}  {key}")
