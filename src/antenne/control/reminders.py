"""A session's reminders, managed from its emails section: list, add, change, remove."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from antenne.control.views import member_required
from antenne.core.exceptions import AntenneError
from antenne.core.forms import Form
from antenne.events import selectors
from antenne.events.models import Session
from antenne.mailing import reminders
from antenne.mailing.models import Reminder

UNITS = {"minutes": 1, "hours": 60, "days": 1440}


class ReminderForm(Form):
    amount = forms.IntegerField(label=gettext_lazy("Send it"), min_value=1, max_value=43200)
    unit = forms.ChoiceField(
        label=gettext_lazy("Unit"),
        choices=[
            ("minutes", gettext_lazy("minutes before")),
            ("hours", gettext_lazy("hours before")),
            ("days", gettext_lazy("days before")),
        ],
        initial="hours",
    )

    @staticmethod
    def initial_for(offset_minutes: int) -> dict[str, object]:
        for unit in ("days", "hours"):
            if offset_minutes % UNITS[unit] == 0:
                return {"amount": offset_minutes // UNITS[unit], "unit": unit}
        return {"amount": offset_minutes, "unit": "minutes"}

    def offset_minutes(self) -> int:
        return int(self.cleaned_data["amount"]) * UNITS[self.cleaned_data["unit"]]


def reminders_context(session: Session) -> dict[str, Any]:
    """What the emails section's reminders need: each with its form, and the form to add."""
    return {
        "reminders": [
            (
                reminder,
                ReminderForm(
                    initial=ReminderForm.initial_for(reminder.offset_minutes),
                    prefix=f"reminder-{reminder.pk}",
                ),
            )
            for reminder in session.reminders.all()
        ],
        "reminder_form": ReminderForm(prefix="reminder"),
    }


def _back(session_id: int) -> HttpResponse:
    return redirect(f"/app/sessions/{session_id}/emails/#reminders")


@require_POST
@member_required
def reminder_add(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.access_managed_session(actor=request.user, pk=pk)
    form = ReminderForm(request.POST, prefix="reminder")
    if not form.is_valid():
        messages.error(request, _("The reminder could not be added: check its delay."))
        return _back(session.pk)
    try:
        reminders.add_reminder(
            actor=request.user, session=session, offset_minutes=form.offset_minutes()
        )
    except AntenneError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Reminder added."))
    return _back(session.pk)


@require_POST
@member_required
def reminder_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    reminder = get_object_or_404(Reminder.objects.select_related("session__event"), pk=pk)
    if action not in ("change", "remove"):
        raise DjangoPermissionDenied
    session = selectors.access_managed_session(actor=request.user, pk=reminder.session_id)
    reminder.session = session
    try:
        if action == "remove":
            reminders.remove_reminder(actor=request.user, reminder=reminder)
            messages.success(request, _("Reminder removed."))
        else:
            form = ReminderForm(request.POST, prefix=f"reminder-{reminder.pk}")
            if not form.is_valid():
                messages.error(request, _("The reminder could not be changed: check its delay."))
                return _back(session.pk)
            reminders.change_reminder(
                actor=request.user, reminder=reminder, offset_minutes=form.offset_minutes()
            )
            messages.success(request, _("Reminder changed."))
    except AntenneError as error:
        messages.error(request, error.message)
    return _back(session.pk)
