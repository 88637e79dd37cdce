"""Profiles named by their email address or name, not their number, where subprofiles are listed (a collection
selection's members and its editor's preview), in a follow-up's runs and in a form's submissions."""

from tests.factories import make_database, make_followup, make_followup_run, make_form, make_form_submission
from webapp.extensions import db
from webapp.models import EmailTemplate
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.selections import selections


def test_a_collection_selection_names_each_subprofile_by_its_profile(browser):
    me = browser("editor")
    account = me.user.account
    database = make_database(account)
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Product"), collection_id=orders.id)
    ann = profiles.create_profile(account, database.id, {"Email": "ann@example.nl"}, origin=Origin("admin"))
    item = subprofiles.create_subprofile(account, ann.id, orders.id, {"Product": "Book"}, origin=Origin("admin"))
    selection = selections.create_selection(account, database.id, "All orders", collection_id=orders.id)
    members = me.get(f"/selections/{selection.id}/members").get_data(as_text=True)
    assert f"Subprofile {item.id} of ann@example.nl" in members
    editor = me.get(f"/selections/{selection.id}").get_data(as_text=True)
    assert f"Subprofile {item.id} of ann@example.nl" in editor


def test_a_follow_ups_runs_and_a_forms_submissions_name_their_profiles(browser):
    me = browser("editor")
    account = me.user.account
    database = make_database(account, fields={"Email": "email"})
    ann = profiles.create_profile(account, database.id, {"Email": "ann@example.nl"}, origin=Origin("admin"))
    gone = profiles.create_profile(account, database.id, {"Email": "gone@example.nl"}, origin=Origin("admin"))
    welcome = EmailTemplate(account_id=account.id, database_id=database.id, name="Hi", subject="Hi", text="Hello")
    db.session.add(welcome)
    db.session.commit()
    action = {"type": "send_email", "template_id": welcome.id}
    followup = make_followup(account, database, trigger={"kind": "profile_updated"}, actions=[action])
    form = make_form(account, database)
    for profile in (ann, gone):
        make_followup_run(followup, profile.id, status="review" if profile is ann else "done")
        make_form_submission(form, profile=profile)
    db.session.commit()
    gone_id = gone.id
    profiles.delete_profile(account, gone_id, origin=Origin("admin"))
    for url in (f"/followups/{followup.id}/runs", f"/forms/{form.id}/results"):
        page = me.get(url).get_data(as_text=True)
        assert ">ann@example.nl</a>" in page, url
        assert "gone@example.nl" not in page and f"#{gone_id}<" not in page and "removed" in page, url
