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


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's, refusing a value that is no key of ours before it reaches the database: a
    number too large for its integer fails the query (a server error on SQLite) instead of
    the validation. Every model of Antenne has a whole-number key."""

    MAX_DIGITS = 18

    def clean(self, value: Any) -> Any:
        if self.to_field_name is None and isinstance(value, list | tuple):
            for pk in value:
                text = str(pk)
                if not (text.isascii() and text.isdigit() and len(text) <= self.MAX_DIGITS):
                    raise forms.ValidationError(
                        self.error_messages["invalid_pk_value"],
                        code="invalid_pk_value",
                        params={"pk": pk},
                    )
        return super().clean(value)
