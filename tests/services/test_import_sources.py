"""Fetched and scheduled imports against real servers: HTTP (with ETag), FTP (pyftpdlib) and SFTP (paramiko)."""

import base64
import hashlib
import http.server
import threading
import warnings
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from tests import file_servers
from tests.factories import make_database
from tests.workers import run_burst_worker
from webapp.extensions import db
from webapp.imports import mapping, sources
from webapp.models import Field, ImportDefinition, ImportRun, Profile, ScheduledWork, utcnow
from webapp.platform import remote_files, work
from webapp.platform.errors import ValidationError

with warnings.catch_warnings():  # pyftpdlib still imports asyncore/asynchat (deprecated in 3.11)
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

CSV = b"Email;FirstName\na@example.com;Ann\nb@example.com;Bob\n"


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))


@pytest.fixture
def database(account):
    return make_database(account, fields={"Email": {"type": "email", "indexed": True}, "FirstName": "text"})


# --- servers ----------------------------------------------------------------------------------------


class Files:
    def __init__(self):
        self.body, self.status, self.requests, self.conditional = CSV, 200, 0, 0


@pytest.fixture
def http_server():
    files = Files()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            files.requests += 1
            etag = '"' + hashlib.sha256(files.body).hexdigest()[:16] + '"'
            if files.status != 200:
                self.send_response(files.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.headers.get("If-None-Match") == etag:
                files.conditional += 1
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(files.body)))
            self.end_headers()
            self.wfile.write(files.body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    files.url = f"http://127.0.0.1:{server.server_address[1]}/export/people.csv"
    yield files
    server.shutdown()
    server.server_close()


@pytest.fixture
def ftp_server(tmp_path):
    root = tmp_path / "ftp"
    root.mkdir()
    (root / "people.csv").write_bytes(CSV)
    authorizer = DummyAuthorizer()
    authorizer.add_user("shop", "s3cret", str(root), perm="elr")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "passive_ports": None})
    server = FTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.05}, daemon=True)
    thread.start()
    yield {"url": f"ftp://127.0.0.1:{server.address[1]}/people.csv", "root": root}
    server.close_all()


@pytest.fixture
def sftp_server(tmp_path):
    """A read-only SFTP server holding ``people.csv``: ``url``, ``key`` (the client's key), ``root``."""
    root = tmp_path / "sftp"
    root.mkdir()
    (root / "people.csv").write_bytes(CSV)
    with file_servers.sftp_server(root) as (port, client_key_text):
        yield {"url": f"sftp://127.0.0.1:{port}/people.csv", "key": client_key_text, "root": root}


def run_worker() -> None:
    run_burst_worker()


def mapped_source(account, database, url, **kwargs) -> ImportDefinition:
    definition = sources.create_source(account, database.id, source_url=url, **kwargs)
    definition.mapping = {"Email": "field:Email", "FirstName": "field:FirstName"}
    definition.key_fields = ["Email"]
    db.session.commit()
    return definition


def make_due(definition_id: int) -> None:
    for row in sources._waiting_rows(definition_id):
        row.due_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def emails() -> list[str]:
    (email,) = [f for f in db.session.scalars(select(Field)) if f.name == "Email"]
    return sorted(p.fields.get(email.key) for p in db.session.scalars(select(Profile)))


# --- fetching ---------------------------------------------------------------------------------------


def test_http_fetch_skips_an_unchanged_file_with_a_conditional_request(account, database, http_server):
    definition = mapped_source(account, database, http_server.url)
    fetched = sources.fetch(definition)
    assert fetched.path.read_bytes() == CSV and fetched.file_name == "people.csv"
    assert definition.last_fetch["etag"] and definition.last_fetch["size"] == len(CSV)
    assert sources.fetch(definition) is None
    assert http_server.conditional == 1
    http_server.body = CSV + b"c@example.com;Cy\n"
    assert sources.fetch(definition).size == len(http_server.body)


