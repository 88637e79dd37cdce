"""The ``SubProfile_*`` methods."""

from spyne import Integer, ServiceBase, rpc

from webapp.profiles import subprofiles
from webapp.soap import auth, shapes
from webapp.soap.types import Login, Map, ObjectRef, Token


class SubprofileService(ServiceBase):
    @rpc(Integer, Map, Login, Token, _returns=Integer, _out_variable_name="value")
    def SubProfile_updateFields(ctx, id, fields, login, access_token):
        def action(c):
            subprofiles.update_subprofile(c.account, id or 0, shapes.pairs(fields), origin=c.origin)
            return 1

        return auth.run(action)

    @rpc(Integer, Login, Token, _returns=Integer, _out_variable_name="value")
    def SubProfile_remove(ctx, id, login, access_token):
        def action(c):
            subprofiles.delete_subprofile(c.account, id or 0, origin=c.origin)
            return 1

        return auth.run(action)

    @rpc(Integer, ObjectRef, Login, Token, _returns=Integer, _out_variable_name="value")
    def SubProfile_moveToProfile(ctx, id, profile, login, access_token):
        """Give the subprofile to ``profile{id}`` (same database)."""

        def action(c):
            subprofiles.move_to_profile(c.account, id or 0, shapes.reference_id(profile), origin=c.origin)
            return 1

        return auth.run(action)
