"""The back office: dashboard, members and teams, access requests, audit log, mailbox, tokens.
Views validate input and call services; domain errors become messages on the page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from antenne.accounts import access_requests as request_services
from antenne.accounts import selectors, services
from antenne.accounts.models import AccessRequest, ApiToken, User
from antenne.control import forms
from antenne.core.exceptions import AntenneError, NotFound, PermissionDenied
from antenne.core.permissions import is_admin, is_member
from antenne.events import selectors as event_selectors
from antenne.events.models import Session
from antenne.events.permissions import can_create_events
from antenne.registrations.models import Registration

# A view, whatever response it returns: the decorators keep its signature.
View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def member_required(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_member(request.user):
            raise DjangoPermissionDenied
        try:
            return view(request, *args, **kwargs)
        except NotFound as error:
            raise Http404(error.message) from error
        except PermissionDenied as error:
            raise DjangoPermissionDenied(error.message) from error

    return cast(View, wrapped)


def signed_in(request: HttpRequest) -> User:
    """The member a `member_required` view serves."""
    if not isinstance(request.user, User):
        raise DjangoPermissionDenied
    return request.user


def admin_required(view: View) -> View:
    @member_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_admin(request.user):
            raise DjangoPermissionDenied
        return view(request, *args, **kwargs)

    return cast(View, wrapped)


def _page(request: HttpRequest, items: Any, per_page: int = 50) -> Any:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


@require_GET
@member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    mine = list(event_selectors.upcoming_sessions_of(actor=request.user))
    counts = dict(
        Registration.objects.filter(session__in=mine)
        .exclude(status=Registration.Status.REVOKED)
        .values_list("session")
        .annotate(n=Count("pk"))
        .values_list("session", "n")
    )
    rows = []
    for session in mine:
        checklist = event_selectors.readiness(session)
        rows.append(
            {
                "session": session,
                "registrants": counts.get(session.pk, 0),
                # The checklist is for before the day; once started it no longer applies.
                "to_do": [item for item in checklist if not item.ok]
                if session.state == Session.State.SCHEDULED
                else None,
            }
        )
    shown = {session.pk for session in mine}
    context: dict[str, Any] = {
        # Other coming sessions of the workspace with items to fix (one's own are above).
        "attention": [
            (session, red)
            for session, red in event_selectors.sessions_needing_attention(actor=request.user)
            if session.pk not in shown
        ],
        "my_sessions": rows,
        "can_create": can_create_events(request.user),
    }
    if is_admin(request.user):
        context["pending_requests"] = selectors.count_pending_access_requests()
    return render(request, "control/dashboard.html", context)


# --- Members ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@admin_required
def members(request: HttpRequest) -> HttpResponse:
    filters = forms.MemberFilterForm(request.GET)
    data = filters.cleaned_data if filters.is_valid() else {}
    members = selectors.list_members(
        actor=request.user, search=data.get("q", ""), role=data.get("role", "")
    )
    form = forms.MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.add_member(actor=request.user, **form.cleaned_data)
        except AntenneError as error:
            form.add_error("email" if error.code == "member.exists" else None, error.message)
        else:
            messages.success(
                request, _("%(email)s was added and notified by email.") % {"email": user.email}
            )
            return redirect("control:members")
    return render(
        request,
        "control/members.html",
        {"page": _page(request, members), "filters": filters, "form": form},
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@admin_required
def member(request: HttpRequest, pk: int) -> HttpResponse:
    user = selectors.access_member(actor=request.user, pk=pk)
    action = request.POST.get("action") if request.method == "POST" else None
    role_form = forms.RoleForm(
        request.POST if action == "role" else None, initial={"role": user.role}, prefix="role"
    )
    team_form = forms.TeamChoiceForm(
        request.POST if action == "team" else None, initial={"team": user.team}, prefix="team"
    )
    if action is not None:
        try:
            if action == "role" and role_form.is_valid():
                services.change_role(
                    actor=request.user, user=user, role=role_form.cleaned_data["role"]
                )
            elif action == "team" and team_form.is_valid():
                services.set_team(
                    actor=request.user, user=user, team=team_form.cleaned_data["team"]
                )
            elif action in ("deactivate", "reactivate"):
                services.set_active(actor=request.user, user=user, active=action == "reactivate")
            elif action not in ("role", "team"):
                messages.error(request, _("Unknown action."))
                return redirect("control:member", pk=pk)
        except AntenneError as error:
            messages.error(request, error.message)
            return redirect("control:member", pk=pk)
        if not (role_form.errors or team_form.errors):
            messages.success(request, _("Saved."))
            return redirect("control:member", pk=pk)
    return render(
        request,
        "control/member.html",
        {"member": user, "role_form": role_form, "team_form": team_form},
        status=422 if role_form.errors or team_form.errors else 200,
    )


# --- Teams --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@member_required
def teams(request: HttpRequest) -> HttpResponse:
    form = forms.TeamForm(request.POST or None)
    if request.method == "POST":
        if not is_admin(request.user):
            raise DjangoPermissionDenied
        if form.is_valid():
            try:
                services.save_team(actor=request.user, **form.cleaned_data)
            except AntenneError as error:
                form.add_error("name" if error.code == "team.exists" else None, error.message)
            else:
                messages.success(request, _("Team created."))
                return redirect("control:teams")
    teams = selectors.list_teams().prefetch_related("members")
    return render(
        request,
        "control/teams.html",
        {"teams": teams, "form": form},
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@admin_required
def team(request: HttpRequest, pk: int) -> HttpResponse:
    team = selectors.access_team(actor=request.user, pk=pk)
    form = forms.TeamForm(
        request.POST or None, initial={"name": team.name, "contact_email": team.contact_email}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.save_team(actor=request.user, team=team, **form.cleaned_data)
        except AntenneError as error:
            form.add_error("name" if error.code == "team.exists" else None, error.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("control:teams")
    return render(
        request,
        "control/team.html",
        {"team": team, "form": form},
        status=422 if form.errors else 200,
    )


# --- Access requests ----------------------------------------------------------------------


@require_GET
@admin_required
def access_requests(request: HttpRequest) -> HttpResponse:
    filters = forms.AccessRequestFilterForm(request.GET or {"status": "pending"})
    status = filters.cleaned_data["status"] if filters.is_valid() else ""
    requests = selectors.list_access_requests(actor=request.user, status=status)
    return render(
        request,
        "control/access_requests.html",
        {"page": _page(request, requests), "filters": filters},
    )


@require_http_methods(["GET", "POST"])
@admin_required
def access_request(request: HttpRequest, pk: int) -> HttpResponse:
    access_request = selectors.access_access_request(actor=request.user, pk=pk)
    form = forms.DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        decision = request.POST.get("decision")
        message = form.cleaned_data["message"]
        try:
            if decision == "approve":
                request_services.approve_access_request(
                    actor=request.user, access_request=access_request, message=message
                )
                messages.success(
                    request,
                    _("%(email)s is now an animator and has been sent a login link.")
                    % {"email": access_request.email},
                )
            elif decision == "refuse":
                request_services.refuse_access_request(
                    actor=request.user, access_request=access_request, message=message
                )
                messages.success(
                    request, _("The request was refused and the requester was notified.")
                )
            else:
                form.add_error(None, _("Choose to approve or to refuse."))
        except AntenneError as error:
            form.add_error("message" if "message" in error.code else None, error.message)
        if not form.errors:
            return redirect("control:access_requests")
    return render(
        request,
        "control/access_request.html",
        {
            "access_request": access_request,
            "form": form,
            "domain_ok": request_services.email_domain_allowed(access_request.email),
            "existing": selectors.list_members(actor=request.user)
            .filter(email=access_request.email.lower())
            .first(),
            "Status": AccessRequest.Status,
        },
        status=422 if form.errors else 200,
    )


# --- Audit log ----------------------------------------------------------------------------


@require_GET
@admin_required
def audit(request: HttpRequest) -> HttpResponse:
    filters = forms.AuditFilterForm(request.GET)
    data = filters.cleaned_data if filters.is_valid() else {}
    zone = timezone.get_current_timezone()
    since = until = None
    if data.get("since"):
        since = datetime.combine(data["since"], time.min, tzinfo=zone)
    if data.get("until"):
        until = datetime.combine(data["until"] + timedelta(days=1), time.min, tzinfo=zone)
    entries = selectors.list_audit_entries(
        actor=request.user,
        action=data.get("action", ""),
        actor_email=data.get("actor", ""),
        since=since,
        until=until,
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "control/audit.html",
        {"page": _page(request, entries), "filters": filters, "query": query.urlencode()},
    )


# --- API tokens (one's own) ---------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@member_required
def tokens(request: HttpRequest) -> HttpResponse:
    form = forms.TokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _token, new_token = services.create_api_token(
            actor=request.user,
            user=signed_in(request),
            name=form.cleaned_data["name"],
        )
        form = forms.TokenForm()
    own = ApiToken.objects.filter(user=signed_in(request)).order_by("-created_at")
    return render(
        request,
        "control/tokens.html",
        {"form": form, "tokens": own, "new_token": new_token, "base_url": settings.BASE_URL},
        status=422 if form.errors else 200,
    )


@require_POST
@member_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    services.revoke_api_token(actor=request.user, token=token)
    messages.success(request, _("The token was revoked."))
    return redirect("control:tokens")
