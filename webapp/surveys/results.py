"""What a survey collected, for the admin: counts and percentages per question (with a server-rendered SVG bar
chart), open answers with search, the drop-off report, a profile's answers and the CSV export.

Counts read the responses' answers in keyset batches (one short query each); one results set across languages,
because answers are stored by option value, not by label. Partial responses count for the questions they reached.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.exports import files as exports
from webapp.extensions import db
from webapp.models import Account, Survey, SurveyResponse, utcnow
from webapp.profiles.profiles import get_profile
from webapp.surveys.builder import get_survey
from webapp.widgets.languages import localized
from webapp.widgets.survey_page import CONSENT_ANSWER, NPS_RANGE, OTHER

OPEN_ANSWERS_LIMIT = 200


@dataclass
class Bar:
    label: str
    count: int
    percent: float


@dataclass
class QuestionSummary:
    """One question's answers: ``bars`` (an option, column or score each; a grid has one set per row)."""

    item: dict[str, Any]
    label: str
    answered: int = 0
    bars: list[Bar] = field(default_factory=list)
    rows: list[tuple[str, list[Bar]]] = field(default_factory=list)
    nps: int | None = None


@dataclass
class DropOff:
    started: int
    pages: list[tuple[int, int]]  # (page number, responses that reached it)
    completed: int


def questions(survey: Survey) -> list[dict[str, Any]]:
    return [item for page in survey.pages for item in page["items"] if item["type"] != "text"]


def _label(survey: Survey, text: Any) -> str:
    languages = (survey.settings or {}).get("languages") or ["en"]
    return localized(text, languages[0], languages[0])


def _answers(survey: Survey) -> Iterator[tuple[dict[str, Any], list[int], bool]]:
    statement = select(
        SurveyResponse.id, SurveyResponse.answers, SurveyResponse.reached, SurveyResponse.completed_at
    ).where(SurveyResponse.survey_id == survey.id)
    for rows in exports.keyset_batches(statement, SurveyResponse.id):
        for _id, answers, reached, completed in rows:
            yield answers or {}, reached or [], completed is not None


def _bars(counts: Counter, labels: list[tuple[str, str]], total: int) -> list[Bar]:
    return [
        Bar(label, counts[value], round(100 * counts[value] / total, 1) if total else 0.0) for value, label in labels
    ]


def summary(account: Account, survey_id: int) -> tuple[Survey, list[QuestionSummary], DropOff]:
    """Per question counts and percentages (of those who answered it), and the drop-off report."""
    survey = get_survey(account, survey_id)
    items = questions(survey)
    counts: dict[str, Counter] = {item["id"]: Counter() for item in items}
    answered: Counter = Counter()
    reached: Counter = Counter()
    started = completed = 0
    for answers, pages, done in _answers(survey):
        started, completed = started + 1, completed + done
        reached.update(set(pages) | ({len(survey.pages) - 1} if done else set()))
        for item in items:
            value = answers.get(item["id"])
            if value in (None, "", [], {}):
                continue
            answered[item["id"]] += 1
            if isinstance(value, dict):
                counts[item["id"]].update(f"{row}\x00{column}" for row, column in value.items())
            else:
                counts[item["id"]].update(str(one) for one in (value if isinstance(value, list) else [value]))
    result = [_summarise(survey, item, counts[item["id"]], answered[item["id"]]) for item in items]
    drop_off = DropOff(started, [(index + 1, reached[index]) for index in range(len(survey.pages))], completed)
    return survey, result, drop_off


def _summarise(survey: Survey, item: dict[str, Any], counts: Counter, total: int) -> QuestionSummary:
    found = QuestionSummary(item, _label(survey, item.get("label")) or item["id"], total)
    if item["type"] == "choice":
        labels = [(option["value"], _label(survey, option["label"])) for option in item["options"]]
        if item.get("other"):
            labels.append((OTHER, _label(survey, item.get("other_label"))))
        found.bars = _bars(counts, labels, total)
    elif item["type"] in ("rating", "nps"):
        low, high = NPS_RANGE if item["type"] == "nps" else (1, item.get("scale", 5))
        found.bars = _bars(counts, [(str(score), str(score)) for score in range(low, high + 1)], total)
        if item["type"] == "nps" and total:
            promoters = counts["9"] + counts["10"]
            detractors = sum(counts[str(score)] for score in range(0, 7))
            found.nps = round(100 * (promoters - detractors) / total)
    elif item["type"] == "consent":
        found.bars = _bars(counts, [(CONSENT_ANSWER, _("Agreed"))], total)
    elif item["type"] == "grid":
        columns = [(column["value"], _label(survey, column["label"])) for column in item["columns"]]
        for row in item["rows"]:
            row_counts = Counter({column: counts[f"{row['value']}\x00{column}"] for column, _ in columns})
            found.rows.append((_label(survey, row["label"]), _bars(row_counts, columns, total)))
    return found


def open_answers(account: Account, survey_id: int, question_id: str, search: str = "") -> list[tuple[int, str]]:
    """The open answers to one question (response id, text), newest first, optionally containing ``search``."""
    survey = get_survey(account, survey_id)
    needle = search.strip().lower()
    found: list[tuple[int, str]] = []
    for answers, response_id in _answers_with_ids(survey):
        text = answers.get(question_id) if answers.get(question_id) != OTHER else answers.get(f"{question_id}.other")
        if text not in (None, "") and (not needle or needle in str(text).lower()):
            found.append((response_id, str(text)))
    return sorted(found, reverse=True)[:OPEN_ANSWERS_LIMIT]


