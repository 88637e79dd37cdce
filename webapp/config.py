"""Configuration from environment variables, with embedded defaults for a first run.

Every variable is documented in README.md. Nothing here connects to anything: the run command and the
test fixtures decide what to start when a variable is unset (see ``webapp/platform/embedded_redis.py``).
"""

import hashlib
import os
import secrets
from datetime import timedelta
from pathlib import Path


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _optional_number(name: str) -> float | None:
    value = os.environ.get(name, "").strip()
    return float(value) if value else None


def secret_key_from_instance(instance_path: str) -> str:
    """Return SECRET_KEY from the environment, or one generated once and kept in the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    """Settings read from the environment when the app is created."""

    def __init__(self, instance_path: str):
        self.SECRET_KEY = secret_key_from_instance(instance_path)
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'verrijk.sqlite'}"
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(database_url)
        # No ping before every checkout (a round trip per request): ``extensions._ping_after_idle`` pings
        # only connections that sat idle, and connections are renewed every half hour.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 1800}
        self.REDIS_URL = os.environ.get("REDIS_URL", "")
        self.PORT = int(os.environ.get("PORT", "5000"))
        self.PUBLIC_URL = os.environ.get("PUBLIC_URL", f"http://127.0.0.1:{self.PORT}").rstrip("/")
        # Without it, the SOAP WSDL advertises the address each request came in on instead.
        self.PUBLIC_URL_SET = bool(os.environ.get("PUBLIC_URL"))
        # Largest SOAP request body, also after inflating gzip (real calls are a few kilobytes).
        self.SOAP_MAX_REQUEST_BYTES = int(os.environ.get("SOAP_MAX_REQUEST_BYTES", str(2 * 1024 * 1024)))
        self.SMTP_URL = os.environ.get("SMTP_URL", "")
        self.MAIL_FROM = os.environ.get("MAIL_FROM", "Verrijk <noreply@localhost>")
        self.BOUNCE_DOMAIN = os.environ.get("BOUNCE_DOMAIN", "")
        # The inbound mail receiver (bounces, complaints, mailto: unsubscribes for BOUNCE_DOMAIN): where it
        # listens (port 0: a free one), and how long messages that matched no sent message are kept.
        self.MAIL_RECEIVER_HOST = os.environ.get("MAIL_RECEIVER_HOST", "127.0.0.1")
        self.MAIL_RECEIVER_PORT = int(os.environ.get("MAIL_RECEIVER_PORT", "0"))
        self.UNMATCHED_REPORT_DAYS = int(os.environ.get("UNMATCHED_REPORT_DAYS", "30"))
        # Messages per minute per account (an account may set its own in the admin).
        self.MAIL_RATE_LIMIT = int(os.environ.get("MAIL_RATE_LIMIT", "600"))
        # Encrypts stored credentials of import/export targets; derived from SECRET_KEY when not set.
        self.CREDENTIALS_KEY = (
            os.environ.get("CREDENTIALS_KEY")
            or hashlib.sha256(b"verrijk credentials key:" + self.SECRET_KEY.encode()).hexdigest()
        )
        self.ALLOW_PRIVATE_URLS = _flag("ALLOW_PRIVATE_URLS")
        # A PEM file of extra certificate authorities trusted for ftps:// (on top of the system's), e.g. an in-house CA.
        self.TLS_CA_FILE = os.environ.get("TLS_CA_FILE", "")
        # Days a failed or never-started import keeps its stored file (finished runs lose theirs at once).
        self.IMPORT_FILE_DAYS = int(os.environ.get("IMPORT_FILE_DAYS", "7"))
        self.CALLBACK_TIMEOUT = float(os.environ.get("CALLBACK_TIMEOUT", "10"))
        self.TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
        self.LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
        # Per account: after 5 wrong passwords each try waits twice as long, up to this many seconds.
        self.LOGIN_BACKOFF_MAX_SECONDS = int(os.environ.get("LOGIN_BACKOFF_MAX_SECONDS", "60"))
        # Accounts: how long an invitation link works; password reset requests per client address (the
        # per-address-of-the-user limit is in accounts/password_reset.py); two-factor code tries per address.
        self.INVITATION_DAYS = int(os.environ.get("INVITATION_DAYS", "7"))
        self.PASSWORD_RESET_RATE_LIMIT = os.environ.get("PASSWORD_RESET_RATE_LIMIT", "5 per minute")
        self.TWO_FACTOR_RATE_LIMIT = os.environ.get("TWO_FACTOR_RATE_LIMIT", "10 per minute")
        # REST calls per API token (limits notation), announced in RateLimit headers.
        self.API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "6000 per minute")
        # Web form submissions: per client address and form, and per form from all addresses together;
        # an empty value or "off" is no limit.
        self.FORM_RATE_LIMIT = os.environ.get("FORM_RATE_LIMIT", "20 per minute")
        self.FORM_RATE_LIMIT_PER_FORM = os.environ.get("FORM_RATE_LIMIT_PER_FORM", "600 per minute")
        # The spam log keeps a sample of refused submissions per form and day, for this many days (counts stay).
        self.SPAM_LOG_SAMPLES_PER_DAY = int(os.environ.get("SPAM_LOG_SAMPLES_PER_DAY", "200"))
        self.SPAM_LOG_DAYS = int(os.environ.get("SPAM_LOG_DAYS", "30"))
        # At most this many seconds of minimum fill time for every form; unset: each form's own setting.
        self.FORM_MIN_FILL_SECONDS = _optional_number("FORM_MIN_FILL_SECONDS")
        self.WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = self.PUBLIC_URL.startswith("https://")
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_DURATION = timedelta(days=int(os.environ.get("REMEMBER_DAYS", "14")))
        self.BABEL_DEFAULT_LOCALE = "en"
        self.LANGUAGES = {"en": "English", "nl": "Nederlands"}
        self.RQ_QUEUES = ["default"]
        self.DISPATCH_INTERVAL = float(os.environ.get("DISPATCH_INTERVAL", "1.0"))
        # "json": every process logs one JSON object per line (platform/logs.py); "text" leaves logs as they are.
        self.LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower() or "text"
        self.LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"


def limiter_storage_uri(redis_url: str) -> str:
    """The rate limiter's storage: the app's Redis (``limits`` spells unix sockets ``redis+unix://``)."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def normalize_database_url(url: str) -> str:
    """Pick psycopg2 for a bare PostgreSQL URL.

    psycopg2 binds parameters client-side, so PostgreSQL plans with the values (LIKE prefixes on
    expression indexes); SQLAlchemy 2.1 would pick psycopg 3 for a bare URL.
    """
    for bare in ("postgres://", "postgresql://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url.removeprefix(bare)
    return url
