"""Copernica's published PHP example, step by step, from PHP's SoapClient in WSDL mode (``php/``).

Without php (with its soap extension) these tests skip with the reason, except in CI (``CI`` set), where
they fail: .ci/run installs php-cli and php-soap.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, make_user
from tests.soap.test_auth import METHODS
from webapp.extensions import db
from webapp.models import Database, Profile, Subprofile

SCRIPT = Path(__file__).parent / "php" / "copernica_steps.php"


def _php() -> str:
    php = shutil.which("php")
    reason = None
    if php is None:
        reason = "php is not installed"
    elif "soap" not in subprocess.run([php, "-m"], capture_output=True, text=True, check=False).stdout.split():
        reason = "php has no soap extension (php-soap)"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the PHP SoapClient tests (.ci/run installs php-cli php-soap)")
        pytest.skip(reason)
    return php


def test_copernicas_php_example_runs_unmodified(direct_url, account, app, monkeypatch):
    php = _php()
    monkeypatch.setitem(app.config, "PUBLIC_URL_SET", False)  # a fresh install: the WSDL says where it was asked
    user = make_user(account, "admin")
    email = user.email
    db.session.commit()
    done = subprocess.run(
        [php, str(SCRIPT), direct_url, email, PASSWORD, "Acme", "Fictional Persons 3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    assert out["functions"] == len(METHODS)
    assert out["bad_login"] == "Invalid login"  # not "Not logged on", which old clients answer by logging in again
    assert (out["relogin_fault"], out["relogin_requests"]) == ("Invalid login", 1)  # the 1.6 client stops at once
    assert out["login"] == 1
    assert out["existing"] is None and out["database"] == "Fictional Persons 3"
    assert out["fields"] == {
        "FirstName": ["text", True, ""],
        "LastName": ["text", True, ""],
        "Email": ["email", True, "email"],
    }
    assert "Email" in out["invalid_email"]
    assert out["found"] == 1
    assert out["ed"] == {"FirstName": "Ed", "LastName": "Emmer", "Email": "other@address.nl"}
    assert out["per_call_login"] == 1
    assert out["per_call_bad_login"] == "Invalid login"
    assert out["no_credentials"] == "Not logged on"

    db.session.rollback()
    database = db.session.scalar(select(Database).where(Database.name == "Fictional Persons 3"))
    assert db.session.scalar(select(func.count(Profile.id)).where(Profile.database_id == database.id)) == 2
    assert db.session.scalar(select(func.count(Subprofile.id))) == 2


VIEW_SCRIPT = Path(__file__).parent / "php" / "view_steps.php"


def test_a_php_client_reads_and_maintains_a_selection_and_another_account_reaches_none_of_it(
    direct_url, account, app, monkeypatch
):
    from tests.factories import make_account, make_database
    from webapp.accounts.tokens import create_api_token
    from webapp.profiles import databases, profiles, subprofiles
    from webapp.profiles.events import Origin

    php = _php()
    monkeypatch.setitem(app.config, "PUBLIC_URL_SET", False)
    database = make_database(account, "Customers", fields={"Email": "email", "City": "text"})
    orders = databases.create_collection(account, database.id, "Orders")
    ids = {}
    for email, city in (("ann@example.com", "Delft"), ("bob@example.com", "Gouda"), ("cat@example.com", "Delft")):
        profile = profiles.create_profile(account, database.id, {"Email": email, "City": city}, origin=Origin("admin"))
        subprofiles.create_subprofile(account, profile.id, orders.id, {}, origin=Origin("admin"))
        ids[email] = profile.id
    _, token = create_api_token(account, "php")
    _, other_token = create_api_token(make_account("Other"), "other")
    database_id, collection_id = database.id, orders.id
    db.session.commit()
    done = subprocess.run(
        [php, str(VIEW_SCRIPT), direct_url, token, other_token, str(database_id), str(collection_id)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    assert out["found"] is True and (out["updated"], out["description"]) == (1, "weekly")
    assert out["members"] == 2 and out["member_ids"] == [ids["ann@example.com"], ids["cat@example.com"]]
    assert out["conditions"] == [["City", "equals", "Delft"]]
    assert (out["inversed"], out["members_inversed"]) == (1, 1)
    assert "no disabled rules" in out["disabled_fault"]
    assert (out["miniviews"], out["mini_members"]) == (["All orders"], 3)
    assert out["other"] == {
        "view": False,
        "by_name": False,
        "members": 0,
        "conditions": 0,
        "miniviews": 0,
        "remove_rule": False,
        "remove_view": False,
    }
    assert out["rules_after"] == 1
    assert (out["removed_rule"], out["removed"], out["gone"]) == (1, 1, False)
