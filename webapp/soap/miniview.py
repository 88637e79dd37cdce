"""A collection's selections in Copernica's shapes, its *miniviews* (``selections/miniviews.py``):
``Collection_miniViews``, ``Collection_createMiniView``, ``MiniView_retrieve`` and ``MiniView_searchSubProfiles``."""

from spyne import Boolean, Integer, ServiceBase, Unicode, rpc

from webapp.selections import miniviews
from webapp.soap import auth, shapes
from webapp.soap.types import PAGED, Login, MiniViewEntity, MiniViewItems, Requirements, SubprofileItems, Token


def _empty(items_type, name: str, start: int | None) -> tuple:
    return shapes.paged([], items_type, name, max(0, start or 0), 0)


class MiniViewService(ServiceBase):
    @rpc(
        Integer,
        Login,
        Token,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, MiniViewItems),
        _out_variable_names=PAGED,
    )
    def Collection_miniViews(ctx, id, login, access_token, start, length, allproperties):
        """The collection's selections (``miniview``: ``id``, ``name``, ``description``), by name."""

        def action(c):
            found = miniviews.list_miniviews(c.account, id or 0)
            first, end = shapes.page_bounds(start, length, len(found))
            items = [shapes.miniview(x) for x in found[first:end]]
            return shapes.paged(items, MiniViewItems, "miniview", first, len(found))

        return auth.run(action, empty=_empty(MiniViewItems, "miniview", start))

    @rpc(Integer, Unicode, Unicode, Login, Token, _returns=MiniViewEntity, _out_variable_name="miniview")
    def Collection_createMiniView(ctx, id, name, description, login, access_token):
        """A new selection of the collection without rules (every subprofile); its rules are made in the admin."""
        return auth.run(
            lambda c: shapes.miniview(miniviews.create_miniview(c.account, id or 0, name or "", description or ""))
        )

    @rpc(Integer, Login, Token, _returns=MiniViewEntity, _out_variable_name="miniview")
    def MiniView_retrieve(ctx, id, login, access_token):
        return auth.run(lambda c: shapes.miniview(miniviews.get_miniview(c.account, id or 0)))

    @rpc(
        Integer,
        Requirements,
        Login,
        Token,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, SubprofileItems),
        _out_variable_names=PAGED,
    )
    def MiniView_searchSubProfiles(ctx, id, requirements, login, access_token, start, length, allproperties):
        """A page of the miniview's subprofiles that also meet the requirements (none: all of them)."""

        def action(c):
            found = miniviews.search_members(
                c.account,
                id or 0,
                shapes.requirements(requirements),
                start=start or 0,
                length=100 if length is None else length,
            )
            items = [shapes.subprofile(s, bool(allproperties)) for s in found.items]
            return shapes.paged(items, SubprofileItems, "subprofile", found.start, found.total)

        return auth.run(action, empty=_empty(SubprofileItems, "subprofile", start))
