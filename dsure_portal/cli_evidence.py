"""`dsure-portal` commands for proving the record: signed checkpoints of the audit chain,
evidence bundles, and their offline check. Thin wrappers over registry functions."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import peewee
from flask import Flask, current_app, has_app_context
from flask.cli import ScriptInfo, with_appcontext

from registry.audit import (bundle_check, checkpoint_publishing, checkpoint_verification,
                            checkpoints, evidence, integrity, timestamps)
from registry.accounts import organisations
from registry.certificates.normalise import normalise_contract_number
from registry.audit.verification_runs import record_run

from .cli_support import fail, refusal_exits

CLI_RETRY_WINDOW = 200  # `audit checkpoint` copies out and time-stamps this many recent ones


def _app() -> Flask:
    # The `audit` group is a plain click group: its commands may run without an app context.
    return current_app if has_app_context() else \
        click.get_current_context().ensure_object(ScriptInfo).load_app()


def platform_signer() -> checkpoints.PlatformSigner:
    return _app().extensions["dsure.platform_signer"]


def proof_settings() -> checkpoint_publishing.ProofSettings:
    return _app().extensions["dsure.proof_settings"]


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


def _outside_check(settings, findings: list):
    """The checkpoint directory, read now, and a check of it for verify_all's snapshot."""
    outside = checkpoint_verification.read_directory(settings.directory)
    roots = []
    if settings.tsa_ca_file is not None:
        try:
            roots = timestamps.load_roots(settings.tsa_ca_file)
        except (OSError, ValueError) as exc:
            outside.problems.append(f"DSURE_TSA_CA_FILE {settings.tsa_ca_file}: cannot be read ({exc})")

    def check():
        found = checkpoint_verification.check(
            outside, trusted_public_key=platform_signer().public_key_raw, tsa_roots=roots,
            tsa_configured=bool(settings.tsa_url), tsa_required=settings.tsa_required)
        findings.append(found)
        return found.problems
    return check


def verify_everything(checkpoint_files, *, processes: int = 1) -> int:
    """`audit verify`: prints what it found; the exit status. Never a traceback: what
    cannot be read is a problem named like any other."""
    settings, findings = proof_settings(), []
    try:
        count, problems = integrity.verify_all(outside=_outside_check(settings, findings),
                                               processes=processes)
        extra, heads = checkpoint_problems(checkpoint_files)
    except peewee.DatabaseError as exc:
        click.echo(f"FAILED: the database cannot be read: {str(exc).strip()[:300]}")
        return 1
    problems += extra
    found = findings[0] if findings else checkpoint_verification.Findings()
    heads = found.heads + heads
    record_verification(count, problems, heads)
    for head in heads:
        if head["ok"]:
            click.echo(f"checkpoint {head['file']}: entry {head['head_seq']} unchanged")
    if settings.directory is not None:
        click.echo(f"checkpoint directory {settings.directory}: {found.files} file(s), "
                   f"{found.tokens} time-stamp token(s) checked")
    for note in found.notes:
        click.echo(f"NOTE: {note}")
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        click.echo(f"FAILED: {problems[0]}")
        return 1
    click.echo(f"OK {count} entries")
    return 0


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
    @click.option("--out", "out", type=click.Path(dir_okay=False, writable=True),
                  help="Also write the newest checkpoint (JSON) here. Keep a copy off the platform.")
    def audit_checkpoint(out):
        """Sign the audit chain's head if it has grown since the last checkpoint, copy the
        checkpoint to DSURE_CHECKPOINT_DIR and time-stamp it at DSURE_TSA_URL; retry those
        left without. For a timer: nothing to pass."""
        settings = proof_settings()
        result = checkpoint_publishing.run(signer=platform_signer(), settings=settings,
                                           reason="manual", limit=CLI_RETRY_WINDOW)
        cp = result.made or checkpoints.newest()
        if cp is None:
            fail("the audit log is empty; there is nothing to sign")
        click.echo(f"checkpoint of entry {cp.head_seq} ({cp.head_hash}) made" if result.made
                   else f"no new entries since the checkpoint of entry {cp.head_seq}")
        for seq in result.files_written:
            click.echo(f"written to {settings.directory / f'{seq}.json'}")
        for seq in result.tokens_fetched:
            click.echo(f"checkpoint of entry {seq} time-stamped")
        for gap in result.gaps:
            click.echo(f"warning: {gap}", err=True)
        if out:
            Path(out).write_bytes(checkpoints.file_bytes(cp))
            click.echo(f"checkpoint of entry {cp.head_seq} written to {out}")

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
                  help="Trust this platform's signing key, the surety keys registered here "
                       "and DSURE_TSA_CA_FILE.")
    @click.option("--tsa-ca", type=click.Path(dir_okay=False), metavar="PEM",
                  help="The time-stamping authority's root certificate(s) you trust.")
    def verify_bundle(bundle, surety_keys, platform_keys, this_platform, tsa_ca):
        """Check an evidence bundle offline (exit 1 names the file at fault)."""
        if this_platform and tsa_ca is None and proof_settings().tsa_ca_file is not None:
            tsa_ca = str(proof_settings().tsa_ca_file)
        try:
            anchors = bundle_check.anchors_from(surety_keys, platform_keys)
            roots = bundle_check.tsa_roots_from(tsa_ca)
        except (OSError, ValueError) as exc:
            fail(f"a trusted key cannot be read: {exc}")
        if this_platform:
            anchors = bundle_check.Anchors(
                anchors.surety | set(organisations.registered_key_fingerprints()),
                anchors.platform | {platform_signer().fingerprint})
        report = bundle_check.check_bundle(bundle, anchors, roots)
        if not report.ok:
            for problem in report.problems:
                click.echo(str(problem), err=True)
            click.echo(f"FAILED: {report.problems[0]}")
            sys.exit(1)
        click.echo(json.dumps({"contract_number": report.contract_number,
                               "surety_keys": list(report.fingerprints),
                               "platform_key": report.platform_fingerprint}, ensure_ascii=False))
        click.echo(bundle_check.summary(report))
