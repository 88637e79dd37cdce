"""A collection's selections in Copernica's words for the SOAP API: *miniviews*, whose members are the
collection's subprofiles that match their rules (``membership.subprofile_ids``). Their rules are made in the
admin, where the rule language has subprofile conditions; the API lists, creates and searches them."""

from flask_babel import gettext as _
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Account, Selection
from webapp.platform.errors import NotFound
from webapp.platform.tenancy import owned
from webapp.profiles import search
from webapp.profiles.databases import get_collection
from webapp.selections import selections
from webapp.selections.membership import subprofile_ids


def get_miniview(account: Account, miniview_id: int) -> Selection:
    """A selection of a collection's subprofiles (a database's selection is a view, not found here)."""
    selection = owned(Selection, account, miniview_id, _("Selection not found."))
    if selection.collection_id is None:
        raise NotFound(_("Selection not found."))
    return selection


def list_miniviews(account: Account, collection_id: int) -> list[Selection]:
    """The collection's selections, by name."""
    collection = get_collection(account, collection_id)
    return list(
        db.session.scalars(
            select(Selection)
            .where(Selection.account_id == account.id, Selection.collection_id == collection.id)
            .order_by(func.lower(Selection.name), Selection.id)
        )
    )


def create_miniview(account: Account, collection_id: int, name: str, description: str = "") -> Selection:
    """A new selection of the collection without rules (every subprofile)."""
    collection = get_collection(account, collection_id)
    return selections.create_selection(
        account, collection.database_id, name, description=description, collection_id=collection.id
    )


def search_members(
    account: Account,
    miniview_id: int,
    requirements: list[search.Requirement],
    *,
    start: int = 0,
    length: int = 100,
) -> search.SearchResult:
    """A page of the miniview's subprofiles that also meet the requirements (none: all of them)."""
    selection = get_miniview(account, miniview_id)
    return search.search_subprofiles(
        account,
        int(selection.collection_id or 0),
        requirements,
        start=start,
        length=length,
        within=subprofile_ids(selection),
    )
