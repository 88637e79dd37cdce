"""Taking a survey: start or resume, submit a page, complete. The public entry for the embed API and ``/s/KEY``.

Each page is saved when it is submitted, so a response is partial until its last page; the same link resumes it
(an anonymous respondent by the resume key the door puts in the link, a known one by the signed profile link).
Only the items whose condition holds are shown, validated and stored; answers to the page's other items are
discarded. An answer mapped to a profile field is written through the event spine (source ``survey``), so
follow-ups on that field fire; a completed response of a known profile journals ``survey_completed``. A forged
profile link is simply anonymous: nothing about the profile is shown or used.
"""

from dataclasses import InitVar, dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from webapp.extensions import db
from webapp.models import Profile, Survey, SurveyResponse, utcnow
from webapp.models.surveys import new_resume_key
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import consents, events, links
from webapp.profiles.database_config import profile_fields
from webapp.profiles.events import Origin
from webapp.profiles.profiles import apply_update
from webapp.surveys import notifications
from webapp.surveys.builder import DEFAULT_FILL_SECONDS
from webapp.surveys.conditions import Facts, next_page, shown_items
from webapp.webforms import spam as form_spam
from webapp.webforms.attempts import rejection_message
from webapp.widgets.definition import CAPTCHA, HONEYPOT, public_url
from webapp.widgets.languages import choose_language as pick_language
from webapp.widgets.languages import localized
from webapp.widgets.survey_page import CONSENT_ANSWER, consent_text, page_definition, page_values
from webapp.widgets.survey_validation import validate_page

HIDDEN_VALUE_LIMIT = 255


@dataclass
class Visitor:
    """Who is taking the survey and how the door was reached (all plain values from the request)."""

    profile_id: Any = None
    signature: Any = None
    resume_key: str = ""
    lang: str = ""
    browser_languages: list[str] = field(default_factory=list)
    hidden: dict[str, str] = field(default_factory=dict)
    ip: str = ""  # kept only on the consent records of a known profile


@dataclass
class SurveyView:
    """What a door shows: a page (``status`` ``page`` or ``invalid``) or an end (``complete``, ``closed``,
    ``rejected``); ``status_code`` for JSON doors. Plain values only, taken from the survey when the view is
    made (before the commit), so that showing it reads nothing from the database again."""

    status: str
    survey: InitVar[Survey]
    lang: str
    page: dict[str, Any] | None = None
    resume_key: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    redirect: str | None = None
    status_code: int = 200
    texts: dict[str, Any] = field(init=False)
    origins: list[str] = field(init=False)  # may embed it (CORS, frame-ancestors)
    redirect_url: str = field(init=False)  # the closing redirect (form-action)

    def __post_init__(self, survey: Survey) -> None:
        self.texts = survey_texts(survey, self.lang)
        self.origins = list(survey.allowed_origins or [])
        self.redirect_url = (survey.settings or {}).get("redirect_url") or ""

    def body(self) -> dict[str, Any]:
        """The JSON answer of the embed API."""
        body: dict[str, Any] = {"status": self.status, "lang": self.lang, "resume_key": self.resume_key}
        body.update(self.texts)
        if self.page is not None:
            body["page"] = self.page
        if self.errors:
            body["errors"] = self.errors
        if self.message:
            body["message"] = self.message
        if self.redirect:
            body["redirect"] = self.redirect
        return body


def get_public_survey(key: str) -> Survey:
    # Without the joined account and database: a page needs neither (a field mapping loads the account).
    statement = select(Survey).options(lazyload("*")).where(Survey.key == key)
    survey = db.session.scalar(statement) if key and len(key) <= 32 else None
    if survey is None:
        raise NotFound(_("This survey does not exist."))
    return survey


def token_key(survey: Survey) -> str:
    return f"survey:{survey.key}"


def issue_token(key: str) -> str:
    """A fill-time token for the survey with this key (the caller has found it)."""
    return form_spam.issue_token(f"survey:{key}")


def survey_texts(survey: Survey, lang: str) -> dict[str, Any]:
    settings, default = survey.settings or {}, _languages(survey)[0]
    return {
        "key": survey.key,
        "name": survey.name,
        "submit_url": public_url(f"/p/surveys/{survey.key}/pages"),
        "hosted_url": public_url(f"/s/{survey.key}"),
        "hidden_fields": list(settings.get("hidden_fields") or []),
        "next_label": localized(settings.get("next_label"), lang, default) or _("Next"),
        "done_label": localized(settings.get("done_label"), lang, default) or _("Send"),
        "back_label": localized(settings.get("back_label"), lang, default) or _("Back"),
    }


