"""The SOAP API writes a decimal field's value with the field's scale."""

from tests.factories import make_database
from tests.soap.helpers import as_dict, items
from webapp.profiles import profiles
from webapp.profiles.events import Origin


def test_profile_fields_keep_the_scale(soap, token, account):
    database = make_database(
        account, fields={"Total": {"type": "decimal", "options": {"decimals": 2}}, "Ratio": "decimal"}
    )
    profile = profiles.create_profile(account, database.id, {"Total": "499", "Ratio": "0.5"}, origin=Origin("admin"))
    values = as_dict(soap.Profile_fields(access_token=token, id=profile.id))
    assert values == {"Total": "499.00", "Ratio": "0.5"}
    page = soap.Database_profiles(access_token=token, id=database.id, allproperties=True)
    assert as_dict(items(page, "profile")[0].fields)["Total"] == "499.00"
