"""Organiser-editable email texts: workspace defaults, per-session copies, and rendering.

- The built-in defaults below are the starting point; an admin may override them for the
  workspace (`MessageTemplate` rows with no session).
- Scheduling a session copies the workspace's texts into the session; from then on, editing
  the session's copy changes that session only, and editing the workspace default changes
  sessions scheduled afterwards only.
- Saving refuses unknown placeholders and, for reminders, a text without `{join_url}`.
- Rendering fills the placeholders in one pass (`mailing.placeholders`) and wraps the result
  in the workspace's email layout, with the unsubscribe footer added by Antenne (an
  organiser cannot remove it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from antenne.accounts.selectors import is_admin
from antenne.core import actions
from antenne.core.audit import log_action
from antenne.core.exceptions import Invalid, PermissionDenied
from antenne.core.links import absolute_url
from antenne.events.models import Session
from antenne.events.permissions import require_session_manager
from antenne.mailing import placeholders
from antenne.mailing.models import MessageTemplate
from antenne.outbox.kinds import FOLLOWUP_ATTENDEES, FOLLOWUP_NOSHOWS, REMINDER
from antenne.registrations.models import Registration
from antenne.registrations.pins import dial_in_for_registration
from antenne.registrations.services import join_url

LANGUAGES = ("fr", "en")

KIND_LABELS = {
    REMINDER: _("Reminder"),
    FOLLOWUP_ATTENDEES: _("Follow-up to attendees"),
    FOLLOWUP_NOSHOWS: _("Follow-up to no-shows"),
}
KINDS = tuple(KIND_LABELS)
REQUIRED = {REMINDER: ("join_url",)}

DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    REMINDER: {
        "fr": (
            "Rappel : « {event_title} » commence {starts_in}",
            "Bonjour {first_name},\n\n"
            "« {event_title} » commence {starts_in}.\n\n"
            "Quand : {session_start} ({time_zone}), {duration} minutes.\n\n"
            "Votre lien personnel pour rejoindre (il est à vous : ne le partagez pas ; "
            "il fonctionne sur plusieurs appareils) :\n{join_url}\n\n"
            "Par téléphone : appelez le {phone_number}, puis tapez {phone_pin} suivi de #.\n\n"
            "À bientôt !",
        ),
        "en": (
            "Reminder: “{event_title}” starts {starts_in}",
            "Hello {first_name},\n\n"
            "“{event_title}” starts {starts_in}.\n\n"
            "When: {session_start} ({time_zone}), {duration} minutes.\n\n"
            "Your personal link to join (it is yours: do not share it; it works on several "
            "devices):\n{join_url}\n\n"
            "By telephone: call {phone_number}, then type {phone_pin} followed by #.\n\n"
            "See you soon!",
        ),
    },
    FOLLOWUP_ATTENDEES: {
        "fr": (
            "Merci d'avoir participé à « {event_title} »",
            "Bonjour {first_name},\n\n"
            "Merci d'avoir participé au webinaire « {event_title} » le {session_date}.\n\n"
            "Vous pouvez revoir l'enregistrement ici :\n{replay_url}\n\n"
            "À bientôt,\n{workspace_name}",
        ),
        "en": (
            "Thank you for attending “{event_title}”",
            "Hello {first_name},\n\n"
            "Thank you for attending the webinar “{event_title}” on {session_date}.\n\n"
            "You can watch the recording here:\n{replay_url}\n\n"
            "See you soon,\n{workspace_name}",
        ),
    },
    FOLLOWUP_NOSHOWS: {
        "fr": (
            "Vous avez manqué « {event_title} » ? Voici le replay",
            "Bonjour {first_name},\n\n"
            "Vous étiez inscrit au webinaire « {event_title} » du {session_date} mais n'avez "
            "pas pu y assister.\n\n"
            "Vous pouvez regarder l'enregistrement ici :\n{replay_url}\n\n"
            "À bientôt,\n{workspace_name}",
        ),
        "en": (
            "Missed “{event_title}”? Here is the replay",
            "Hello {first_name},\n\n"
            "You registered for the webinar “{event_title}” on {session_date} but could not "
            "attend.\n\n"
            "You can watch the recording here:\n{replay_url}\n\n"
            "See you soon,\n{workspace_name}",
        ),
    },
}


def language_of(code: str) -> str:
    """The language Antenne writes to someone whose language is `code` (the workspace's
    language, `ANTENNE_LANGUAGE`, when Antenne has no text in `code`)."""
    return code if code in LANGUAGES else settings.LANGUAGE_CODE


def _require_kind(kind: str, language: str) -> None:
    if kind not in DEFAULTS or language not in LANGUAGES:
        raise Invalid(_("Unknown email text."), code="template.unknown")


def validate_text(*, kind: str | None, subject: str, body: str) -> None:
    """Raise `Invalid` when a text uses placeholders Antenne does not know, or misses one
    its kind needs (a reminder without the person's join link)."""
    if not subject.strip() or not body.strip():
        raise Invalid(_("Both the subject and the text are required."), code="template.empty")
    unknown = placeholders.unknown_placeholders(subject + "\n" + body)
    if unknown:
        raise Invalid(
            _("Unknown placeholder(s): %(names)s. Use only those listed next to the text.")
            % {"names": ", ".join("{" + name + "}" for name in unknown)},
            code="template.unknown_placeholder",
        )
    missing = [
        name
        for name in REQUIRED.get(kind or "", ())
        if name not in placeholders.used_placeholders(body)
    ]
    if missing:
        raise Invalid(
            _("This email must contain %(names)s.")
            % {"names": ", ".join("{" + name + "}" for name in missing)},
            code="template.missing_placeholder",
        )


# --- Workspace defaults and session copies ----------------------------------------------


def workspace_text(kind: str, language: str) -> tuple[str, str]:
    """(subject, body) the workspace gives new sessions for `kind` in `language`."""
    _require_kind(kind, language)
    row = MessageTemplate.objects.filter(session=None, kind=kind, language=language).first()
    return (row.subject, row.body) if row else DEFAULTS[kind][language]


def copy_defaults_to_session(session: Session) -> None:
    """Give a newly scheduled session its own copy of every text (idempotent)."""
    existing = set(MessageTemplate.objects.filter(session=session).values_list("kind", "language"))
    rows = []
    for kind in KINDS:
        for language in LANGUAGES:
            if (kind, language) not in existing:
                subject, body = workspace_text(kind, language)
                rows.append(
                    MessageTemplate(
                        session=session, kind=kind, language=language, subject=subject, body=body
                    )
                )
    MessageTemplate.objects.bulk_create(rows, ignore_conflicts=True)


def session_text(session: Session, kind: str, language: str) -> MessageTemplate:
    """The session's own text (copied from the workspace default if the session predates
    its copies)."""
    language = language_of(language)
    _require_kind(kind, language)
    row = MessageTemplate.objects.filter(session=session, kind=kind, language=language).first()
    if row is None:
        copy_defaults_to_session(session)
        row = MessageTemplate.objects.get(session=session, kind=kind, language=language)
    return row


def save_text(
    *,
    actor: Any,
    kind: str,
    language: str,
    subject: str,
    body: str,
    session: Session | None = None,
) -> MessageTemplate:
    """Save a session's text (its animators, admins) or a workspace default (admins)."""
    _require_kind(kind, language)
    if session is None and not is_admin(actor):
        raise PermissionDenied(
            _("Only an admin can change the workspace's default emails."),
            code="permission.admin_only",
        )
    if session is not None:
        require_session_manager(actor, session)
    subject, body = subject.strip(), body.strip().replace("\r\n", "\n")
    if len(subject) > 250 or len(body) > 20000:
        raise Invalid(_("This text is too long."), code="template.too_long")
    validate_text(kind=kind, subject=subject, body=body)
    with transaction.atomic():
        if session is not None:
            session_text(session, kind, language)  # make sure the copies exist
        try:
            row, _created = MessageTemplate.objects.update_or_create(
                session=session,
                kind=kind,
                language=language,
                defaults={"subject": subject, "body": body, "updated_by": actor},
            )
        except IntegrityError:  # two first saves of a default at once: the other won
            row = MessageTemplate.objects.get(session=session, kind=kind, language=language)
            row.subject, row.body, row.updated_by = subject, body, actor
            row.save()
        log_action(
            session if session is not None else row,
            actions.TEMPLATE_UPDATED,
            actor=actor,
            data={"kind": kind, "language": language, "session": getattr(session, "pk", None)},
        )
    return row


# --- Values and rendering -----------------------------------------------------------------


# The sweeper runs every minute: a reminder sent a minute or two after its time still says
# "in 1 hour" rather than "in 58 minutes".
_ROUNDING = 2


def _minutes(n: int) -> str:
    return ngettext("%(n)d minute", "%(n)d minutes", n) % {"n": n}


def _hours(n: int) -> str:
    return ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n}


