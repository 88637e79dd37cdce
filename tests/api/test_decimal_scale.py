"""Copernica's REST calls write a decimal field's value with the field's scale."""

from webapp.profiles import profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field


def test_profile_fields_keep_the_scale(api, account, database):
    create_field(account, FieldSpec(name="Total", type="decimal", options={"decimals": 2}), database_id=database.id)
    profile = profiles.create_profile(
        account, database.id, {"Email": "a@example.com", "Total": "499"}, origin=Origin("admin")
    )
    response = api.get(f"/profile/{profile.id}/fields")
    assert response.status_code == 200 and response.get_json()["Total"] == "499.00"
    listing = api.get(f"/database/{database.id}/profiles").get_json()
    assert listing["data"][0]["fields"]["Total"] == "499.00"
