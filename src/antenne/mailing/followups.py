"""Follow-ups after a session: per-session rules (to attendees: on; to no-shows: off by
default), a draft prepared automatically when the session is over, and the animators told
to review it. A follow-up never leaves without an animator's approval
(`mailing.campaigns.approve`); once approved it goes `delay_minutes` after the end."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from antenne.core import actions
from antenne.core.audit import log_action
from antenne.core.exceptions import Invalid
from antenne.events.models import Session
from antenne.events.permissions import require_session_manager
from antenne.mailing import campaigns
from antenne.mailing.models import Campaign, FollowUpRule
from antenne.outbox.services import queue_email

logger = logging.getLogger("antenne.mailing")

MAX_DELAY = 30 * 1440
# Sessions that ended longer ago than this get no automatic draft (e.g. after an upgrade).
LOOKBACK = timedelta(days=7)


def create_default_rules(session: Session) -> None:
    """Called when a session is scheduled (idempotent)."""
    FollowUpRule.objects.bulk_create(
        [
            FollowUpRule(
                session=session,
                audience=FollowUpRule.Audience.ATTENDEES,
                enabled=True,
                delay_minutes=settings.FOLLOWUP_DELAY_MINUTES,
            ),
            FollowUpRule(
                session=session,
                audience=FollowUpRule.Audience.NOSHOWS,
                enabled=False,
                delay_minutes=settings.FOLLOWUP_DELAY_MINUTES,
            ),
        ],
        ignore_conflicts=True,
    )


def rules_of(session: Session) -> list[FollowUpRule]:
    if not FollowUpRule.objects.filter(session=session).exists():
        create_default_rules(session)
    return list(FollowUpRule.objects.filter(session=session))


def change_rule(
    *, actor: Any, session: Session, audience: str, enabled: bool, delay_minutes: int
) -> FollowUpRule:
    require_session_manager(actor, session)
    if audience not in FollowUpRule.Audience.values:
        raise Invalid(_("Unknown follow-up."), code="followup.unknown")
    if not 0 <= delay_minutes <= MAX_DELAY:
        raise Invalid(
            _("A follow-up goes out between 0 minutes and 30 days after the end."),
            code="followup.delay_invalid",
        )
    rules_of(session)
    with transaction.atomic():
        rule = FollowUpRule.objects.select_for_update().get(session=session, audience=audience)
        rule.enabled, rule.delay_minutes = enabled, delay_minutes
        rule.save(update_fields=["enabled", "delay_minutes"])
        log_action(
            session,
            actions.FOLLOWUP_RULE_CHANGED,
            actor=actor,
            data={"audience": audience, "enabled": enabled, "delay_minutes": delay_minutes},
        )
    return rule


def set_replay_url(*, actor: Any, session: Session, url: str) -> Session:
    """The replay link the follow-ups' {replay_url} gives (empty to remove it)."""
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator

    require_session_manager(actor, session)
    url = url.strip()
    if url:
        try:
            URLValidator(schemes=["https"])(url)
        except ValidationError:
            raise Invalid(
                _("Enter a full https:// link."), code="session.replay_url_invalid"
            ) from None
    if len(url) > 500:
        raise Invalid(_("This link is too long."), code="session.replay_url_invalid")
    with transaction.atomic():
        session.replay_url = url
        session.save(update_fields=["replay_url"])
        log_action(session, actions.SESSION_REPLAY_SET, actor=actor, data={"url": url})
    return session


def _finished(now: datetime) -> Any:
    """Sessions over by now: ended in the room, or never started and past their end."""
    from django.db.models import Q

    recent = now - LOOKBACK
    ended = Q(state=Session.State.ENDED, ended_at__lte=now, ended_at__gte=recent)
    unplayed = Q(state=Session.State.SCHEDULED, starts_at__lte=now, starts_at__gte=recent)
    sessions = Session.objects.filter(ended | unplayed).select_related("event")
    return [s for s in sessions if s.finished_at <= now]


def prepare_due_followups(now: datetime | None = None) -> int:
    """Create the draft follow-ups of the sessions that are over (one per enabled rule,
    once) and tell their animators. Run by the sweeper; returns how many drafts."""
    now = now or timezone.now()
    prepared = 0
    for session in _finished(now):
        # rules_of: a session scheduled before follow-ups existed has the defaults too.
        for rule in [rule for rule in rules_of(session) if rule.enabled]:
            with transaction.atomic():
                Session.objects.select_for_update().get(pk=session.pk)
                if Campaign.objects.filter(
                    session=session, is_followup=True, audience=rule.audience
                ).exists():
                    continue
                campaign = campaigns.create_campaign(
                    actor=None, session=session, audience=rule.audience, is_followup=True
                )
                for animator in session.animators.filter(is_active=True):
                    queue_email(
                        to=animator.email,
                        kind="followup_ready",
                        template="followup_ready",
                        context={
                            "session": session,
                            "event": session.event,
                            "user": animator,
                            "url": settings.BASE_URL
                            + reverse("control:campaign", args=[campaign.pk]),
                        },
                        language=animator.language,
                        session=session,
                    )
            prepared += 1
            logger.info("follow-up draft %s prepared for session %s", campaign.pk, session.pk)
    return prepared
