"""Flask extensions, created unbound and initialised in ``create_app``."""

import time

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

from webapp.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
htmx = Htmx()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

# A pooled connection idle for longer than this is pinged before use (see ``_ping_after_idle``).
IDLE_PING_SECONDS = 10.0
_clock = time.monotonic


@sa_event.listens_for(Pool, "checkin")
def _note_idle(_dbapi_connection, record) -> None:
    record.info["idle_since"] = _clock()


@sa_event.listens_for(Pool, "checkout")
def _ping_after_idle(dbapi_connection, record, _proxy) -> None:
    """Ping a connection that sat idle, instead of every connection on every checkout (``pool_pre_ping``).

    A busy process reuses its connections within milliseconds; a ping before each use would be one more
    round trip per request. A connection that waited longer (the database may have restarted meanwhile) is
    pinged, and a dead one is replaced (``DisconnectionError`` makes the pool connect again). A connection
    that dies while in use raises an error that SQLAlchemy recognises as a disconnect: it then drops every
    connection of the pool, so only the requests in flight at that moment fail.
    """
    idle_since = record.info.get("idle_since")
    if idle_since is None or _clock() - idle_since < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()  # end the ping's transaction: psycopg2 cannot switch to AUTOCOMMIT in one
    except Exception as error:  # noqa: BLE001 - any failure here means the connection is unusable
        raise DisconnectionError("the connection did not answer a ping") from error
