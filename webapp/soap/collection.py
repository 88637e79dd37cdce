"""The ``Collection_*`` and ``CollectionField_update`` methods."""

from spyne import Boolean, Integer, ServiceBase, Unicode, rpc

from webapp.platform.errors import NotFound
from webapp.profiles import databases, fields, search
from webapp.soap import auth, shapes
from webapp.soap.database import FIELD_PARAMETERS, field_spec, find_field
from webapp.soap.types import (
    PAGED,
    CollectionFieldEntity,
    CollectionFieldItems,
    Requirements,
    SubprofileItems,
)

Token = Unicode(min_occurs=0)


def _empty_page(items_type, name: str, start: int | None) -> tuple:
    return shapes.paged([], items_type, name, max(0, start or 0), 0)


class CollectionService(ServiceBase):
    @rpc(Token, Integer, Unicode, _returns=CollectionFieldEntity, _out_variable_name="collectionfield")
    def Collection_field(ctx, access_token, id, identifier):
        def action(c):
            field = find_field(databases.get_collection(c.account, id or 0).fields, identifier)
            return shapes.collection_field(field) if field else None

        return auth.run(access_token, action)

    @rpc(
        Token,
        Integer,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, CollectionFieldItems),
        _out_variable_names=PAGED,
    )
    def Collection_fields(ctx, access_token, id, start, length, allproperties):
        def action(c):
            found = databases.get_collection(c.account, id or 0).fields
            first, end = shapes.page_bounds(start, length, len(found))
            items = [shapes.collection_field(f) for f in found[first:end]]
            return shapes.paged(items, CollectionFieldItems, "collectionfield", first, len(found))

        return auth.run(access_token, action, empty=_empty_page(CollectionFieldItems, "collectionfield", start))

    @rpc(Token, Integer, *FIELD_PARAMETERS, _returns=CollectionFieldEntity, _out_variable_name="collectionfield")
    def Collection_createField(
        ctx, access_token, id, name, type, value, displayed, ordered, length, lines, big, hidden, index
    ):
        def action(c):
            # Collection fields are never indexed (only database fields have expression indexes).
            spec = field_spec(
                None,
                name=name,
                type=type,
                value=value,
                displayed=displayed,
                ordered=False,
                length=length,
                big=big,
                hidden=hidden,
                index=False,
            )
            return shapes.collection_field(fields.create_field(c.account, spec, collection_id=id or 0))

        return auth.run(access_token, action)

    @rpc(Token, Integer, *FIELD_PARAMETERS, _returns=Integer, _out_variable_name="value")
    def CollectionField_update(
        ctx, access_token, id, name, type, value, displayed, ordered, length, lines, big, hidden, index
    ):
        def action(c):
            current = fields.get_field(c.account, id or 0)
            if current.collection_id is None:
                raise NotFound()
            spec = field_spec(
                current,
                name=name,
                type=type,
                value=value,
                displayed=displayed,
                ordered=None,
                length=length,
                big=big,
                hidden=hidden,
                index=None,
            )
            fields.update_field(c.account, current.id, spec)
            return 1

        return auth.run(access_token, action)

    @rpc(Token, Integer, _returns=Integer, _out_variable_name="value")
    def Collection_remove(ctx, access_token, id):
        def action(c):
            databases.delete_collection(c.account, id or 0)
            return 1

        return auth.run(access_token, action)

    @rpc(Token, Integer, Requirements, _returns=Integer, _out_variable_name="value")
    def Collection_removeSubProfiles(ctx, access_token, id, requirements):
        """Remove the collection's subprofiles matching ``requirements`` (all of them without any)."""

        def action(c):
            search.remove_matching_subprofiles(c.account, id or 0, shapes.requirements(requirements), origin=c.origin)
            return 1

        return auth.run(access_token, action)

    @rpc(
        Token,
        Integer,
        Requirements,
        Integer,
        Integer,
        Boolean,
        Unicode,
        Boolean,
        _returns=(Integer, Integer, Integer, SubprofileItems),
        _out_variable_names=PAGED,
    )
    def Collection_searchSubProfiles(ctx, access_token, id, requirements, start, length, allproperties, order, asc):
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

        return auth.run(access_token, action, empty=_empty_page(SubprofileItems, "subprofile", start))