def _languages(survey: Survey) -> list[str]:
    return list((survey.settings or {}).get("languages") or ["en"])


def choose_language(survey: Survey, visitor: Visitor, profile: Profile | None, stored: str = "") -> str:
    """The link's or snippet's language, else the response's, else the profile's language field, else the
    browser's, else the survey's first language."""
    language_field = (survey.settings or {}).get("language_field")
    return pick_language(
        _languages(survey),
        requested=visitor.lang,
        stored=stored,
        profile_value=_profile_values(profile).get(language_field) if language_field else "",
        browser=visitor.browser_languages,
    )


def _linked_profile(survey: Survey, visitor: Visitor) -> Profile | None:
    """The profile of a valid signed link; None for anonymous surveys and forged or foreign links."""
    if (survey.settings or {}).get("anonymous") or not visitor.profile_id:
        return None
    profile = links.verify_profile_link(survey.account_id, visitor.profile_id, visitor.signature)
    return profile if profile is not None and profile.database_id == survey.database_id else None


def _profile_values(profile: Profile | None) -> dict[str, Any]:
    if profile is None:
        return {}
    return {snap.name: profile.fields.get(str(snap.id)) for snap in profile_fields(profile.database)}


def _closed_reason(survey: Survey, now: datetime) -> str | None:
    settings = survey.settings or {}
    if settings.get("opens_at") and now < datetime.fromisoformat(settings["opens_at"]):
        return _("This survey is not open yet.")
    if settings.get("closes_at") and now >= datetime.fromisoformat(settings["closes_at"]):
        return _("This survey is closed.")
    if settings.get("max_completed"):
        completed = db.session.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.survey_id == survey.id, SurveyResponse.completed_at.is_not(None))
        )
        if (completed or 0) >= settings["max_completed"]:
            return _("This survey is closed.")
    return None


def _load(key: str, visitor: Visitor) -> tuple[Survey, SurveyResponse | None]:
    """The survey and, for a resume key, its response: one query (a page submission is on the hot path)."""
    if visitor.resume_key and key and len(key) <= 32:
        row = db.session.execute(
            select(Survey, SurveyResponse)
            .options(lazyload("*"))
            .join(SurveyResponse, SurveyResponse.survey_id == Survey.id)
            .where(Survey.key == key, SurveyResponse.resume_key == visitor.resume_key[:32])
        ).first()
        if row is not None:
            return row[0], row[1]
    return get_public_survey(key), None


def _find_response(survey: Survey, resumed: SurveyResponse | None, profile: Profile | None) -> SurveyResponse | None:
    """The response to resume: the one of the resume key (unless it is another profile's), else the profile's
    latest."""
    if resumed is not None and (resumed.profile_id is None or profile is None or resumed.profile_id == profile.id):
        return resumed
    if profile is not None:
        return db.session.scalar(
            select(SurveyResponse)
            .where(SurveyResponse.survey_id == survey.id, SurveyResponse.profile_id == profile.id)
            .order_by(SurveyResponse.id.desc())
            .limit(1)
        )
    return None


def _facts(response: SurveyResponse | None, hidden: dict[str, str], profile: Profile | None) -> Facts:
    if response is not None:
        return Facts(dict(response.answers or {}), dict(response.hidden or {}), _profile_values(profile))
    return Facts({}, hidden, _profile_values(profile))


def _captured_hidden(survey: Survey, hidden: dict[str, str]) -> dict[str, str]:
    names = (survey.settings or {}).get("hidden_fields") or []
    return {name: str(hidden[name])[:HIDDEN_VALUE_LIMIT] for name in names if hidden.get(name)}


def _first_page(survey: Survey, facts: Facts) -> int:
    return 0 if shown_items(survey.pages[0], facts) else (next_page(survey.pages, 0, facts) or 0)


def _previous_page(response: SurveyResponse | None, index: int) -> int | None:
    """The page answered before page ``index`` on this response's path (``reached``, in order), if any."""
    path = list(response.reached or []) if response is not None else []
    earlier = path[: path.index(index)] if index in path else path
    return earlier[-1] if earlier else None


