"""What a mailing did, live: recipients by status, the messages' results (``EmailResult``), clicks per link, a
chart over time (server-rendered SVG), and per profile every mailing it received and what the person did."""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.mailings.definitions import get_mailing
from webapp.models import Account, EmailResult, Mailing, MailingLink, MailingRecipient, RecipientStatus, utcnow


def _changed(statement) -> int:
    """Rows an UPDATE changed (Session.execute is typed to return a plain Result, without ``rowcount``)."""
    return cast(CursorResult[Any], db.session.execute(statement)).rowcount or 0


CHART_POINTS = 48


@dataclass
class MailingResults:
    """The counts of one mailing (a periodic mailing's occurrences each have their own)."""

    recipients: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # by reason
    sent: int = 0
    delivered: int = 0
    soft_bounces: int = 0
    hard_bounces: int = 0
    unique_opens: int = 0
    opens: int = 0
    unique_clicks: int = 0
    clicks: int = 0
    unsubscribes: int = 0
    complaints: int = 0
    links: list[MailingLink] = field(default_factory=list)

    @property
    def waiting(self) -> int:
        return sum(self.by_status.get(status, 0) for status in ("pending", "queued", "sending", "held"))

    @property
    def done_percent(self) -> int:
        return 100 if not self.recipients else round(100 * (self.recipients - self.waiting) / self.recipients)

    def rate(self, count: int) -> str:
        return f"{100 * count / self.sent:.1f}%" if self.sent else "–"


def results_of(account: Account, mailing_id: int) -> MailingResults:
    mailing = get_mailing(account, mailing_id)
    found = MailingResults()
    for status, reason, count in db.session.execute(
        select(MailingRecipient.status, MailingRecipient.reason, func.count())
        .where(MailingRecipient.mailing_id == mailing.id)
        .group_by(MailingRecipient.status, MailingRecipient.reason)
    ):
        found.recipients += count
        found.by_status[status] = found.by_status.get(status, 0) + count
        if status == RecipientStatus.SKIPPED:
            found.skipped[reason] = found.skipped.get(reason, 0) + count
    refused = sum(
        count
        for reason, count in db.session.execute(
            select(MailingRecipient.reason, func.count())
            .where(MailingRecipient.mailing_id == mailing.id, MailingRecipient.status == RecipientStatus.FAILED)
            .group_by(MailingRecipient.reason)
        )
        if reason in ("refused", "deferred")
    )
    row = db.session.execute(
        select(
            func.count(),
            func.count(EmailResult.opened_at),
            func.coalesce(func.sum(EmailResult.open_count), 0),
            func.count(EmailResult.clicked_at),
            func.coalesce(func.sum(EmailResult.click_count), 0),
            func.count(EmailResult.unsubscribed_at),
            func.count(EmailResult.complained_at),
            func.count(EmailResult.id).filter(EmailResult.bounce == "soft"),
            func.count(EmailResult.id).filter(EmailResult.bounce == "hard"),
        ).where(EmailResult.mailing_id == mailing.id)
    ).one()
    found.sent, found.unique_opens, found.opens, found.unique_clicks, found.clicks = (
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
    )
    found.unsubscribes, found.complaints, found.soft_bounces, found.hard_bounces = row[5], row[6], row[7], row[8]
    found.hard_bounces += refused  # refused at send time: a bounce that never left
    found.delivered = found.sent - found.soft_bounces - (found.hard_bounces - refused)
    found.links = list(
        db.session.scalars(
            select(MailingLink)
            .where(MailingLink.mailing_id == mailing.id)
            .order_by(MailingLink.click_count.desc(), MailingLink.id)
            .limit(100)
        )
    )
    return found


