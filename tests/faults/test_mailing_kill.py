"""A mailing's worker SIGKILLed in the middle of an SMTP transaction, against a real SMTP server and real worker
and dispatcher processes: the batch goes on where it stopped in another worker, no message is sent twice, no
recipient is left out, and only the message caught in the SMTP transaction is listed for review."""

import asyncio
import sys
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.factories import make_database
from tests.faults.cluster import Cluster, wait_until
from tests.smtp_server import SmtpServer, _Handler
from webapp.email import templates
from webapp.email.templates import TemplateValues
from webapp.extensions import db
from webapp.mailings import definitions, lifecycle
from webapp.models import MailingRecipient, Selection
from webapp.platform import heartbeats
from webapp.profiles import profiles
from webapp.profiles.events import Origin

RECIPIENTS = 40
HOLD_AT = 10  # the 10th message's DATA is held until the worker sending it has been killed
WITHIN = 90  # seconds

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kills process trees through /proc (Linux)"),
]


class HoldingHandler(_Handler):
    """Accepts as usual, but the ``HOLD_AT``-th message's 250 reply waits until ``release`` is set.

    That message is stored before the wait: the server has it while the client never hears so (the worst case
    for duplicates). Storing it after the wait would race with aiosmtpd cancelling the handler when the killed
    client's connection drops, and the message would sometimes arrive, sometimes not."""

    def __init__(self, server: "HoldingServer"):
        super().__init__(server)
        self.holding_server = server

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.holding_server.data_seen += 1
        reply = await super().handle_DATA(server, session, envelope)
        if self.holding_server.data_seen == HOLD_AT:
            self.holding_server.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.holding_server.release.wait)
        return reply


class HoldingServer(SmtpServer):
    def __init__(self):
        super().__init__()
        self.data_seen = 0
        self.held, self.release = threading.Event(), threading.Event()

    def start(self) -> "HoldingServer":
        from aiosmtpd.controller import Controller

        self.controller = Controller(HoldingHandler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self


@pytest.fixture
def holding_server():
    server = HoldingServer().start()
    yield server
    server.release.set()
    server.stop()


@pytest.fixture
def cluster(app, ctx, holding_server, tmp_path):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("workers and dispatchers as processes need PostgreSQL; set DATABASE_URL")
    app.config["SMTP_URL"] = holding_server.url
    processes = Cluster(app, tmp_path)
    yield processes
    processes.stop()
    app.config["SMTP_URL"] = ""


def statuses() -> Counter:
    db.session.expire_all()
    rows = db.session.execute(select(MailingRecipient.status, func.count()).group_by(MailingRecipient.status)).all()
    db.session.rollback()
    return Counter(dict(rows))


def mailing_worker() -> int | None:
    busy = [beat for beat in heartbeats.processes(heartbeats.WORKER) if beat.job_id.startswith("mailing-")]
    return busy[0].pid if busy else None


def test_a_worker_killed_mid_smtp_transaction_sends_nothing_twice_and_leaves_no_one_out(
    account, cluster, holding_server
):
    database = make_database(account)
    rows = [{"Email": f"p{n}@example.com"} for n in range(RECIPIENTS)]
    profiles.bulk_create_profiles(account, database.id, rows, origin=Origin("import", reference="import:1"))
    template = templates.save_template(account, TemplateValues(name="News", subject="News", text="Hello"))
    everyone = Selection(account_id=account.id, database_id=database.id, name="Everyone", rules={})
    db.session.add(everyone)
    db.session.commit()
    mailing = definitions.create_mailing(
        account,
        definitions.MailingValues(
            name="News", database_id=database.id, template_id=template.id, target_ids=[everyone.id]
        ),
    )
    lifecycle.send_now(account, mailing.id)
    victim = cluster.start_worker()
    cluster.start_dispatcher()
    assert holding_server.held.wait(WITHIN), "the worker never reached the held message"
    wait_until(lambda: mailing_worker() == victim.pid, timeout=WITHIN, what="the worker recorded its job")
    assert statuses()["sending"] == 1  # the held message was claimed (committed) before its SMTP transaction
    cluster.kill(victim)
    holding_server.release.set()  # the held message did arrive, unrecorded by the killed worker
    cluster.start_worker()
    wait_until(
        lambda: statuses() == Counter({"sent": RECIPIENTS - 1, "review": 1}),
        timeout=WITHIN,
        what=f"the batch went on in the other worker (now {statuses()})",
    )
    received = Counter(envelope.rcpt_tos[0] for envelope in holding_server.envelopes)
    assert received == Counter({f"p{n}@example.com": 1 for n in range(RECIPIENTS)})  # no duplicate, no gap
    review = db.session.scalars(select(MailingRecipient).where(MailingRecipient.status == "review")).one()
    assert review.message_id in {message["Message-ID"] for message in holding_server.messages}
    wait_until(lambda: lifecycle_done(mailing.id), timeout=WITHIN, what="the mailing marked done")


def lifecycle_done(mailing_id: int) -> bool:
    from webapp.models import Mailing

    db.session.expire_all()
    status = db.session.scalar(select(Mailing.status).where(Mailing.id == mailing_id))
    db.session.rollback()
    return status == "done"
