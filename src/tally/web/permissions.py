"""Who may see what: every page needs a login, and each area its model's view permission.

Anonymous users are sent to the login page; a logged-in user without the permission gets 403
(never a login loop). Permission names follow Django's ``app_label.action_model``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.decorators import login_required, permission_required
from django.http.response import HttpResponseBase

VIEW_BREAKS = "breaks.view_break"
VIEW_BILLS = "ingest.view_bill"
VIEW_SOURCES = "ingest.view_source"
ADD_SOURCE = "ingest.add_source"
CHANGE_SOURCE = "ingest.change_source"
ADD_BILL = "ingest.add_bill"  # upload bills, retry a fetch
VIEW_FETCHES = "ingest.view_fetchattempt"
# FX rates decide what the fx rule resolves without a second person, so changing them is an admin's
# job (like a plan's tolerances): every role sees them, only admins (breaks.add_fxrate) import them.
VIEW_FX_RATES = "breaks.view_fxrate"
IMPORT_FX_RATES = "breaks.add_fxrate"

View = Callable[..., HttpResponseBase]  # a page, a redirect or a streamed file


def requires(perm: str) -> Callable[[View], View]:
    """Decorate a view: login first, then ``perm`` or 403."""

    def decorate(view: View) -> View:
        checked: View = permission_required(perm, raise_exception=True)(view)
        return login_required(checked)

    return decorate
