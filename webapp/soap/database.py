"""The ``Database_*`` and ``Field_update`` methods."""

from spyne import Boolean, Integer, ServiceBase, Unicode, rpc

from webapp.models import Field
from webapp.platform.errors import NotFound
from webapp.profiles import databases, fields, profiles, search
from webapp.soap import auth, shapes
from webapp.soap.types import (
    PAGED,
    CallbackEntity,
    CallbackItems,
    CollectionEntity,
    CollectionItems,
    DatabaseEntity,
    FieldEntity,
    FieldItems,
    IdList,
    Map,
    ObjectRef,
    ProfileEntity,
    ProfileItems,
    Requirements,
    StringArray,
    ViewItems,
)

Token = Unicode(min_occurs=0)


def _paged(items_type):
    return {"_returns": (Integer, Integer, Integer, items_type), "_out_variable_names": PAGED}


def _empty_page(items_type, name: str, start: int | None = 0) -> tuple:
    return shapes.paged([], items_type, name, max(0, start or 0), 0)


def field_spec(
    current: Field | None, *, name, type, value, displayed, ordered, length, big, hidden, index
) -> fields.FieldSpec:
    """A ``FieldSpec`` from Copernica's field properties; what is not given keeps its current value."""
    spec = (
        fields.FieldSpec(
            name=current.name,
            type=current.type,
            options=dict(current.options or {}),
            default=current.default,
            required=current.required,
            shown=current.shown,
            hidden=current.hidden,
            indexed=current.indexed,
            unique=current.unique,
        )
        if current is not None
        else fields.FieldSpec(name="")
    )
    if name is not None:
        spec.name = name
    if type is not None or big is not None:
        wire_type = type if type is not None else shapes.TO_WIRE.get(spec.type, spec.type)
        spec.type = shapes.field_type_from_wire(wire_type, big if big is not None else spec.type == "large_text")
        if current is not None and spec.type != current.type:
            spec.options = {}
    if spec.type == "choice":
        if value is not None:
            spec.options = {**spec.options, "choices": value.splitlines()}
        if current is None or spec.type != current.type:
            spec.default = None
    elif value is not None:
        spec.default = value
    if length is not None and spec.type == "text":
        spec.options = {**spec.options, "length": length}
    if displayed is not None:
        spec.shown = bool(displayed)
    if hidden is not None:
        spec.hidden = bool(hidden)
    if ordered is not None or index is not None:
        spec.indexed = bool(index if index is not None else ordered)
    return spec


FIELD_PARAMETERS = (Unicode, Unicode, Unicode, Boolean, Boolean, Integer, Integer, Boolean, Boolean, Boolean)


def find_field(owner_fields: list[Field], identifier: str | None) -> Field | None:
    key = (identifier or "").strip().lower()
    for field in owner_fields:
        if field.name.lower() == key or str(field.id) == key:
            return field
    return None


