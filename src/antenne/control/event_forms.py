from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from antenne.accounts.models import Team, User
from antenne.core import time_zones
from antenne.core.exceptions import AntenneError
from antenne.core.forms import Form, ModelMultipleChoiceField
from antenne.core.permissions import Role
from antenne.events import covers
from antenne.events.timeutils import local_to_utc


def searchable(label: Any) -> dict[str, Any]:
    """A select's attributes for select-search.js: the search field above it, its label and
    what it announces as people type."""
    return {
        "data-searchable": "",
        "data-search-label": label,
        "data-search-found": _("Matching options: %(n)s"),
    }


# A list of every animator, with a search field above it.
ANIMATOR_ATTRS = {**searchable(_("Search an animator")), "size": 6}
# Seats of a session: far beyond any webinar, far below what the database's integer holds.
MAX_CAPACITY = 1_000_000


def conflicts_context(error: AntenneError) -> list[dict[str, Any]]:
    """The conflicting sessions of a refused slot, with datetimes for the page to localise."""
    return [
        {**c, "starts_at": datetime.fromisoformat(c["starts_at"])}
        for c in error.data.get("conflicts", [])
    ]


def animator_choices() -> Any:
    return User.objects.filter(is_active=True, role__in=(Role.ANIMATOR, Role.ADMIN)).order_by(
        "full_name", "email"
    )


class EventForm(Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Shown on the registration page."),
    )
    language = forms.ChoiceField(label=_("Language of the webinar"), choices=settings.LANGUAGES)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all())
    cover_image = forms.FileField(
        label=_("Cover image"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(covers.CONTENT_TYPES.values())}),
    )
    show_speakers = forms.BooleanField(
        label=_("List the speakers on the registration page"), required=False, initial=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cover_image"].help_text = _(
            "JPEG, PNG or WebP, at most %(size)s MB, shown on the registration page. Its "
            "metadata (such as the place a photo was taken) is removed."
        ) % {"size": covers.max_megabytes()}

    def clean_cover_image(self) -> covers.PreparedCover | None:
        """Checked and re-encoded here, so a refused file is told beside its field."""
        upload = self.cleaned_data.get("cover_image")
        if not upload:
            return None
        try:
            return covers.prepare_cover(upload)
        except AntenneError as error:
            raise forms.ValidationError(error.message, code=error.code) from None


class SlotForm(Form):
    """Date, time and zone of a session, turned into one UTC instant."""

    date = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    time = forms.TimeField(
        label=_("Start time"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=time_zones.CHOICES,
        initial="Europe/Paris",
        help_text=_("Where the session is set; each person sees it in their own time."),
        widget=forms.Select(attrs=searchable(_("Search a time zone"))),
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=1, max_value=1440, initial=60
    )
    confirm_conflicts = forms.BooleanField(
        label=_("I have seen the sessions on or near this slot and confirm it"), required=False
    )

    def __init__(self, *args: Any, current_zone: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A session set before in a zone alias (America/Montreal) keeps it when edited.
        self.fields["time_zone"].choices = time_zones.choices_with(current_zone)
        # Asked only once a slot runs into other sessions (`ask_confirmation`); until then a
        # hidden field carries a confirmation already given.
        self.fields["confirm_conflicts"].widget = forms.HiddenInput()

    def ask_confirmation(self) -> None:
        """Show the confirmation box: the slot proposed runs into other sessions."""
        self.fields["confirm_conflicts"].widget = forms.CheckboxInput()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date") and data.get("time") and data.get("time_zone"):
            try:
                data["starts_at"] = local_to_utc(data["date"], data["time"], data["time_zone"])
            except AntenneError as error:
                self.add_error("time", error.message)
        return data

    @classmethod
    def initial_for(cls, starts_at: datetime, zone: str, duration: int) -> dict[str, Any]:
        local = starts_at.astimezone(zoneinfo.ZoneInfo(zone))
        return {
            "date": local.date(),
            "time": local.time().replace(second=0, microsecond=0),
            "time_zone": zone,
            "duration_minutes": duration,
        }


class SessionForm(SlotForm):
    capacity = forms.IntegerField(
        label=_("Capacity"),
        required=False,
        min_value=1,
        max_value=MAX_CAPACITY,
        help_text=_("Maximum number of registrants. Leave empty for no limit."),
    )
    animators = ModelMultipleChoiceField(
        label=_("Animators"),
        queryset=User.objects.none(),
        help_text=_(
            "They can start and end the broadcast. Ctrl+click or Cmd+click to choose several."
        ),
        widget=forms.SelectMultiple(attrs=ANIMATOR_ATTRS),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["animators"].queryset = animator_choices()


class SessionTeamForm(Form):
    animators = ModelMultipleChoiceField(
        label=_("Animators"),
        queryset=User.objects.none(),
        help_text=_("Ctrl+click or Cmd+click to choose several."),
        widget=forms.SelectMultiple(attrs=ANIMATOR_ATTRS),
    )
    capacity = forms.IntegerField(
        label=_("Capacity"), required=False, min_value=1, max_value=MAX_CAPACITY
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["animators"].queryset = animator_choices()


class SpeakerForm(Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    name = forms.CharField(label=_("Name"), max_length=150, required=False)
    title = forms.CharField(
        label=_("Title or role"),
        max_length=200,
        required=False,
        help_text=_("For example: head of the data team, Ministry of Culture."),
    )


class CancelForm(Form):
    message = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Sent with the cancellation email."),
    )
