"""Surveys (pages of questions, as JSON) and their responses (partial until completed)."""

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.accounts import Account
from webapp.models.base import Base, JSONType, utcnow
from webapp.models.databases import Database


def new_survey_key() -> str:
    """A random, URL-safe public key (16 characters, 96 bits)."""
    return secrets.token_urlsafe(12)


def new_resume_key() -> str:
    """The secret that lets an anonymous respondent resume (128 bits)."""
    return secrets.token_urlsafe(16)


class Survey(Base):
    """A survey on a database: ``pages`` is its ordered content (items, branches), ``settings`` its languages,
    limits, closing text and notification addresses (``surveys/builder.py`` checks both)."""

    __tablename__ = "survey"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(32), unique=True, default=new_survey_key)
    name: Mapped[str] = mapped_column(String(200))
    pages: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    allowed_origins: Mapped[list[str]] = mapped_column(JSONType, default=list)
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[Account] = relationship(viewonly=True, lazy="joined")
    database: Mapped[Database] = relationship(viewonly=True, lazy="joined")


class SurveyResponse(Base):
    """One person's answers to a survey: saved page by page, ``completed_at`` set after the last page.

    ``answers`` holds the answers of the pages shown, by question id; ``hidden`` the hidden fields captured when
    the response started; ``page`` the index of the page to show next; ``reached`` the pages answered on the path
    taken, in order (going back and answering a page again ends the path there)."""

    __tablename__ = "survey_response"
    __table_args__ = (
        Index("ix_survey_response_survey_id_id", "survey_id", "id"),
        Index("ix_survey_response_survey_id_profile_id", "survey_id", "profile_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    # No foreign key: the answers outlive a removed profile (like the form submission log).
    profile_id: Mapped[int | None]
    resume_key: Mapped[str] = mapped_column(String(32), unique=True, default=new_resume_key)
    language: Mapped[str] = mapped_column(String(8), default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    hidden: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    page: Mapped[int] = mapped_column(default=0)
    reached: Mapped[list[int]] = mapped_column(JSONType, default=list)
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
