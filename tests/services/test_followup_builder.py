"""The follow-up builder service: posted step rows → definitions saved through the engine's validator, row
edits, status changes, run counts and run lists."""

import json
from datetime import timedelta

import pytest

from tests.factories import make_account, make_database, make_followup, make_followup_run, make_form
from webapp.blueprints.admin.followup_drafts import apply_edit, duration_parts, parse_draft
from webapp.extensions import db
from webapp.followups import definitions, run_history
from webapp.followups.definitions import Draft, draft_of
from webapp.models import EmailTemplate, FollowUp, FollowUpRun, utcnow
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field


@pytest.fixture
def shop(account):
    database = make_database(
        account,
        "Shop",
        fields={
            "Email": {"type": "email"},
            "FirstName": "text",
            "Newsletter": "text",
            "Birthday": "date",
            "Age": "number",
        },
    )
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Total", type="decimal"), collection_id=orders.id)
    databases.create_interest(account, database.id, "Bikes")
    db.session.refresh(database)
    return database


def field(database, name):
    return next(item for item in database.fields if item.name == name)


def template(account, database=None, name="Welcome"):
    row = EmailTemplate(
        account_id=account.id,
        database_id=database.id if database else None,
        name=name,
        subject="Hello",
        text="Hi {{ profile.FirstName }}",
    )
    db.session.add(row)
    db.session.commit()
    return row


def posted(**values) -> dict[str, list[str]]:
    """Form data as the browser posts it: names with dashes (``trigger__kind`` → ``trigger-kind``)."""
    return {
        name.replace("__", "-"): value if isinstance(value, list) else [str(value)] for name, value in values.items()
    }


def base_form(**extra) -> dict[str, list[str]]:
    defaults = {
        "name": "Welcome",
        "trigger__kind": "profile_created",
        "delay__kind": "none",
        "action__0__type": "unsubscribe",
    }
    return posted(**{**defaults, **extra})


def saved(account, shop, data) -> FollowUp:
    followup = definitions.create_followup(account, shop.id, parse_draft(data))
    db.session.expire_all()
    return db.session.get(FollowUp, followup.id)


# --- every step kind saves and comes back the same ------------------------------------------------------------


def test_a_minimal_follow_up_is_saved_active(account, shop):
    followup = saved(account, shop, base_form())
    assert followup.status == "active" and followup.name == "Welcome"
    assert followup.trigger == {"kind": "profile_created", "exclude_sources": []}
    assert followup.delay == {"kind": "none"}
    assert followup.actions == [{"type": "unsubscribe"}]
    assert followup.activation_condition == {"match": "all", "rules": []}


@pytest.mark.parametrize(
    "kind",
    [
        "profile_created",
        "profile_removed",
        "form_submitted",
        "survey_completed",
        "email_opened",
        "unsubscribed",
        "bounced",
    ],
)
def test_plain_trigger_kinds(account, shop, kind):
    followup = saved(account, shop, base_form(trigger__kind=kind, **{"trigger-exclude_sources": ["import", "soap"]}))
    assert followup.trigger == {"kind": kind, "exclude_sources": ["import", "soap"]}


def test_profile_updated_with_fields_and_a_to_value(account, shop):
    newsletter = field(shop, "Newsletter")
    followup = saved(
        account,
        shop,
        base_form(
            trigger__kind="profile_updated",
            trigger__to_value="yes",
            **{"trigger-fields": [str(newsletter.id)]},
        ),
    )
    assert followup.trigger["fields"] == [newsletter.id] and followup.trigger["to_value"] == "yes"


@pytest.mark.parametrize("kind", ["subprofile_created", "subprofile_updated", "subprofile_removed"])
def test_subprofile_triggers_keep_their_collection(account, shop, kind):
    orders = shop.collections[0]
    followup = saved(account, shop, base_form(trigger__kind=kind, collection_id=orders.id))
    assert followup.collection_id == orders.id and followup.trigger["kind"] == kind