def test_http_errors_are_transient_or_permanent(account, database, http_server):
    definition = mapped_source(account, database, http_server.url)
    http_server.status = 503
    with pytest.raises(remote_files.TransientFetchError):
        sources.fetch(definition)
    http_server.status = 404
    with pytest.raises(ValidationError, match="404"):
        sources.fetch(definition)
    definition.source_url = "http://127.0.0.1:1/closed.csv"
    with pytest.raises(remote_files.TransientFetchError):
        sources.fetch(definition)


def test_ftp_fetch_with_password_and_unchanged_file_by_hash(account, database, ftp_server):
    definition = mapped_source(account, database, ftp_server["url"], username="shop", password="s3cret")
    assert sources.fetch(definition).path.read_bytes() == CSV
    assert definition.last_fetch["sha256"] == hashlib.sha256(CSV).hexdigest()
    assert sources.fetch(definition) is None
    (ftp_server["root"] / "people.csv").write_bytes(CSV + b"c@example.com;Cy\n")
    assert sources.fetch(definition) is not None


def test_ftp_refuses_bad_credentials_and_missing_files(account, database, ftp_server):
    definition = mapped_source(account, database, ftp_server["url"], username="shop", password="wrong")
    with pytest.raises(ValidationError, match="credentials"):
        sources.fetch(definition)
    sources.set_source(
        account,
        definition.id,
        source_url=ftp_server["url"].replace("people", "nobody"),
        username="shop",
        password="s3cret",
    )
    with pytest.raises(ValidationError, match="550"):
        sources.fetch(definition)


def test_sftp_fetch_with_password_and_with_a_private_key(account, database, sftp_server):
    definition = mapped_source(account, database, sftp_server["url"], username="shop", password="s3cret")
    assert sources.fetch(definition).path.read_bytes() == CSV
    assert definition.last_fetch["host_key"].startswith("ssh-ed25519 ")
    assert sources.fetch(definition) is None
    keyed = mapped_source(account, database, sftp_server["url"], username="shop", private_key=sftp_server["key"])
    assert sources.fetch(keyed).path.read_bytes() == CSV
    wrong = mapped_source(account, database, sftp_server["url"], username="shop", password="nope")
    with pytest.raises(ValidationError, match="refused"):
        sources.fetch(wrong)


def test_sftp_refuses_a_changed_host_key(account, database, sftp_server):
    definition = mapped_source(account, database, sftp_server["url"], username="shop", password="s3cret")
    sources.fetch(definition)
    real_key = definition.last_fetch["host_key"]
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOtherKeyOtherKeyOtherKeyOtherKey0"
    definition.last_fetch = {**definition.last_fetch, "host_key": other}
    db.session.commit()
    offered = remote_files.fingerprint(real_key)
    with pytest.raises(ValidationError, match="host key changed") as refused:
        sources.fetch(definition)
    assert offered in refused.value.message and remote_files.fingerprint(other) in refused.value.message
    assert "save the source" not in refused.value.message
    # Saving the source (same server) is no longer a silent "trust whatever the server presents now".
    sources.set_source(account, definition.id, source_url=sftp_server["url"], username="shop")
    assert definition.last_fetch["host_key"] == other
    with pytest.raises(ValidationError, match="host key changed"):
        sources.fetch(definition)
    assert sources.host_key_check(account, definition.id) == (remote_files.fingerprint(other), offered)
    with pytest.raises(ValidationError, match="not the key you confirmed"):
        sources.replace_host_key(account, definition.id, remote_files.fingerprint(other))
    assert definition.last_fetch["host_key"] == other
    sources.replace_host_key(account, definition.id, offered)
    assert definition.last_fetch["host_key"] == real_key
    assert sources.fetch(definition) is None  # trusted again, and the file is unchanged


def test_a_fingerprint_is_openssh_style():
    key = "ssh-ed25519 " + base64.b64encode(b"key blob").decode()
    digest = base64.b64encode(hashlib.sha256(b"key blob").digest()).decode().rstrip("=")
    assert remote_files.fingerprint(key) == f"ssh-ed25519 SHA256:{digest}"


