from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from antenne.accounts.models import AccessRequest, Team
from antenne.core import action_labels
from antenne.core.forms import Form
from antenne.core.permissions import Role


class MemberForm(Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    full_name = forms.CharField(label=_("Name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.all(), required=False, empty_label=_("No team")
    )


class RoleForm(Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class TeamChoiceForm(Form):
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.all(), required=False, empty_label=_("No team")
    )


class TeamForm(Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    contact_email = forms.EmailField(label=_("Contact email"), max_length=254)


class DecisionForm(Form):
    message = forms.CharField(
        label=_("Message to the requester"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Sent in the email. Required when refusing."),
    )


class MemberFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    role = forms.ChoiceField(
        label=_("Role"), choices=[("", _("All roles")), *Role.choices], required=False
    )


class AccessRequestFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("All")), *AccessRequest.Status.choices],
        required=False,
    )


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Action"),
        choices=lambda: [("", _("All actions")), *action_labels.choices()],
        required=False,
    )
    actor = forms.CharField(label=_("Actor email"), required=False, max_length=254)
    since = forms.DateField(
        label=pgettext_lazy("date filter", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        label=pgettext_lazy("date filter", "Until (inclusive)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class TokenForm(Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("What the token is for, such as the script that uses it."),
    )
