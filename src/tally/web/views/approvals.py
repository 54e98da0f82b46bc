"""The approvals inbox (approve, reject with a reason), undo of an action, and bulk actions on the
break list. The maker sees their own proposals here without approve buttons; a forged POST meets
the service's SELF_APPROVAL all the same.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from tally.breaks.models import Break
from tally.errors import TallyError
from tally.services import access, approvals, workflow
from tally.web.error_labels import error_text
from tally.web.forms import BreakFilter
from tally.web.permissions import VIEW_BREAKS, requires
from tally.web.workflow_forms import BULK_OPERATIONS, BulkForm, ReasonForm
from tally.web.workflow_labels import ACTION_KINDS

PAGE_SIZE = 50


def _next(request: HttpRequest, default: str) -> HttpResponseRedirect:
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = default
    return HttpResponseRedirect(target)


@require_safe
@requires(VIEW_BREAKS)
def inbox(request: HttpRequest) -> HttpResponse:
    waiting = approvals.waiting(request.user).select_related("checker")
    page = Paginator(waiting, PAGE_SIZE).get_page(request.GET.get("page"))
    for action in page.object_list:
        action.decidable = approvals.decidable_by(action, request.user)  # type: ignore[attr-defined]
        action.own = action.maker_id == request.user.pk  # type: ignore[attr-defined]
    return render(request, "tally/approvals.html", {"page": page})


@require_POST
@requires(VIEW_BREAKS)
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        action = approvals.approve(pk, request.user)
    except TallyError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("%(action)s #%(id)s approved and applied.")
                         % {"action": ACTION_KINDS.get(action.kind, action.kind), "id": action.pk})
    return _next(request, reverse("approvals"))


@require_POST
@requires(VIEW_BREAKS)
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        action = approvals.reject(pk, request.user, reason)
    except TallyError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("%(action)s #%(id)s rejected.")
                         % {"action": ACTION_KINDS.get(action.kind, action.kind), "id": action.pk})
    return _next(request, reverse("approvals"))


@require_POST
@requires(VIEW_BREAKS)
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        kind = "unmatch" if request.POST.get("unmatch") else "undo"
        action = workflow.undo(pk, request.user, reason, kind=kind)
    except TallyError as exc:
        messages.error(request, error_text(exc))
    else:
        if action.state == "proposed":
            messages.success(request, _("Undo proposed; it waits for another person's approval."))
        else:
            messages.success(request, _("Action #%(id)s undone; its breaks are open again.") % {"id": pk})
    return _next(request, reverse("approvals"))


@require_POST
@requires(VIEW_BREAKS)
def bulk(request: HttpRequest) -> HttpResponse:
    """One operation on the selected rows, or on every break matching the list's filters."""
    form = BulkForm(request.POST)
    filters = QueryDict(request.POST.get("filters", ""))
    back = reverse("break-list") + (f"?{filters.urlencode()}" if filters else "")
    if not form.is_valid():
        messages.error(request, _("Choose an action."))
        return HttpResponseRedirect(back)
    if form.cleaned_data["all_matching"]:
        targets = BreakFilter(filters).apply(access.breaks(request.user, Break.objects.all()))
    else:
        targets = access.breaks(request.user, Break.objects.filter(pk__in=form.cleaned_data["ids"] or []))
    operation = form.cleaned_data["operation"]
    try:
        result = workflow.bulk(targets, operation, request.user, **form.details())
    except TallyError as exc:
        messages.error(request, error_text(exc))
        return HttpResponseRedirect(back)
    label = BULK_OPERATIONS.get(operation, operation)
    if result.done:
        messages.success(request, _("%(action)s: done on %(count)s break(s).")
                         % {"action": label, "count": len(result.done)})
    if result.failed:
        first = result.failed[0]
        messages.error(request, _("%(action)s: %(count)s break(s) refused, e.g. #%(id)s: %(why)s")
                       % {"action": label, "count": len(result.failed), "id": first[0],
                          "why": error_text(TallyError(first[1], first[2]))})
    if not result.done and not result.failed:
        messages.error(request, error_text(TallyError("NO_BREAKS", "no breaks selected")))
    return HttpResponseRedirect(back)
