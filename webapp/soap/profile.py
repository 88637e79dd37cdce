"""The ``Profile_*`` methods."""

from spyne import Boolean, Integer, ServiceBase, Unicode, rpc

from webapp.profiles import merges, profiles, search, subprofiles
from webapp.soap import auth, shapes
from webapp.soap.types import (
    PAGED,
    CallerInfo,
    Login,
    Map,
    ObjectRef,
    Requirements,
    SubprofileEntity,
    SubprofileItems,
    Timestamp,
    Token,
)


def _empty_page(start: int | None) -> tuple:
    return shapes.paged([], SubprofileItems, "subprofile", max(0, start or 0), 0)


class ProfileService(ServiceBase):
    @rpc(Integer, Login, Token, _returns=Map, _out_variable_name="map")
    def Profile_fields(ctx, id, login, access_token):
        """Every field of the profile by name, with its value (empty when there is no such profile)."""
        return auth.run(
            lambda c: shapes.value_map(shapes.profile_fields(profiles.get_profile(c.account, id or 0))),
            empty=Map(pair=[]),
        )

    @rpc(Integer, Map, Login, Token, _returns=Integer, _out_variable_name="value")
    def Profile_updateFields(ctx, id, fields, login, access_token):
        def action(c):
            profiles.update_profile(c.account, id or 0, shapes.pairs(fields), origin=c.origin)
            return 1

        return auth.run(action)

    @rpc(Integer, Login, Token, _returns=Integer, _out_variable_name="value")
    def Profile_remove(ctx, id, login, access_token):
        def action(c):
            profiles.delete_profile(c.account, id or 0, origin=c.origin)
            return 1

        return auth.run(action)

    @rpc(Integer, ObjectRef, Login, Token, _returns=Integer, _out_variable_name="value")
    def Profile_move(ctx, id, profile, login, access_token):
        """Merge this profile into ``profile{id}`` (see ``profiles/merges.py``)."""

        def action(c):
            merges.merge_profile(c.account, id or 0, shapes.reference_id(profile), origin=c.origin)
            return 1

        return auth.run(action)

    @rpc(
        Integer,
        Timestamp,
        ObjectRef,
        Login,
        Token,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, SubprofileItems),
        _out_variable_names=PAGED,
    )
    def Profile_subProfiles(ctx, id, timestamp, collection, login, access_token, start, length, allproperties):
        shapes.no_history(timestamp)

        def action(c):
            found = search.search_subprofiles(
                c.account,
                shapes.reference_id(collection),
                profile_id=id or 0,
                start=start or 0,
                length=100 if length is None else length,
            )
            items = [shapes.subprofile(s, bool(allproperties)) for s in found.items]
            return shapes.paged(items, SubprofileItems, "subprofile", found.start, found.total)

        return auth.run(action, empty=_empty_page(start))

    @rpc(
        Integer,
        Timestamp,
        ObjectRef,
        Map,
        CallerInfo,
        Login,
        Token,
        _returns=SubprofileEntity,
        _out_variable_name="subprofile",
    )
    def Profile_createSubProfile(ctx, id, timestamp, collection, fields, caller, login, access_token):
        """``caller`` is accepted (Verrijk always runs follow-ups); a ``timestamp`` is refused."""
        shapes.no_history(timestamp)

        def action(c):
            created = subprofiles.create_subprofile(
                c.account, id or 0, shapes.reference_id(collection), shapes.pairs(fields), origin=c.origin
            )
            return shapes.subprofile(created)

        return auth.run(action)

    @rpc(
        Integer,
        Timestamp,
        ObjectRef,
        Requirements,
        Unicode,
        Boolean,
        Login,
        Token,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, SubprofileItems),
        _out_variable_names=PAGED,
    )
    def Profile_searchSubProfiles(
        ctx, id, timestamp, collection, requirements, order, asc, login, access_token, start, length, allproperties
    ):
        shapes.no_history(timestamp)

        def action(c):
            found = search.search_subprofiles(
                c.account,
                shapes.reference_id(collection),
                shapes.requirements(requirements),
                profile_id=id or 0,
                start=start or 0,
                length=100 if length is None else length,
                order=order or "id",
                ascending=asc is not False,
            )
            items = [shapes.subprofile(s, bool(allproperties)) for s in found.items]
            return shapes.paged(items, SubprofileItems, "subprofile", found.start, found.total)

        return auth.run(action, empty=_empty_page(start))

    @rpc(
        Integer,
        Timestamp,
        ObjectRef,
        Requirements,
        Map,
        Boolean,
        CallerInfo,
        Login,
        Token,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, SubprofileItems),
        _out_variable_names=PAGED,
    )
    def Profile_updateSubProfiles(
        ctx,
        id,
        timestamp,
        collection,
        requirements,
        fields,
        create,
        caller,
        login,
        access_token,
        start,
        length,
        allproperties,
    ):
        """Set ``fields`` on the profile's matching subprofiles (or create one); answers a page of them.
        ``caller`` is accepted (Verrijk always runs follow-ups); a ``timestamp`` is refused."""
        shapes.no_history(timestamp)

        def action(c):
            found = search.update_matching_subprofiles(
                c.account,
                shapes.reference_id(collection),
                shapes.requirements(requirements),
                shapes.pairs(fields),
                profile_id=id or 0,
                create=bool(create),
                origin=c.origin,
                start=start or 0,
                length=100 if length is None else length,
            )
            items = [shapes.subprofile(s, bool(allproperties)) for s in found.items]
            return shapes.paged(items, SubprofileItems, "subprofile", found.start, found.total)

        return auth.run(action, empty=_empty_page(start))