class DatabaseService(ServiceBase):
    @rpc(Token, Integer, _returns=DatabaseEntity, _out_variable_name="database")
    def Database_retrieve(ctx, access_token, id):
        return auth.run(access_token, lambda c: shapes.database(databases.get_database(c.account, id or 0)))

    @rpc(Token, Integer, Unicode, Unicode, Boolean, _returns=Integer, _out_variable_name="value")
    def Database_update(ctx, access_token, id, name, description, archived):
        """Change name, description or archived; what is not given stays."""

        def action(c):
            current = databases.get_database(c.account, id or 0)
            databases.update_database(
                c.account,
                current.id,
                name=current.name if name is None else name,
                description=current.description if description is None else description,
                archived=current.archived if archived is None else bool(archived),
            )
            return 1

        return auth.run(access_token, action)

    @rpc(Token, Integer, _returns=Integer, _out_variable_name="value")
    def Database_remove(ctx, access_token, id):
        return auth.run(access_token, lambda c: databases.delete_database(c.account, id or 0) or 1)

    @rpc(Token, Integer, _returns=Map, _out_variable_name="map")
    def Database_unsubscribeValues(ctx, access_token, id):
        """The values an unsubscribe sets (field and interest names to values)."""

        def action(c):
            database = databases.get_database(c.account, id or 0)
            return shapes.value_map(databases.unsubscribe_values_by_name(database))

        return auth.run(access_token, action, empty=Map(pair=[]))

    @rpc(Token, Integer, Map, Unicode, _returns=Integer, _out_variable_name="value")
    def Database_setUnsubscribeValues(ctx, access_token, id, fields, behavior):
        """Set the unsubscribe values (``fields`` names fields and interests); ``behavior`` defaults to update."""

        def action(c):
            database = databases.get_database(c.account, id or 0)
            values = shapes.pairs(fields)
            interest_names = {interest.name.lower() for interest in database.interests}
            interest_values = {k: shapes.interest_on(v) for k, v in values.items() if k.lower() in interest_names}
            field_values = {k: v for k, v in values.items() if k.lower() not in interest_names}
            databases.set_unsubscribe_behaviour(
                c.account,
                behaviour=(behavior or "update").strip().lower(),
                field_values=field_values,
                interest_values=interest_values,
                database_id=database.id,
            )
            return 1

        return auth.run(access_token, action)

    @rpc(Token, Integer, Unicode, _returns=FieldEntity, _out_variable_name="field")
    def Database_field(ctx, access_token, id, identifier):
        """A field of a database by name or id (empty when there is none)."""

        def action(c):
            field = find_field(databases.get_database(c.account, id or 0).fields, identifier)
            return shapes.field(field) if field else None

        return auth.run(access_token, action)

    @rpc(Token, Integer, Integer, Integer, Boolean, **_paged(FieldItems))
    def Database_fields(ctx, access_token, id, start, length, allproperties):
        def action(c):
            found = databases.get_database(c.account, id or 0).fields
            first, end = shapes.page_bounds(start, length, len(found))
            return shapes.paged([shapes.field(f) for f in found[first:end]], FieldItems, "field", first, len(found))

        return auth.run(access_token, action, empty=_empty_page(FieldItems, "field", start))

    @rpc(Token, Integer, *FIELD_PARAMETERS, _returns=FieldEntity, _out_variable_name="field")
    def Database_createField(
        ctx, access_token, id, name, type, value, displayed, ordered, length, lines, big, hidden, index
    ):
        def action(c):
            spec = field_spec(
                None,
                name=name,
                type=type,
                value=value,
                displayed=displayed,
                ordered=ordered,
                length=length,
                big=big,
                hidden=hidden,
                index=index,
            )
            return shapes.field(fields.create_field(c.account, spec, database_id=id or 0))

        return auth.run(access_token, action)

    @rpc(Token, Integer, *FIELD_PARAMETERS, _returns=Integer, _out_variable_name="value")
    def Field_update(ctx, access_token, id, name, type, value, displayed, ordered, length, lines, big, hidden, index):
        """Change a database field; what is not given stays (stored values convert, or the change is refused)."""

        def action(c):
            current = fields.get_field(c.account, id or 0)
            if current.collection_id is not None:
                raise NotFound()
            spec = field_spec(
                current,
                name=name,
                type=type,
                value=value,
                displayed=displayed,
                ordered=ordered,
                length=length,
                big=big,
                hidden=hidden,
                index=index,
            )
            fields.update_field(c.account, current.id, spec)
            return 1

        return auth.run(access_token, action)

    @rpc(Token, Integer, Unicode, _returns=CollectionEntity, _out_variable_name="collection")
    def Database_collection(ctx, access_token, id, identifier):
        def action(c):
            key = (identifier or "").strip().lower()
            for collection in databases.get_database(c.account, id or 0).collections:
                if collection.name.lower() == key or str(collection.id) == key:
                    return shapes.collection(collection)
            return None

        return auth.run(access_token, action)

    @rpc(Token, Integer, Integer, Integer, Boolean, **_paged(CollectionItems))
    def Database_collections(ctx, access_token, id, start, length, allproperties):
        def action(c):
            found = databases.get_database(c.account, id or 0).collections
            first, end = shapes.page_bounds(start, length, len(found))
            items = [shapes.collection(x) for x in found[first:end]]
            return shapes.paged(items, CollectionItems, "collection", first, len(found))

        return auth.run(access_token, action, empty=_empty_page(CollectionItems, "collection", start))

    @rpc(Token, Integer, Unicode, _returns=CollectionEntity, _out_variable_name="collection")
    def Database_createCollection(ctx, access_token, id, name):
        return auth.run(
            access_token, lambda c: shapes.collection(databases.create_collection(c.account, id or 0, name or ""))
        )

    @rpc(Token, Integer, Integer, Integer, Boolean, **_paged(ViewItems))
    def Database_views(ctx, access_token, id, start, length, allproperties):
        """Selections of the database: none yet (an empty paged list)."""

        def action(c):
            databases.get_database(c.account, id or 0)
            return _empty_page(ViewItems, "view", start)

        return auth.run(access_token, action, empty=_empty_page(ViewItems, "view", start))

    @rpc(
        Token,
        Integer,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, ProfileItems),
        _out_variable_names=PAGED,
    )
    def Database_profiles(ctx, access_token, id, start, length, allproperties):
        def action(c):
            found = search.search_profiles(
                c.account, id or 0, start=start or 0, length=100 if length is None else length
            )
            items = [shapes.profile(p, bool(allproperties)) for p in found.items]
            return shapes.paged(items, ProfileItems, "profile", found.start, found.total)

        return auth.run(access_token, action, empty=_empty_page(ProfileItems, "profile", start))

    @rpc(Token, Integer, Map, Map, _returns=ProfileEntity, _out_variable_name="profile")
    def Database_createProfile(ctx, access_token, id, fields, interests):
        def action(c):
            interest_changes = {k: shapes.interest_on(v) for k, v in shapes.pairs(interests).items()}
            profile = profiles.create_profile(
                c.account, id or 0, shapes.pairs(fields), origin=c.origin, interests=interest_changes
            )
            return shapes.profile(profile)

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
        _returns=(Integer, Integer, Integer, ProfileItems),
        _out_variable_names=PAGED,
    )
    def Database_searchProfiles(ctx, access_token, id, requirements, start, length, allproperties, order, asc):
        def action(c):
            found = search.search_profiles(
                c.account,
                id or 0,
                shapes.requirements(requirements),
                start=start or 0,
                length=100 if length is None else length,
                order=order or "id",
                ascending=asc is not False,
            )
            items = [shapes.profile(p, bool(allproperties)) for p in found.items]
            return shapes.paged(items, ProfileItems, "profile", found.start, found.total)

        return auth.run(access_token, action, empty=_empty_page(ProfileItems, "profile", start))

    @rpc(Token, Integer, Requirements, Map, Boolean, _returns=Integer, _out_variable_name="value")
    def Database_updateProfiles(ctx, access_token, id, requirements, fields, create):
        """Set ``fields`` on every profile matching ``requirements`` (or create one, with ``create``)."""

        def action(c):
            search.update_matching_profiles(
                c.account,
                id or 0,
                shapes.requirements(requirements),
                shapes.pairs(fields),
                create=bool(create),
                origin=c.origin,
            )
            return 1

        return auth.run(access_token, action)

    @rpc(Token, Integer, IdList, _returns=Integer, _out_variable_name="value")
    def Database_removeProfiles(ctx, access_token, id, ids):
        def action(c):
            search.remove_profiles(c.account, id or 0, shapes.ids(ids), origin=c.origin)
            return 1

        return auth.run(access_token, action)

    @rpc(Token, Integer, Integer, Integer, Boolean, **_paged(CallbackItems))
    def Database_callbacks(ctx, access_token, id, start, length, allproperties):
        def action(c):
            from webapp.callbacks import definitions

            found = definitions.list_callbacks(c.account, id or 0)
            first, end = shapes.page_bounds(start, length, len(found))
            items = [shapes.callback(x) for x in found[first:end]]
            return shapes.paged(items, CallbackItems, "callback", first, len(found))

        return auth.run(access_token, action, empty=_empty_page(CallbackItems, "callback", start))

    @rpc(
        Token,
        Integer,
        Unicode,
        Unicode,
        Unicode,
        StringArray,
        StringArray,
        ObjectRef,
        _returns=CallbackEntity,
        _out_variable_name="callback",
    )
    def Database_createCallback(ctx, access_token, id, url, method, expression, actions, sources, collection):
        """A callback on the database (or ``collection{id}``); no ``actions``/``sources`` means all of them."""

        def action(c):
            from webapp.callbacks import definitions

            created = definitions.create_callback(
                c.account,
                id or 0,
                url=url or "",
                method=(method or "json").strip().lower(),
                expression=expression or "",
                actions=shapes.strings(actions),
                sources=shapes.strings(sources),
                collection_id=shapes.reference_id(collection) or None,
            )
            return shapes.callback(created)

        return auth.run(access_token, action)
