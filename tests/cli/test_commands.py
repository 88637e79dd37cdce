"""The CLI commands, run through Flask's CLI runner against the test database."""

import hashlib

from sqlalchemy import func, select

from webapp.accounts import tokens as accounts_tokens
from webapp.accounts import users as accounts_users
from webapp.extensions import db
from webapp.models import ApiToken, Database, Profile, Subprofile, User


def test_users_create_makes_the_account_and_a_hashed_password(ctx):
    runner = ctx.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Ann@Example.com",
            "--password",
            "long enough pw",
            "--role",
            "admin",
            "--account",
            "Shop",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert (user.email, user.role, user.account.name) == ("ann@example.com", "admin", "Shop")
    assert "long enough pw" not in user.password_hash and user.password_hash.startswith("scrypt:")
    assert accounts_users.authenticate("ann@example.com", "long enough pw") == user


def test_users_create_reports_bad_input(ctx):
    result = ctx.test_cli_runner().invoke(
        args=["users", "create", "--email", "nope", "--password", "short", "--role", "admin"]
    )
    assert result.exit_code != 0
    assert "password" in result.output.lower() or "email" in result.output.lower()
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_tokens_create_prints_the_token_last_and_stores_its_hash(ctx):
    runner = ctx.test_cli_runner()
    runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "a@example.com",
            "--password",
            "long enough pw",
            "--role",
            "owner",
            "--account",
            "Shop",
        ]
    )
    result = runner.invoke(args=["tokens", "create", "--account", "Shop", "--name", "webshop"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    token = db.session.scalar(select(ApiToken))
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert accounts_tokens.account_for_token(secret).name == "Shop"
    missing = runner.invoke(args=["tokens", "create", "--account", "Nope", "--name", "x"])
    assert missing.exit_code != 0 and "Nope" in missing.output


def test_demo_fills_an_account(ctx):
    result = ctx.test_cli_runner().invoke(args=["demo", "--account", "Demo", "--profiles", "150"])
    assert result.exit_code == 0, result.output
    database = db.session.scalar(select(Database))
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 150
    assert db.session.scalar(select(func.count()).select_from(Subprofile)) > 0
    assert database.unsubscribe_behaviour == "update"


def test_db_upgrade_builds_an_empty_database(tmp_path, redis_url):
    from sqlalchemy import inspect

    from webapp import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'new.sqlite'}", "REDIS_URL": redis_url})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert {"account", "profile", "profile_event", "scheduled_work"} <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()
