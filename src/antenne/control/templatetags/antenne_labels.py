"""Labels for the codes the back office shows: rows keep their codes (`reminder`,
`events.session.started`, `open`), the pages show what they mean in the reader's language.
Each filter gives an unknown code back as it is."""

from __future__ import annotations

from django import template
from django.apps import apps
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from antenne.core import action_labels
from antenne.mailing import reminders
from antenne.outbox import kinds
from antenne.rooms.models import Poll, Question

register = template.Library()

# Why a reminder was withheld (`Reminder.reason`).
REMINDER_REASONS: dict[str, str | Promise] = {
    reminders.MOVED: _("the session was moved"),
    reminders.CANCELLED: _("the session was cancelled"),
    reminders.STARTED_EARLY: _("the session started before it was due"),
    reminders.MISSED: _("it was not sent in time"),
    reminders.TOO_LATE: _("its time had passed when the session was scheduled"),
}
# A question is feminine in French ("ouverte"), a poll masculine ("ouvert").
QUESTION_STATES: dict[str, str | Promise] = {
    **dict(Question.State.choices),
    Question.State.OPEN: pgettext_lazy("question state", "Open"),
}
POLL_STATES = dict(Poll.State.choices)


@register.filter
def email_kind(code: str) -> str:
    """`registration_confirmation` → "Registration confirmation"."""
    return kinds.label(code)


@register.filter
def audit_action(code: str) -> str:
    """`events.session.started` → "Session started"."""
    return action_labels.label(code)


@register.filter
def reminder_reason(code: str) -> str:
    """`started early` → "the session started before it was due"."""
    return str(REMINDER_REASONS.get(code, code))


@register.filter
def question_state(code: str) -> str:
    return str(QUESTION_STATES.get(code, code))


@register.filter
def poll_state(code: str) -> str:
    return str(POLL_STATES.get(code, code))


@register.filter
def object_type(label: str) -> str:
    """`events.session` → "session" (the model's name)."""
    try:
        return str(apps.get_model(label)._meta.verbose_name)
    except (LookupError, ValueError):
        return label