def test_private_hosts_are_refused_unless_allowed(app, account, database, monkeypatch):
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_URLS", False)
    for url in ("http://127.0.0.1/a.csv", "ftp://10.0.0.1/a.csv", "sftp://[::1]/a.csv", "ftps://localhost/a.csv"):
        with pytest.raises(ValidationError, match="private or reserved"):
            sources.check_source_url(url)
    with pytest.raises(ValidationError):
        sources.create_source(account, database.id, source_url="sftp://192.168.1.2/x.csv")
    with pytest.raises(ValidationError, match="own fields"):
        sources.check_source_url("ftp://user:pw@example.com/a.csv")
    with pytest.raises(ValidationError, match="Only http"):
        sources.check_source_url("file:///etc/passwd")


def test_credentials_are_encrypted_at_rest_and_masked(account, database):
    definition = sources.create_source(
        account, database.id, source_url="sftp://127.0.0.1/a.csv", username="shop", password="hunter2-secret"
    )
    stored = db.session.execute(text("SELECT credentials FROM import_definition")).scalar()
    assert "hunter2-secret" not in stored and "shop" not in stored
    assert remote_files.credentials_of(definition)["password"] == "hunter2-secret"
    masked = remote_files.masked_credentials(definition)
    assert masked["username"] == "shop" and "hunter2" not in masked["password"] and masked["password"]
    # an empty password keeps the stored one
    sources.set_source(account, definition.id, source_url="sftp://127.0.0.1/a.csv", username="other")
    assert remote_files.credentials_of(definition) == {"username": "other", "password": "hunter2-secret"}


def test_schedules_parse_intervals_and_cron():
    now = utcnow().replace(microsecond=0)
    assert remote_files.next_due(remote_files.check_schedule("15m"), now) == now + timedelta(minutes=15)
    assert remote_files.next_due(remote_files.check_schedule("1d"), now) == now + timedelta(days=1)
    assert remote_files.next_due(remote_files.check_schedule("0 6 * * *"), now).hour == 6
    for bad in ("10s", "every day", "61 * * * *"):
        with pytest.raises(ValidationError):
            remote_files.check_schedule(bad)


# --- the schedule -----------------------------------------------------------------------------------


def test_a_due_schedule_fetches_and_imports_through_a_real_worker(account, database, http_server):
    definition = mapped_source(account, database, http_server.url, schedule="1h")
    make_due(definition.id)
    assert work.dispatch_due() == 1
    run_worker()  # fetches, creates the run and queues its ``import`` row
    assert work.dispatch_due() == 1
    run_worker()  # applies the run
    db.session.expire_all()
    run = db.session.scalar(select(ImportRun))
    assert run.status == "done" and run.created == 2
    assert emails() == ["a@example.com", "b@example.com"]
    (waiting,) = sources._waiting_rows(definition.id)
    assert waiting.due_at > utcnow() + timedelta(minutes=59)
    # the next turn finds the file unchanged: no new run
    make_due(definition.id)
    work.dispatch_due()
    run_worker()
    db.session.expire_all()
    assert db.session.scalar(select(ImportRun.id).where(ImportRun.id != run.id)) is None
    assert len(sources._waiting_rows(definition.id)) == 1


def test_the_first_file_waits_for_a_mapping(account, database, http_server):
    definition = sources.create_source(account, database.id, source_url=http_server.url)
    sources.fetch_now(account, definition.id)
    work.dispatch_due()
    run_worker()
    db.session.expire_all()
    run = db.session.scalar(select(ImportRun))
    assert run.status == "pending" and run.file_name == "people.csv"
    assert sources._waiting_rows(definition.id) == []
    # pre-mapped like an upload (issue 22, defect 6): columns named like fields, the email field as the key
    mapped = db.session.get(ImportDefinition, definition.id)
    assert mapped.mapping == {"Email": "field:Email", "FirstName": "field:FirstName"}
    assert mapped.key_fields == ["Email"]


def test_the_first_fetched_file_matches_headers_forgivingly(account, database, http_server):
    http_server.body = b"E-mail;first name;Shoe size\na@example.com;Ann;42\n"
    definition = sources.create_source(account, database.id, source_url=http_server.url)
    sources.fetch_now(account, definition.id)
    work.dispatch_due()
    run_worker()
    db.session.expire_all()
    mapped = db.session.get(ImportDefinition, definition.id)
    assert mapped.mapping == {"E-mail": "field:Email", "first name": "field:FirstName", "Shoe size": "ignore"}
    assert db.session.scalar(select(ImportRun)).status == "pending"  # an admin checks it, then starts it