def test_a_profile_trigger_drops_a_posted_collection(account, shop):
    followup = saved(account, shop, base_form(collection_id=shop.collections[0].id))
    assert followup.collection_id is None


def test_email_clicked_with_a_link(account, shop):
    followup = saved(account, shop, base_form(trigger__kind="email_clicked", trigger__link="https://example.com/x"))
    assert followup.trigger["link"] == "https://example.com/x"


def test_date_field_trigger(account, shop):
    birthday = field(shop, "Birthday")
    followup = saved(
        account,
        shop,
        base_form(
            trigger__kind="date_field",
            trigger__field_id=birthday.id,
            trigger__offset_days="-2",
            trigger__time="09:30",
            trigger__yearly="1",
        ),
    )
    assert followup.trigger == {
        "kind": "date_field",
        "exclude_sources": [],
        "field_id": birthday.id,
        "offset_days": -2,
        "time": "09:30",
        "yearly": True,
    }


def test_form_submitted_for_one_form(account, shop):
    form = make_form(account, shop)
    followup = saved(account, shop, base_form(trigger__kind="form_submitted", form_id=form.id))
    assert followup.form_id == form.id


def test_a_form_of_another_database_is_refused(account, shop):
    other = make_form(account, make_database(account, "Other"))
    with pytest.raises(ValidationError) as error:
        definitions.create_followup(
            account, shop.id, parse_draft(base_form(trigger__kind="form_submitted", form_id=other.id))
        )
    assert "form_id" in error.value.errors


def test_conditions_with_every_rule_kind(account, shop):
    age, bikes = field(shop, "Age"), shop.interests[0]
    followup = saved(
        account,
        shop,
        base_form(
            activation__match="any",
            activation__0__kind="field",
            activation__0__field_id=age.id,
            activation__0__operator=">",
            activation__0__value="17",
            activation__1__kind="interest",
            activation__1__interest_id=bikes.id,
            activation__1__state="0",
            activation__2__kind="subscribed",
            activation__2__state="1",
            activation__3__kind="field",
            activation__3__field_id=field(shop, "FirstName").id,
            activation__3__operator="empty",
            activation__3__value="ignored",
            execution__0__kind="field",
            execution__0__field_id=field(shop, "Newsletter").id,
            execution__0__operator="in",
            execution__0__value="yes, ja",
        ),
    )
    assert followup.activation_condition == {
        "match": "any",
        "rules": [
            {"field_id": age.id, "operator": ">", "value": 17},
            {"interest_id": bikes.id, "value": False},
            {"subscribed": True},
            {"field_id": field(shop, "FirstName").id, "operator": "empty"},
        ],
    }
    assert followup.execution_condition["rules"][0]["value"] == ["yes", "ja"]


def test_a_nested_group_posted_back_is_kept(account, shop):
    group = {"match": "any", "rules": [{"subscribed": True}]}
    followup = saved(account, shop, base_form(activation__0__kind="group", activation__0__group=json.dumps(group)))
    assert followup.activation_condition["rules"] == [group]


def test_a_group_is_parsed_with_its_own_match_and_rules(account, shop):
    newsletter, bikes = field(shop, "Newsletter"), shop.interests[0]
    followup = saved(
        account,
        shop,
        base_form(
            activation__match="all",
            activation__0__kind="subscribed",
            activation__0__state="1",
            activation__1__kind="group",
            activation__1__match="any",
            activation__1__rules__0__kind="field",
            activation__1__rules__0__field_id=newsletter.id,
            activation__1__rules__0__operator="=",
            activation__1__rules__0__value="yes",
            activation__1__rules__1__kind="interest",
            activation__1__rules__1__interest_id=bikes.id,
            activation__1__rules__1__state="1",
            execution__0__kind="group",
            execution__0__match="all",
        ),
    )
    assert followup.activation_condition == {
        "match": "all",
        "rules": [
            {"subscribed": True},
            {
                "match": "any",
                "rules": [
                    {"field_id": newsletter.id, "operator": "=", "value": "yes"},
                    {"interest_id": bikes.id, "value": True},
                ],
            },
        ],
    }
    assert followup.execution_condition == {"match": "all", "rules": [{"match": "all", "rules": []}]}


