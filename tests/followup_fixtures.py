"""Shared pieces of the follow-up tests: a database with the fields they use, a frozen clock, running runs."""

from dataclasses import dataclass
from datetime import datetime

import pytest

from tests.factories import make_database
from tests.workers import run_burst_worker
from webapp.extensions import db
from webapp.followups import runs as followup_runs
from webapp.followups import timing
from webapp.models import Collection, Database, FollowUpRun
from webapp.profiles import databases
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

ADMIN = Origin("admin", actor="user:1 a@example.com")
IMPORT = Origin("import", reference="import:1")


@dataclass
class Shop:
    database: Database
    orders: Collection
    field: dict[str, int]  # field name → id (profile and collection fields)
    interest: dict[str, int]


@pytest.fixture
def shop(account) -> Shop:
    database = make_database(
        account,
        fields={
            "Email": "email",
            "FirstName": "text",
            "Newsletter": "text",
            "Age": "number",
            "Birthday": "date",
            "Welcome": "text",
            "Note": "text",
        },
    )
    orders = databases.create_collection(account, database.id, "Orders")
    product = create_field(account, FieldSpec(name="Product", type="text"), collection_id=orders.id)
    news = databases.create_interest(account, database.id, "News")
    sport = databases.create_interest(account, database.id, "Sport")
    fields = {field.name: field.id for field in database.fields}
    fields["Product"] = product.id
    return Shop(database, orders, fields, {"News": news.id, "Sport": sport.id})


class Clock:
    """The engine's clock, frozen; ``advance`` moves it (no sleeping)."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.moment += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock(datetime(2026, 11, 27, 7, 0, 0))  # 08:00 in Amsterdam
    monkeypatch.setattr(timing, "clock", frozen)
    return frozen


def run_worker() -> None:
    """A real RQ worker in this process (burst: it stops when the queue is empty)."""
    run_burst_worker()


def run_due() -> None:
    """What the dispatcher and a worker do, until no due run is left."""
    while followup_runs.dispatch_due_runs():
        run_worker()
    db.session.expire_all()


def runs(followup_id: int | None = None) -> list[FollowUpRun]:
    from sqlalchemy import select

    query = select(FollowUpRun).order_by(FollowUpRun.id)
    if followup_id is not None:
        query = query.where(FollowUpRun.followup_id == followup_id)
    db.session.expire_all()
    return list(db.session.scalars(query))
