"""``login`` and the ``Account_*`` methods (with the privacy extensions ``Account_accessExport`` and
``Account_erasePerson``)."""

import json

from spyne import Boolean, Integer, ServiceBase, Unicode, rpc

from webapp.platform.errors import NotFound
from webapp.privacy import access, erasure
from webapp.profiles import databases
from webapp.soap import auth, shapes
from webapp.soap.types import PAGED, DatabaseEntity, DatabaseItems, Login, Token


class AccountService(ServiceBase):
    @rpc(Unicode, Unicode, Unicode, _returns=Integer, _out_variable_name="value")
    def login(ctx, username, password, account):
        """Log an API user (admin or owner) on; later calls send the ``soap_session`` cookie it sets."""
        return auth.login(username, password, account)

    @rpc(Unicode, Login, Token, _returns=DatabaseEntity, _out_variable_name="database")
    def Account_database(ctx, identifier, login, access_token):
        """A database by name or id (empty when there is none)."""

        def action(caller):
            found = None
            if identifier and identifier.strip().isdigit():
                try:
                    found = databases.get_database(caller.account, int(identifier.strip()))
                except NotFound:
                    found = None
            found = found or databases.find_database(caller.account, (identifier or "").strip())
            return shapes.database(found) if found else None

        return auth.run(action)

    @rpc(
        Login,
        Token,
        Integer,
        Integer,
        Boolean,
        _returns=(Integer, Integer, Integer, DatabaseItems),
        _out_variable_names=PAGED,
    )
    def Account_databases(ctx, login, access_token, start, length, allproperties):
        def action(caller):
            found = databases.list_databases(caller.account)
            first, end = shapes.page_bounds(start, length, len(found))
            items = [shapes.database(d) for d in found[first:end]]
            return shapes.paged(items, DatabaseItems, "database", first, len(found))

        return auth.run(action)

    @rpc(Unicode, Unicode, Login, Token, _returns=DatabaseEntity, _out_variable_name="database")
    def Account_createDatabase(ctx, name, description, login, access_token):
        def action(caller):
            return shapes.database(databases.create_database(caller.account, name or "", description or ""))

        return auth.run(action)

    @rpc(Unicode, Login, Token, _returns=Unicode, _out_variable_name="document")
    def Account_accessExport(ctx, email, login, access_token):
        """Verrijk extension: everything held about the person with this address, as JSON text."""

        def action(caller):
            return json.dumps(access.export_for_address(caller.account, email or ""), ensure_ascii=False)

        return auth.run(action)

    @rpc(Unicode, Boolean, Login, Token, _returns=Integer, _out_variable_name="value")
    def Account_erasePerson(ctx, email, anonymise, login, access_token):
        """Verrijk extension: erase (or anonymise) the person with this address; the id of the request."""

        def action(caller):
            kind = "anonymise" if anonymise else "erase"
            actor = caller.origin.actor or "soap"
            return erasure.request_erasure(caller.account, kind=kind, requested_by=actor, address=email or "").id

        return auth.run(action)