def test_a_group_inside_a_group_is_posted_back_as_it_was(account, shop):
    deeper = {"match": "any", "rules": [{"subscribed": True}, {"match": "all", "rules": [{"subscribed": False}]}]}
    data = base_form(
        activation__0__kind="group",
        activation__0__match="any",
        activation__0__rules__0__kind="group",
        activation__0__rules__0__group=json.dumps(deeper),
    )
    followup = saved(account, shop, data)
    assert followup.activation_condition["rules"] == [{"match": "any", "rules": [deeper]}]


def test_a_stored_nested_definition_parses_back_unchanged(account, shop):
    """What the builder posts for a stored two-level condition (as ``_condition.html`` names it) is the stored
    condition again: groups edited, the group below them kept."""
    age, bikes = field(shop, "Age"), shop.interests[0]
    deeper = {"match": "all", "rules": [{"subscribed": False}, {"interest_id": bikes.id, "value": True}]}
    condition = {
        "match": "all",
        "rules": [
            {"field_id": age.id, "operator": ">", "value": 17},
            {"match": "any", "rules": [{"subscribed": True}, deeper]},
        ],
    }
    stored = saved(account, shop, base_form(activation__0__kind="group", activation__0__group=json.dumps(condition)))
    assert stored.activation_condition["rules"] == [condition]  # stored as is, two levels deep
    data = base_form(
        activation__match="all",
        activation__0__kind="field",
        activation__0__field_id=age.id,
        activation__0__operator=">",
        activation__0__value="17",
        activation__1__kind="group",
        activation__1__match="any",
        activation__1__rules__0__kind="subscribed",
        activation__1__rules__0__state="1",
        activation__1__rules__1__kind="group",
        activation__1__rules__1__group=json.dumps(deeper),
    )
    updated = definitions.update_followup(account, stored.id, parse_draft(data))
    assert updated.activation_condition == condition


@pytest.mark.parametrize(
    ("amount", "unit", "seconds"), [("2", "hours", 7200), ("1,5", "days", 129600), ("90", "minutes", 5400)]
)
def test_duration_delay(account, shop, amount, unit, seconds):
    followup = saved(account, shop, base_form(delay__kind="duration", delay__amount=amount, delay__unit=unit))
    assert followup.delay == {"kind": "duration", "seconds": seconds}


def test_duration_parts_pick_the_largest_unit():
    assert duration_parts(7200) == ("2", "hours")
    assert duration_parts(172800) == ("2", "days")
    assert duration_parts(5400) == ("90", "minutes")
    assert duration_parts(90) == ("1.5", "minutes")


def test_time_of_day_and_date_field_delays(account, shop):
    followup = saved(account, shop, base_form(delay__kind="time_of_day", delay__time="9:00"))
    assert followup.delay == {"kind": "time_of_day", "time": "09:00"}
    birthday = field(shop, "Birthday")
    followup = saved(
        account,
        shop,
        base_form(
            name="Later",
            delay__kind="date_field",
            delay__field_id=birthday.id,
            delay__offset_days="1",
            delay__time="08:00",
        ),
    )
    assert followup.delay == {"kind": "date_field", "field_id": birthday.id, "offset_days": 1, "time": "08:00"}