def _page_view(
    survey: Survey, index: int, facts: Facts, lang: str, response: SurveyResponse | None = None, **extra: Any
) -> SurveyView:
    """Page ``index`` with the items whose condition holds, prefilled with the response's stored answers (the
    respondent's own, so going back or resuming shows what was given), a back button when there is a page to go
    back to, and the captcha for the answer that starts a response when the survey asks for one."""
    page = survey.pages[index]
    shown = shown_items(page, facts)
    definition = page_definition(
        page, shown, index=index, count=len(survey.pages), lang=lang, default_lang=_languages(survey)[0]
    )
    if response is not None and response.answers:
        definition["values"] = page_values(shown, response.answers)
    definition["back"] = _previous_page(response, index) is not None
    if (survey.settings or {}).get("captcha") and response is None:
        definition["captcha_url"] = public_url(f"/p/surveys/{survey.key}/captcha")
    return SurveyView(extra.pop("status", "page"), survey, lang, page=definition, **extra)


def _end_view(survey: Survey, lang: str, status: str = "complete", resume_key: str = "") -> SurveyView:
    settings = survey.settings or {}
    message = localized(settings.get("closing_text"), lang, _languages(survey)[0]) or _("Thank you!")
    return SurveyView(
        status, survey, lang, message=message, redirect=settings.get("redirect_url"), resume_key=resume_key
    )


def start(key: str, visitor: Visitor, *, now: datetime | None = None) -> SurveyView:
    """The page to show: the first, or where the visitor left off; an end page when done or closed."""
    survey, resumed = _load(key, visitor)
    profile = _linked_profile(survey, visitor)
    response = _find_response(survey, resumed, profile)
    lang = choose_language(survey, visitor, profile, response.language if response else "")
    if response is not None and response.completed_at is not None:
        if (survey.settings or {}).get("one_per_profile", True) or visitor.resume_key:
            return _end_view(survey, lang, resume_key=response.resume_key)
        response = None
    reason = _closed_reason(survey, now or utcnow())
    if reason is not None:
        return SurveyView("closed", survey, lang, message=reason, status_code=403)
    facts = _facts(response, _captured_hidden(survey, visitor.hidden), profile)
    index = response.page if response is not None else _first_page(survey, facts)
    return _page_view(survey, index, facts, lang, response, resume_key=response.resume_key if response else "")


def minimum_fill_seconds(survey: Survey) -> float:
    """The survey's minimum fill time, at most ``FORM_MIN_FILL_SECONDS`` when that is set (as for web forms)."""
    minimum = float((survey.settings or {}).get("min_fill_seconds", DEFAULT_FILL_SECONDS) or 0)
    cap = current_app.config.get("FORM_MIN_FILL_SECONDS")
    if cap is not None and str(cap).strip() != "":
        minimum = min(minimum, float(cap))
    return minimum


def spam_reason(
    survey: Survey, values: dict[str, Any], origin: str, token: str, now: float | None, *, starting: bool = False
) -> str | None:
    """The web forms' defences: the origin check, the honeypot, the signed fill-time token and its minimum age,
    and (``starting``: the answer that creates a response) the ALTCHA captcha when the survey asks for it."""
    if not form_spam.origin_allowed(origin, list(survey.allowed_origins or [])):
        return "origin"
    if _first(values, HONEYPOT):
        return "honeypot"
    age = form_spam.token_age(token_key(survey), token, now=now)
    if age is None:
        return "token"
    if not starting:  # a later page of a response that passed these checks when it started
        return None
    if age < minimum_fill_seconds(survey):
        return "too_fast"
    asks = (survey.settings or {}).get("captcha")
    if asks and not form_spam.captcha_solved(token_key(survey), _first(values, CAPTCHA)):
        return "captcha"
    return None


def captcha_challenge(key: str) -> dict[str, Any]:
    """An ALTCHA challenge for the survey with this key (the web forms' captcha)."""
    return form_spam.captcha_challenge(token_key(get_public_survey(key)))


def _first(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value or "")


