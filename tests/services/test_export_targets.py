"""Scheduled exports against real servers: FTP and FTPS (pyftpdlib), SFTP (paramiko) and HTTP PUT/POST; the
schedule (due, no overlap, retry with backoff, errors shown) through the dispatcher and a real RQ worker."""

import gzip
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from tests import file_servers
from tests.factories import make_database
from tests.workers import run_burst_worker
from webapp.exports import targets
from webapp.exports.targets import TargetSpec
from webapp.extensions import db
from webapp.imports import sources
from webapp.models import ExportDefinition, ExportRun, ImportRun, ScheduledWork, utcnow
from webapp.platform import remote_files, work
from webapp.platform.errors import ValidationError
from webapp.profiles import profiles
from webapp.profiles.events import Origin

# the servers' fixtures, by name
ftp_target, ftps_server, sftp_target, http_target = (
    file_servers.ftp_target,
    file_servers.ftps_server,
    file_servers.sftp_target,
    file_servers.http_target,
)


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))


@pytest.fixture
def database(account):
    database = make_database(account, fields={"Email": {"type": "email", "indexed": True}, "FirstName": "text"})
    for email, name in (("a@example.com", "Ann"), ("b@example.com", "=cmd()")):
        profiles.create_profile(account, database.id, {"Email": email, "FirstName": name}, origin=Origin("admin"))
    return database


EXPECTED_CSV = "Email,FirstName\r\na@example.com,Ann\r\nb@example.com,'=cmd()\r\n"


def spec(url: str, **changes) -> TargetSpec:
    values = {
        "name": "Customers",
        "target_url": url,
        "file_name": "customers-{date}.csv",
        "fields": ("Email", "FirstName"),
    }
    return TargetSpec(**{**values, **changes})


def body_of(data: bytes) -> str:
    """The exported rows without the id and timestamp columns (which differ per run)."""
    lines = data.decode().split("\r\n")
    return "\r\n".join(",".join(line.split(",")[3:]) for line in lines)


def run_worker() -> None:
    run_burst_worker()


def make_due(definition_id: int) -> None:
    for row in targets._waiting_rows(definition_id):
        row.due_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def turn(definition_id: int) -> None:
    """One turn of the schedule: made due, dispatched, run by a real worker."""
    make_due(definition_id)
    work.dispatch_due()
    run_worker()
    db.session.expire_all()


def upload_once(definition: ExportDefinition) -> ExportRun:
    run = ExportRun(account_id=definition.account_id, definition_id=definition.id, status="running")
    db.session.add(run)
    db.session.flush()
    targets.upload(definition, run)
    return run


# --- uploads ----------------------------------------------------------------------------------------


def test_ftp_upload_writes_the_dated_file_and_leaves_no_partial_file(account, database, ftp_target):
    definition = targets.create_export(
        account,
        database.id,
        spec(
            ftp_target["url"], username="shop", password="s3cret", gzip=True, file_name="customers-{date}-{run}.csv.gz"
        ),
    )
    run = upload_once(definition)
    name = f"customers-{utcnow().date().isoformat()}-{run.id}.csv.gz"
    assert run.file_name == name
    assert sorted(path.name for path in (ftp_target["root"] / "out").iterdir()) == [name]
    data = (ftp_target["root"] / "out" / name).read_bytes()
    assert run.size == len(data)
    assert body_of(gzip.decompress(data)) == EXPECTED_CSV


def test_ftp_upload_refuses_bad_credentials(account, database, ftp_target):
    definition = targets.create_export(account, database.id, spec(ftp_target["url"], username="shop", password="wrong"))
    with pytest.raises(ValidationError, match="credentials"):
        upload_once(definition)


def test_ftps_verifies_the_certificate_and_trusts_tls_ca_file(app, account, database, ftps_server, monkeypatch):
    definition = targets.create_export(
        account, database.id, spec(ftps_server["url"], username="shop", password="s3cret")
    )
    with pytest.raises(ValidationError, match="certificate is not valid"):
        upload_once(definition)
    monkeypatch.setitem(app.config, "TLS_CA_FILE", ftps_server["ca"])
    run = upload_once(definition)
    assert body_of((ftps_server["root"] / run.file_name).read_bytes()) == EXPECTED_CSV


