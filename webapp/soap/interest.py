"""Interests over SOAP: ``Database_interests``, ``Database_createInterest``, ``Interest_update``,
``Interest_remove``, ``Profile_interests`` and ``Profile_updateInterests``.

An interest's ``groupname`` is our interest group; its ``weight`` is its position in the database's list.
Profile interests travel as a ``map`` of interest names to ``1``/``0`` (a yes/no word on input).
"""

from spyne import Boolean, Integer, ServiceBase, Unicode, rpc

from webapp.profiles import databases, profiles
from webapp.soap import auth, shapes
from webapp.soap.types import PAGED, InterestEntity, InterestItems, Login, Map, Token


class InterestService(ServiceBase):
    @rpc(
        Integer,
        Login,
        Token,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, InterestItems),
        _out_variable_names=PAGED,
    )
    def Database_interests(ctx, id, login, access_token, start, length, allproperties):
        def action(c):
            found = databases.get_database(c.account, id or 0).interests
            first, end = shapes.page_bounds(start, length, len(found))
            items = [shapes.interest(i) for i in found[first:end]]
            return shapes.paged(items, InterestItems, "interest", first, len(found))

        return auth.run(action, empty=shapes.paged([], InterestItems, "interest", max(0, start or 0), 0))

    @rpc(Integer, Unicode, Unicode, Login, Token, _returns=InterestEntity, _out_variable_name="interest")
    def Database_createInterest(ctx, id, name, group, login, access_token):
        def action(c):
            return shapes.interest(databases.create_interest(c.account, id or 0, name or "", group or ""))

        return auth.run(action)

    @rpc(Integer, Unicode, Unicode, Login, Token, _returns=Integer, _out_variable_name="value")
    def Interest_update(ctx, id, name, group, login, access_token):
        """Rename or regroup an interest; what is not given stays."""

        def action(c):
            current = databases.get_interest(c.account, id or 0)
            databases.update_interest(
                c.account,
                current.id,
                name=current.name if name is None else name,
                group=current.group if group is None else group,
            )
            return 1

        return auth.run(action)

    @rpc(Integer, Login, Token, _returns=Integer, _out_variable_name="value")
    def Interest_remove(ctx, id, login, access_token):
        def action(c):
            databases.delete_interest(c.account, id or 0)
            return 1

        return auth.run(action)

    @rpc(Integer, Login, Token, _returns=Map, _out_variable_name="map")
    def Profile_interests(ctx, id, login, access_token):
        """Every interest of the profile's database by name, ``1`` when the profile has it."""
        return auth.run(
            lambda c: shapes.value_map(shapes.profile_interests(profiles.get_profile(c.account, id or 0))),
            empty=Map(pair=[]),
        )

    @rpc(Integer, Map, Login, Token, _returns=Integer, _out_variable_name="value")
    def Profile_updateInterests(ctx, id, interests, login, access_token):
        """Switch the named interests on or off; interests not named stay as they are."""

        def action(c):
            changes = {k: shapes.interest_on(v) for k, v in shapes.pairs(interests).items()}
            profiles.update_profile(c.account, id or 0, {}, interests=changes, origin=c.origin)
            return 1

        return auth.run(action)
