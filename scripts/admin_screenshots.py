"""Screenshots of the dashboard and of a profile list (a search and a condition) with a bulk action, at 1280 and
375 px, for the docs.

Seeds a fresh SQLite database in a temporary folder (the demo database of ``flask demo``, with 60 days of
history: sign-ups, follow-up runs, emails, unsubscribes, bounces, an import), serves the app on 127.0.0.1 and
drives Debian's Chromium (``CHROMIUM_PATH``, default ``/usr/bin/chromium``) with Playwright; nothing is
fetched from the internet. Writes ``docs/screenshots/*.png``::

    .venv/bin/python scripts/admin_screenshots.py

Uses ``REDIS_URL`` when set (a db of its own, it is flushed), else starts the embedded Redis.
"""

import os
import random
import secrets
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "docs" / "screenshots"
WIDTHS = {"1280": {"width": 1280, "height": 900}, "375": {"width": 375, "height": 812}}
PASSWORD = secrets.token_urlsafe(16)  # of the throw-away user in the throw-away database


def seed():
    """The demo account with 60 days of history; returns (owner email, database id, the interest Offers' id)."""
    from sqlalchemy import select, update

    from webapp.accounts import accounts, users
    from webapp.bulk import runs as bulk_runs
    from webapp.bulk.runs import Picked
    from webapp.dashboard import day_counts
    from webapp.extensions import db
    from webapp.followups import definitions
    from webapp.models import (
        BounceReport,
        DatabaseDayStat,
        FollowUp,
        FollowUpRun,
        FormSubmission,
        ImportRun,
        Profile,
        ProfileEvent,
        utcnow,
    )
    from webapp.profiles import demo
    from webapp.webforms import builder

    rng = random.Random(20)
    account = accounts.get_or_create_account("Demo")
    user = users.create_user(
        account, email="marketer@example.nl", password=PASSWORD, role="owner", password_change_due=False
    )
    database = demo.create_demo_database(account, count=1200)
    now = utcnow()
    ids = list(db.session.scalars(select(Profile.id).where(Profile.database_id == database.id).order_by(Profile.id)))
    for profile_id in ids:  # joined over the last 60 days, more lately
        ago = timedelta(days=int(60 * rng.random() ** 1.6), hours=rng.randrange(24))
        db.session.execute(update(Profile).where(Profile.id == profile_id).values(created_at=now - ago))
    today = day_counts.count_database(database)
    db.session.flush()
    forms = [builder.create_form(account, database.id, name=name) for name in ("Newsletter sign-up", "Spring offer")]
    for day in range(30):
        moment = now - timedelta(days=day, hours=rng.randrange(12))
        for form, rate in zip(forms, (9, 4), strict=True):
            for _ in range(rng.randrange(rate)):
                db.session.add(
                    FormSubmission(
                        account_id=account.id, form_id=form.id, status="accepted", data={}, created_at=moment
                    )
                )
        for kind, rate in (("email_sent", 40), ("unsubscribed", 3)):
            for _ in range(rng.randrange(rate)):
                db.session.add(
                    ProfileEvent(
                        account_id=account.id,
                        database_id=database.id,
                        profile_id=rng.choice(ids),
                        kind=kind,
                        source="email",
                        created_at=moment,
                    )
                )
        for _ in range(rng.randrange(3)):
            db.session.add(
                BounceReport(account_id=account.id, database_id=database.id, kind="hard", received_at=moment)
            )
        subscribers = today.subscribers - 4 * day - rng.randrange(4)  # growing towards today's real count
        stat_day = (now - timedelta(days=day)).date()
        if day:  # today's row is the real count
            db.session.add(
                DatabaseDayStat(database_id=database.id, day=stat_day, profiles=1200, subscribers=subscribers)
            )
    first_name = next(field for field in database.fields if field.name == "FirstName")
    cleaned = definitions.check_definition(
        account,
        database.id,
        trigger={"kind": "profile_created"},
        activation_condition={},
        execution_condition={},
        delay={"kind": "none"},
        actions=[{"type": "update_fields", "values": {first_name.key: "{{ profile.FirstName }}"}}],
        collection_id=None,
    )
    welcome = FollowUp(account_id=account.id, database_id=database.id, name="Welcome", status="paused", **cleaned)
    db.session.add(welcome)
    db.session.flush()
    for day in range(30):
        for _ in range(rng.randrange(12)):
            db.session.add(
                FollowUpRun(
                    account_id=account.id,
                    followup_id=welcome.id,
                    profile_id=rng.choice(ids),
                    status="done",
                    created_at=now - timedelta(days=day),
                )
            )
    db.session.add(
        ImportRun(
            account_id=account.id,
            database_id=database.id,
            status="done",
            file_name="fair-visitors.csv",
            lines_total=412,
            lines_done=412,
            created=380,
            updated=25,
            rejected=7,
            created_at=now - timedelta(days=4),
        )
    )
    day_counts.count_database(database)
    db.session.commit()
    weekly = next(i for i in database.interests if i.name == "Offers")
    bulk_runs.start(account, database.id, "add_interest", Picked(ids=tuple(ids[:3])), params={"interest": weekly.id})
    return user.email, database.id, weekly.id


def main() -> None:
    os.environ.setdefault("SECRET_KEY", "screenshots-secret-key")
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from webapp import create_app
    from webapp.extensions import db
    from webapp.platform.embedded_redis import EmbeddedRedis

    folder = tempfile.TemporaryDirectory(prefix="verrijk-screenshots-")
    redis = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis = EmbeddedRedis(os.path.join(folder.name, "redis"))
        redis_url = redis.start()
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder.name}/screenshots.sqlite",
            "REDIS_URL": redis_url,
            "INSTANCE_PATH": folder.name,
            "BULK_EXPORT_FOLDER": os.path.join(folder.name, "bulk"),
        }
    )
    try:
        with app.app_context():
            from flask_migrate import upgrade

            from webapp.platform.queues import redis_connection

            upgrade()
            redis_connection().flushdb()
            email, database_id, offers_id = seed()
            db.session.remove()
    except BaseException:
        if redis is not None:
            redis.stop()
        raise
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
            for width, viewport in WIDTHS.items():
                page = browser.new_page(viewport=viewport, locale="en-GB")
                page.goto(f"{base}/login")
                page.fill("input[name=email]", email)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_selector("h1")
                page.goto(f"{base}/?database={database_id}")
                page.screenshot(path=str(OUT / f"dashboard-{width}.png"), full_page=True)
                without_offers = f"ff=interest:{offers_id}&fo=has_not&fv="  # a condition row, as the docs show it
                page.goto(f"{base}/databases/{database_id}/profiles?q=amsterdam&{without_offers}")
                page.wait_for_selector("#bulk-form")
                for box in page.locator('input[name="id"]').all()[:4]:
                    box.check()
                page.select_option("#bulk-action", "add_interest")
                page.select_option("#bulk-interest", label="Offers")
                page.evaluate("window.scrollTo(0, document.querySelector('.list-toolbar').offsetTop - 60)")
                page.screenshot(path=str(OUT / f"bulk-action-{width}.png"))
                page.click("#bulk-form button[type=submit]")
                page.wait_for_selector("section.confirm")
                page.screenshot(path=str(OUT / f"bulk-confirm-{width}.png"))
                page.close()
            browser.close()
    finally:
        server.shutdown()
        if redis is not None:
            redis.stop()
        folder.cleanup()
    for path in sorted(OUT.glob("*.png")):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
