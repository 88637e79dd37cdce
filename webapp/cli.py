"""Command-line doors (``flask --app webapp …``): thin wrappers over the domain packages."""

import secrets
import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import select

from webapp.accounts import accounts
from webapp.accounts import tokens as accounts_tokens
from webapp.accounts import users as accounts_users
from webapp.extensions import db
from webapp.models import User
from webapp.platform.errors import DomainError

users_cli = AppGroup("users", help="Manage admin users.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")

FIRST_ACCOUNT = "Default"
FIRST_USER = "admin@example.com"


def _fail(error: DomainError) -> None:
    raise click.ClickException(error.message)


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(["viewer", "editor", "admin", "owner"]))
@click.option(
    "--account", "account_name", default=FIRST_ACCOUNT, show_default=True, help="Account name; created if new."
)
def create_user(email: str, password: str, role: str, account_name: str) -> None:
    """Create a user (and the account, if new)."""
    try:
        account = accounts.get_or_create_account(account_name)
        user = accounts_users.create_user(account, email=email, password=password, role=role)
    except DomainError as error:
        _fail(error)
    click.echo(f"Created {user.role} {user.email} in account {account.name}.")


@tokens_cli.command("create")
@click.option("--account", "account_name", required=True)
@click.option("--name", required=True, help="A label for the token, e.g. the system using it.")
def create_token(account_name: str, name: str) -> None:
    """Create an API token; prints the token (shown only now) as the last line."""
    try:
        account = accounts.get_account_by_name(account_name)
        token, secret = accounts_tokens.create_api_token(account, name)
    except DomainError as error:
        _fail(error)
    click.echo(f"API token {token.name!r} for account {account.name} (store it now; it is not shown again):")
    click.echo(secret)


@click.command("dispatcher")
def dispatcher_command() -> None:
    """Move due durable work into RQ until stopped (SIGINT/SIGTERM)."""
    from webapp.platform import dispatcher

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    dispatcher.run(stop, current_app.config["DISPATCH_INTERVAL"])


@click.command("mailreceiver")
@click.option("--host", default=None, help="Address to listen on (default: MAIL_RECEIVER_HOST).")
@click.option("--port", default=None, type=int, help="Port to listen on (default: MAIL_RECEIVER_PORT; 0: a free one).")
def mailreceiver_command(host: str | None, port: int | None) -> None:
    """Receive bounces, complaints and mailto: unsubscribes for BOUNCE_DOMAIN over SMTP until stopped."""
    from webapp.hygiene import receiver

    config = current_app.config
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    chosen_host = host if host is not None else config["MAIL_RECEIVER_HOST"]
    receiver.serve(app, chosen_host, port if port is not None else config["MAIL_RECEIVER_PORT"])


@click.command("unmatched")
@click.option("--limit", default=50, show_default=True)
def unmatched_command(limit: int) -> None:
    """List the received bounce and complaint messages that matched no sent message (newest first)."""
    from webapp.hygiene import intake

    total, rows = intake.unmatched(limit)
    click.echo(f"{total} unmatched message(s) kept")
    for row in rows:
        click.echo(
            f"{row.id}\t{row.received_at:%Y-%m-%d %H:%M}\t{row.source}\t{row.kind}\t{row.envelope_to}\t"
            f"{row.recipient}\t{row.original_message_id}\t{row.raw_size} bytes"
        )


@click.command("start")
def start_command() -> None:
    """Set up and run everything: schema, first admin, web, RQ worker and dispatcher (Ctrl-C stops all)."""
    from webapp.platform.runner import Supervisor

    supervisor = Supervisor(current_app.instance_path, current_app.config["PORT"])
    env = supervisor.prepare_environment()
    current_app.config["REDIS_URL"] = env["REDIS_URL"]
    try:
        upgrade()
        _first_admin()
        click.echo(f"Verrijk runs on http://127.0.0.1:{supervisor.port} (Ctrl-C stops it).")
    except Exception:
        supervisor.stop()
        raise
    db.session.remove()
    db.engine.dispose()
    raise SystemExit(supervisor.run(env))


def _first_admin() -> None:
    """Create the first owner with a random password and print the login, once."""
    if db.session.scalar(select(User.id).limit(1)) is not None:
        return
    password = secrets.token_urlsafe(12)
    account = accounts.get_or_create_account(FIRST_ACCOUNT)
    accounts_users.create_user(account, email=FIRST_USER, password=password, role="owner", password_change_due=True)
    click.echo("=" * 60)
    click.echo("First login (shown once; change it under Account):")
    click.echo(f"  email:    {FIRST_USER}")
    click.echo(f"  password: {password}")
    click.echo("=" * 60)


@click.command("demo")
@click.option("--account", "account_name", default="Demo", show_default=True)
@click.option("--profiles", "count", default=3000, show_default=True)
def demo_command(account_name: str, count: int) -> None:
    """Fill an account with a realistic demo database (profiles, interests, orders)."""
    from webapp.profiles import demo

    account = accounts.get_or_create_account(account_name)
    database = demo.create_demo_database(account, count=count)
    click.echo(f"Demo database {database.name!r} in account {account.name} is ready.")


def register_commands(app: Flask) -> None:
    for command in (
        users_cli,
        tokens_cli,
        dispatcher_command,
        mailreceiver_command,
        unmatched_command,
        start_command,
        demo_command,
    ):
        app.cli.add_command(command)
