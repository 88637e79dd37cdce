"""A mailing's definition: template, target and exclusion selections, sender, subject, throttle, A/B variants and
repeat, validated whole before anything is stored (a bad value changes nothing)."""

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select

from webapp.email import templates
from webapp.extensions import db
from webapp.models import Account, Mailing, MailingStatus, Selection, utcnow
from webapp.platform.errors import Conflict, NotFound, ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles.databases import get_database

MAX_VARIANTS = 4
METRICS = ("opens", "clicks")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$")
EDITABLE = (MailingStatus.DRAFT, MailingStatus.SCHEDULED, MailingStatus.PERIODIC)


@dataclass
class MailingValues:
    """What the editor sends; ``variants`` are ``{"subject": str, "template_id": int | None}``."""

    name: str
    database_id: int
    template_id: int | None
    target_ids: list[int]
    exclude_ids: list[int] = field(default_factory=list)
    subject: str = ""
    sender: str = ""
    per_minute: int | None = None
    domain_limits: dict[str, int] = field(default_factory=dict)
    variants: list[dict[str, Any]] = field(default_factory=list)
    ab_percent: int = 20
    ab_wait_minutes: int = 240
    ab_metric: str = "opens"
    repeat: dict[str, Any] = field(default_factory=dict)


def get_mailing(account: Account | int, mailing_id: int) -> Mailing:
    return owned(Mailing, account, mailing_id, _("Mailing not found."))


def list_mailings(account: Account, *, limit: int = 200) -> list[Mailing]:
    """The account's mailings, newest first (occurrences of a periodic mailing too)."""
    query = select(Mailing).where(Mailing.account_id == account.id).order_by(Mailing.id.desc()).limit(limit)
    return list(db.session.scalars(query))


def occurrences(account: Account, mailing_id: int) -> list[Mailing]:
    """The mailings a periodic mailing (or an A/B test's) started, newest first."""
    query = select(Mailing).where(Mailing.account_id == account.id, Mailing.parent_id == mailing_id)
    return list(db.session.scalars(query.order_by(Mailing.id.desc()).limit(100)))


def create_mailing(account: Account, values: MailingValues) -> Mailing:
    mailing = Mailing(account_id=account.id, status=MailingStatus.DRAFT)
    _apply(account, mailing, values)
    db.session.add(mailing)
    db.session.commit()
    return mailing


def update_mailing(account: Account, mailing_id: int, values: MailingValues) -> Mailing:
    mailing = get_mailing(account, mailing_id)
    if mailing.status not in EDITABLE:
        raise Conflict(_("A mailing that has started sending cannot be changed."))
    _apply(account, mailing, values)
    mailing.updated_at = utcnow()
    db.session.commit()
    return mailing


def delete_mailing(account: Account, mailing_id: int) -> None:
    """Delete a mailing that never sent (its results would go with it); a sent one stays for its results."""
    mailing = get_mailing(account, mailing_id)
    if mailing.status not in (MailingStatus.DRAFT, MailingStatus.SCHEDULED, MailingStatus.PERIODIC):
        raise Conflict(_("Only a mailing that never sent can be deleted; cancel it instead."))
    db.session.delete(mailing)
    db.session.commit()


def copy_of(mailing: Mailing, *, name: str) -> Mailing:
    """A new draft with the same definition (a periodic mailing's occurrence), added to the session."""
    copy = Mailing(
        account_id=mailing.account_id,
        database_id=mailing.database_id,
        parent_id=mailing.id,
        name=name[:200],
        template_id=mailing.template_id,
        subject=mailing.subject,
        sender=mailing.sender,
        target_ids=list(mailing.target_ids or []),
        exclude_ids=list(mailing.exclude_ids or []),
        per_minute=mailing.per_minute,
        domain_limits=dict(mailing.domain_limits or {}),
        variants=[dict(variant) for variant in mailing.variants or []],
        ab_percent=mailing.ab_percent,
        ab_wait_minutes=mailing.ab_wait_minutes,
        ab_metric=mailing.ab_metric,
        repeat={},
        status=MailingStatus.DRAFT,
    )
    db.session.add(copy)
    return copy


def selections_of(account: Account, database_id: int) -> list[Selection]:
    """The selections a mailing of this database may target or exclude (of profiles, not subprofiles)."""
    query = select(Selection).where(
        Selection.account_id == account.id,
        Selection.database_id == database_id,
        Selection.collection_id.is_(None),
    )
    return list(db.session.scalars(query.order_by(func.lower(Selection.name))))


