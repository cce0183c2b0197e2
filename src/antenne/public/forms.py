from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from antenne.core.forms import Form


class LoginForm(Form):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class SetupForm(Form):
    email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        help_text=_("You will log in with this address."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    full_name = forms.CharField(
        label=_("Your name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


class AccessRequestForm(Form):
    email = forms.EmailField(
        label=_("Your workspace email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    full_name = forms.CharField(
        label=_("Your name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    team_name = forms.CharField(
        label=_("Your team"),
        max_length=120,
        help_text=_("The startup or service you organise webinars for."),
        widget=forms.TextInput(attrs={"list": "known-teams"}),
    )
    team_contact_email = forms.EmailField(
        label=_("Your team's contact email"),
        max_length=254,
        help_text=_("The shared address of your team, used to reach it about its webinars."),
    )
    reason = forms.CharField(
        label=_("Why do you need animator access?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For example: the webinars you plan, their audience and dates."),
    )
