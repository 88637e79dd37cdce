"""Verrijk: profile enrichment for marketers. ``create_app`` builds the Flask app; nothing runs at import."""

import os

from flask import Flask, render_template, request, session
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from webapp.config import Config, limiter_storage_uri


class RowId(IntegerConverter):
    """``<int:…>`` in our URLs: a row id (1 to 2**31-1), so an out-of-range id is a 404, not an overflow."""

    def __init__(self, url_map, **kwargs):
        from webapp.platform.tenancy import MAX_ID

        super().__init__(url_map, min=1, max=MAX_ID)


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("INSTANCE_PATH") or None, instance_relative_config=True)
    app.config.from_object(Config(app.instance_path))
    if overrides:
        app.config.update(overrides)
    from webapp.platform import logs

    logs.configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy: take client address, scheme and host from its X-Forwarded-* headers.
        n = app.config["TRUSTED_PROXIES"]
        # Flask's documented way to wrap its WSGI app; typeshed sees the assignment as replacing a method.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)  # type: ignore[method-assign]
    _init_extensions(app)
    app.url_map.converters["int"] = RowId
    _register_blueprints(app)
    _register_soap(app)
    _register_rest(app)
    _register_errors(app)
    _register_input_guard(app)
    _register_page_helpers(app)
    from webapp.cli import register_commands

    register_commands(app)
    return app


def select_locale() -> str:
    """The user's chosen language, else the session's, else the browser's best match."""
    from flask import current_app, has_request_context

    languages = list(current_app.config["LANGUAGES"])
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    if session.get("language") in languages:
        return session["language"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def _init_extensions(app: Flask) -> None:
    from webapp.callbacks import deliveries
    from webapp.extensions import babel, csrf, db, htmx, limiter, login_manager, migrate
    from webapp.platform import health, work
    from webapp.profiles import events, field_expressions

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(_migrations_path()),
        render_as_batch=True,
        compare_type=True,
        include_name=field_expressions.include_in_migrations,
    )
    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage_uri(app.config["REDIS_URL"]))
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "warning"

    @login_manager.user_loader
    def load_user(session_id: str):
        from webapp.accounts.users import user_of_session

        return user_of_session(session_id)

    events.init_app(app)
    work.init_app(app)
    health.init_app(app)
    # The domain packages register their work kinds, housekeeping and event subscribers.
    from webapp import accounts, bulk, dashboard, hygiene, mailings, privacy
    from webapp.exports import downloads as export_downloads
    from webapp.exports import targets as export_targets
    from webapp.followups import triggers as followup_triggers
    from webapp.imports import apply as import_apply
    from webapp.imports import rollback as import_rollback
    from webapp.imports import sources as import_sources
    from webapp.imports import storage as import_storage
    from webapp.selections import membership as selection_membership
    from webapp.surveys import notifications as survey_notifications
    from webapp.webforms import field_references as form_field_references
    from webapp.webforms import spam_log

    # Hygiene last: its reaction to an event may remove the profile, after the others have seen the event.
    for package_module in (
        accounts,
        import_apply,
        import_rollback,
        import_sources,
        export_targets,
        export_downloads,
        selection_membership,
        import_storage,
        deliveries,
        followup_triggers,
        spam_log,
        form_field_references,
        survey_notifications,
        mailings,
        dashboard,
        bulk,
        privacy,
        hygiene,
    ):
        package_module.init_app(app)
    _sqlite_pragmas(app)


