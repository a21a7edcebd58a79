"""`dsure-portal outbox …` and `dsure-portal webhook …`: the notification worker and an
obligee's webhooks, for the operator (thin wrappers over registry.notifications)."""
from __future__ import annotations

import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from registry.accounts import organisations
from registry.notifications import outbox, webhooks
from registry.notifications.worker import Worker

from .cli_support import refusal_exits
from .outbox import delivery_settings, target_policy


def register_outbox_commands(app: Flask) -> None:
    group = AppGroup("outbox", help="Emails and webhooks waiting to be delivered.")
    app.cli.add_command(group)

    @group.command("run")
    @click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
    def outbox_run(once):
        """Deliver the outbox (a worker loop; any number may run at once)."""
        worker = Worker(delivery_settings(current_app.config))
        if once:
            worker.drain()
        else:
            stop = threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            click.echo("outbox worker running (Ctrl-C or SIGTERM stops it after the current message)")
            worker.run_forever(stop, poll_seconds=float(current_app.config["OUTBOX_POLL_SECONDS"]))
        tally = worker.tally
        click.echo(f"delivered {tally.delivered}, failed {tally.failed}, "
                   f"cancelled {tally.cancelled}, superseded {tally.superseded}")

    @group.command("status")
    def outbox_status():
        """Messages by channel and state, and the dead ones (attempts exhausted)."""
        counts = outbox.counts()
        for (channel, status), n in sorted(counts.items()):
            click.echo(f"{channel:8} {status:10} {n}")
        click.echo(f"due now: {outbox.due_count()}")
        for message in outbox.dead_messages():
            click.echo(f"dead {message.message_id} {message.channel} {message.contract_number} "
                       f"attempts={message.attempts} last_error={message.last_error}")

    @group.command("retry-dead")
    @click.option("--message-id", "message_ids", multiple=True,
                  help="Only these (repeatable); default: every dead message.")
    def outbox_retry_dead(message_ids):
        """Give dead messages a fresh set of attempts (after fixing the cause)."""
        n = outbox.retry_dead(list(message_ids) or None, actor="operator")
        click.echo(f"{n} message(s) queued again")

    hooks = AppGroup("webhook", help="An obligee's webhook endpoints.")
    app.cli.add_command(hooks)

    @hooks.command("add")
    @click.option("--org", "org_code", required=True, help="The obligee's code.")
    @click.option("--url", required=True)
    def webhook_add(org_code, url):
        """Register a URL; its signing secret is printed once, on the last line."""
        with refusal_exits():
            org = organisations.organisation_by_code(org_code, kind="obligee")
            endpoint, secret = webhooks.add_endpoint(
                organisation=org, url=url, box=current_app.extensions["dsure.webhook_box"],
                policy=target_policy(current_app.config), actor="operator")
        click.echo(f"webhook {endpoint.public_id} for {org_code}; the secret below is shown only now:")
        click.echo(secret)

    @hooks.command("list")
    @click.option("--org", "org_code", required=True)
    def webhook_list(org_code):
        with refusal_exits():
            org = organisations.organisation_by_code(org_code, kind="obligee")
        for endpoint in webhooks.active_endpoints(org.id):
            click.echo(f"{endpoint.public_id} {endpoint.url}")

    @hooks.command("remove")
    @click.option("--org", "org_code", required=True)
    @click.option("--id", "public_id", required=True)
    def webhook_remove(org_code, public_id):
        with refusal_exits():
            org = organisations.organisation_by_code(org_code, kind="obligee")
            webhooks.remove_endpoint(organisation=org, public_id=public_id, actor="operator")
        click.echo(f"webhook {public_id} removed")
