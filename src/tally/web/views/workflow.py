"""The workflow part of a break's page: its forms, actions, comments, files and history; and the
POST handlers behind those forms. Every handler calls the service, which checks role, plan and
state again: a forged POST gets the same refusal as the API.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from tally.breaks.models import Action, Break
from tally.errors import TallyError
from tally.services import access, approvals, audit, evidence, suggestions, workflow
from tally.services.kinds import UNDOABLE
from tally.web.error_labels import error_text
from tally.web.workflow_forms import WRITE_OFF_LABELS, ActionForm, AssignForm, AttachForm, CommentForm
from tally.web.workflow_labels import ACTION_KINDS

S = Break.Status
MAX_ASSIGNEES = 200


def forms_for(brk: Break) -> list[str]:
    """Which proposal forms fit the break's kind and status (the service checks again)."""
    if brk.status not in (S.OPEN, S.SUSPENDED):
        return []
    kinds = []
    if brk.kind == Break.Kind.LONG:
        kinds.append("supplement")
    if brk.kind == Break.Kind.MISMATCH:
        kinds.append("sync_status")
    kinds += ["adjust", "write_off", "resolve"]
    if brk.kind in (Break.Kind.SHORT, Break.Kind.LONG):
        kinds.append("manual_match")
    kinds.append("suspend" if brk.status == S.OPEN else "reopen")
    return kinds


def assignees(brk: Break) -> list[Any]:
    return access.people(brk.plan_id, MAX_ASSIGNEES)


def context(request: HttpRequest, brk: Break) -> dict[str, Any]:
    """What the break page adds for the workflow (``tally/_break_workflow.html``)."""
    user = request.user
    actions = list(brk.actions.select_related("maker", "checker", "target").order_by("-created_at", "-id"))
    for action in actions:
        action.decidable = approvals.decidable_by(action, user)  # type: ignore[attr-defined]
        action.undoable = (action.state == Action.State.APPLIED  # type: ignore[attr-defined]
                           and action.kind in UNDOABLE and brk.status in (S.RESOLVED, S.SUSPENDED))
    can_act = user.has_perm(access.ACT)
    return {
        "can_act": can_act,
        "can_comment": can_act or user.has_perm(access.APPROVE),
        "proposals": [(kind, ACTION_KINDS[kind]) for kind in forms_for(brk)] if can_act else [],
        "actions": actions,
        "comments": list(brk.comments.select_related("author")),
        "attachments": list(brk.attachments.select_related("uploaded_by")),
        "history": audit.history(brk),
        "assignees": assignees(brk) if can_act else [],
        "write_off_codes": list(WRITE_OFF_LABELS.items()),
        # Candidate counterparts (one record or a group), confirmed by a manual match.
        "suggestions": suggestions.suggested(brk) if brk.suggestions else [],
    }


def _back(brk_pk: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("break-detail", args=[brk_pk]) + "#workflow")


def _visible(request: HttpRequest, pk: int) -> Break:
    try:
        return access.get_break(request.user, pk, Break.objects.select_related("plan"))
    except TallyError:
        raise Http404 from None


def _done(request: HttpRequest, text: str) -> None:
    messages.success(request, text)


def _refused(request: HttpRequest, exc: TallyError) -> None:
    messages.error(request, error_text(exc))


@require_POST
@login_required
def propose(request: HttpRequest, pk: int) -> HttpResponse:
    brk = _visible(request, pk)
    form = ActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The form has errors: %(fields)s") % {"fields": ", ".join(form.errors)})
        return _back(brk.pk)
    try:
        kind = form.cleaned_data["kind"]
        ids = [brk.pk, *form.other_ids()] if kind == "manual_match" else [brk.pk]
        action = workflow.propose(ids, kind, request.user, **form.details(brk.currency))
    except TallyError as exc:
        _refused(request, exc)
    else:
        label = ACTION_KINDS.get(action.kind, action.kind)
        if action.state == Action.State.PROPOSED:
            _done(request, _("%(action)s proposed; it waits for another person's approval.") % {"action": label})
        else:
            _done(request, _("%(action)s applied.") % {"action": label})
    return _back(brk.pk)


@require_POST
@login_required
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    brk = _visible(request, pk)
    form = AssignForm(request.POST)
    try:
        form.is_valid()
        done = workflow.assign(brk, request.user, form.cleaned_data.get("assignee") or None)
    except TallyError as exc:
        _refused(request, exc)
    else:
        _done(request, _("Assigned to %(who)s.") % {"who": done.assignee.get_username()} if done.assignee
              else _("Nobody is assigned now."))
    return _back(brk.pk)


@require_POST
@login_required
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    brk = _visible(request, pk)
    form = CommentForm(request.POST)
    try:
        workflow.comment(brk, request.user, request.POST.get("body", "") if not form.is_valid()
                         else form.cleaned_data["body"])
    except TallyError as exc:
        _refused(request, exc)
    else:
        _done(request, _("Comment added."))
    return _back(brk.pk)


@require_POST
@login_required
def attach(request: HttpRequest, pk: int) -> HttpResponse:
    brk = _visible(request, pk)
    form = AttachForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to attach."))
        return _back(brk.pk)
    upload = form.cleaned_data["file"]
    try:
        evidence.attach(brk, request.user, upload.name or "evidence", upload, upload.content_type or "")
    except TallyError as exc:
        _refused(request, exc)
    else:
        _done(request, _("File attached."))
    return _back(brk.pk)


@require_safe
@login_required
def download(request: HttpRequest, pk: int) -> FileResponse:
    try:
        row, path = evidence.open_attachment(request.user, pk)
    except TallyError:
        raise Http404 from None
    handle = open(path, "rb")  # noqa: SIM115 (FileResponse closes it)
    response = FileResponse(handle, as_attachment=True, filename=row.name, content_type=row.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response
