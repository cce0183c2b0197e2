"""The questions an event's registration form asks, managed from the event page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from antenne.control.views import member_required
from antenne.core.exceptions import AntenneError
from antenne.core.forms import Form
from antenne.events import selectors
from antenne.events.permissions import require_event_owner
from antenne.registrations import services
from antenne.registrations.models import RegistrationField


class QuestionForm(Form):
    label = forms.CharField(label=gettext_lazy("Question"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=RegistrationField.Kind.choices)
    choices = forms.CharField(
        label=gettext_lazy("Choices"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("For a choice or multiple choice: one choice per line."),
    )
    required = forms.BooleanField(label=gettext_lazy("An answer is required"), required=False)


@require_POST
@member_required
def question_add(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors.access_owned_event(actor=request.user, pk=pk)
    form = QuestionForm(request.POST, prefix="question")
    if not form.is_valid():
        messages.error(request, _("The question could not be added: check its text and kind."))
    else:
        data = form.cleaned_data
        try:
            services.add_question(
                actor=request.user,
                event=event,
                label=data["label"],
                kind=data["kind"],
                choices=data["choices"].splitlines(),
                required=data["required"],
            )
        except AntenneError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Question added to the registration form."))
    return redirect(f"/app/events/{event.pk}/#questions")


@require_POST
@member_required
def question_remove(request: HttpRequest, pk: int) -> HttpResponse:
    field = get_object_or_404(RegistrationField.objects.select_related("event"), pk=pk)
    require_event_owner(request.user, field.event)
    services.remove_question(actor=request.user, field=field)
    messages.success(request, _("Question removed; answers already given are kept."))
    return redirect(f"/app/events/{field.event_id}/#questions")
