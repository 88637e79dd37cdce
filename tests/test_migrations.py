"""Migrations build the schema from empty on SQLite and PostgreSQL, match the models, and go back down."""

import json
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
from webapp.profiles.field_expressions import include_in_migrations

SCHEMA = "verrijk_migration_check"


def differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_in_migrations})
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


def test_lean_profile_writes_gives_earlier_runs_their_event_range(tmp_path, redis_url):
    """Rollback reads a run's events by id range since e2a4c6e8f0b1: the migration finds the range of the runs
    made before it (their events by reference), and leaves runs without events empty."""
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "TESTING": True})
    now = "2026-11-27 12:00:00"
    with app.app_context():
        upgrade(revision="d3d4e5f6a7b8")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO account (id, name, time_zone, language, default_sender, created_at) "
                    "VALUES (1, 'A', 'UTC', 'en', '', :now)"
                ),
                {"now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO database (id, account_id, name, description, archived, unsubscribe_behaviour, "
                    "unsubscribe_values, created_at) VALUES (1, 1, 'D', '', false, 'none', '{}', :now)"
                ),
                {"now": now},
            )
            for run_id in (1, 2):
                connection.execute(
                    text(
                        "INSERT INTO import_run (id, account_id, database_id, status, file_name, file_path, file_size, "
                        "lines_total, lines_done, created, updated, skipped, rejected, error, created_at) "
                        "VALUES (:id, 1, 1, 'done', 'f.csv', '', 0, 0, 0, 0, 0, 0, 0, '', :now)"
                    ),
                    {"id": run_id, "now": now},
                )
            for event_id, source, reference in (
                (5, "import", "import 1"),
                (6, "admin", "import 1"),
                (7, "import", "import 1 rollback"),
                (9, "import", "import 1"),
            ):
                connection.execute(
                    text(
                        "INSERT INTO profile_event (id, account_id, database_id, profile_id, kind, source, reference, "
                        "actor, changes, created_at) VALUES (:id, 1, 1, 1, 'profile_updated', :source, :reference, '', "
                        "'{}', :now)"
                    ),
                    {"id": event_id, "source": source, "reference": reference, "now": now},
                )
        upgrade()
        with db.engine.connect() as connection:
            ranges = connection.execute(
                text("SELECT id, first_event_id, last_event_id FROM import_run ORDER BY id")
            ).all()
        db.engine.dispose()
    assert [tuple(row) for row in ranges] == [(1, 5, 9), (2, None, None)]


def test_security_migration_scrubs_passwords_and_sensitive_items_from_stored_submissions(tmp_path, redis_url):
    """Issue 21: rejected submissions kept password items as typed; the migration removes them (and items marked
    sensitive) from every stored submission and leaves the other values."""
    url = f"sqlite:///{tmp_path / 'scrub.sqlite'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "TESTING": True})
    now = "2026-12-01 12:00:00"
    items = json.dumps(
        [
            {"id": "a", "type": "field", "field_id": 1},
            {"id": "b", "type": "password", "field_id": 2},
            {"id": "c", "type": "field", "field_id": 3, "sensitive": True},
        ]
    )
    with app.app_context():
        upgrade(revision="e2a4c6e8f0b1")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO account (id, name, time_zone, language, default_sender, created_at) "
                    "VALUES (1, 'A', 'UTC', 'en', '', :now)"
                ),
                {"now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO database (id, account_id, name, description, archived, unsubscribe_behaviour, "
                    "unsubscribe_values, created_at) VALUES (1, 1, 'D', '', false, 'none', '{}', :now)"
                ),
                {"now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO form (id, account_id, database_id, key, name, behaviour, on_no_match, key_field_ids, "
                    "allowed_origins, items, settings, revision, created_at, updated_at) "
                    "VALUES (1, 1, 1, 'k', 'F', 'create', 'create', '[]', '[]', :items, '{}', 1, :now, :now)"
                ),
                {"items": items, "now": now},
            )
            for submission_id, data in (
                (1, '{"f1": "ann@example.com", "f2": "hunter2", "f2_repeat": "hunter2", "f3": "NL91ABNA"}'),
                (2, '{"f1": "bob@example.com"}'),
            ):
                connection.execute(
                    text(
                        "INSERT INTO form_submission (id, account_id, form_id, status, reason, data, consents, origin, "
                        "ip, user_agent, response, created_at) "
                        "VALUES (:id, 1, 1, 'rejected', 'token', :data, '{}', '', '', '', '{}', :now)"
                    ),
                    {"id": submission_id, "data": data, "now": now},
                )
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT data FROM form_submission ORDER BY id")).scalars().all()
        db.engine.dispose()
    assert [json.loads(row) for row in rows] == [{"f1": "ann@example.com"}, {"f1": "bob@example.com"}]
