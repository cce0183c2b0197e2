"""An outcome's label for the report templates (the figures keep the code, so that kept
figures are shown in the reader's language)."""

from __future__ import annotations

from django import template

from antenne.rooms.models import PhoneCall

register = template.Library()


@register.filter
def call_outcome(value: str) -> str:
    """`completed` → "Completed" (in the current language); an unknown code as it is."""
    labels = dict(PhoneCall.Outcome.choices)
    return str(labels.get(value, value))
