"""Pooled connections: pinged only after sitting idle, and replaced when the ping fails."""

import pytest
from sqlalchemy import create_engine, text

from webapp import extensions


@pytest.fixture
def engine(app):
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _pooled_connection_dies(engine):
    """Use the pool's one connection, return it, then close it underneath the pool (as a restart would)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        dbapi_connection = connection.connection.dbapi_connection
    dbapi_connection.close()
    return dbapi_connection


@pytest.fixture
def now(monkeypatch):
    """The pool's clock, stopped (moved on by the test)."""
    now = [1000.0]
    monkeypatch.setattr(extensions, "_clock", lambda: now[0])
    return now


def test_a_connection_that_sat_idle_and_died_is_replaced_before_use(engine, now):
    dead = _pooled_connection_dies(engine)
    now[0] += extensions.IDLE_PING_SECONDS
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
        assert connection.connection.dbapi_connection is not dead


def test_a_connection_reused_at_once_is_not_pinged(engine, now):
    dead = _pooled_connection_dies(engine)
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection is dead
