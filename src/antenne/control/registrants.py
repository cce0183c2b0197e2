"""Back office for a session's registrants: the list (search, filters, counts), adding someone
by hand, revoking, erasing, CSV import with a preview, and the CSV export. Personal data:
only the session's animators and admins see any of it."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from antenne.control import registrant_forms as forms
from antenne.control.views import member_required
from antenne.core.exceptions import AntenneError
from antenne.events import selectors as event_selectors
from antenne.events.models import Session
from antenne.events.permissions import require_session_manager
from antenne.registrations import csv_io, selectors, services
from antenne.registrations.models import Registration

PER_PAGE = 50

# Where a domain error of the add-by-hand form is shown (None: above the form).
ADD_ERROR_FIELDS = {
    "email.invalid": "email",
    "registration.staff_member": "email",
    "registration.first_name_required": "first_name",
    "registration.last_name_required": "last_name",
}


def _managed_registration(request: HttpRequest, pk: int) -> Registration:
    found = selectors.access_registration(actor=request.user, pk=pk)
    require_session_manager(request.user, found.session)
    return found


def _list_page(request: HttpRequest, session: Session, form: forms.RegistrantForm) -> HttpResponse:
    filters = forms.RegistrantFilterForm(request.GET)
    data = filters.cleaned_data if filters.is_valid() else {}
    registrations = selectors.list_registrants(
        session=session, search=data.get("q", ""), status=data.get("status", "")
    )
    page = Paginator(registrations, PER_PAGE).get_page(request.GET.get("page"))
    fields = selectors.registration_fields(session=session)
    rows = []
    for registration in page:
        answers = registration.answers if isinstance(registration.answers, dict) else {}
        summary = "; ".join(
            f"{field.label}: {selectors.answer_text(answers[field.key])}"
            for field in fields
            if answers.get(field.key) not in (None, "", [])
        )
        rows.append((registration, summary))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "control/registrants/list.html",
        {
            "session": session,
            "event": session.event,
            "page": page,
            "rows": rows,
            "filters": filters,
            "query": query.urlencode(),
            "counts": selectors.count_by_status(session=session),
            "form": form,
        },
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@member_required
def registrants(request: HttpRequest, pk: int) -> HttpResponse:
    session = event_selectors.access_managed_session(actor=request.user, pk=pk)
    form = forms.RegistrantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            registration, created = services.register(
                session=session,
                email=form.cleaned_data["email"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                consent=False,
                language=session.event.language,
                source="manual",
                actor=request.user,
            )
        except AntenneError as error:
            form.add_error(ADD_ERROR_FIELDS.get(error.code), error.message)
        else:
            if created:
                messages.success(
                    request,
                    _("%(email)s is registered and has been sent their join link.")
                    % {"email": registration.email},
                )
            else:
                messages.info(
                    request,
                    _("%(email)s was already registered; nothing was added.")
                    % {"email": registration.email},
                )
            return redirect("control:registrants", pk=session.pk)
    return _list_page(request, session, form)


@require_POST
@member_required
def registrant_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    registration = _managed_registration(request, pk)
    services.revoke_registration(actor=request.user, registration=registration)
    messages.success(
        request,
        _("The join link of %(email)s no longer works.") % {"email": registration.email},
    )
    return redirect("control:registrants", pk=registration.session_id)


@require_http_methods(["GET", "POST"])
@member_required
def registrant_delete(request: HttpRequest, pk: int) -> HttpResponse:
    registration = _managed_registration(request, pk)
    session = registration.session
    if request.method == "POST":
        services.erase_registration(actor=request.user, registration=registration)
        messages.success(request, _("The registration and its answers were erased."))
        return redirect("control:registrants", pk=session.pk)
    return render(
        request,
        "control/registrants/delete.html",
        {"registration": registration, "session": session, "event": session.event},
    )


def _import_page(
    request: HttpRequest,
    session: Session,
    form: forms.ImportForm,
    rows: list[csv_io.ImportRow] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    importable = [r for r in rows or [] if r.importable]
    return render(
        request,
        "control/registrants/import.html",
        {
            "session": session,
            "event": session.event,
            "form": form,
            "rows": rows,
            "importable": len(importable),
            "skipped": len(rows or []) - len(importable),
            "token": csv_io.preview_token(session=session, rows=rows) if rows else "",
            "error": error,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@member_required
def registrants_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 1: upload → preview (nothing written). Step 2: the signed preview → import."""
    session = event_selectors.access_managed_session(actor=request.user, pk=pk)
    if request.method == "POST" and "token" in request.POST:
        try:
            rows, previewed = csv_io.rows_from_token(session=session, token=request.POST["token"])
        except AntenneError as error:
            return _import_page(
                request, session, forms.ImportForm(), error=error.message, status=422
            )
        try:
            count = csv_io.import_registrants(
                actor=request.user, session=session, rows=rows, previewed=previewed
            )
        except AntenneError as error:
            csv_io.classify(session=session, rows=rows)
            return _import_page(
                request, session, forms.ImportForm(), rows, error=error.message, status=409
            )
        messages.success(
            request,
            ngettext(
                "%(count)s registrant imported; they have been sent their join link.",
                "%(count)s registrants imported; each has been sent their join link.",
                count,
            )
            % {"count": count},
        )
        return redirect("control:registrants", pk=session.pk)
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            rows = csv_io.classify(session=session, rows=csv_io.read_csv(form.cleaned_data["file"]))
        except AntenneError as error:
            form.add_error("file", error.message)
        else:
            return _import_page(request, session, form, rows)
    return _import_page(request, session, form, status=422 if form.errors else 200)


@require_GET
@member_required
def registrants_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    session = event_selectors.access_managed_session(actor=request.user, pk=pk)
    # A spreadsheet in French reads ";" (its decimal mark is the comma); the import reads both.
    delimiter = ";" if translation.get_language() == "fr" else ","
    lines = csv_io.export_registrants(actor=request.user, session=session, delimiter=delimiter)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="registrants-{session.pk}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
