"""Real file servers for the import and export tests: FTP and FTPS (pyftpdlib, FTPS with a self-signed
certificate made here), SFTP (paramiko's server) and HTTP (PUT/POST)."""

import datetime
import http.server
import io
import ipaddress
import os
import socket
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

with warnings.catch_warnings():  # pyftpdlib still imports asyncore/asynchat (deprecated in 3.11)
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
    from pyftpdlib.servers import FTPServer


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by its own key: ``(certificate, key)`` PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _serve_ftp(root: Path, handler_base, **attributes):
    authorizer = DummyAuthorizer()
    authorizer.add_user("shop", "s3cret", str(root), perm="elradfmw")
    handler = type("Handler", (handler_base,), {"authorizer": authorizer, "passive_ports": None, **attributes})
    server = FTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.05}, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def ftp_target(tmp_path):
    """A writable FTP server: ``url`` of its ``out`` folder, ``root`` on disk."""
    root = tmp_path / "ftp"
    (root / "out").mkdir(parents=True)
    server, thread = _serve_ftp(root, FTPHandler)
    yield {"url": f"ftp://127.0.0.1:{server.address[1]}/out/", "root": root}
    server.close_all()
    thread.join()


@pytest.fixture
def ftps_server(tmp_path):
    """An FTPS server (explicit TLS, required on control and data) with a self-signed certificate: ``url`` of its
    root, ``root`` on disk, ``ca`` the certificate (trust it with ``TLS_CA_FILE``)."""
    root = tmp_path / "ftps"
    root.mkdir()
    cert, key = self_signed_certificate(tmp_path)
    server, thread = _serve_ftp(
        root, TLS_FTPHandler, certfile=str(cert), keyfile=str(key), tls_control_required=True, tls_data_required=True
    )
    yield {"url": f"ftps://127.0.0.1:{server.address[1]}/", "root": root, "ca": str(cert)}
    server.close_all()
    thread.join()


class _SFTPServerInterface(paramiko.ServerInterface):
    """Accepts user ``shop`` with password ``s3cret`` or the given public key."""

    def __init__(self, public_key):
        self.public_key = public_key

    def check_auth_password(self, username, password):
        ok = username == "shop" and password == "s3cret"  # noqa: S105 - a test server
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        ok = username == "shop" and key.get_base64() == self.public_key.get_base64()
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def get_allowed_auths(self, username):
        return "password,publickey"

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED


def _sftp_root(root: Path):
    """paramiko's SFTP file-system interface over the folder ``root`` (read, write, stat, rename)."""

    def local(path: str) -> Path:
        return root / path.lstrip("/")

    class Root(paramiko.SFTPServerInterface):
        def open(self, path, flags, attr):
            try:
                writing = flags & (os.O_WRONLY | os.O_RDWR)
                stream = open(local(path), "wb" if writing else "rb")  # noqa: SIM115 - the handle closes it
            except OSError as error:
                return paramiko.SFTPServer.convert_errno(error.errno)
            handle = paramiko.SFTPHandle(flags)
            handle.readfile = handle.writefile = stream
            return handle

        def stat(self, path):
            try:
                return paramiko.SFTPAttributes.from_stat(local(path).stat())
            except OSError as error:
                return paramiko.SFTPServer.convert_errno(error.errno)

        lstat = stat

        def posix_rename(self, oldpath, newpath):
            os.replace(local(oldpath), local(newpath))
            return paramiko.SFTP_OK

    return Root


def new_key() -> str:
    """A fresh Ed25519 private key in OpenSSH format."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
        .decode()
    )


@contextmanager
def sftp_server(root: Path):
    """A paramiko SFTP server over ``root`` on a free local port: yields ``(port, client private key)``.

    Each connection negotiates in its own paramiko thread (``start_server`` with an event does not block), so a
    client that hangs up mid-handshake (e.g. after refusing the host key) neither stalls nor kills the accept loop."""
    host_key = paramiko.Ed25519Key.from_private_key(io.StringIO(new_key()))
    client_key_text = new_key()
    client_key = paramiko.Ed25519Key.from_private_key(io.StringIO(client_key_text))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.1)
    stop = threading.Event()
    transports = []

    def serve():
        while not stop.is_set():
            try:
                connection, _address = listener.accept()
            except TimeoutError:
                continue
            transport = paramiko.Transport(connection)
            transport.add_server_key(host_key)
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer, _sftp_root(root))
            transport.start_server(event=threading.Event(), server=_SFTPServerInterface(client_key))
            transports.append(transport)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], client_key_text
    finally:
        stop.set()
        thread.join()
        listener.close()
        for transport in transports:
            transport.close()


@pytest.fixture
def sftp_target(tmp_path):
    """A writable SFTP server (paramiko): ``url`` of its ``out`` folder, ``root``, ``key`` (the client's key)."""
    root = tmp_path / "sftp"
    (root / "out").mkdir(parents=True)
    with sftp_server(root) as (port, client_key_text):
        yield {"url": f"sftp://127.0.0.1:{port}/out", "key": client_key_text, "root": root}


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class HttpTarget:
    """A local HTTP server that stores what is PUT or POSTed; ``statuses`` are answered first, then 201."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def http_target():
    target = HttpTarget()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _receive(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            target.received.append(Received(self.command, self.path, dict(self.headers), body))
            self.send_response(target.statuses.pop(0) if target.statuses else 201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_PUT = do_POST = _receive  # noqa: N815

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    target.url = f"http://127.0.0.1:{server.server_address[1]}/upload/"
    yield target
    server.shutdown()
    server.server_close()
    thread.join()