def test_an_import_is_fetched_over_ftps(app, account, database, ftps_server, monkeypatch):
    monkeypatch.setitem(app.config, "TLS_CA_FILE", ftps_server["ca"])
    (ftps_server["root"] / "people.csv").write_bytes(b"Email;FirstName\nc@example.com;Cy\n")
    source = sources.create_source(
        account, database.id, source_url=ftps_server["url"] + "people.csv", username="shop", password="s3cret"
    )
    fetched = sources.fetch(source)
    assert fetched.path.read_bytes() == b"Email;FirstName\nc@example.com;Cy\n"
    monkeypatch.setitem(app.config, "TLS_CA_FILE", "")
    source.last_fetch = {}
    with pytest.raises(ValidationError, match="certificate is not valid"):
        sources.fetch(source)


def test_sftp_upload_with_a_password_or_a_key_and_a_pinned_host_key(account, database, sftp_target):
    definition = targets.create_export(
        account,
        database.id,
        spec(sftp_target["url"], username="shop", password="s3cret", format="jsonl", file_name="c.jsonl"),
    )
    upload_once(definition)
    assert (sftp_target["root"] / "out" / "c.jsonl").read_text().count('"Email": "a@example.com"') == 1
    assert definition.last_upload["host_key"].startswith("ssh-ed25519 ")
    keyed = targets.create_export(
        account, database.id, spec(sftp_target["url"], username="shop", private_key=sftp_target["key"])
    )
    run = upload_once(keyed)
    assert body_of((sftp_target["root"] / "out" / run.file_name).read_bytes()) == EXPECTED_CSV
    assert sorted(p.name for p in (sftp_target["root"] / "out").iterdir()) == ["c.jsonl", run.file_name]
    real_key = definition.last_upload["host_key"]
    definition.last_upload = {"host_key": "ssh-ed25519 AAAAother"}
    with pytest.raises(ValidationError, match="host key changed") as refused:
        upload_once(definition)
    assert "save the source" not in refused.value.message and "Replace host key" in refused.value.message
    # Saving the export to the same server keeps the pinned key; only a confirmed fingerprint replaces it.
    targets.update_export(
        account, definition.id, spec(sftp_target["url"], username="shop", format="jsonl", file_name="c.jsonl")
    )
    assert definition.last_upload["host_key"] == "ssh-ed25519 AAAAother"
    targets.replace_host_key(account, definition.id, remote_files.fingerprint(real_key))
    assert definition.last_upload["host_key"] == real_key
    upload_once(definition)


def test_http_put_and_post_send_the_file_with_its_name(account, database, http_target):
    definition = targets.create_export(account, database.id, spec(http_target.url, username="api", password="pw"))
    run = upload_once(definition)
    (put,) = http_target.received
    assert (put.method, put.path) == ("PUT", f"/upload/{run.file_name}")
    assert put.headers["Content-Type"].startswith("text/csv")
    assert put.headers["Content-Length"] == str(len(put.body)) == str(run.size)
    assert put.headers["Authorization"].startswith("Basic ")
    assert body_of(put.body) == EXPECTED_CSV
    targets.update_export(account, definition.id, spec(http_target.url + "receive", http_method="POST"))
    upload_once(definition)
    post = http_target.received[1]
    assert (post.method, post.path) == ("POST", "/upload/receive")
    assert f'filename="{run.file_name}"' in post.headers["Content-Disposition"]
    assert "Authorization" not in post.headers or post.headers["Authorization"].startswith("Basic ")


def test_http_answers_are_transient_or_permanent(account, database, http_target):
    definition = targets.create_export(account, database.id, spec(http_target.url))
    http_target.statuses = [503, 404, 401]
    with pytest.raises(remote_files.TransientFetchError, match="503"):
        upload_once(definition)
    with pytest.raises(ValidationError, match="404"):
        upload_once(definition)
    with pytest.raises(ValidationError, match="credentials"):
        upload_once(definition)


# --- definitions --------------------------------------------------------------------------------------


def test_a_definition_is_validated_whole(account, database):
    with pytest.raises(ValidationError) as caught:
        targets.create_export(
            account,
            database.id,
            TargetSpec(
                name="",
                target_url="gopher://example.com/",
                file_name="../x-{day}.csv",
                fields=("Nope",),
                schedule="5s",
                http_method="GET",
                private_key="not a key",
            ),
        )
    assert set(caught.value.errors) == {
        "name",
        "target_url",
        "file_name",
        "fields",
        "schedule",
        "http_method",
        "private_key",
    }
    assert db.session.scalar(select(ExportDefinition.id)) is None


