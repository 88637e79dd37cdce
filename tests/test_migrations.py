"""Migrations build the schema from empty on SQLite and PostgreSQL, match the models, and go back down."""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from webapp import create_app
from webapp.config import normalize_database_url
from webapp.extensions import db
from webapp.models import Base
from webapp.services.field_expressions import include_in_migrations

SCHEMA = "verrijk_migration_check"


def differences(connection) -> list:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": include_in_migrations}
    )
    return compare_metadata(context, Base.metadata)


def check_up_and_down(url: str, redis_url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "TESTING": True})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            assert differences(connection) == []
            assert {"profile", "profile_event", "scheduled_work"} <= set(inspect(connection).get_table_names())
        downgrade(revision="base")
        with db.engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()


def test_sqlite_from_empty(tmp_path, redis_url):
    check_up_and_down(f"sqlite:///{tmp_path / 'fresh.sqlite'}", redis_url)


def test_postgresql_from_empty(redis_url):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("set DATABASE_URL to a PostgreSQL database to check migrations there (CI does)")
    url = normalize_database_url(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "TESTING": True})
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    separator = "&" if "?" in url else "?"
    try:
        check_up_and_down(f"{url}{separator}options=-csearch_path%3D{SCHEMA}", redis_url)
    finally:
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        with app.app_context():
            db.engine.dispose()