def _answers_with_ids(survey: Survey) -> Iterator[tuple[dict[str, Any], int]]:
    statement = select(SurveyResponse.id, SurveyResponse.answers).where(SurveyResponse.survey_id == survey.id)
    for rows in exports.keyset_batches(statement, SurveyResponse.id):
        for response_id, answers in rows:
            yield answers or {}, response_id


def profile_answers(account: Account, profile_id: int) -> list[tuple[Survey, SurveyResponse, list[tuple[str, str]]]]:
    """A profile's responses with their answers as (question, answer) texts, for the profile page (``NotFound``
    for another account's profile)."""
    get_profile(account, profile_id)
    rows = db.session.execute(
        select(Survey, SurveyResponse)
        .join(SurveyResponse, SurveyResponse.survey_id == Survey.id)
        .where(SurveyResponse.profile_id == profile_id, SurveyResponse.account_id == account.id)
        .order_by(SurveyResponse.id.desc())
    ).all()
    return [(survey, response, _readable(survey, response.answers or {})) for survey, response in rows]


def _readable(survey: Survey, answers: dict[str, Any]) -> list[tuple[str, str]]:
    result = []
    for item in questions(survey):
        value = answers.get(item["id"])
        if value in (None, "", [], {}):
            continue
        result.append(
            (_label(survey, item.get("label")) or item["id"], _text(value, answers.get(f"{item['id']}.other")))
        )
    return result


def _text(value: Any, other: Any = None) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{row}: {column}" for row, column in value.items())
    values = value if isinstance(value, list) else [value]
    return "; ".join(str(other) if one == OTHER and other else str(one) for one in values)


# --- the CSV export ----------------------------------------------------------------------------------------


def csv_columns(survey: Survey) -> list[tuple[str, str, str | None]]:
    """(header, question id, sub-key): a column per question, per grid row, and per "other, namely" text."""
    columns: list[tuple[str, str, str | None]] = []
    for item in questions(survey):
        label = _label(survey, item.get("label")) or item["id"]
        if item["type"] == "grid":
            columns.extend(
                (f"{label}: {_label(survey, row['label'])}", item["id"], row["value"]) for row in item["rows"]
            )
            continue
        columns.append((label, item["id"], None))
        if item.get("other"):
            columns.append((f"{label}: {_label(survey, item.get('other_label'))}", f"{item['id']}.other", None))
    return columns


@dataclass
class ResponseExport:
    filename: str
    content_type: str
    chunks: Iterator[bytes]


def export_responses(account: Account, survey_id: int) -> ResponseExport:
    survey = get_survey(account, survey_id)
    filename = f"survey-{survey.id}-responses-{utcnow().date().isoformat()}.csv"
    chunks = (part.encode("utf-8") for part in _csv_lines(survey))
    return ResponseExport(filename, exports.CONTENT_TYPES["csv"], chunks)


def _csv_lines(survey: Survey) -> Iterator[str]:
    columns = csv_columns(survey)
    hidden = list((survey.settings or {}).get("hidden_fields") or [])
    writer = exports.CsvWriter()
    writer.row(["id", "profile", "language", "started", "completed", *hidden, *(header for header, _, _ in columns)])
    yield writer.take()
    statement = select(
        SurveyResponse.id,
        SurveyResponse.profile_id,
        SurveyResponse.language,
        SurveyResponse.created_at,
        SurveyResponse.completed_at,
        SurveyResponse.hidden,
        SurveyResponse.answers,
    ).where(SurveyResponse.survey_id == survey.id)
    for rows in exports.keyset_batches(statement, SurveyResponse.id):
        for response_id, profile_id, language, created, completed, hidden_values, answers in rows:
            answers = answers or {}
            cells = [_cell(answers.get(key), sub) for _, key, sub in columns]
            writer.row(
                [
                    response_id,
                    profile_id,
                    language,
                    exports.timestamp(created),
                    exports.timestamp(completed),
                    *((hidden_values or {}).get(name, "") for name in hidden),
                    *cells,
                ]
            )
        yield writer.take()


def _cell(value: Any, sub: str | None) -> Any:
    if sub is not None:
        return (value or {}).get(sub, "") if isinstance(value, dict) else ""
    if isinstance(value, list):
        return "; ".join(str(one) for one in value)
    return "" if value is None else value


@dataclass
class ResponsePage:
    responses: list[SurveyResponse]
    next_before_id: int | None  # pass as ``before_id`` for the next page; None on the last


def list_responses(
    account: Account, survey_id: int, *, completed: bool | None = None, before_id: int | None = None, limit: int = 50
) -> ResponsePage:
    """A survey's responses, newest first, ``limit`` at a time (keyset paging on the id, over the survey's index);
    ``completed`` True or False keeps only the completed or the partial ones."""
    survey = get_survey(account, survey_id)
    query = select(SurveyResponse).where(SurveyResponse.survey_id == survey.id)
    if completed is not None:
        done = SurveyResponse.completed_at.is_not(None)
        query = query.where(done if completed else ~done)
    if before_id is not None:
        query = query.where(SurveyResponse.id < before_id)
    rows = list(db.session.scalars(query.order_by(SurveyResponse.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return ResponsePage(rows, rows[-1].id if more and rows else None)