@pytest.mark.parametrize("template", ["a/b.csv", ".hidden", "x-{date", "x-{datum}.csv", ""])
def test_file_name_templates_are_checked(template):
    with pytest.raises(ValidationError):
        targets.check_file_name(template)


def test_file_names_fill_in_date_time_and_run():
    moment = utcnow().replace(year=2026, month=1, day=2, hour=3, minute=4)
    assert targets.render_file_name("p-{date}-{time}-{run}.csv", moment, 7) == "p-2026-01-02-0304-7.csv"


def test_private_targets_are_refused_unless_allowed(app, account, database, monkeypatch):
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_URLS", False)
    for url in ("ftp://127.0.0.1/out/", "sftp://10.0.0.1/", "https://localhost/upload"):
        with pytest.raises(ValidationError, match="private or reserved"):
            targets.check_target_url(url)
    with pytest.raises(ValidationError, match="own fields"):
        targets.check_target_url("sftp://user:pw@example.com/out")


def test_credentials_are_encrypted_at_rest_and_masked(account, database):
    definition = targets.create_export(
        account, database.id, spec("sftp://127.0.0.1/out", username="shop", password="hunter2-secret")
    )
    stored = db.session.execute(text("SELECT credentials FROM export_definition")).scalar()
    assert "hunter2" not in stored and "shop" not in stored
    masked = targets.masked_credentials(definition)
    assert masked["username"] == "shop" and masked["password"] and "hunter2" not in masked["password"]
    targets.update_export(account, definition.id, spec("sftp://127.0.0.1/out", username="other"))
    assert remote_files.credentials_of(definition) == {"username": "other", "password": "hunter2-secret"}
    targets.update_export(account, definition.id, spec("sftp://127.0.0.1/out", clear_secrets=True))
    assert remote_files.credentials_of(definition) == {}


def test_a_collection_export_belongs_to_the_database(account, database):
    from webapp.profiles import databases

    other = make_database(account, "Other")
    foreign = databases.create_collection(account, other.id, "Orders")
    with pytest.raises(Exception, match="not found"):
        targets.create_export(account, database.id, spec("ftp://127.0.0.1/", collection_id=foreign.id, fields=()))


# --- the schedule -----------------------------------------------------------------------------------


def test_a_due_schedule_uploads_through_a_real_worker_and_schedules_the_next(account, database, http_target):
    definition = targets.create_export(account, database.id, spec(http_target.url, schedule="1h"))
    (waiting,) = targets._waiting_rows(definition.id)
    assert waiting.due_at > utcnow() + timedelta(minutes=59)
    turn(definition.id)
    run = db.session.scalar(select(ExportRun))
    assert (run.status, run.attempts, run.error) == ("done", 1, "")
    assert len(http_target.received) == 1 and body_of(http_target.received[0].body) == EXPECTED_CSV
    definition = db.session.get(ExportDefinition, definition.id)
    assert definition.last_upload["file_name"] == run.file_name and definition.last_error == ""
    (following,) = targets._waiting_rows(definition.id)
    assert following.id != waiting.id and following.due_at > utcnow() + timedelta(minutes=59)


def test_run_now_uses_the_waiting_row_or_a_one_off(account, database, http_target):
    scheduled = targets.create_export(account, database.id, spec(http_target.url, schedule="1d"))
    row = targets.run_now(account, scheduled.id)
    assert row.due_at <= utcnow() and len(targets._waiting_rows(scheduled.id)) == 1
    by_hand = targets.create_export(account, database.id, spec(http_target.url))
    assert targets._waiting_rows(by_hand.id) == []
    targets.run_now(account, by_hand.id)
    work.dispatch_due()
    with pytest.raises(ValidationError, match="in progress"):
        targets.run_now(account, by_hand.id)
    run_worker()
    db.session.expire_all()
    assert len(http_target.received) == 2
    assert targets._waiting_rows(by_hand.id) == []  # a one-off row schedules nothing
    assert len(targets._waiting_rows(scheduled.id)) == 1