def test_every_action_type(account, shop):
    mail = template(account, shop)
    orders, bikes = shop.collections[0], shop.interests[0]
    total = orders.fields[0]
    first_name = field(shop, "FirstName")
    followup = saved(
        account,
        shop,
        posted(
            name="All",
            trigger__kind="profile_created",
            delay__kind="none",
            action__0__type="send_email",
            action__0__template_id=mail.id,
            action__1__type="update_fields",
            action__1__values__0__field=first_name.id,
            action__1__values__0__value="{{ profile.FirstName }}!",
            action__1__values__1__field="",
            action__1__values__1__value="dropped",
            action__2__type="create_subprofile",
            action__2__collection_id=orders.id,
            action__2__values__0__field=total.id,
            action__2__values__0__value="9.95",
            action__3__type="set_interests",
            **{f"action-3-interest-{bikes.id}": ["on"]},
            action__4__type="webhook",
            action__4__url="https://example.com/hook",
            action__5__type="unsubscribe",
            action__6__type="remove_profile",
        ),
    )
    assert followup.actions == [
        {"type": "send_email", "template_id": mail.id},
        {"type": "update_fields", "values": {str(first_name.id): "{{ profile.FirstName }}!"}},
        {"type": "create_subprofile", "collection_id": orders.id, "values": {str(total.id): "9.95"}},
        {"type": "set_interests", "interests": {str(bikes.id): True}},
        {"type": "webhook", "url": "https://example.com/hook"},
        {"type": "unsubscribe"},
        {"type": "remove_profile"},
    ]


def test_a_saved_follow_up_comes_back_as_its_draft(account, shop):
    followup = saved(account, shop, base_form(delay__kind="duration", delay__amount="3", delay__unit="days"))
    draft = draft_of(followup)
    assert draft.name == "Welcome" and draft.parts() == {
        "trigger": followup.trigger,
        "activation_condition": followup.activation_condition,
        "execution_condition": followup.execution_condition,
        "delay": followup.delay,
        "actions": followup.actions,
    }


# --- errors by step ------------------------------------------------------------------------------------------


def test_errors_come_by_step_and_nothing_is_saved(account, shop):
    data = posted(
        name="",
        trigger__kind="date_field",
        delay__kind="duration",
        delay__amount="soon",
        activation__0__kind="field",
        activation__0__field_id="",
        activation__0__operator="=",
    )
    with pytest.raises(ValidationError) as error:
        definitions.create_followup(account, shop.id, parse_draft(data))
    assert set(error.value.errors) == {"name", "trigger", "activation_condition", "delay", "actions"}
    assert db.session.query(FollowUp).count() == 0


def test_an_update_with_errors_keeps_the_stored_definition(account, shop):
    followup = saved(account, shop, base_form())
    with pytest.raises(ValidationError):
        definitions.update_followup(account, followup.id, parse_draft(base_form(action__0__type="send_email")))
    db.session.expire_all()
    assert db.session.get(FollowUp, followup.id).actions == [{"type": "unsubscribe"}]


def test_an_update_saves(account, shop):
    followup = saved(account, shop, base_form())
    definitions.update_followup(
        account, followup.id, parse_draft(base_form(name="Renamed", action__0__type="remove_profile"))
    )
    db.session.expire_all()
    stored = db.session.get(FollowUp, followup.id)
    assert stored.name == "Renamed" and stored.actions == [{"type": "remove_profile"}]


# --- editing rows without saving ----------------------------------------------------------------------------


def test_rule_rows_are_added_and_removed():
    draft = Draft()
    apply_edit(draft, "add-rule:activation")
    apply_edit(draft, "add-rule:activation")
    apply_edit(draft, "add-rule:execution")
    assert len(draft.activation_condition["rules"]) == 2 and len(draft.execution_condition["rules"]) == 1
    draft.activation_condition["rules"][1]["value"] = "second"
    apply_edit(draft, "remove-rule:activation:0")
    assert draft.activation_condition["rules"] == [{"field_id": None, "operator": "=", "value": "second"}]


