from __future__ import annotations

from typing import Any

from django import forms
from dsfr.forms import DsfrBaseForm


class Form(DsfrBaseForm):
    """Antenne's base form: DSFR rendering, marking optional fields (not required ones), as
    the DSFR now recommends — set here rather than through django-dsfr's transitional
    setting, which warns on every render."""

    def get_context(self) -> dict[str, Any]:
        context = forms.Form.get_context(self)
        context["DSFR_MARK_OPTIONAL_FIELDS"] = True
        return context