def _opened(key: str, visitor: Visitor, values: dict[str, Any], origin: str, token: str, clock: float | None):
    """The survey, the linked profile, the response to continue and the language, or a view to answer at once
    (rejected as spam, already complete, closed)."""
    survey, resumed = _load(key, visitor)
    profile = _linked_profile(survey, visitor)
    response = _find_response(survey, resumed, profile)
    lang = choose_language(survey, visitor, profile, response.language if response else "")
    starting = response is None or response.completed_at is not None
    reason = spam_reason(survey, values, origin, token, clock, starting=starting)
    if reason is not None:
        return SurveyView("rejected", survey, lang, message=rejection_message(reason), status_code=403)
    if response is not None and response.completed_at is not None:
        if (survey.settings or {}).get("one_per_profile", True) or visitor.resume_key:
            return _end_view(survey, lang, resume_key=response.resume_key)
        response = None
    return survey, profile, response, lang


def submit_page(
    key: str,
    values: dict[str, Any],
    visitor: Visitor,
    *,
    page_index: Any,
    origin: str = "",
    token: str = "",
    now: datetime | None = None,
    clock: float | None = None,
) -> SurveyView:
    """Check and save one page (``values`` by posted name); answer the next page, or the end."""
    opened = _opened(key, visitor, values, origin, token, clock)
    if isinstance(opened, SurveyView):
        return opened
    survey, profile, response, lang = opened
    closed = _closed_reason(survey, now or utcnow())
    if closed is not None:
        return SurveyView("closed", survey, lang, message=closed, status_code=403)
    facts = _facts(response, _captured_hidden(survey, visitor.hidden), profile)
    current = response.page if response is not None else _first_page(survey, facts)
    resume_key = response.resume_key if response else ""
    if str(page_index) != str(current):
        return _elsewhere(survey, current, facts, lang, response)
    shown = shown_items(survey.pages[current], facts)
    clean = validate_page(shown, values)
    if not clean.valid:
        return _page_view(
            survey,
            current,
            facts,
            lang,
            response,
            resume_key=resume_key,
            errors=clean.errors,
            status="invalid",
            status_code=422,
        )
    if response is None:
        response = SurveyResponse(
            resume_key=new_resume_key(),
            account_id=survey.account_id,
            survey_id=survey.id,
            profile_id=profile.id if profile else None,
            hidden=dict(facts.hidden),
            answers={},
            reached=[],
        )
        db.session.add(response)
    try:
        return _save(survey, response, profile, current, clean.answers, lang, now or utcnow(), visitor.ip)
    except ValidationError as error:
        db.session.rollback()
        return SurveyView(
            "invalid",
            survey,
            lang,
            errors=error.errors,
            status_code=422,
            page=_page_view(survey, current, facts, lang).page,
            resume_key=response.resume_key or "",
        )


def _elsewhere(survey: Survey, current: int, facts: Facts, lang: str, response: SurveyResponse | None) -> SurveyView:
    """An old page posted again (the browser's back button, a second tab): show where the response really is."""
    return _page_view(
        survey,
        current,
        facts,
        lang,
        response,
        resume_key=response.resume_key if response else "",
        errors={"": _("This page was already answered; here is where you left off.")},
        status="invalid",
        status_code=409,
    )


def go_back(
    key: str,
    values: dict[str, Any],
    visitor: Visitor,
    *,
    page_index: Any,
    origin: str = "",
    token: str = "",
    clock: float | None = None,
) -> SurveyView:
    """Go back to the page answered before this one, keeping every answer: the valid answers posted with the
    current page are kept too (not checked for being complete, and not written to profile fields until the page
    is sent forward). The page shown again has its conditions evaluated anew and the stored answers filled in."""
    opened = _opened(key, visitor, values, origin, token, clock)
    if isinstance(opened, SurveyView):
        return opened
    survey, profile, response, lang = opened
    facts = _facts(response, _captured_hidden(survey, visitor.hidden), profile)
    if response is None:  # nothing answered yet: the first page again
        return _page_view(survey, _first_page(survey, facts), facts, lang)
    current = response.page
    if str(page_index) != str(current):
        return _elsewhere(survey, current, facts, lang, response)
    previous = _previous_page(response, current)
    if previous is None:
        return _page_view(survey, current, facts, lang, response, resume_key=response.resume_key)
    typed = validate_page(shown_items(survey.pages[current], facts), values).answers
    response.answers = {**_without_page(survey, response.answers, current), **typed}
    response.page = previous
    response.updated_at = utcnow()
    facts = Facts(dict(response.answers), dict(response.hidden or {}), _profile_values(profile))
    view = _page_view(survey, previous, facts, lang, response, resume_key=response.resume_key)
    db.session.commit()
    return view


