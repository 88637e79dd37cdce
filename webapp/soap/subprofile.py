"""The ``SubProfile_*`` methods."""

from spyne import Integer, ServiceBase, Unicode, rpc

from webapp.profiles import subprofiles
from webapp.soap import auth, shapes
from webapp.soap.types import Map

Token = Unicode(min_occurs=0)


class SubprofileService(ServiceBase):
    @rpc(Token, Integer, Map, _returns=Integer, _out_variable_name="value")
    def SubProfile_updateFields(ctx, access_token, id, fields):
        def action(c):
            subprofiles.update_subprofile(c.account, id or 0, shapes.pairs(fields), origin=c.origin)
            return 1

        return auth.run(access_token, action)

    @rpc(Token, Integer, _returns=Integer, _out_variable_name="value")
    def SubProfile_remove(ctx, access_token, id):
        def action(c):
            subprofiles.delete_subprofile(c.account, id or 0, origin=c.origin)
            return 1

        return auth.run(access_token, action)
