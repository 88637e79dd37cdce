"""The ``View_*`` and ``Rule_*`` methods: selections in Copernica's shapes (``selections/views.py``)."""

from spyne import Boolean, Integer, ServiceBase, Unicode, rpc

from webapp.selections import views
from webapp.soap import auth, shapes
from webapp.soap.types import PAGED, Login, ProfileItems, Requirements, RuleEntity, RuleItems, Token


def _empty(items_type, name: str, start: int | None = 0) -> tuple:
    return shapes.paged([], items_type, name, max(0, start or 0), 0)


class ViewService(ServiceBase):
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

    @rpc(Integer, Unicode, Unicode, Unicode, Unicode, Login, Token, _returns=Integer, _out_variable_name="value")
    def Rule_createCondition(ctx, id, type, field, comparison, value, login, access_token):
        """A condition (AND-ed with the rule's others): ``Field`` with ``field``, ``comparison`` and ``value``, or
        ``Interest`` with the interest's name as ``value``; answers the condition's position in the rule."""
        return auth.run(
            lambda c: views.create_condition(
                c.account, id or 0, type or "", field=field or "", comparison=comparison or "equals", value=value
            )
        )