def test_actions_are_added_moved_and_removed():
    draft = Draft()
    apply_edit(draft, "add-action", new_action="webhook")
    apply_edit(draft, "add-action", new_action="unsubscribe")
    apply_edit(draft, "up-action:1")
    assert [action["type"] for action in draft.actions] == ["unsubscribe", "webhook"]
    apply_edit(draft, "down-action:1")  # the last one cannot go further down
    apply_edit(draft, "up-action:0")  # nor the first one up
    assert [action["type"] for action in draft.actions] == ["unsubscribe", "webhook"]
    apply_edit(draft, "remove-action:0")
    apply_edit(draft, "remove-action:7")
    assert draft.actions == [{"type": "webhook"}]


def test_a_value_row_is_removed():
    draft = Draft(actions=[{"type": "update_fields", "values": {"3": "a", "4": "b"}}])
    apply_edit(draft, "remove-value:0:3")
    assert draft.actions[0]["values"] == {"4": "b"}


def test_rule_rows_are_moved():
    draft = Draft(activation_condition={"match": "all", "rules": [{"subscribed": True}, {"subscribed": False}]})
    apply_edit(draft, "down-rule:activation:0")
    assert draft.activation_condition["rules"] == [{"subscribed": False}, {"subscribed": True}]
    apply_edit(draft, "up-rule:activation:0")  # the first one cannot go further up
    apply_edit(draft, "down-rule:activation:1")  # nor the last one down
    assert draft.activation_condition["rules"] == [{"subscribed": False}, {"subscribed": True}]


def test_a_group_is_added_matching_the_other_way_round():
    draft = Draft(execution_condition={"match": "any", "rules": []})
    apply_edit(draft, "add-group:activation")
    apply_edit(draft, "add-group:execution")
    blank = {"field_id": None, "operator": "=", "value": ""}
    assert draft.activation_condition["rules"] == [{"match": "any", "rules": [blank]}]  # OR inside AND
    assert draft.execution_condition["rules"] == [{"match": "all", "rules": [blank]}]  # AND inside OR


def test_rules_inside_a_group_are_added_moved_and_removed():
    group = {"match": "any", "rules": [{"subscribed": True}]}
    draft = Draft(activation_condition={"match": "all", "rules": [{"subscribed": False}, group]})
    apply_edit(draft, "add-rule:activation:1")
    assert group["rules"] == [{"subscribed": True}, {"field_id": None, "operator": "=", "value": ""}]
    apply_edit(draft, "up-rule:activation:1:1")
    assert group["rules"] == [{"field_id": None, "operator": "=", "value": ""}, {"subscribed": True}]
    apply_edit(draft, "down-rule:activation:1:0")
    apply_edit(draft, "remove-rule:activation:1:1")
    assert group["rules"] == [{"subscribed": True}]
    apply_edit(draft, "up-rule:activation:1")
    assert draft.activation_condition["rules"] == [group, {"subscribed": False}]  # the group moves as a whole
    apply_edit(draft, "remove-rule:activation:0")
    assert draft.activation_condition["rules"] == [{"subscribed": False}]


BAD_GROUP_OPERATIONS = [
    "add-rule:activation:0",  # rule 0 is no group
    "add-rule:activation:3",
    "add-rule:activation:1:0",
    "add-group:activation:1",  # no group inside a group
    "remove-rule:activation:1:5",
    "remove-rule:activation:1:0:0",
    "up-rule:activation:1:x",
    "down-rule:activation:2:0",  # rule 2's rules are no list
    "remove-rule:activation:2:0",
    "add-rule:activation:2",
]


def test_bad_operations_on_groups_change_nothing():
    def condition():
        deeper = {"match": "all", "rules": [{"subscribed": True}, {"subscribed": False}]}
        return {"match": "all", "rules": [{"subscribed": True}, {"match": "any", "rules": [deeper]}, {"rules": "?"}]}

    for operation in BAD_GROUP_OPERATIONS:
        draft = Draft(activation_condition=condition())
        apply_edit(draft, operation)
        assert draft == Draft(activation_condition=condition()), operation


