"""`dsure-portal` commands for proving the record: signed checkpoints of the audit chain,
evidence bundles, and their offline check. Thin wrappers over registry functions."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app, has_app_context
from flask.cli import ScriptInfo, with_appcontext

from registry import bundle_check, checkpoints, evidence, organisations
from registry.normalise import normalise_contract_number
from registry.verification_runs import record_run

from .cli_support import fail, refusal_exits


def platform_signer() -> checkpoints.PlatformSigner:
    # The `audit` group is a plain click group: its commands may run without an app context.
    app = current_app if has_app_context() else \
        click.get_current_context().ensure_object(ScriptInfo).load_app()
    return app.extensions["dsure.platform_signer"]


def checkpoint_problems(files) -> tuple[list[str], list[dict]]:
    """For `audit verify --checkpoint FILE`: (problems, the heads that were checked)."""
    problems, heads = [], []
    if not files:
        return problems, heads
    trusted = platform_signer().public_key_raw
    for f in files:
        name = getattr(f, "name", "checkpoint")
        try:
            document = checkpoints.parse(f.read())
        except ValueError as exc:
            problems.append(f"checkpoint {name}: {exc}")
            continue
        result = checkpoints.check(document, trusted_public_key=trusted)
        heads.append({"file": Path(name).name, "head_seq": document["head_seq"],
                      "head_hash": document["head_hash"], "ok": result.ok})
        if not result.ok:
            problems.append(result.problem if result.problem.startswith("audit entry")
                            else f"checkpoint {name}: {result.problem}")
    return problems, heads


def record_verification(count: int, problems: list[str], heads: list[dict]) -> None:
    """Keep what `audit verify` found for the auditors' page; never fail the check for it."""
    try:
        record_run(entries=count, problems=problems, checkpoint_heads=heads)
    except Exception as exc:  # noqa: BLE001 - e.g. a database not yet upgraded (init-db)
        click.echo(f"warning: the result could not be recorded: {exc}", err=True)


def register_evidence_commands(app: Flask) -> None:
    audit = app.cli.commands["audit"]

    @audit.command("checkpoint")
    @with_appcontext
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
                  help="Where to write the signed checkpoint (JSON). Keep a copy off the platform.")
    def audit_checkpoint(out):
        """Sign the audit chain's head with the platform key and write the checkpoint."""
        cp = checkpoints.write_checkpoint(signer=platform_signer(), reason="manual")
        if cp is None:
            fail("the audit log is empty; there is nothing to sign")
        Path(out).write_text(cp.document, encoding="utf-8")
        click.echo(f"checkpoint of entry {cp.head_seq} ({cp.head_hash}) written to {out}")

    @app.cli.command("evidence")
    @click.option("--contract-number", required=True)
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True))
    def evidence_command(contract_number, out):
        """Write a certificate's evidence bundle (zip) for verification by hand."""
        number = normalise_contract_number(contract_number)
        if number is None:
            fail(f"{contract_number!r} is not a contract number (00000-000000)")
        with refusal_exits():
            bundle = evidence.export_bundle(number, actor="operator", organisation_code=None,
                                            platform_signer=platform_signer())
        Path(out).write_bytes(bundle.data)
        click.echo(f"evidence bundle of {number} written to {out}")

    @app.cli.command("verify-bundle")
    @click.argument("bundle", type=click.Path(exists=True))
    @click.option("--surety-key", "surety_keys", multiple=True, metavar="FINGERPRINT|PEM",
                  help="A surety key you trust (repeatable).")
    @click.option("--platform-key", "platform_keys", multiple=True, metavar="FINGERPRINT|PEM",
                  help="The platform key you trust (repeatable).")
    @click.option("--this-platform", is_flag=True,
                  help="Trust this platform's signing key and the surety keys registered here.")
    def verify_bundle(bundle, surety_keys, platform_keys, this_platform):
        """Check an evidence bundle offline (exit 1 names the file at fault)."""
        try:
            anchors = bundle_check.anchors_from(surety_keys, platform_keys)
        except (OSError, ValueError) as exc:
            fail(f"a trusted key cannot be read: {exc}")
        if this_platform:
            anchors = bundle_check.Anchors(
                anchors.surety | set(organisations.registered_key_fingerprints()),
                anchors.platform | {platform_signer().fingerprint})
        report = bundle_check.check_bundle(bundle, anchors)
        if not report.ok:
            for problem in report.problems:
                click.echo(str(problem), err=True)
            click.echo(f"FAILED: {report.problems[0]}")
            sys.exit(1)
        click.echo(json.dumps({"contract_number": report.contract_number,
                               "surety_keys": list(report.fingerprints),
                               "platform_key": report.platform_fingerprint}, ensure_ascii=False))
        click.echo(bundle_check.summary(report))
