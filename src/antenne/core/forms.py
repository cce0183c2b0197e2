from __future__ import annotations

from typing import Any

from django import forms
from dsfr.forms import DsfrBaseForm, DsfrDjangoTemplates

# django-dsfr hands Django its renderer *class*, so every form built a new template engine
# and recompiled the field templates on each request. One shared instance keeps them cached.
RENDERER = DsfrDjangoTemplates()


class Form(DsfrBaseForm):
    """Antenne's base form: DSFR rendering with a shared renderer, marking optional fields
    (not required ones) as the DSFR now recommends — set here rather than through
    django-dsfr's transitional setting, which warns on every render."""

    default_renderer = RENDERER

    def get_context(self) -> dict[str, Any]:
        context = forms.Form.get_context(self)
        context["DSFR_MARK_OPTIONAL_FIELDS"] = True
        return context
