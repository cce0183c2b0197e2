"""A session's speakers: invited by email with a personal green-room link (a secret kept
only as a hash), which can be re-sent or revoked; a speaker who is not a member reaches the
green room with that link alone."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from antenne.accounts.models import User, hash_secret
from antenne.accounts.services import checked_email
from antenne.core import actions
from antenne.core.audit import log_action
from antenne.core.exceptions import Conflict, PermissionDenied
from antenne.core.links import absolute_url
from antenne.events import hooks
from antenne.events.hooks import SpeakerChange
from antenne.events.models import Session, Speaker
from antenne.events.permissions import require_session_manager
from antenne.outbox.services import queue_email


def speaker_url(raw: str) -> str:
    return absolute_url(reverse("public:speaker", args=[raw]))


def email_speaker(speaker: Speaker, *, kind: str, template: str, **context: Any) -> None:
    session = speaker.session
    queue_email(
        to=speaker.email,
        kind=kind,
        template=template,
        context={
            "speaker": speaker,
            "session": session,
            "event": session.event,
            **context,
        },
        language=speaker.user.language if speaker.user else session.event.language,
    )


def _issue_speaker_link(speaker: Speaker) -> str:
    raw = secrets.token_urlsafe(32)
    speaker.token_hash = hash_secret(raw)
    speaker.invited_at = timezone.now()
    speaker.revoked_at = None
    speaker.save(update_fields=["token_hash", "invited_at", "revoked_at"])
    email_speaker(
        speaker, kind="speaker_invitation", template="speaker_invitation", link=speaker_url(raw)
    )
    return raw


def add_speaker(
    *, actor: Any, session: Session, email: str, name: str = "", title: str = ""
) -> Speaker:
    """Invite a speaker (workspace member or guest) any time before the start; they get a
    personal green-room link by email."""
    require_session_manager(actor, session)
    if (
        session.is_over
        or session.state == Session.State.LIVE
        or session.starts_at <= timezone.now()
    ):
        raise Conflict(_("Speakers are added before the session starts."), code="speaker.too_late")
    address = checked_email(email)
    member = User.objects.filter(email=address, is_active=True).first()
    name = " ".join(name.split()) or (member.full_name if member else "") or address
    with transaction.atomic():
        if session.speakers.filter(email=address).exists():
            raise Conflict(
                _("This person is already a speaker of this session."), code="speaker.exists"
            )
        speaker = Speaker.objects.create(
            session=session, user=member, email=address, name=name[:150], title=title.strip()[:200]
        )
        _issue_speaker_link(speaker)
        log_action(
            speaker,
            actions.SPEAKER_INVITED,
            actor=actor,
            data={"session": session.pk, "email": address},
        )
    return speaker


def resend_speaker_invitation(*, actor: Any, speaker: Speaker) -> Speaker:
    """A fresh link (the previous one stops working) sent again."""
    require_session_manager(actor, speaker.session)
    if speaker.session.is_over:
        raise Conflict(_("This session is already over or cancelled."), code="session.over")
    with transaction.atomic():
        _issue_speaker_link(speaker)
        log_action(speaker, actions.SPEAKER_REINVITED, actor=actor)
    return speaker


def revoke_speaker_link(*, actor: Any, speaker: Speaker) -> Speaker:
    """The link stops working; a speaker in the room is put out of it (and off the stage)."""
    require_session_manager(actor, speaker.session)
    if speaker.revoked_at is None:
        with transaction.atomic():
            speaker.revoked_at = timezone.now()
            speaker.save(update_fields=["revoked_at"])
            log_action(speaker, actions.SPEAKER_REVOKED, actor=actor)
            hooks.SPEAKER_REVOKED.fire(_speaker_change(speaker, actor))
    return speaker


def remove_speaker(*, actor: Any, speaker: Speaker) -> None:
    require_session_manager(actor, speaker.session)
    with transaction.atomic():
        log_action(speaker, actions.SPEAKER_REMOVED, actor=actor, data={"email": speaker.email})
        hooks.SPEAKER_REMOVED.fire(_speaker_change(speaker, actor))  # while the row exists
        speaker.delete()


def _speaker_change(speaker: Speaker, actor: Any) -> SpeakerChange:
    return SpeakerChange(speaker_id=speaker.pk, session_id=speaker.session_id, actor=actor)


def speaker_for_link(*, raw: str) -> Speaker:
    speaker = (
        Speaker.objects.select_related("session__event", "user")
        .filter(token_hash=hash_secret(raw))
        .first()
    )
    if speaker is None or speaker.revoked_at is not None:
        raise PermissionDenied(
            _("This speaker link is not valid any more."), code="speaker.link_invalid"
        )
    return speaker


def accept_speaker_invitation(*, raw: str) -> Speaker:
    speaker = speaker_for_link(raw=raw)
    if speaker.accepted_at is None:
        speaker.accepted_at = timezone.now()
        speaker.save(update_fields=["accepted_at"])
        log_action(speaker, actions.SPEAKER_ACCEPTED, actor=speaker.user)
    return speaker
