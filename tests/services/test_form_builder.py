"""The admin side of web forms: forms, items of every type, order, settings validation, results queries."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest

from tests.factories import make_account, make_database, make_form_submission
from webapp.extensions import db
from webapp.models import Form, FormFile
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.webforms import builder
from webapp.webforms import items as webforms_items
from webapp.webforms import results as form_results


@pytest.fixture
def database(account):
    database = make_database(
        account,
        fields={
            "Email": {"type": "email", "indexed": True},
            "FirstName": "text",
            "Bio": "large_text",
            "Age": "number",
            "Plan": {"type": "choice", "options": {"choices": ["free", "pro"]}},
            "Topics": {"type": "choice", "options": {"choices": ["news", "deals"], "multiple": True}},
            "Newsletter": {"type": "choice", "options": {"choices": ["no", "unconfirmed", "yes"]}},
            "Password": "text",
        },
    )
    databases.create_interest(account, database.id, "Cycling")
    return database


@pytest.fixture
def form(account, database):
    return builder.create_form(account, database.id, name="Sign-up")


def field_id(database, name: str) -> int:
    return next(field.id for field in database.fields if field.name == name)


def reload(form) -> Form:
    db.session.expire_all()
    return db.session.get(Form, form.id)


# --- forms ---------------------------------------------------------------------------------------


def test_a_new_form_creates_profiles_and_has_a_key(account, database):
    form = builder.create_form(account, database.id, name="  Newsletter   sign-up ")
    assert form.name == "Newsletter sign-up" and form.behaviour == "create" and form.revision == 1
    assert len(form.key) >= 16 and form.items == [] and form.allowed_origins == []
    assert builder.settings_of(form)["min_fill_seconds"] == 3
    other = builder.create_form(account, database.id, name="Other")
    assert other.key != form.key


def test_a_form_needs_a_name_and_a_collection_of_its_own_database(account, database):
    elsewhere = databases.create_collection(account, make_database(account, "Other").id, "Orders")
    with pytest.raises(ValidationError) as error:
        builder.create_form(account, database.id, name=" ", collection_id=elsewhere.id)
    assert set(error.value.errors) == {"name", "collection_id"}
    orders = databases.create_collection(account, database.id, "Orders")
    assert builder.create_form(account, database.id, name="Order", collection_id=orders.id).collection_id == orders.id


def test_forms_of_another_account_are_not_found(account, form):
    stranger = make_account("Other")
    with pytest.raises(NotFound):
        builder.get_form(stranger, form.id)
    with pytest.raises(NotFound):
        webforms_items.add_item(stranger, form.id, "consent")
    with pytest.raises(NotFound):
        form_results.list_submissions(stranger, form.id)
    with pytest.raises(NotFound):
        builder.get_form(account, 2**40)


def test_the_list_counts_accepted_submissions(account, database, form):
    empty = builder.create_form(account, database.id, name="Another")
    make_form_submission(form, status="accepted")
    make_form_submission(form, status="accepted")
    make_form_submission(form, status="rejected", reason="honeypot")
    assert [(found.name, count) for found, count in builder.list_forms(account)] == [
        ("Another", 0),
        ("Sign-up", 2),
    ]
    assert [found.id for found, _count in builder.list_forms(account, database.id)] == [empty.id, form.id]
    assert builder.list_forms(make_account("Other")) == []


def test_deleting_a_form_removes_its_submissions(account, form):
    make_form_submission(form, status="accepted")
    builder.delete_form(account, form.id)
    db.session.expire_all()
    assert db.session.get(Form, form.id) is None
    assert builder.list_forms(account) == []


# --- items ---------------------------------------------------------------------------------------


def test_every_item_type_can_be_added(account, database, form):
    interest = database.interests[0]
    added = [
        webforms_items.add_item(account, form.id, "field", field_id=field_id(database, "Email")),
        webforms_items.add_item(account, form.id, "field", field_id=field_id(database, "Bio")),
        webforms_items.add_item(account, form.id, "field", field_id=field_id(database, "Topics")),
        webforms_items.add_item(account, form.id, "password", field_id=field_id(database, "Password")),
        webforms_items.add_item(account, form.id, "hidden", field_id=field_id(database, "Newsletter")),
        webforms_items.add_item(account, form.id, "interest", interest_id=interest.id),
        webforms_items.add_item(account, form.id, "consent"),
        webforms_items.add_item(account, form.id, "text"),
        webforms_items.add_item(account, form.id, "file"),
        webforms_items.add_item(account, form.id, "captcha"),
    ]
    form = reload(form)
    assert [item["type"] for item in form.items] == [
        "field",
        "field",
        "field",
        "password",
        "hidden",
        "interest",
        "consent",
        "text",
        "file",
        "captcha",
    ]
    assert form.items == added and form.revision == 11
    assert len({item["id"] for item in form.items}) == 10
    email, bio, topics, password, hidden, cycling, consent, text, upload, captcha = form.items
    assert email["label"] == "Email" and email["field_id"] == field_id(database, "Email") and not email["multiline"]
    assert bio["multiline"] and topics["widget"] == "checkboxes"
    assert set(password) == {"id", "type", "field_id", *webforms_items.ITEM_PROPERTIES["password"]}
    assert hidden == {
        "id": hidden["id"],
        "type": "hidden",
        "field_id": field_id(database, "Newsletter"),
        "default": None,
    }
    assert cycling["interest_id"] == interest.id and cycling["label"] == "Cycling" and cycling["default"] is False
    assert consent["required"] and text["html"] == "" and upload["max_bytes"] == webforms_items.DEFAULT_FILE_BYTES
    assert captcha["label"] == ""


@pytest.mark.parametrize(
    ("kind", "bound", "key", "message"),
    [
        ("field", None, "field_id", "Choose a field of the form's database."),
        ("field", "Email", "field_id", "Field Email is on the form already."),
        ("hidden", "Email", "field_id", "Field Email is on the form already."),
        ("password", "Age", "field_id", "A password is stored in a text field."),
        ("interest", None, "interest_id", "Choose an interest of the form's database."),
        ("captcha", None, "type", "A form has one captcha at most."),
        ("survey", None, "type", "Choose a kind of item."),
    ],
)
def test_items_that_cannot_be_added(account, database, form, kind, bound, key, message):
    webforms_items.add_item(account, form.id, "field", field_id=field_id(database, "Email"))
    webforms_items.add_item(account, form.id, "captcha")
    revision = reload(form).revision
    with pytest.raises(ValidationError) as error:
        webforms_items.add_item(account, form.id, kind, field_id=field_id(database, bound) if bound else None)
    assert error.value.errors == {key: message}
    assert reload(form).revision == revision and len(reload(form).items) == 2


def test_fields_of_another_database_cannot_be_bound(account, form):
    other = make_database(account, "Other")
    with pytest.raises(ValidationError):
        webforms_items.add_item(account, form.id, "field", field_id=other.fields[0].id)


def test_a_form_with_a_collection_can_bind_its_fields(account, database):
    orders = databases.create_collection(account, database.id, "Orders")
    total = create_field(account, FieldSpec(name="Total", type="decimal"), collection_id=orders.id)
    form = builder.create_form(account, database.id, name="Order", collection_id=orders.id)
    assert webforms_items.add_item(account, form.id, "field", field_id=total.id)["field_id"] == total.id


def test_item_properties_are_saved_and_checked(account, database, form):
    item = webforms_items.add_item(account, form.id, "field", field_id=field_id(database, "Email"))
    saved = webforms_items.update_item(
        account,
        form.id,
        item["id"],
        {
            "label": " Your email ",
            "help": "We never share it.",
            "placeholder": "you@example.com",
            "required": "y",
            "default": "",
            "prefill": True,
            "validation_message": "Please check your address.",
            "html": "<b>x</b>",
            "sensitive": "y",
        },
    )
    assert saved == {
        **item,
        "label": "Your email",
        "help": "We never share it.",
        "placeholder": "you@example.com",
        "required": True,
        "default": None,
        "prefill": True,
        "validation_message": "Please check your address.",
        "multiline": False,
        "sensitive": True,
    }
    assert "html" not in saved
    assert reload(form).items == [saved] and reload(form).revision == 3


@pytest.mark.parametrize(
    ("field_name", "properties", "key"),
    [
        ("Email", {"default": "not an address"}, "default"),
        ("Age", {"default": "eleven"}, "default"),
        ("Plan", {"widget": "checkboxes"}, "widget"),
        ("Topics", {"widget": "radio"}, "widget"),
        ("Email", {"label": "x" * 201}, "label"),
    ],
)
def test_bad_item_properties_are_refused_and_nothing_changes(account, database, form, field_name, properties, key):
    item = webforms_items.add_item(account, form.id, "field", field_id=field_id(database, field_name))
    with pytest.raises(ValidationError) as error:
        webforms_items.update_item(account, form.id, item["id"], properties)
    assert set(error.value.errors) == {key}
    assert reload(form).items == [item]


def test_defaults_are_stored_as_the_field_keeps_them(account, database, form):
    plan = webforms_items.add_item(account, form.id, "field", field_id=field_id(database, "Plan"))
    topics = webforms_items.add_item(account, form.id, "field", field_id=field_id(database, "Topics"))
    age = webforms_items.add_item(account, form.id, "field", field_id=field_id(database, "Age"))
    assert (
        webforms_items.update_item(account, form.id, plan["id"], {"default": "PRO", "widget": "radio"})["default"]
        == "pro"
    )
    assert webforms_items.update_item(account, form.id, topics["id"], {"default": "deals, news"})["default"] == [
        "news",
        "deals",
    ]
    assert webforms_items.update_item(account, form.id, age["id"], {"default": "42"})["default"] == 42


def test_an_invisible_field_needs_a_valid_value(account, database, form):
    item = webforms_items.add_item(account, form.id, "hidden", field_id=field_id(database, "Newsletter"))
    with pytest.raises(ValidationError) as error:
        webforms_items.update_item(account, form.id, item["id"], {"default": ""})
    assert error.value.errors == {"default": "An invisible field needs a value."}
    with pytest.raises(ValidationError):
        webforms_items.update_item(account, form.id, item["id"], {"default": "maybe"})
    assert (
        webforms_items.update_item(account, form.id, item["id"], {"default": "unconfirmed"})["default"] == "unconfirmed"
    )


def test_text_blocks_are_sanitised_on_save(account, form):
    item = webforms_items.add_item(account, form.id, "text")
    saved = webforms_items.update_item(
        account,
        form.id,
        item["id"],
        {
            "html": (
                '<h2 onclick="steal()">Hello</h2><script>alert(1)</script><p style="color:red">Read our '
                '<a href="javascript:alert(1)">terms</a> and <a href="https://example.com/privacy">privacy</a>'
                '<img src=x onerror=alert(1)><iframe src="https://evil.example"></iframe></p>'
            )
        },
    )
    html = saved["html"]
    assert "<h2>Hello</h2>" in html and "<p>Read our " in html
    assert '<a href="https://example.com/privacy" rel="noopener noreferrer nofollow">privacy</a>' in html
    for bad in ("script", "onclick", "style", "javascript:", "<img", "onerror", "iframe"):
        assert bad not in html


def test_consent_text_and_file_limits(account, form):
    consent = webforms_items.add_item(account, form.id, "consent")
    saved = webforms_items.update_item(
        account,
        form.id,
        consent["id"],
        {"label": "I agree", "text": "I agree that Acme stores my data for the newsletter."},
    )
    assert saved["text"] == "I agree that Acme stores my data for the newsletter." and saved["required"] is False
    upload = webforms_items.add_item(account, form.id, "file")
    saved = webforms_items.update_item(
        account,
        form.id,
        upload["id"],
        {"label": "CV", "accept": ".PDF, image/png image/*, .pdf", "max_bytes": 5 * 1024 * 1024, "required": True},
    )
    assert saved["accept"] == [".pdf", "image/png", "image/*"] and saved["max_bytes"] == 5 * 1024 * 1024
    for accept, size in (("pdf", 1024 * 1024), (".pdf", webforms_items.MAX_FILE_BYTES + 1), (".pdf", 0)):
        with pytest.raises(ValidationError):
            webforms_items.update_item(account, form.id, upload["id"], {"accept": accept, "max_bytes": size})


def test_unknown_items_are_not_found(account, form):
    with pytest.raises(NotFound):
        webforms_items.update_item(account, form.id, "nope", {"label": "x"})
    with pytest.raises(NotFound):
        webforms_items.delete_item(account, form.id, "nope")


# --- order ---------------------------------------------------------------------------------------


def test_move_and_reorder(account, form):
    ids = [webforms_items.add_item(account, form.id, kind)["id"] for kind in ("consent", "text", "file")]
    webforms_items.move_item(account, form.id, ids[2], -1)
    assert [item["id"] for item in reload(form).items] == [ids[0], ids[2], ids[1]]
    revision = reload(form).revision
    webforms_items.move_item(account, form.id, ids[0], -1)  # already first
    assert reload(form).revision == revision
    webforms_items.reorder_items(account, form.id, [ids[1], ids[0], ids[2]])
    assert [item["id"] for item in reload(form).items] == [ids[1], ids[0], ids[2]]
    assert reload(form).revision == revision + 1
    for wrong in ([ids[0], ids[1]], [*ids, "extra"], [ids[0], ids[0], ids[1]]):
        with pytest.raises(ValidationError):
            webforms_items.reorder_items(account, form.id, wrong)
    webforms_items.delete_item(account, form.id, ids[0])
    assert [item["id"] for item in reload(form).items] == [ids[1], ids[2]]


# --- settings ------------------------------------------------------------------------------------


def settings(**overrides):
    values = {"name": "Sign-up", "behaviour": "create", "allowed_origins": "", "redirect_url": ""}
    values.update(overrides)
    return values


def test_settings_are_saved_and_raise_the_revision(account, database, form):
    builder.update_settings(
        account,
        form.id,
        **settings(
            name="Preferences",
            behaviour="update",
            key_field_ids=[str(field_id(database, "Email"))],
            on_no_match="reject",
            allowed_origins="https://Shop.Example:443/\nhttp://localhost:8080 https://shop.example",
            submit_label="Subscribe",
            success_message="Welcome!",
            redirect_url="https://shop.example/thanks",
            max_submissions_per_profile="2",
            min_fill_seconds="5",
            notify_email="Team@Example.com",
        ),
    )
    form = reload(form)
    assert (form.name, form.behaviour, form.on_no_match) == ("Preferences", "update", "reject")
    assert form.key_field_ids == [field_id(database, "Email")]
    assert form.allowed_origins == ["https://shop.example", "http://localhost:8080"]
    assert form.revision == 2
    stored = builder.settings_of(form)
    assert stored["submit_label"] == "Subscribe" and stored["redirect_url"] == "https://shop.example/thanks"
    assert stored["max_submissions_per_profile"] == 2 and stored["min_fill_seconds"] == 5
    assert stored["notify_email"].lower() == "team@example.com"
    assert stored["double_opt_in"]["enabled"] is False


@pytest.mark.parametrize(
    "origin",
    [
        "https://shop.example/path",
        "https://*.example.com",
        "ftp://shop.example",
        "shop.example",
        "https://shop.example?x=1",
        "https://user@shop.example",
        "https://",
        "javascript:alert(1)",
    ],
)
def test_origins_must_be_scheme_and_host(account, form, origin):
    with pytest.raises(ValidationError) as error:
        builder.update_settings(account, form.id, **settings(allowed_origins=origin))
    assert set(error.value.errors) == {"allowed_origins"}
    assert reload(form).allowed_origins == [] and reload(form).revision == 1


def test_origins_are_normalised():
    assert builder.normalise_origin("HTTPS://Bücher.Example:8443") == "https://xn--bcher-kva.example:8443"
    assert builder.normalise_origin("http://[::1]:80/") == "http://[::1]"


@pytest.mark.parametrize("behaviour", ["update", "login", "unsubscribe"])
def test_matching_behaviours_need_key_fields_of_the_database(account, database, form, behaviour):
    with pytest.raises(ValidationError) as error:
        builder.update_settings(account, form.id, **settings(behaviour=behaviour))
    assert error.value.errors == {"key_field_ids": "Choose the key fields that find the profile."}
    other = make_database(account, "Other")
    with pytest.raises(ValidationError) as error:
        builder.update_settings(account, form.id, **settings(behaviour=behaviour, key_field_ids=[other.fields[0].id]))
    assert error.value.errors == {"key_field_ids": "Key fields must be fields of the form's database."}


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"behaviour": "explode"}, "behaviour"),
        ({"on_no_match": "ignore"}, "on_no_match"),
        ({"redirect_url": "javascript:alert(1)"}, "redirect_url"),
        ({"redirect_url": "/thanks"}, "redirect_url"),
        ({"notify_email": "not-an-address"}, "notify_email"),
        ({"max_submissions_per_profile": "-1"}, "max_submissions_per_profile"),
        ({"min_fill_seconds": "soon"}, "min_fill_seconds"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(account, form, values, key):
    with pytest.raises(ValidationError) as error:
        builder.update_settings(account, form.id, **settings(**values))
    assert key in error.value.errors
    assert reload(form).revision == 1 and reload(form).name == "Sign-up"


def test_double_opt_in_values_are_checked_against_the_fields(account, database, form):
    newsletter = str(field_id(database, "Newsletter"))
    good = {
        "enabled": True,
        "unconfirmed_values": {newsletter: "unconfirmed"},
        "confirmed_values": {"newsletter": "YES"},
        "email_subject": "Please confirm",
        "email_text": "Click {link} to confirm.",
        "link_ttl_hours": "24",
    }
    builder.update_settings(account, form.id, **settings(double_opt_in=good))
    stored = builder.settings_of(reload(form))["double_opt_in"]
    assert stored == {
        "enabled": True,
        "unconfirmed_values": {newsletter: "unconfirmed"},
        "confirmed_values": {newsletter: "yes"},
        "email_subject": "Please confirm",
        "email_text": "Click {link} to confirm.",
        "link_ttl_hours": 24,
    }
    bad = [
        ({"confirmed_values": {newsletter: "maybe"}}, "confirmed_values"),
        ({"unconfirmed_values": {"Nope": "x"}}, "unconfirmed_values"),
        ({"confirmed_values": {}}, "confirmed_values"),
        ({"email_subject": ""}, "email_subject"),
        ({"email_text": "No link here"}, "email_text"),
        ({"link_ttl_hours": "0"}, "link_ttl_hours"),
    ]
    for change, key in bad:
        with pytest.raises(ValidationError) as error:
            builder.update_settings(account, form.id, **settings(double_opt_in={**good, **change}))
        assert key in error.value.errors, change
    assert builder.settings_of(reload(form))["double_opt_in"] == stored


# --- results -------------------------------------------------------------------------------------


def test_submissions_are_filtered_and_paged(account, database, form):
    profile = profiles.create_profile(account, database.id, {"Email": "ann@example.com"}, origin=Origin("admin"))
    old = make_form_submission(form, status="accepted", created_at=datetime(2026, 1, 10, 12), profile=profile)
    rejected = make_form_submission(form, status="rejected", reason="too_fast", created_at=datetime(2026, 1, 11, 12))
    newer = [make_form_submission(form, status="accepted", created_at=datetime(2026, 1, 12, 12)) for _ in range(3)]
    everything = form_results.list_submissions(account, form.id)
    assert [one.id for one in everything.submissions] == [n.id for n in reversed(newer)] + [rejected.id, old.id]
    spam = form_results.list_submissions(account, form.id, form_results.parse_filter("rejected", "", ""))
    assert [one.reason for one in spam.submissions] == ["too_fast"]
    chosen = form_results.parse_filter("accepted", "2026-01-10", "2026-01-11")
    assert [one.id for one in form_results.list_submissions(account, form.id, chosen).submissions] == [old.id]
    first = form_results.list_submissions(account, form.id, limit=2)
    second = form_results.list_submissions(account, form.id, before_id=first.next_before_id, limit=2)
    third = form_results.list_submissions(account, form.id, before_id=second.next_before_id, limit=2)
    assert [len(first.submissions), len(second.submissions), len(third.submissions)] == [2, 2, 1]
    assert third.next_before_id is None
    assert form_results.count_submissions(account, form.id) == {"accepted": 4, "invalid": 0, "rejected": 1}
    assert [name for _s, name in form_results.profile_submissions(account, profile.id)] == ["Sign-up"]


@pytest.mark.parametrize(
    ("status", "since", "until", "key"),
    [("spam", "", "", "status"), ("", "yesterday", "", "since"), ("", "", "2026-13-01", "until")],
)
def test_bad_filters_are_refused(status, since, until, key):
    with pytest.raises(ValidationError) as error:
        form_results.parse_filter(status, since, until)
    assert set(error.value.errors) == {key}


def test_the_csv_export_names_columns_and_neutralises_formulas(account, database, form):
    email = webforms_items.add_item(account, form.id, "field", field_id=field_id(database, "Email"))
    first = webforms_items.add_item(account, form.id, "field", field_id=field_id(database, "FirstName"))
    consent = webforms_items.add_item(account, form.id, "consent")
    webforms_items.update_item(account, form.id, consent["id"], {"label": "Privacy", "text": "I agree."})
    make_form_submission(
        form,
        status="accepted",
        data={
            f"f{email['field_id']}": "ann@example.com",
            f"f{first['field_id']}": '=HYPERLINK("http://x")',
            f"c{consent['id']}": True,
        },
        consents={consent["id"]: "I agree."},
        origin="https://shop.example",
    )
    make_form_submission(form, status="rejected", reason="honeypot", data={f"f{first['field_id']}": "@SUM(1)"})
    export = form_results.export_submissions(account, form.id, form_results.parse_filter("accepted", "", ""))
    rows = list(csv.reader(io.StringIO(b"".join(export.chunks).decode("utf-8"))))
    assert rows[0] == [
        "id",
        "created",
        "status",
        "reason",
        "profile",
        "origin",
        "Email",
        "FirstName",
        "Privacy",
        "consents",
    ]
    assert len(rows) == 2
    assert rows[1][2:] == [
        "accepted",
        "",
        "",
        "https://shop.example",
        "ann@example.com",
        '\'=HYPERLINK("http://x")',
        "True",
        "I agree.",
    ]
    assert export.filename.startswith(f"form-{form.id}-submissions-") and export.filename.endswith(".csv")
    everything = form_results.export_submissions(account, form.id)
    assert "'@SUM(1)" in b"".join(everything.chunks).decode("utf-8")


def test_conversion_per_day_fills_gaps(account, form):
    from tests.factories import make_form_day

    today = date(2026, 3, 31)
    make_form_day(form, today, views=10)
    make_form_day(form, today - timedelta(days=2), views=4)
    make_form_day(form, today - timedelta(days=40), views=99)
    # Accepted submissions are counted from their rows, by UTC day; other statuses and days do not count.
    for moment, status in (
        (datetime(2026, 3, 31, 0, 0), "accepted"),
        (datetime(2026, 3, 31, 23, 59, 59), "accepted"),
        (datetime(2026, 3, 31, 12, 0), "rejected"),
        (datetime(2026, 3, 27, 8, 0), "accepted"),
        (datetime(2026, 3, 24, 23, 59, 59), "accepted"),
        (datetime(2026, 4, 1, 0, 0), "accepted"),
    ):
        make_form_submission(form, status=status, created_at=moment)
    days = form_results.conversion(account, form.id, days=7, today=today)
    assert [day.day for day in days] == [today - timedelta(days=n) for n in range(6, -1, -1)]
    assert [(day.views, day.submissions) for day in days] == [(0, 0)] * 2 + [(0, 1), (0, 0), (4, 0), (0, 0), (10, 2)]


def test_files_are_scoped_to_the_account(account, database, form):
    profile = profiles.create_profile(account, database.id, {"Email": "ann@example.com"}, origin=Origin("admin"))
    submission = make_form_submission(form, status="accepted", profile=profile)
    upload = FormFile(
        account_id=account.id,
        form_id=form.id,
        profile_id=profile.id,
        submission_id=submission.id,
        filename="cv.pdf",
        content_type="application/pdf",
        size=3,
        data=b"%PD",
    )
    db.session.add(upload)
    db.session.commit()
    assert [found.filename for found in form_results.profile_files(account, profile.id)] == ["cv.pdf"]
    assert form_results.get_file(account, upload.id).data == b"%PD"
    with pytest.raises(NotFound):
        form_results.get_file(make_account("Other"), upload.id)
    with pytest.raises(NotFound):
        form_results.profile_files(make_account("Other"), profile.id)