@pytest.mark.parametrize("operation", ["refresh", "nonsense", "remove-rule:other:0", "up-action:x", "add-rule"])
def test_unknown_or_bad_operations_change_nothing(operation):
    draft = Draft(actions=[{"type": "unsubscribe"}])
    apply_edit(draft, operation)
    assert draft == Draft(actions=[{"type": "unsubscribe"}])


# --- status, deletion, tenancy -------------------------------------------------------------------------------


def test_pause_resume_and_delete(account, shop):
    followup = saved(account, shop, base_form())
    assert definitions.pause_followup(account, followup.id).status == "paused"
    assert definitions.resume_followup(account, followup.id).status == "active"
    make_followup_run(followup, None)
    assert definitions.delete_followup(account, followup.id) == shop.id
    assert db.session.query(FollowUp).count() == 0 and db.session.query(FollowUpRun).count() == 0


def test_another_accounts_follow_ups_are_not_found(account, shop):
    followup = saved(account, shop, base_form())
    other = make_account("Other")
    for call in (
        definitions.get_followup,
        definitions.pause_followup,
        definitions.delete_followup,
        run_history.list_runs,
        run_history.review_runs,
    ):
        with pytest.raises(NotFound):
            call(other, followup.id)
    with pytest.raises(NotFound):
        definitions.create_followup(other, shop.id, parse_draft(base_form()))
    assert definitions.list_followups(other) == []


def test_templates_offered_are_the_accounts_general_and_the_databases_own(account, shop):
    general, own = template(account, name="General"), template(account, shop, name="Own")
    template(account, make_database(account, "Other"), name="Elsewhere")
    template(make_account("Other"), name="Foreign")
    assert definitions.template_choices(account, shop.id) == [general, own]


# --- runs ------------------------------------------------------------------------------------------------------


@pytest.fixture
def runs(account, shop):
    followup = make_followup(account, shop, trigger={"kind": "profile_created"}, actions=[{"type": "unsubscribe"}])
    profile = profiles.create_profile(account, shop.id, {"FirstName": "Ann"}, origin=Origin("admin"))
    db.session.query(FollowUpRun).delete()  # runs the profile's creation triggered
    made = {
        status: make_followup_run(followup, profile.id, status=status)
        for status in ("pending", "queued", "done", "failed", "review", "cancelled")
    }
    return followup, profile, made


def test_run_counts_per_status_with_open_ones(account, runs):
    followup, _profile, _made = runs
    counts = run_history.run_counts(account, [followup.id])[followup.id]
    assert counts["open"] == 2 and counts["failed"] == 1 and counts["review"] == 1 and counts["done"] == 1
    assert run_history.run_counts(make_account("Other"), [followup.id]) == {followup.id: {"open": 0}}


def test_runs_are_paged_newest_first_and_filtered(account, runs):
    followup, _profile, made = runs
    first = run_history.list_runs(account, followup.id, limit=4)
    assert [run.id for run in first.items] == sorted((run.id for run in made.values()), reverse=True)[:4]
    second = run_history.list_runs(account, followup.id, limit=4, before=first.next_before)
    assert len(second.items) == 2 and second.next_before is None
    assert run_history.list_runs(account, followup.id, status="failed").items == [made["failed"]]
    assert run_history.review_runs(account, followup.id) == [made["review"]]
    with pytest.raises(ValidationError):
        run_history.list_runs(account, followup.id, status="bogus")


def test_runs_of_a_profile_waiting_and_past(account, runs):
    followup, profile, made = runs
    later = make_followup_run(followup, profile.id, due_at=utcnow() + timedelta(days=2))
    found = run_history.runs_of_profile(account, profile.id)
    assert [run for run, _item in found.waiting] == [made["pending"], made["queued"], later]
    assert {run.status for run, _item in found.past} == {"done", "failed", "review", "cancelled"}
    assert all(item.id == followup.id for _run, item in found.past)
    with pytest.raises(NotFound):
        run_history.runs_of_profile(make_account("Other"), profile.id)
