"""The ``Profile_*`` methods."""

from spyne import Boolean, Integer, ServiceBase, Unicode, rpc

from webapp.profiles import merges, profiles, search, subprofiles
from webapp.soap import auth, shapes
from webapp.soap.types import PAGED, Map, ObjectRef, Requirements, SubprofileEntity, SubprofileItems

Token = Unicode(min_occurs=0)


def _empty_page(start: int | None) -> tuple:
    return shapes.paged([], SubprofileItems, "subprofile", max(0, start or 0), 0)


class ProfileService(ServiceBase):
    @rpc(Token, Integer, _returns=Map, _out_variable_name="map")
    def Profile_fields(ctx, access_token, id):
        """Every field of the profile by name, with its value (empty when there is no such profile)."""
        return auth.run(
            access_token,
            lambda c: shapes.value_map(shapes.profile_fields(profiles.get_profile(c.account, id or 0))),
            empty=Map(pair=[]),
        )

    @rpc(Token, Integer, Map, _returns=Integer, _out_variable_name="value")
    def Profile_updateFields(ctx, access_token, id, fields):
        def action(c):
            profiles.update_profile(c.account, id or 0, shapes.pairs(fields), origin=c.origin)
            return 1

        return auth.run(access_token, action)

    @rpc(Token, Integer, _returns=Integer, _out_variable_name="value")
    def Profile_remove(ctx, access_token, id):
        def action(c):
            profiles.delete_profile(c.account, id or 0, origin=c.origin)
            return 1

        return auth.run(access_token, action)

    @rpc(Token, Integer, ObjectRef, _returns=Integer, _out_variable_name="value")
    def Profile_move(ctx, access_token, id, profile):
        """Merge this profile into ``profile{id}`` (see ``profiles/merges.py``)."""

        def action(c):
            merges.merge_profile(c.account, id or 0, shapes.reference_id(profile), origin=c.origin)
            return 1

        return auth.run(access_token, action)

    @rpc(
        Token,
        Integer,
        ObjectRef,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, SubprofileItems),
        _out_variable_names=PAGED,
    )
    def Profile_subProfiles(ctx, access_token, id, collection, start, length, allproperties):
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

        return auth.run(access_token, action, empty=_empty_page(start))

    @rpc(Token, Integer, ObjectRef, Map, _returns=SubprofileEntity, _out_variable_name="subprofile")
    def Profile_createSubProfile(ctx, access_token, id, collection, fields):
        def action(c):
            created = subprofiles.create_subprofile(
                c.account, id or 0, shapes.reference_id(collection), shapes.pairs(fields), origin=c.origin
            )
            return shapes.subprofile(created)

        return auth.run(access_token, action)

    @rpc(
        Token,
        Integer,
        ObjectRef,
        Requirements,
        Integer,
        Integer,
        Boolean,
        Unicode,
        Boolean,
        _returns=(Integer, Integer, Integer, SubprofileItems),
        _out_variable_names=PAGED,
    )
    def Profile_searchSubProfiles(
        ctx, access_token, id, collection, requirements, start, length, allproperties, order, asc
    ):
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

        return auth.run(access_token, action, empty=_empty_page(start))

    @rpc(Token, Integer, ObjectRef, Requirements, Map, Boolean, _returns=Integer, _out_variable_name="value")
    def Profile_updateSubProfiles(ctx, access_token, id, collection, requirements, fields, create):
        def action(c):
            search.update_matching_subprofiles(
                c.account,
                id or 0,
                shapes.reference_id(collection),
                shapes.requirements(requirements),
                shapes.pairs(fields),
                create=bool(create),
                origin=c.origin,
            )
            return 1

        return auth.run(access_token, action)
