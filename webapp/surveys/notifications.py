"""The notification email per completed response, to the survey's addresses: a ``scheduled_work`` row written
with the response, sent by a worker (work kind ``survey_notification``)."""

from flask_babel import gettext as _

from webapp.email.delivery import send_mail
from webapp.extensions import db
from webapp.models import ScheduledWork, Survey, SurveyResponse
from webapp.platform import work

KIND = "survey_notification"


def schedule(survey: Survey, response: SurveyResponse) -> None:
    """Add the notification to the completing transaction, when the survey has addresses to notify."""
    if (survey.settings or {}).get("notify"):
        work.schedule(KIND, payload={"response_id": response.id}, account_id=survey.account_id)


def answers_text(survey: Survey, response: SurveyResponse) -> str:
    lines = []
    for page in survey.pages:
        for item in page["items"]:
            if item["type"] == "text" or item["id"] not in (response.answers or {}):
                continue
            label = item["label"] if isinstance(item["label"], str) else next(iter(item["label"].values()), "")
            answer = response.answers[item["id"]]
            if isinstance(answer, dict):
                answer = "; ".join(f"{row}: {column}" for row, column in answer.items())
            elif isinstance(answer, list):
                answer = ", ".join(str(value) for value in answer)
            other = response.answers.get(f"{item['id']}.other")
            lines.append(f"{label or item['id']}: {answer}" + (f" ({other})" if other else ""))
    return "\n".join(lines)


def send_notification(row: ScheduledWork) -> None:
    """Send one mail per address; the message id per response and address keeps a retried row recognisable."""
    response = db.session.get(SurveyResponse, row.payload["response_id"])
    if response is None:
        return
    survey = db.session.get_one(Survey, response.survey_id)
    subject = _("New response to %(name)s", name=survey.name)
    text = answers_text(survey, response)
    for position, address in enumerate((survey.settings or {}).get("notify") or []):
        send_mail(
            survey.account_id,
            to=address,
            subject=subject,
            text=text,
            origin_reference=f"survey-response-{response.id}-{position}",
        )


def init_app(app) -> None:
    with app.app_context():
        work.register_kind(KIND, send_notification)
