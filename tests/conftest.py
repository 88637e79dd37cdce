"""Test fixtures: a real database (PostgreSQL when DATABASE_URL is set, else a SQLite file) and a real
Redis (REDIS_URL, else the embedded redis-server). The schema is built by the migrations, once."""

import os
import re

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from webapp import create_app
from webapp.config import normalize_database_url
from webapp.extensions import db
from webapp.models import Base
from webapp.platform.embedded_redis import EmbeddedRedis


@pytest.fixture(scope="session")
def redis_url():
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = EmbeddedRedis()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


def _reset_schema(app) -> None:
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        db.session.remove()


@pytest.fixture(scope="session")
def app(database_url, redis_url, tmp_path_factory):
    os.environ.setdefault("SECRET_KEY", "test-secret-key")
    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
            "REDIS_URL": redis_url,
            "SERVER_NAME": "verrijk.test",
            "PUBLIC_URL": "http://verrijk.test",
            "ALLOW_PRIVATE_URLS": True,
        }
    )
    _reset_schema(application)
    return application


def _clean(app) -> None:
    from webapp.profiles import database_config

    database_config.forget_all()  # ids start again after the truncation
    with app.app_context():
        tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
        with db.engine.begin() as connection:
            dialect = connection.dialect.name
            for name in _field_index_names(connection, dialect):
                connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
            if dialect == "postgresql":
                connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    connection.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - our table names


def _field_index_names(connection, dialect: str) -> list[str]:
    if dialect == "postgresql":
        rows = connection.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'profile'"))
    else:
        rows = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'profile'"))
    return [name for (name,) in rows if re.match(r"^(ix|uq)_profile_field_\d+$", name)]


@pytest.fixture
def ctx(app):
    """An app context with empty tables and an empty Redis; cleaned up after the test."""
    from webapp.platform.queues import redis_connection

    with app.app_context():
        redis_connection().flushdb()
        yield app
        db.session.remove()
    _clean(app)


@pytest.fixture
def account(ctx):
    from tests.factories import make_account

    return make_account("Acme")
