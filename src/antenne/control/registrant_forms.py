"""Forms of the registrants pages: filters, adding someone by hand, uploading a CSV."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from antenne.core.forms import Form
from antenne.registrations.csv_io import MAX_BYTES
from antenne.registrations.models import Registration


class RegistrantFilterForm(forms.Form):
    q = forms.CharField(label=_("Search by name or email"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("All")), *Registration.Status.choices],
        required=False,
    )


class RegistrantForm(Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)


class ImportForm(Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "A header row with the columns email, first_name, last_name (or courriel, prénom, "
            "nom); separated by commas or semicolons; UTF-8 or Latin-1; at most 5,000 rows "
            "and 2 MB."
        ),
    )

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        return bytes(upload.read())