def count_link_click(mailing_id: int, url: str) -> None:
    """One click on ``url`` in a message of the mailing (``email.results`` calls this in the click's transaction)."""
    url_hash = hashlib.sha256(url.encode()).hexdigest()
    now = utcnow()
    counted = _changed(
        update(MailingLink)
        .where(MailingLink.mailing_id == mailing_id, MailingLink.url_hash == url_hash)
        .values(click_count=MailingLink.click_count + 1, last_clicked_at=now)
        .execution_options(synchronize_session=False)
    )
    if counted:
        return
    try:
        with db.session.begin_nested():
            db.session.execute(
                insert(MailingLink).values(
                    mailing_id=mailing_id, url_hash=url_hash, url=url[:4000], click_count=1, last_clicked_at=now
                )
            )
    except IntegrityError:  # the first click of two at once: count this one on the other's row
        db.session.execute(
            update(MailingLink)
            .where(MailingLink.mailing_id == mailing_id, MailingLink.url_hash == url_hash)
            .values(click_count=MailingLink.click_count + 1, last_clicked_at=now)
            .execution_options(synchronize_session=False)
        )


# --- the chart --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    label: str
    css_class: str
    points: list[int]


def timeline(account: Account, mailing_id: int) -> tuple[datetime | None, timedelta, list[Series]]:
    """Sent messages, first opens and first clicks per interval since the mailing started (cumulative):
    (start, interval, series). The interval grows with the mailing's age so that ``CHART_POINTS`` cover it."""
    mailing = get_mailing(account, mailing_id)
    start = db.session.scalar(select(func.min(EmailResult.sent_at)).where(EmailResult.mailing_id == mailing.id))
    if start is None:
        return None, timedelta(hours=1), []
    span = max(utcnow() - start, timedelta(hours=1))
    step = max(timedelta(minutes=5), span / CHART_POINTS)
    series = []
    for label, column, css in (
        ("sent", EmailResult.sent_at, "sent"),
        ("opens", EmailResult.opened_at, "opens"),
        ("clicks", EmailResult.clicked_at, "clicks"),
    ):
        moments = db.session.scalars(select(column).where(EmailResult.mailing_id == mailing.id, column.is_not(None)))
        buckets = [0] * (CHART_POINTS + 1)
        for moment in moments:
            assert moment is not None
            buckets[min(CHART_POINTS, int((moment - start) / step))] += 1
        running, points = 0, []
        for count in buckets:
            running += count
            points.append(running)
        series.append(Series(label, css, points))
    return start, step, series


def chart_svg(series: list[Series], *, labels: dict[str, str], width: int = 600, height: int = 180) -> str:
    """An SVG line chart (no script, no external resource) that scales to its container's width."""
    top = max((max(line.points) for line in series if line.points), default=0) or 1
    pad = 24
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label={quoteattr(", ".join(labels.values()))}>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width}" y2="{height - pad}" class="axis"/>',
        f'<text x="0" y="12" class="tick">{top}</text>',
    ]
    for line in series:
        if not line.points:
            continue
        step = (width - pad) / max(len(line.points) - 1, 1)
        coords = " ".join(
            f"{pad + index * step:.1f},{height - pad - (height - 2 * pad) * value / top:.1f}"
            for index, value in enumerate(line.points)
        )
        parts.append(f'<polyline class="line {line.css_class}" fill="none" points="{coords}">')
        parts.append(f"<title>{escape(labels.get(line.label, line.label))}: {line.points[-1]}</title></polyline>")
    parts.append("</svg>")
    return "".join(parts)


# --- per profile -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMailing:
    mailing_id: int | None
    name: str
    result: EmailResult


def received_by(account: Account, profile_id: int, *, limit: int = 50) -> list[ReceivedMailing]:
    """The mailings the profile received, newest first, each with what the person did with it."""
    rows = db.session.execute(
        select(EmailResult, Mailing.name)
        .join(Mailing, Mailing.id == EmailResult.mailing_id)
        .where(EmailResult.account_id == account.id, EmailResult.profile_id == profile_id)
        .order_by(EmailResult.sent_at.desc(), EmailResult.id.desc())
        .limit(limit)
    ).all()
    return [ReceivedMailing(result.mailing_id, name, result) for result, name in rows]


def review_list(account: Account, mailing_id: int, *, limit: int = 100) -> list[MailingRecipient]:
    """Recipients interrupted while sending, for an admin to settle."""
    mailing = get_mailing(account, mailing_id)
    query = select(MailingRecipient).where(
        MailingRecipient.mailing_id == mailing.id, MailingRecipient.status == RecipientStatus.REVIEW
    )
    return list(db.session.scalars(query.order_by(MailingRecipient.id).limit(limit)))
