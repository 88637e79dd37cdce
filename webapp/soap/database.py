"""The ``Database_*`` and ``Field_update`` methods."""

from spyne import Boolean, Integer, ServiceBase, Unicode, rpc

from webapp.platform.errors import NotFound
from webapp.profiles import databases, fields, profiles, search
from webapp.selections import views
from webapp.soap import auth, shapes
from webapp.soap.field_properties import FIELD_PARAMETERS, FieldProperties, field_spec, find_field
from webapp.soap.types import (
    PAGED,
    CallbackEntity,
    CallbackItems,
    CallerInfo,
    CollectionEntity,
    CollectionItems,
    DatabaseEntity,
    FieldEntity,
    FieldItems,
    IdList,
    Login,
    Map,
    ObjectRef,
    ProfileEntity,
    ProfileItems,
    Requirements,
    StringArray,
    Token,
    ViewEntity,
    ViewItems,
)


def _paged(items_type):
    return {"_returns": (Integer, Integer, Integer, items_type), "_out_variable_names": PAGED}


def _empty_page(items_type, name: str, start: int | None = 0) -> tuple:
    return shapes.paged([], items_type, name, max(0, start or 0), 0)


class DatabaseService(ServiceBase):
    @rpc(Integer, Login, Token, _returns=DatabaseEntity, _out_variable_name="database")
    def Database_retrieve(ctx, id, login, access_token):
        return auth.run(lambda c: shapes.database(databases.get_database(c.account, id or 0)))

    @rpc(Integer, Unicode, Unicode, Boolean, Login, Token, _returns=Integer, _out_variable_name="value")
    def Database_update(ctx, id, name, description, archived, login, access_token):
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

        return auth.run(action)

    @rpc(Integer, Login, Token, _returns=Integer, _out_variable_name="value")
    def Database_remove(ctx, id, login, access_token):
        return auth.run(lambda c: databases.delete_database(c.account, id or 0) or 1)

    @rpc(Integer, Login, Token, _returns=Map, _out_variable_name="map")
    def Database_unsubscribeValues(ctx, id, login, access_token):
        """The values an unsubscribe sets (field and interest names to values)."""

        def action(c):
            database = databases.get_database(c.account, id or 0)
            return shapes.value_map(databases.unsubscribe_values_by_name(database))

        return auth.run(action, empty=Map(pair=[]))

    @rpc(Integer, Map, Unicode, Login, Token, _returns=Integer, _out_variable_name="value")
    def Database_setUnsubscribeValues(ctx, id, fields, behavior, login, access_token):
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

        return auth.run(action)

    @rpc(Integer, Unicode, Login, Token, _returns=FieldEntity, _out_variable_name="field")
    def Database_field(ctx, id, identifier, login, access_token):
        """A field of a database by name or id (empty when there is none)."""

        def action(c):
            field = find_field(databases.get_database(c.account, id or 0).fields, identifier)
            return shapes.field(field) if field else None

        return auth.run(action)

    @rpc(Integer, Login, Token, Integer, Integer, Boolean, **_paged(FieldItems))
    def Database_fields(ctx, id, login, access_token, start, length, allproperties):
        def action(c):
            found = databases.get_database(c.account, id or 0).fields
            first, end = shapes.page_bounds(start, length, len(found))
            return shapes.paged([shapes.field(f) for f in found[first:end]], FieldItems, "field", first, len(found))

        return auth.run(action, empty=_empty_page(FieldItems, "field", start))

    @rpc(Integer, *FIELD_PARAMETERS, Login, Token, _returns=FieldEntity, _out_variable_name="field")
    def Database_createField(
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
            spec = field_spec(None, given)
            return shapes.field(fields.create_field(c.account, spec, database_id=id or 0))

        return auth.run(action)

    @rpc(Integer, *FIELD_PARAMETERS, Login, Token, _returns=Integer, _out_variable_name="value")
    def Field_update(
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
        """Change a database field; what is not given stays (stored values convert, or the change is refused)."""
        given = FieldProperties(
            name, type, value, display, ordered, length, textlines, hidden, index, specialcontent, displayed, lines, big
        )

        def action(c):
            current = fields.get_field(c.account, id or 0)
            if current.collection_id is not None:
                raise NotFound()
            fields.update_field(c.account, current.id, field_spec(current, given))
            return 1

        return auth.run(action)

    @rpc(Integer, Login, Token, _returns=Integer, _out_variable_name="value")
    def Field_remove(ctx, id, login, access_token):
        """Remove a database field and its values (refused while the unsubscribe behaviour sets it)."""

        def action(c):
            if fields.get_field(c.account, id or 0).collection_id is not None:
                raise NotFound()
            fields.delete_field(c.account, id or 0)
            return 1

        return auth.run(action)

    @rpc(Integer, Unicode, Login, Token, _returns=CollectionEntity, _out_variable_name="collection")
    def Database_collection(ctx, id, identifier, login, access_token):
        def action(c):
            key = (identifier or "").strip().lower()
            for collection in databases.get_database(c.account, id or 0).collections:
                if collection.name.lower() == key or str(collection.id) == key:
                    return shapes.collection(collection)
            return None

        return auth.run(action)

    @rpc(Integer, Login, Token, Integer, Integer, Boolean, **_paged(CollectionItems))
    def Database_collections(ctx, id, login, access_token, start, length, allproperties):
        def action(c):
            found = databases.get_database(c.account, id or 0).collections
            first, end = shapes.page_bounds(start, length, len(found))
            items = [shapes.collection(x) for x in found[first:end]]
            return shapes.paged(items, CollectionItems, "collection", first, len(found))

        return auth.run(action, empty=_empty_page(CollectionItems, "collection", start))

    @rpc(Integer, Unicode, Login, Token, _returns=CollectionEntity, _out_variable_name="collection")
    def Database_createCollection(ctx, id, name, login, access_token):
        return auth.run(lambda c: shapes.collection(databases.create_collection(c.account, id or 0, name or "")))

    @rpc(Integer, Login, Token, Integer, Integer, Boolean, **_paged(ViewItems))
    def Database_views(ctx, id, login, access_token, start, length, allproperties):
        """The database's selections of profiles, by name (a collection's are its miniviews)."""

        def action(c):
            found = views.list_views(c.account, id or 0)
            first, end = shapes.page_bounds(start, length, len(found))
            return shapes.paged([shapes.view(x) for x in found[first:end]], ViewItems, "view", first, len(found))

        return auth.run(action, empty=_empty_page(ViewItems, "view", start))

    @rpc(Integer, Unicode, Login, Token, _returns=ViewEntity, _out_variable_name="view")
    def Database_view(ctx, id, identifier, login, access_token):
        """A view of the database by name (whatever the case) or id (empty when there is none)."""

        def action(c):
            found = views.find_view(c.account, id or 0, identifier or "")
            return shapes.view(found) if found else None

        return auth.run(action)

    @rpc(Integer, Unicode, Unicode, Login, Token, _returns=ViewEntity, _out_variable_name="view")
    def Database_createView(ctx, id, name, description, login, access_token):
        """A new selection without rules (every profile); add rules with ``View_createRule``."""
        return auth.run(lambda c: shapes.view(views.create_view(c.account, id or 0, name or "", description or "")))

    @rpc(
        Integer,
        Login,
        Token,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, ProfileItems),
        _out_variable_names=PAGED,
    )
    def Database_profiles(ctx, id, login, access_token, start, length, allproperties):
        def action(c):
            found = search.search_profiles(
                c.account, id or 0, start=start or 0, length=100 if length is None else length
            )
            items = [shapes.profile(p, bool(allproperties)) for p in found.items]
            return shapes.paged(items, ProfileItems, "profile", found.start, found.total)

        return auth.run(action, empty=_empty_page(ProfileItems, "profile", start))

    @rpc(Integer, Map, Map, CallerInfo, Login, Token, _returns=ProfileEntity, _out_variable_name="profile")
    def Database_createProfile(ctx, id, fields, interests, caller, login, access_token):
        """``caller`` is accepted (Verrijk always runs follow-ups)."""

        def action(c):
            interest_changes = {k: shapes.interest_on(v) for k, v in shapes.pairs(interests).items()}
            profile = profiles.create_profile(
                c.account, id or 0, shapes.pairs(fields), origin=c.origin, interests=interest_changes
            )
            return shapes.profile(profile)

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
        _returns=(Integer, Integer, Integer, ProfileItems),
        _out_variable_names=PAGED,
    )
    def Database_searchProfiles(ctx, id, requirements, order, asc, login, access_token, start, length, allproperties):
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

        return auth.run(action, empty=_empty_page(ProfileItems, "profile", start))

    @rpc(
        Integer,
        Requirements,
        Map,
        Boolean,
        Boolean,
        Map,
        Login,
        Token,
        Integer,
        Integer,
        Boolean,
        _in_arg_names={"async_": "async"},
        **_paged(ProfileItems),
    )
    def Database_updateProfiles(
        ctx, id, requirements, fields, create, async_, interests, login, access_token, start, length, allproperties
    ):
        """Set ``fields`` and ``interests`` on every profile matching ``requirements`` (or create one, with
        ``create``); answers a page of those profiles. ``async`` is accepted and the update runs at once."""

        def action(c):
            found = search.update_matching_profiles(
                c.account,
                id or 0,
                shapes.requirements(requirements),
                shapes.pairs(fields),
                interests={k: shapes.interest_on(v) for k, v in shapes.pairs(interests).items()},
                create=bool(create),
                origin=c.origin,
                start=start or 0,
                length=100 if length is None else length,
            )
            items = [shapes.profile(p, bool(allproperties)) for p in found.items]
            return shapes.paged(items, ProfileItems, "profile", found.start, found.total)

        return auth.run(action, empty=_empty_page(ProfileItems, "profile", start))

    @rpc(Integer, IdList, Login, Token, _returns=Integer, _out_variable_name="value")
    def Database_removeProfiles(ctx, id, ids, login, access_token):
        def action(c):
            search.remove_profiles(c.account, id or 0, shapes.ids(ids), origin=c.origin)
            return 1

        return auth.run(action)

    @rpc(Integer, Login, Token, Integer, Integer, Boolean, **_paged(CallbackItems))
    def Database_callbacks(ctx, id, login, access_token, start, length, allproperties):
        def action(c):
            from webapp.callbacks import definitions

            found = definitions.list_callbacks(c.account, id or 0)
            first, end = shapes.page_bounds(start, length, len(found))
            items = [shapes.callback(x) for x in found[first:end]]
            return shapes.paged(items, CallbackItems, "callback", first, len(found))

        return auth.run(action, empty=_empty_page(CallbackItems, "callback", start))

    @rpc(
        Integer,
        Unicode,
        Unicode,
        Unicode,
        StringArray,
        StringArray,
        ObjectRef,
        Login,
        Token,
        _returns=CallbackEntity,
        _out_variable_name="callback",
    )
    def Database_createCallback(ctx, id, url, method, expression, actions, sources, collection, login, access_token):
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

        return auth.run(action)