def test_runs_never_overlap(account, database, http_server):
    definition = mapped_source(account, database, http_server.url, schedule="15m")
    db.session.add(
        ImportRun(account_id=account.id, definition_id=definition.id, database_id=database.id, status="running")
    )
    db.session.commit()
    make_due(definition.id)
    work.dispatch_due()
    run_worker()
    db.session.expire_all()
    assert http_server.requests == 0
    assert db.session.scalar(select(ImportRun.id).where(ImportRun.status != "running")) is None
    assert "not finished" in db.session.get(ImportDefinition, definition.id).last_error
    assert len(sources._waiting_rows(definition.id)) == 1


def test_transient_errors_retry_with_backoff_then_the_schedule_moves_on(account, database, http_server):
    definition = mapped_source(account, database, http_server.url, schedule="1h")
    http_server.status = 503
    (row,) = sources._waiting_rows(definition.id)
    for attempt in range(1, sources.FETCH_ATTEMPTS):
        make_due(definition.id)
        work.dispatch_due()
        run_worker()
        db.session.expire_all()
        row = db.session.get(ScheduledWork, row.id)
        assert (row.status, row.attempts) == ("pending", attempt)
        assert row.due_at > utcnow()  # backoff
        assert "503" in db.session.get(ImportDefinition, definition.id).last_error
    make_due(definition.id)
    work.dispatch_due()
    run_worker()
    db.session.expire_all()
    assert db.session.get(ScheduledWork, row.id).status == "done"
    assert http_server.requests == sources.FETCH_ATTEMPTS
    assert "503" in db.session.get(ImportDefinition, definition.id).last_error
    (following,) = sources._waiting_rows(definition.id)
    assert following.id != row.id and following.due_at > utcnow() + timedelta(minutes=59)


def test_a_transient_error_then_success_imports(account, database, http_server):
    definition = mapped_source(account, database, http_server.url, schedule="1h")
    http_server.status = 503
    make_due(definition.id)
    work.dispatch_due()
    run_worker()
    http_server.status = 200
    make_due(definition.id)
    work.dispatch_due()
    run_worker()
    work.dispatch_due()
    run_worker()
    db.session.expire_all()
    assert emails() == ["a@example.com", "b@example.com"]
    assert db.session.get(ImportDefinition, definition.id).last_error == ""


def test_a_permanent_error_is_recorded_and_the_schedule_moves_on(account, database, http_server):
    definition = mapped_source(account, database, http_server.url, schedule="1h")
    http_server.status = 404
    make_due(definition.id)
    work.dispatch_due()
    run_worker()
    db.session.expire_all()
    assert "404" in db.session.get(ImportDefinition, definition.id).last_error
    assert http_server.requests == 1
    assert len(sources._waiting_rows(definition.id)) == 1


def test_housekeeping_restores_a_lost_schedule_and_unscheduling_removes_it(account, database, http_server):
    definition = mapped_source(account, database, http_server.url, schedule="1h")
    db.session.execute(update(ScheduledWork).values(status="done"))
    db.session.commit()
    sources.ensure_schedules()
    db.session.commit()
    assert len(sources._waiting_rows(definition.id)) == 1
    sources.set_source(account, definition.id, source_url=http_server.url, schedule="")
    assert sources._waiting_rows(definition.id) == []
    assert mapping.get_definition(account, definition.id).schedule == ""


def test_a_fetched_file_that_cannot_start_says_why_without_internal_names(account, database, http_server):
    http_server.body = b"Email;FirstName\n"  # a header and no lines: Start is refused
    definition = mapped_source(account, database, http_server.url)
    sources.fetch_now(account, definition.id)
    work.dispatch_due()
    run_worker()
    db.session.expire_all()
    error = db.session.get(ImportDefinition, definition.id).last_error
    assert "no lines" in error and "start:" not in error and "file:" not in error