def test_runs_never_overlap(account, database, http_target):
    definition = targets.create_export(account, database.id, spec(http_target.url, schedule="15m"))
    other_turn = work.schedule(
        targets.KIND, payload={"definition_id": definition.id, "once": True}, account_id=account.id
    )
    other_turn.status = "queued"  # a "run now" whose upload is in progress
    db.session.flush()
    db.session.add(
        ExportRun(account_id=account.id, definition_id=definition.id, work_id=other_turn.id, status="running")
    )
    db.session.commit()
    turn(definition.id)
    assert http_target.received == []
    assert "not finished" in db.session.get(ExportDefinition, definition.id).last_error
    assert db.session.scalar(select(ExportRun.id).where(ExportRun.work_id != other_turn.id)) is None
    # a run whose work has ended (a worker killed for good) no longer blocks the schedule
    db.session.get(ScheduledWork, other_turn.id).status = "failed"
    db.session.commit()
    turn(definition.id)
    assert len(http_target.received) == 1


def test_transient_errors_retry_the_same_run_with_backoff_then_fail(account, database, http_target):
    definition = targets.create_export(account, database.id, spec(http_target.url, schedule="1h"))
    http_target.statuses = [503] * targets.UPLOAD_ATTEMPTS
    (row,) = targets._waiting_rows(definition.id)
    for attempt in range(1, targets.UPLOAD_ATTEMPTS):
        turn(definition.id)
        row = db.session.get(ScheduledWork, row.id)
        assert (row.status, row.attempts) == ("pending", attempt)
        assert row.due_at > utcnow()  # backoff
        (run,) = db.session.scalars(select(ExportRun))
        assert (run.status, run.attempts) == ("retrying", attempt)
        assert "503" in db.session.get(ExportDefinition, definition.id).last_error
    turn(definition.id)
    assert db.session.get(ScheduledWork, row.id).status == "done"
    (run,) = db.session.scalars(select(ExportRun))
    assert (run.status, run.attempts) == ("failed", targets.UPLOAD_ATTEMPTS) and "503" in run.error
    assert len(http_target.received) == targets.UPLOAD_ATTEMPTS
    assert "503" in db.session.get(ExportDefinition, definition.id).last_error
    (following,) = targets._waiting_rows(definition.id)
    assert following.id != row.id and following.due_at > utcnow() + timedelta(minutes=59)


def test_a_transient_error_then_success(account, database, http_target):
    definition = targets.create_export(account, database.id, spec(http_target.url, schedule="1h"))
    http_target.statuses = [500]
    turn(definition.id)
    turn(definition.id)
    (run,) = db.session.scalars(select(ExportRun))
    assert (run.status, run.attempts) == ("done", 2)
    assert db.session.get(ExportDefinition, definition.id).last_error == ""


def test_a_permanent_error_fails_the_run_at_once(account, database, ftp_target):
    definition = targets.create_export(
        account, database.id, spec(ftp_target["url"] + "missing/", username="shop", password="s3cret", schedule="1h")
    )
    turn(definition.id)
    (run,) = db.session.scalars(select(ExportRun))
    assert (run.status, run.attempts) == ("failed", 1)
    assert "FTP server answered" in db.session.get(ExportDefinition, definition.id).last_error
    assert len(targets._waiting_rows(definition.id)) == 1


def test_housekeeping_restores_a_lost_schedule_and_unscheduling_removes_it(account, database, http_target):
    definition = targets.create_export(account, database.id, spec(http_target.url, schedule="1h"))
    db.session.execute(text("UPDATE scheduled_work SET status = 'done'"))
    db.session.commit()
    targets.ensure_schedules()
    db.session.commit()
    assert len(targets._waiting_rows(definition.id)) == 1
    targets.update_export(account, definition.id, spec(http_target.url, schedule=""))
    assert targets._waiting_rows(definition.id) == []


def test_deleting_an_export_removes_its_runs_and_waiting_work(account, database, http_target):
    definition = targets.create_export(account, database.id, spec(http_target.url, schedule="1h"))
    turn(definition.id)
    targets.delete_export(account, definition.id)
    assert db.session.scalar(select(ExportRun.id)) is None
    assert targets._waiting_rows(definition.id) == []
    assert db.session.scalar(select(ImportRun.id)) is None