def starts_in(minutes_left: int) -> str:
    """The time really left before a start, in words of the active language: "in 20
    minutes", "in 1 hour", "in 2 hours and 30 minutes", "tomorrow", "in 3 days"…"""
    minutes_left = max(1, minutes_left)
    if minutes_left >= 1440 - _ROUNDING:
        days, hours = divmod(round(minutes_left / 60), 24)
        if hours == 0:
            if days == 1:
                return gettext("tomorrow")
            return ngettext("in %(n)d day", "in %(n)d days", days) % {"n": days}
        return gettext("in %(days)s and %(hours)s") % {
            "days": ngettext("%(n)d day", "%(n)d days", days) % {"n": days},
            "hours": _hours(hours),
        }
    hours, minutes = divmod(minutes_left, 60)
    if minutes >= 60 - _ROUNDING:
        hours, minutes = hours + 1, 0
    elif minutes <= _ROUNDING and hours:
        minutes = 0
    if not hours:
        return ngettext("in %(n)d minute", "in %(n)d minutes", minutes) % {"n": minutes}
    if not minutes:
        return ngettext("in %(n)d hour", "in %(n)d hours", hours) % {"n": hours}
    return gettext("in %(hours)s and %(minutes)s") % {
        "hours": _hours(hours),
        "minutes": _minutes(minutes),
    }