def _sqlite_pragmas(app: Flask) -> None:
    """Foreign keys on, WAL and a busy timeout so web, worker and dispatcher share one SQLite file."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    from webapp.extensions import db

    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    with app.app_context():
        event.listen(db.engine, "connect", on_connect)


def _migrations_path():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _register_blueprints(app: Flask) -> None:
    from webapp.blueprints.admin import bp as admin_bp
    from webapp.blueprints.auth import bp as auth_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    from webapp.blueprints.embed import bp as embed_bp

    app.register_blueprint(embed_bp)
    from webapp.blueprints.surveys_public import bp as surveys_public_bp

    app.register_blueprint(surveys_public_bp)
    from webapp.blueprints.track import bp as track_bp

    app.register_blueprint(track_bp)
    from webapp.blueprints.inbound import bp as inbound_bp

    app.register_blueprint(inbound_bp)
    from webapp.blueprints.health import bp as health_bp

    app.register_blueprint(health_bp)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)


def _favicon():
    """The icon, for browsers that ask ``/favicon.ico`` where no page names one (a JSON answer, a download)."""
    from flask import current_app

    response = current_app.send_static_file("favicon.svg")
    response.cache_control.max_age = 86400
    return response


def _register_soap(app: Flask) -> None:
    from webapp.soap import register_soap

    register_soap(app)


def _register_rest(app: Flask) -> None:
    from webapp.blueprints.api import register_api

    register_api(app)


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _register_input_guard(app: Flask) -> None:
    """A zero byte (``%00``) in a request's path, query or form fields is refused with a 400 before any view
    runs: no browser sends one, PostgreSQL stores none (a query holding one fails), and every view would
    otherwise have to check. Uploaded files are not read here; their content is checked where it is read.
    The answer is plain text: the public routes have no session for the error page's form token."""
    from flask_babel import gettext as _

    @app.before_request
    def refuse_zero_bytes():
        fields = request.form.items(multi=True) if request.mimetype in FORM_TYPES else ()
        pairs = (*request.args.items(multi=True), *fields)
        if "\x00" in request.path or any("\x00" in key or "\x00" in value for key, value in pairs):
            return (
                _("The request holds a zero byte (NUL character), which is never valid here."),
                400,
                {"Content-Type": "text/plain; charset=utf-8"},
            )
        return None


def _register_page_helpers(app: Flask) -> None:
    from flask_babel import get_locale

    from webapp.accounts.users import role_labels

    @app.context_processor
    def locale_helpers():
        return {"current_locale": lambda: str(get_locale() or "en"), "role_label": lambda role: role_labels()[role]}

    @app.after_request
    def security_headers(response):
        """A strict CSP for our own pages (doors with other needs, like the embed API, set their own)."""
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def _register_errors(app: Flask) -> None:
    from flask_babel import gettext as _

    from webapp.platform.errors import DomainError

    def page(status: int, message: str):
        if _is_public_path(request.path):
            return _public_error(status, message)
        template = "errors/_message.html" if request.headers.get("HX-Request") else "errors/page.html"
        return render_template(template, status=status, message=message), status

    def http_error(error):
        messages = {
            400: _("The request was not valid. Reload the page and try again."),
            403: _("You are not allowed to do this."),
            404: _("Not found."),
            405: _("This address does not accept that kind of request."),
            429: _("Too many requests. Wait a minute, then try again."),
        }
        answer = page(error.code, messages[error.code])
        if error.code == 405 and error.valid_methods:  # RFC 9110: a 405 names the methods that work
            response = app.make_response(answer)
            response.headers["Allow"] = ", ".join(error.valid_methods)
            return response
        return answer

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        return page(error.status, error.message)

    for status in (400, 403, 404, 405, 429):
        app.register_error_handler(status, http_error)


# The public routes (embed API, hosted pages, confirm and mail links, ``/embed.js``) have no session, so their
# error answers carry no form token and no admin layout.
PUBLIC_PREFIXES = ("/p/", "/f/")
PUBLIC_PATHS = ("/embed.js", "/p", "/f")
EMBED_API_PREFIX = "/p/forms/"


def _is_public_path(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES) or path in PUBLIC_PATHS


def _public_error(status: int, message: str):
    """A public route's error: JSON for the embed API, else a plain page; never cached."""
    from flask import current_app, jsonify

    if request.path.startswith(EMBED_API_PREFIX):
        response = jsonify({"error": message})
    else:
        page = render_template("public/message.html", title=str(status), message=message, status=status)
        response = current_app.response_class(page, mimetype="text/html")
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