def _apply(account: Account, mailing: Mailing, values: MailingValues) -> None:
    errors: dict[str, str] = {}
    name = values.name.strip()
    if not name:
        errors["name"] = _("Give the mailing a name.")
    elif len(name) > 200:
        errors["name"] = _("At most 200 characters.")
    try:
        database = get_database(account, values.database_id)
    except NotFound:
        raise ValidationError({"database_id": _("Database not found.")}) from None
    template_ids = [values.template_id] if values.template_id else []
    if not values.template_id:
        errors["template_id"] = _("Choose the email template to send.")
    usable = {selection.id for selection in selections_of(account, database.id)}
    targets, excludes = _ids(values.target_ids), _ids(values.exclude_ids)
    if not targets:
        errors["target_ids"] = _("Choose at least one selection to send to.")
    elif not set(targets) <= usable:
        errors["target_ids"] = _("A chosen selection is not a selection of this database's profiles.")
    if not set(excludes) <= usable:
        errors["exclude_ids"] = _("A chosen selection is not a selection of this database's profiles.")
    if len(values.subject) > 500:
        errors["subject"] = _("At most 500 characters.")
    sender = values.sender.strip()
    if sender and not _valid_sender(sender):
        errors["sender"] = _("Not a valid sender address.")
    if values.per_minute is not None and not 1 <= values.per_minute <= 1_000_000:
        errors["per_minute"] = _("Between 1 and 1,000,000 messages per minute, or empty for no limit.")
    limits, limit_error = _domain_limits(values.domain_limits)
    if limit_error:
        errors["domain_limits"] = limit_error
    variants, variant_error = _variants(values)
    template_ids += [variant["template_id"] for variant in variants if variant.get("template_id")]
    if variant_error:
        errors["variants"] = variant_error
    if variants and not 1 <= values.ab_percent <= 90:
        errors["ab_percent"] = _("The sample is between 1 and 90 percent of the recipients.")
    if variants and not 1 <= values.ab_wait_minutes <= 60 * 24 * 14:
        errors["ab_wait_minutes"] = _("Wait between 1 minute and 14 days.")
    if values.ab_metric not in METRICS:
        errors["ab_metric"] = _("The winner is chosen by opens or clicks.")
    repeat, repeat_error = _repeat(values.repeat)
    if repeat_error:
        errors["repeat"] = repeat_error
    for template_id in template_ids:
        try:
            templates.get_template(account, template_id)
        except NotFound:
            errors["template_id"] = _("Email template not found.")
    if errors:
        raise ValidationError(errors)
    mailing.name, mailing.database_id, mailing.template_id = name, database.id, values.template_id
    mailing.target_ids, mailing.exclude_ids = targets, excludes
    mailing.subject, mailing.sender = values.subject.strip(), sender
    mailing.per_minute, mailing.domain_limits = values.per_minute, limits
    mailing.variants, mailing.ab_percent = variants, values.ab_percent
    mailing.ab_wait_minutes, mailing.ab_metric, mailing.repeat = values.ab_wait_minutes, values.ab_metric, repeat


def _ids(values: list[int]) -> list[int]:
    return list(dict.fromkeys(int(value) for value in values))


def _valid_sender(sender: str) -> bool:
    from email.utils import parseaddr

    address = parseaddr(sender)[1]
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return "\n" not in sender and "\r" not in sender


def _domain_limits(limits: dict[str, int]) -> tuple[dict[str, int], str]:
    cleaned = {}
    for domain, per_minute in limits.items():
        name = domain.strip().lower()
        if not DOMAIN.match(name):
            return {}, _("%(domain)s is not a domain name.", domain=domain)
        if not isinstance(per_minute, int) or not 1 <= per_minute <= 1_000_000:
            return {}, _("The limit of %(domain)s is not a number of messages per minute.", domain=name)
        cleaned[name] = per_minute
    return cleaned, ""


def parse_domain_limits(text: str) -> dict[str, int]:
    """``gmail.com=600, hotmail.com=300`` (one per line or comma-separated) → a dict; ValidationError on a bad
    entry (for doors that take the limits as text)."""
    limits: dict[str, int] = {}
    for entry in re.split(r"[,\n]", text):
        if not entry.strip():
            continue
        domain, equals, number = entry.partition("=")
        if not equals or not number.strip().isdigit():
            raise ValidationError(
                {"domain_limits": _("Write each limit as domain=messages per minute, e.g. gmail.com=600.")}
            )
        limits[domain.strip().lower()] = int(number.strip())
    return limits


def _variants(values: MailingValues) -> tuple[list[dict[str, Any]], str]:
    variants = []
    for variant in values.variants:
        subject = str(variant.get("subject") or "").strip()
        template_id = variant.get("template_id") or None
        if subject or template_id:
            variants.append({"subject": subject[:500], "template_id": int(template_id) if template_id else None})
    if not variants:
        return [], ""
    if not 2 <= len(variants) <= MAX_VARIANTS:
        return [], _("An A/B test has two to four variants.")
    if len({(variant["subject"], variant["template_id"]) for variant in variants}) < len(variants):
        return [], _("The variants must differ (in subject or template).")
    if values.repeat:
        return [], _("A periodic mailing cannot be an A/B test.")
    return variants, ""


def _repeat(repeat: dict[str, Any]) -> tuple[dict[str, Any], str]:
    if not repeat:
        return {}, ""
    weekdays = sorted({int(day) for day in repeat.get("weekdays") or [] if str(day).isdigit() and int(day) < 7})
    if not weekdays:
        return {}, _("Choose the days on which the mailing repeats.")
    try:
        at = time.fromisoformat(str(repeat.get("time") or ""))
    except ValueError:
        return {}, _("The time of day is HH:MM, e.g. 09:00.")
    return {"weekdays": weekdays, "time": f"{at:%H:%M}"}, ""


def status_since(mailing: Mailing) -> datetime:
    return mailing.finished_at or mailing.started_at or mailing.updated_at
