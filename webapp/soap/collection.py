"""The ``Collection_*`` and ``CollectionField_update`` methods."""

from spyne import Boolean, Integer, ServiceBase, Unicode, rpc

from webapp.platform.errors import NotFound
from webapp.profiles import databases, fields, search, subprofiles, unsubscribe
from webapp.soap import auth, shapes
from webapp.soap.field_properties import FIELD_PARAMETERS, FieldProperties, field_spec, find_field
from webapp.soap.types import (
    PAGED,
    CollectionFieldEntity,
    CollectionFieldItems,
    Login,
    Map,
    ObjectRef,
    Requirements,
    SubprofileEntity,
    SubprofileItems,
    Token,
)


def _empty_page(items_type, name: str, start: int | None) -> tuple:
    return shapes.paged([], items_type, name, max(0, start or 0), 0)


class CollectionService(ServiceBase):
    @rpc(Integer, Unicode, Login, Token, _returns=CollectionFieldEntity, _out_variable_name="collectionfield")
    def Collection_field(ctx, id, identifier, login, access_token):
        def action(c):
            field = find_field(databases.get_collection(c.account, id or 0).fields, identifier)
            return shapes.collection_field(field) if field else None

        return auth.run(action)

    @rpc(
        Integer,
        Login,
        Token,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, CollectionFieldItems),
        _out_variable_names=PAGED,
    )
    def Collection_fields(ctx, id, login, access_token, start, length, allproperties):
        def action(c):
            found = databases.get_collection(c.account, id or 0).fields
            first, end = shapes.page_bounds(start, length, len(found))
            items = [shapes.collection_field(f) for f in found[first:end]]
            return shapes.paged(items, CollectionFieldItems, "collectionfield", first, len(found))

        return auth.run(action, empty=_empty_page(CollectionFieldItems, "collectionfield", start))

    @rpc(Integer, *FIELD_PARAMETERS, Login, Token, _returns=CollectionFieldEntity, _out_variable_name="collectionfield")
    def Collection_createField(
        ctx,
        id,
        name,
        type,
        value,
        display,
        ordered,
        length,
        textlines,
        hidden,
        index,
        specialcontent,
        displayed,
        lines,
        big,
        login,
        access_token,
    ):
        """Collection fields are never indexed (only database fields have expression indexes)."""
        given = FieldProperties(
            name, type, value, display, ordered, length, textlines, hidden, index, specialcontent, displayed, lines, big
        )

        def action(c):
            spec = field_spec(None, given, indexable=False)
            return shapes.collection_field(fields.create_field(c.account, spec, collection_id=id or 0))

        return auth.run(action)

    @rpc(Integer, *FIELD_PARAMETERS, Login, Token, _returns=Integer, _out_variable_name="value")
    def CollectionField_update(
        ctx,
        id,
        name,
        type,
        value,
        display,
        ordered,
        length,
        textlines,
        hidden,
        index,
        specialcontent,
        displayed,
        lines,
        big,
        login,
        access_token,
    ):
        given = FieldProperties(
            name, type, value, display, ordered, length, textlines, hidden, index, specialcontent, displayed, lines, big
        )

        def action(c):
            current = fields.get_field(c.account, id or 0)
            if current.collection_id is None:
                raise NotFound()
            fields.update_field(c.account, current.id, field_spec(current, given, indexable=False))
            return 1

        return auth.run(action)

    @rpc(Integer, Login, Token, _returns=Integer, _out_variable_name="value")
    def CollectionField_remove(ctx, id, login, access_token):
        """Remove a collection field and its values."""

        def action(c):
            if fields.get_field(c.account, id or 0).collection_id is None:
                raise NotFound()
            fields.delete_field(c.account, id or 0)
            return 1

        return auth.run(action)

    @rpc(Integer, Login, Token, _returns=Integer, _out_variable_name="value")
    def Collection_remove(ctx, id, login, access_token):
        def action(c):
            databases.delete_collection(c.account, id or 0)
            return 1

        return auth.run(action)

    @rpc(Integer, Requirements, Login, Token, _returns=Integer, _out_variable_name="value")
    def Collection_removeSubProfiles(ctx, id, requirements, login, access_token):
        """Remove the collection's subprofiles matching ``requirements`` (all of them without any)."""

        def action(c):
            search.remove_matching_subprofiles(c.account, id or 0, shapes.requirements(requirements), origin=c.origin)
            return 1

        return auth.run(action)

    @rpc(
        Integer,
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
    def Collection_searchSubProfiles(
        ctx, id, requirements, order, asc, login, access_token, start, length, allproperties
    ):
        def action(c):
            found = search.search_subprofiles(
                c.account,
                id or 0,
                shapes.requirements(requirements),
                start=start or 0,
                length=100 if length is None else length,
                order=order or "id",
                ascending=asc is not False,
            )
            items = [shapes.subprofile(s, bool(allproperties)) for s in found.items]
            return shapes.paged(items, SubprofileItems, "subprofile", found.start, found.total)

        return auth.run(action, empty=_empty_page(SubprofileItems, "subprofile", start))

    @rpc(Integer, Unicode, Login, Token, _returns=SubprofileEntity, _out_variable_name="subprofile")
    def Collection_subProfile(ctx, id, identifier, login, access_token):
        """One subprofile of the collection by id (empty when there is none)."""

        def action(c):
            collection = databases.get_collection(c.account, id or 0)
            key = (identifier or "").strip()
            found = subprofiles.get_subprofile(c.account, int(key)) if key.isdigit() else None
            return shapes.subprofile(found) if found and found.collection_id == collection.id else None

        return auth.run(action)

    @rpc(
        Integer,
        Requirements,
        Map,
        Login,
        Token,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, SubprofileItems),
        _out_variable_names=PAGED,
    )
    def Collection_updateSubProfiles(ctx, id, requirements, fields, login, access_token, start, length, allproperties):
        """Set ``fields`` on every subprofile of the collection matching ``requirements``; answers a page of them."""

        def action(c):
            found = search.update_matching_subprofiles(
                c.account,
                id or 0,
                shapes.requirements(requirements),
                shapes.pairs(fields),
                origin=c.origin,
                start=start or 0,
                length=100 if length is None else length,
            )
            items = [shapes.subprofile(s, bool(allproperties)) for s in found.items]
            return shapes.paged(items, SubprofileItems, "subprofile", found.start, found.total)

        return auth.run(action, empty=_empty_page(SubprofileItems, "subprofile", start))

    @rpc(Integer, ObjectRef, Login, Token, _returns=Integer, _out_variable_name="value")
    def Collection_unsubscribe(ctx, id, subprofile, login, access_token):
        """Apply the collection's unsubscribe behaviour to ``subprofile{id}`` (one of the collection's)."""

        def action(c):
            collection = databases.get_collection(c.account, id or 0)
            found = subprofiles.get_subprofile(c.account, shapes.reference_id(subprofile))
            if found.collection_id != collection.id:
                raise NotFound()
            unsubscribe.unsubscribe_subprofile(c.account, found.id, origin=c.origin)
            return 1

        return auth.run(action)
