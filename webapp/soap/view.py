"""The ``View_*`` and ``Rule_*`` methods: selections in Copernica's shapes (``selections/views.py``)."""

from spyne import Boolean, Integer, ServiceBase, Unicode, rpc

from webapp.profiles.databases import get_database
from webapp.selections import views
from webapp.soap import auth, shapes
from webapp.soap.types import (
    PAGED,
    ConditionItems,
    DatabaseEntity,
    Login,
    ProfileItems,
    Requirements,
    RuleEntity,
    RuleItems,
    Token,
    ViewEntity,
    ViewItems,
)


def _empty(items_type, name: str, start: int | None = 0) -> tuple:
    return shapes.paged([], items_type, name, max(0, start or 0), 0)


def _paged(items_type) -> dict:
    return {"_returns": (Integer, Integer, Integer, items_type), "_out_variable_names": PAGED}


class ViewService(ServiceBase):
    @rpc(Integer, Login, Token, _returns=ViewEntity, _out_variable_name="view")
    def View_retrieve(ctx, id, login, access_token):
        return auth.run(lambda c: shapes.view(views.get_view(c.account, id or 0)))

    @rpc(Integer, Login, Token, _returns=DatabaseEntity, _out_variable_name="database")
    def View_database(ctx, id, login, access_token):
        """The database the view selects from."""
        return auth.run(
            lambda c: shapes.database(get_database(c.account, views.get_view(c.account, id or 0).database_id))
        )

    @rpc(Integer, Unicode, Unicode, Login, Token, _returns=Integer, _out_variable_name="value")
    def View_update(ctx, id, name, description, login, access_token):
        """Rename or describe the view; what is not given stays."""

        def action(c):
            views.update_view(c.account, id or 0, name=name, description=description)
            return 1

        return auth.run(action)

    @rpc(Integer, Login, Token, _returns=Integer, _out_variable_name="value")
    def View_remove(ctx, id, login, access_token):
        """Remove the view; a fault while a selection, follow-up, callback or scheduled export uses it."""

        def action(c):
            views.remove_view(c.account, id or 0)
            return 1

        return auth.run(action)

    @rpc(Integer, Login, Token, Integer, Integer, Boolean, **_paged(ProfileItems))
    def View_profiles(ctx, id, login, access_token, start, length, allproperties):
        """A page of the view's members, in id order (computed by SQL now)."""

        def action(c):
            found = views.members(c.account, id or 0, start=start or 0, length=100 if length is None else length)
            items = [shapes.profile(p, bool(allproperties)) for p in found.items]
            return shapes.paged(items, ProfileItems, "profile", found.start, found.total)

        return auth.run(action, empty=_empty(ProfileItems, "profile", start))

    @rpc(Integer, Login, Token, Integer, Integer, Boolean, **_paged(ViewItems))
    def View_views(ctx, id, login, access_token, start, length, allproperties):
        """The views nested under the view: none, ever (Verrijk has no nested selections); an empty page for a
        view of the caller, and for any other id."""

        def action(c):
            views.get_view(c.account, id or 0)
            return _empty(ViewItems, "view", start)

        return auth.run(action, empty=_empty(ViewItems, "view", start))

    @rpc(
        Integer,
        Requirements,
        Login,
        Token,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, ProfileItems),
        _out_variable_names=PAGED,
    )
    def View_searchProfiles(ctx, id, requirements, login, access_token, start, length, allproperties):
        """A page of the view's members that also meet the requirements (none: all members)."""

        def action(c):
            found = views.search_members(
                c.account,
                id or 0,
                shapes.requirements(requirements),
                start=start or 0,
                length=100 if length is None else length,
            )
            items = [shapes.profile(p, bool(allproperties)) for p in found.items]
            return shapes.paged(items, ProfileItems, "profile", found.start, found.total)

        return auth.run(action, empty=_empty(ProfileItems, "profile", start))

    @rpc(
        Integer,
        Login,
        Token,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, RuleItems),
        _out_variable_names=PAGED,
    )
    def View_rules(ctx, id, login, access_token, start, length, allproperties):
        def action(c):
            found = views.view_rules(c.account, id or 0)
            first, end = shapes.page_bounds(start, length, len(found))
            return shapes.paged([shapes.rule(x) for x in found[first:end]], RuleItems, "rule", first, len(found))

        return auth.run(action, empty=_empty(RuleItems, "rule", start))

    @rpc(Integer, Unicode, Boolean, Login, Token, _returns=RuleEntity, _out_variable_name="rule")
    def View_createRule(ctx, id, name, inversed, login, access_token):
        """A new rule (OR-ed with the others; ``inversed``: OR NOT), without conditions until they are added."""
        return auth.run(lambda c: shapes.rule(views.create_rule(c.account, id or 0, name or "", bool(inversed))))

    @rpc(Integer, Unicode, Boolean, Boolean, Login, Token, _returns=Integer, _out_variable_name="value")
    def Rule_update(ctx, id, name, inversed, disabled, login, access_token):
        """Rename the rule or make it inversed or not; what is not given stays. ``disabled`` true is a fault."""

        def action(c):
            views.update_rule(c.account, id or 0, name=name, inversed=inversed, disabled=bool(disabled))
            return 1

        return auth.run(action)

    @rpc(Integer, Login, Token, _returns=Integer, _out_variable_name="value")
    def Rule_remove(ctx, id, login, access_token):
        """Remove the rule and its conditions; the view's later rules move up one place (their ids change)."""

        def action(c):
            views.remove_rule(c.account, id or 0)
            return 1

        return auth.run(action)

    @rpc(Integer, Login, Token, Integer, Integer, Boolean, **_paged(ConditionItems))
    def Rule_conditions(ctx, id, login, access_token, start, length, allproperties):
        """The rule's conditions: ``fieldcondition`` and ``interestcondition`` items, each with its position."""

        def action(c):
            found = views.rule_conditions(c.account, id or 0)
            first, end = shapes.page_bounds(start, length, len(found))
            return shapes.conditions(found[first:end], first, len(found))

        return auth.run(action, empty=shapes.conditions([], max(0, start or 0), 0))

    @rpc(Integer, Unicode, Unicode, Unicode, Unicode, Login, Token, _returns=Integer, _out_variable_name="value")
    def Rule_createCondition(ctx, id, type, field, comparison, value, login, access_token):
        """A condition (AND-ed with the rule's others): ``Field`` with ``field``, ``comparison`` and ``value``, or
        ``Interest`` with the interest's name as ``value``; answers the condition's position in the rule."""
        return auth.run(
            lambda c: views.create_condition(
                c.account, id or 0, type or "", field=field or "", comparison=comparison or "equals", value=value
            )
        )