def _without_page(survey: Survey, answers: dict[str, Any] | None, index: int) -> dict[str, Any]:
    page_ids = {item["id"] for item in survey.pages[index]["items"]}
    return {name: value for name, value in (answers or {}).items() if name.split(".")[0] not in page_ids}


def _on_path(survey: Survey, response: SurveyResponse, profile: Profile | None) -> dict[str, Any]:
    """The answers to the questions shown on the response's final path: a page left by going back and changing
    an answer (another branch, a condition that no longer holds) keeps nothing."""
    kept: dict[str, Any] = {}
    answers, hidden, profile_values = response.answers or {}, dict(response.hidden or {}), _profile_values(profile)
    for index in response.reached or []:
        for item in shown_items(survey.pages[index], Facts(kept, hidden, profile_values)):
            kept.update({name: value for name, value in answers.items() if name.split(".")[0] == item["id"]})
    return kept


def _save(
    survey: Survey,
    response: SurveyResponse,
    profile: Profile | None,
    index: int,
    answers: dict[str, Any],
    lang: str,
    now: datetime,
    ip: str = "",
) -> SurveyView:
    """Store the page's answers (dropping those of its hidden items), move on, and commit once."""
    response.answers = {**_without_page(survey, response.answers, index), **answers}
    response.language = lang
    path = list(response.reached or [])
    # The path so far: a page answered again (after going back) ends it there; the rest is walked anew.
    response.reached = [*(path[: path.index(index)] if index in path else path), index]
    facts = Facts(dict(response.answers), dict(response.hidden or {}), _profile_values(profile))
    following = next_page(survey.pages, index, facts)
    response.page = following if following is not None else index
    response.updated_at = now
    origin = Origin("survey", reference=str(survey.id))
    if profile is not None:
        _map_fields(survey, profile, index, answers, origin)
    if following is None:
        response.completed_at = now
        response.answers = _on_path(survey, response, profile)
        db.session.flush()
        if profile is not None:
            events.record(
                "survey_completed",
                origin,
                profile=profile,
                changes={"survey": {"id": survey.id, "response": response.id}},
            )
            _record_consents(survey, response, profile, lang, ip, now)
        notifications.schedule(survey, response)
    # The view is made before the commit, which expires every loaded row.
    if following is None:
        view = _end_view(survey, lang, resume_key=response.resume_key)
    else:
        view = _page_view(survey, following, facts, lang, response, resume_key=response.resume_key)
    db.session.commit()
    return view


def _record_consents(
    survey: Survey, response: SurveyResponse, profile: Profile, lang: str, ip: str, now: datetime
) -> None:
    """A consent record for each consent box ticked on the completed response's path, with its text as shown
    (in the response's language), the survey, the address and the time. Only for a known profile: an anonymous
    response has no person to hold the record, and keeps just its answer."""
    agreed = {
        item["id"]: consent_text(item, lang, _languages(survey)[0])
        for page in survey.pages
        for item in page["items"]
        if item["type"] == "consent" and (response.answers or {}).get(item["id"]) == CONSENT_ANSWER
    }
    consents.record_items(
        account_id=survey.account_id,
        database_id=profile.database_id,
        profile_id=profile.id,
        source="survey",
        reference=str(survey.id),
        consents=agreed,
        ip=ip,
        at=now,
    )


def _map_fields(survey: Survey, profile: Profile, index: int, answers: dict[str, Any], origin: Origin) -> None:
    """Answers of questions mapped to a profile field, written as one journalled profile update."""
    values = {}
    for item in survey.pages[index]["items"]:
        if item.get("field") and item["id"] in answers:
            answer = answers[item["id"]]
            if answer == "_other":
                answer = answers.get(f"{item['id']}.other", "")
            values[item["field"]] = answer
    if values:
        try:
            apply_update(survey.account, profile, values, {}, origin=origin, kind="profile_updated")
        except ValidationError as error:
            names = {item.get("field"): f"q_{item['id']}" for item in survey.pages[index]["items"]}
            raise ValidationError({names.get(name, ""): message for name, message in error.errors.items()}) from None
