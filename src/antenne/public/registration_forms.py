"""Forms of the public registration page: registering (with the event's own questions)
and asking for a lost join link again."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from antenne.core.forms import Form
from antenne.events.models import Session
from antenne.registrations.models import RegistrationField

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
HONEYPOT = "website"
TEXT_MAX = 1000


def without_nul(data: Mapping[str, Any] | None) -> QueryDict | None:
    """A copy of posted data with NUL characters removed (Django rejects them; people
    pasting from odd sources should not be refused for an invisible character)."""
    if data is None:
        return None
    cleaned = QueryDict(mutable=True)
    lists = data.lists() if isinstance(data, QueryDict) else ((k, [v]) for k, v in data.items())
    for key, values in lists:
        cleaned.setlist(key, [str(v).replace("\x00", "") for v in values])
    return cleaned


def session_label(session: Session, *, waiting_list: bool = False) -> str:
    """ "mardi 28 mars 2027 10:00 (Europe/Paris)": the session in its own zone, named."""
    text = f"{date_format(session.local_start, 'l j F Y H:i')} ({session.time_zone})"
    if waiting_list:
        text += " — " + gettext("full — waiting list")
    return text


class SessionChoice:
    """A session offered on the page, with whether new registrants join the waiting list."""

    def __init__(self, session: Session, *, waiting_list: bool) -> None:
        self.session = session
        self.waiting_list = waiting_list

    @property
    def label(self) -> str:
        return session_label(self.session, waiting_list=self.waiting_list)


def _custom_field(field: RegistrationField) -> forms.Field:
    label = field.label
    options = [(str(c), str(c)) for c in field.choices or []]
    if field.kind == RegistrationField.Kind.CHOICE:
        return forms.ChoiceField(
            label=label, required=field.required, choices=options, widget=forms.RadioSelect
        )
    if field.kind == RegistrationField.Kind.MULTIPLE:
        return forms.MultipleChoiceField(
            label=label,
            required=field.required,
            choices=options,
            widget=forms.CheckboxSelectMultiple,
        )
    if field.kind == RegistrationField.Kind.CHECKBOX:
        return forms.BooleanField(label=label, required=field.required)
    return forms.CharField(
        label=label,
        required=field.required,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SessionField(forms.ChoiceField):
    """The session radio group. A session that filled up since the page was shown is still
    a known value, so the person is told it is full rather than that the choice is invalid."""

    full: frozenset[str] = frozenset()

    def valid_value(self, value: Any) -> bool:
        return str(value) in self.full or super().valid_value(value)


class RegistrationForm(Form):
    session = SessionField(label=_("Session"), widget=forms.RadioSelect)
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    first_name = forms.CharField(
        label=_("First name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        choices: list[SessionChoice],
        full: Iterable[Session] = (),
        fields: Iterable[RegistrationField],
        consent_text: str,
        utm: Mapping[str, str] | None = None,
    ) -> None:
        initial: dict[str, Any] = dict(utm or {})
        if len(choices) == 1:
            initial["session"] = str(choices[0].session.pk)
        super().__init__(without_nul(data), initial=initial)
        self.choices = {str(c.session.pk): c for c in choices}
        session_field = self.fields["session"]
        assert isinstance(session_field, SessionField)  # noqa: S101 (declared above)
        session_field.choices = [(key, c.label) for key, c in self.choices.items()]
        self.full = {str(s.pk): s for s in full}
        session_field.full = frozenset(self.full)
        self.custom = list(fields)
        for field in self.custom:
            self.fields[field.key] = _custom_field(field)
        self.fields["consent"] = forms.BooleanField(
            label=consent_text,
            error_messages={"required": _("Tick the box to agree to the processing of your data.")},
        )
        self.fields[HONEYPOT] = forms.CharField(
            label=_("Leave this field empty"),
            required=False,
            max_length=TEXT_MAX,
            widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
        )
        for key in UTM_KEYS:
            self.fields[key] = forms.CharField(
                required=False, max_length=200, widget=forms.HiddenInput
            )

    def visible_questions(self) -> list[forms.BoundField]:
        """Every visible field but the consent box and the honeypot, in order."""
        return [
            self[name]
            for name in self.fields
            if name not in ("consent", HONEYPOT) and not self[name].is_hidden
        ]

    def hidden_inputs(self) -> SafeString:
        return SafeString("".join(str(f) for f in self.hidden_fields()))

    def clean_session(self) -> str:
        value = str(self.cleaned_data["session"])
        if value in self.full:
            raise forms.ValidationError(gettext("This session is full."), code="full")
        return value

    @property
    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get(HONEYPOT))

    @property
    def chosen(self) -> SessionChoice:
        return self.choices[self.cleaned_data["session"]]

    def answers(self) -> dict[str, dict[str, Any]]:
        """Answers keyed by field key, each with the question as it read when answered, so
        exports stay readable after the animator edits a label."""
        return {
            f.key: {"label": f.label, "value": self.cleaned_data.get(f.key)} for f in self.custom
        }

    def utm(self) -> dict[str, str]:
        return {k: self.cleaned_data[k] for k in UTM_KEYS if self.cleaned_data.get(k)}


class LostLinkForm(Form):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    session = forms.ChoiceField(label=_("Session"), required=False)

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, sessions: Iterable[Session]
    ) -> None:
        super().__init__(without_nul(data))
        self.sessions = {str(s.pk): s for s in sessions}
        self.fields["session"].choices = [
            ("", gettext("All sessions of this webinar")),
            *((key, session_label(s)) for key, s in self.sessions.items()),
        ]

    def session_ids(self) -> list[int]:
        chosen = self.cleaned_data.get("session")
        if chosen:
            return [self.sessions[chosen].pk]
        return [s.pk for s in self.sessions.values()]
