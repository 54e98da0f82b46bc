"""Users and roles (admins), each user's own preferences (language, time zone), and the language
switch that remembers the choice for a logged-in user."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.i18n import set_language

from tally.web.models import Profile
from tally.web.office_forms import PreferencesForm, UserRolesForm
from tally.web.permissions import requires
from tally.web.roles import ADMIN, ROLES, ensure_roles
from tally.web.views.requests import HtmxHttpRequest

MANAGE_USERS = "web.manage_users"
PAGE_SIZE = 50


@require_safe
@requires(MANAGE_USERS)
def user_list(request: HtmxHttpRequest) -> HttpResponse:
    users = (get_user_model().objects.order_by("username").prefetch_related("groups")
             .select_related("tally_profile"))
    query = (request.GET.get("q") or "").strip()
    if query:
        users = users.filter(username__icontains=query)
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"user": u, "roles": sorted(g.name for g in u.groups.all() if g.name in ROLES),
             "profile": getattr(u, "tally_profile", None)} for u in page.object_list]
    return render(request, "tally/office/user_list.html", {"page": page, "rows": rows, "q": query})


@require_http_methods(["GET", "HEAD", "POST"])
@requires(MANAGE_USERS)
def user_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    current = sorted(g.name for g in user.groups.all() if g.name in ROLES)
    form = UserRolesForm(request.POST or None, initial={"roles": current, "is_active": user.is_active})
    if request.method == "POST" and form.is_valid():
        roles, active = form.cleaned_data["roles"], form.cleaned_data["is_active"]
        if user.pk == request.user.pk and (not active or (ADMIN in current and ADMIN not in roles)):
            form.add_error(None, _("You cannot deactivate yourself or take away your own admin role."))
        else:
            _set_roles(user, roles, active)
            messages.success(request, _("%(user)s saved.") % {"user": user.get_username()})
            return redirect("user-list")
    return render(request, "tally/office/user_detail.html", {"subject": user, "form": form, "roles": current},
                  status=400 if form.errors else 200)


@transaction.atomic
def _set_roles(user: Any, roles: list[str], active: bool) -> None:
    groups = ensure_roles()
    keep = [g for g in user.groups.all() if g.name not in ROLES]  # groups that are not roles stay
    user.groups.set(keep + [groups[name] for name in roles])
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def preferences(request: HtmxHttpRequest) -> HttpResponse:
    user: Any = request.user
    profile, _created = Profile.objects.get_or_create(user=user)
    form = PreferencesForm(request.POST or None, initial={"language": profile.language,
                                                          "time_zone": profile.time_zone})
    if request.method == "POST" and form.is_valid():
        profile.language = form.cleaned_data["language"]
        profile.time_zone = form.cleaned_data["time_zone"]
        profile.save()
        messages.success(request, _("Preferences saved."))
        return redirect("preferences")
    return render(request, "tally/office/preferences.html", {"form": form})


@require_POST
def switch_language(request: HtmxHttpRequest) -> HttpResponse:
    """Django's language switch; a logged-in user's choice is also kept in their preferences."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(_languages()):
        user: Any = request.user
        Profile.objects.update_or_create(user=user, defaults={"language": language})
    return response


def _languages() -> list[tuple[str, str]]:
    from django.conf import settings

    return list(settings.LANGUAGES)
