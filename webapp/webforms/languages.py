"""The language a web form is shown, answered and confirmed in, chosen as for surveys (``widgets/languages.py``).

A form declares ``languages`` (its default first) and may name a ``language_field_id``, a profile field holding
a language code. The visitor gets the language the link or snippet asks for (``?lang=``, ``data-verrijk-lang``,
the host page's ``<html lang>``; a submission posts the one it was shown in as ``_lang``), else the profile's
language field (a signed link's profile; for the confirmation mail, the profile the submission wrote), else the
browser's, else the default. A form without ``languages`` (every form before they existed) has none to choose:
its plain texts are shown as they are and the product's own strings follow the request, as before.
"""

from collections.abc import Iterable
from typing import Any

from webapp.models import Form, Profile
from webapp.widgets.definition import form_languages
from webapp.widgets.languages import choose_language


def visitor_language(
    form: Form, *, requested: Any = "", browser: Iterable[str] = (), profile: Profile | None = None
) -> str | None:
    """One of the form's languages for this visitor; None for a form without languages."""
    languages = form_languages(form)
    if not languages:
        return None
    field_id = (form.settings or {}).get("language_field_id")
    profile_value = profile.fields.get(str(field_id)) if profile is not None and field_id else ""
    return choose_language(languages, requested=requested, profile_value=profile_value, browser=browser)