def session_values(session: Session, language: str) -> dict[str, str]:
    """The placeholders that depend on the session only, in `language`."""
    local: datetime = timezone.localtime(session.starts_at, session.local_start.tzinfo)
    with translation.override(language):
        return {
            "event_title": session.event.title,
            "session_start": formats.date_format(local, "DATETIME_FORMAT"),
            "session_date": formats.date_format(local, "DATE_FORMAT"),
            "session_time": formats.time_format(local, "TIME_FORMAT"),
            "time_zone": session.time_zone,
            "duration": str(session.duration_minutes),
            "replay_url": session.replay_url,
            "event_url": absolute_url(f"/e/{session.event_id}/"),
            "workspace_name": settings.WORKSPACE_NAME,
            "phone_number": str(settings.PHONE_NUMBER or ""),
        }


def person_values(registration: Registration) -> dict[str, str]:
    dial_in = dial_in_for_registration(registration)
    return {
        "first_name": registration.first_name,
        "last_name": registration.last_name,
        "join_url": join_url(registration),
        "phone_pin": dial_in.pin if dial_in else "",
    }


def render(
    *, subject: str, body: str, values: dict[str, str], language: str, unsubscribe_url: str = ""
) -> dict[str, str]:
    """Subject, text and HTML of an organiser text for one recipient."""
    text = placeholders.fill(body, values).strip() + "\n"
    with translation.override(language):
        footer = ""
        if unsubscribe_url:
            footer = gettext("You no longer want these emails? Unsubscribe:")
            text += f"\n--\n{footer}\n{unsubscribe_url}\n"
        html = render_to_string(
            "mailing/email/custom.html",
            {
                "LANGUAGE_CODE": language,
                "WORKSPACE_NAME": settings.WORKSPACE_NAME,
                "body_html": placeholders.fill_html(body, values),
                "unsubscribe_url": unsubscribe_url,
            },
        )
    return {"subject": placeholders.fill_subject(subject, values), "text": text, "html": html}
