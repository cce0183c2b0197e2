"""Sending an approved campaign: the canary batch, the pause, the rest in chunks; Stop.

Every step runs under the campaign's row lock and moves recipients `waiting → queued`
together with writing their outbox rows, so running a step twice (two workers, a resumed
task, the sweeper) writes nothing twice, and a Stop between two chunks is seen by the next
one. Right before a person's row is written, Antenne checks again that the registration
still exists, is still confirmed (or waitlisted) and has not unsubscribed since approval."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from antenne.core import actions
from antenne.core.audit import log_action
from antenne.core.exceptions import Conflict
from antenne.events.permissions import require_session_manager
from antenne.mailing import texts
from antenne.mailing.models import Campaign, CampaignRecipient
from antenne.mailing.unsubscribe import unsubscribe_url
from antenne.outbox.kinds import FOLLOWUP_ATTENDEES, FOLLOWUP_NOSHOWS, MESSAGE
from antenne.outbox.models import OutgoingEmail
from antenne.outbox.services import email_row, write_emails
from antenne.registrations.models import Registration

logger = logging.getLogger("antenne.mailing")

CHUNK = 500
ERASED = "erased"
UNSUBSCRIBED = "unsubscribed"
CANCELLED = "registration cancelled"
STOPPED = "stopped"
LEFT_WAITLIST = "left the waiting list"


FOLLOWUP_KIND: dict[str, str] = {
    Campaign.Audience.ATTENDEES: FOLLOWUP_ATTENDEES,
    Campaign.Audience.NOSHOWS: FOLLOWUP_NOSHOWS,
}


def email_kind(campaign: Campaign) -> str:
    return FOLLOWUP_KIND.get(campaign.audience, MESSAGE) if campaign.is_followup else MESSAGE


def render_for(
    campaign: Campaign,
    registration: Registration,
    session_values: dict[str, dict[str, str]] | None = None,
) -> dict[str, str]:
    """What `registration` receives (or would receive) from this campaign. `session_values`
    keeps the session's placeholders per language across the people of one batch."""

    language = texts.language_of(registration.language)
    cache = {} if session_values is None else session_values
    if language not in cache:
        cache[language] = texts.session_values(campaign.session, language)
    part = campaign.content[language]
    return texts.render(
        subject=part["subject"],
        body=part["body"],
        values={**cache[language], **texts.person_values(registration)},
        language=language,
        unsubscribe_url=unsubscribe_url(registration),
    )


def _still_wanted(campaign: Campaign, registration: Registration | None) -> str:
    """'' when the person should get the message, else the reason they do not."""
    if registration is None:
        return ERASED
    if registration.reminders_unsubscribed_at is not None:
        return UNSUBSCRIBED
    wanted = (
        Registration.Status.WAITLISTED
        if campaign.audience == Campaign.Audience.WAITLISTED
        else Registration.Status.CONFIRMED
    )
    if registration.status == wanted:
        return ""
    return LEFT_WAITLIST if wanted == Registration.Status.WAITLISTED else CANCELLED


def _write_batch(campaign: Campaign, limit: int) -> int:
    """Write the outbox rows of the next `limit` waiting recipients (inside the caller's
    transaction, campaign row locked). Returns how many recipients were handled."""
    batch = list(
        campaign.recipients.filter(state=CampaignRecipient.State.WAITING)
        .select_related("registration__session__event")
        .order_by("pk")[:limit]
    )
    kind = email_kind(campaign)
    emails: list[OutgoingEmail] = []
    sending: list[CampaignRecipient] = []
    session_values: dict[str, dict[str, str]] = {}  # computed once per language
    for recipient in batch:
        reason = _still_wanted(campaign, recipient.registration)
        if reason:
            recipient.state, recipient.reason = CampaignRecipient.State.WITHHELD, reason
            continue
        registration = recipient.registration
        assert registration is not None  # noqa: S101 (checked by _still_wanted)
        registration.session = campaign.session
        rendered = render_for(campaign, registration, session_values)
        emails.append(
            email_row(
                to=registration.email,
                kind=kind,
                language=texts.language_of(registration.language),
                rendered=rendered,
                unsubscribe_url=unsubscribe_url(registration),
                session=campaign.session,
                campaign=campaign,
            )
        )
        sending.append(recipient)
    for recipient, email in zip(sending, write_emails(emails), strict=True):
        recipient.state, recipient.outgoing = CampaignRecipient.State.QUEUED, email
    CampaignRecipient.objects.bulk_update(batch, ["state", "reason", "outgoing"])
    return len(batch)


def _waiting(campaign: Campaign) -> bool:
    return campaign.recipients.filter(state=CampaignRecipient.State.WAITING).exists()


def _finish(campaign: Campaign, now: datetime) -> None:
    campaign.state = Campaign.State.SENT
    campaign.finished_at = now
    campaign.save(update_fields=["state", "finished_at", "updated_at"])
    log_action(campaign, actions.CAMPAIGN_SENT, data=_recipient_counts(campaign))


def _recipient_counts(campaign: Campaign) -> dict[str, int]:
    from django.db.models import Count

    return {
        row["state"]: row["n"]
        for row in campaign.recipients.values("state").annotate(n=Count("pk")).order_by()
    }


def run_campaign(*, campaign_id: int, now: datetime | None = None) -> str:
    """Do whatever is due for an approved campaign; returns its state afterwards. Called by
    its task (at the send time, and after the canary pause) and by the sweeper."""
    now = now or timezone.now()
    next_run: datetime | None = None
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update()
            .select_related("session__event")
            .get(pk=campaign_id)
        )
        state = campaign.state
        if state == Campaign.State.SCHEDULED:
            if campaign.send_after and campaign.send_after > now:
                return str(state)
            canary = settings.CAMPAIGN_CANARY_SIZE
            _write_batch(campaign, canary if canary else CHUNK)
            campaign.canary_sent_at = now
            if canary and _waiting(campaign):
                campaign.state = Campaign.State.CANARY
                campaign.save(update_fields=["state", "canary_sent_at", "updated_at"])
                log_action(campaign, actions.CAMPAIGN_CANARY_SENT, data=_recipient_counts(campaign))
                next_run = now + timedelta(seconds=settings.CAMPAIGN_CANARY_PAUSE)
            else:
                campaign.state = Campaign.State.SENDING
                campaign.save(update_fields=["state", "canary_sent_at", "updated_at"])
        elif state == Campaign.State.CANARY:
            assert campaign.canary_sent_at is not None  # noqa: S101
            resume_at = campaign.canary_sent_at + timedelta(seconds=settings.CAMPAIGN_CANARY_PAUSE)
            if resume_at > now:
                return str(state)
            campaign.state = Campaign.State.SENDING
            campaign.save(update_fields=["state", "updated_at"])
        elif state != Campaign.State.SENDING:
            return str(state)
    if next_run is not None:
        schedule(campaign_id, next_run)
        return str(Campaign.State.CANARY)
    return _send_rest(campaign_id, now)


def _send_rest(campaign_id: int, now: datetime) -> str:
    """The remaining recipients, one chunk per transaction, checking for Stop each time."""
    while True:
        with transaction.atomic():
            campaign = (
                Campaign.objects.select_for_update()
                .select_related("session__event")
                .get(pk=campaign_id)
            )
            if campaign.state != Campaign.State.SENDING:
                return str(campaign.state)
            if not _write_batch(campaign, CHUNK):
                _finish(campaign, now)
                logger.info("campaign %s: every recipient queued", campaign_id)
                return str(campaign.state)


@task()
def run_campaign_task(campaign_id: int) -> str:
    """The workers' task: the next step of a campaign (queued by `schedule`)."""
    return run_campaign(campaign_id=campaign_id)


def schedule(campaign_id: int, when: datetime | None) -> None:
    """Run the campaign's next step at `when`, once the surrounding transaction commits."""
    transaction.on_commit(lambda: run_campaign_task.using(run_after=when).enqueue(campaign_id))


def resume_due_campaigns(now: datetime | None = None) -> int:
    """For the sweeper: run every approved campaign whose next step is due, in case its task
    was lost (a worker killed at the wrong moment). Idempotent."""
    now = now or timezone.now()
    pause = timedelta(seconds=settings.CAMPAIGN_CANARY_PAUSE)
    due = (
        list(
            Campaign.objects.filter(
                state=Campaign.State.SCHEDULED, send_after__lte=now
            ).values_list("pk", flat=True)
        )
        + list(
            Campaign.objects.filter(
                state=Campaign.State.CANARY, canary_sent_at__lte=now - pause
            ).values_list("pk", flat=True)
        )
        + list(Campaign.objects.filter(state=Campaign.State.SENDING).values_list("pk", flat=True))
    )
    for campaign_id in due:
        run_campaign(campaign_id=campaign_id, now=now)
    return len(due)


def stop(*, actor: Any, campaign: Campaign) -> dict[str, int]:
    """Withhold everything of the campaign that has not gone yet: recipients still waiting
    and outbox rows still pending. A message a worker is handing to the SMTP server at this
    very moment still goes. Returns the counts."""
    require_session_manager(actor, campaign.session)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        still_pending = OutgoingEmail.objects.filter(
            campaign=locked,
            state__in=[OutgoingEmail.State.PENDING, OutgoingEmail.State.SENDING],
        ).exists()
        if not locked.is_stoppable and not (locked.state == Campaign.State.SENT and still_pending):
            raise Conflict(_stop_refusal(locked), code="campaign.not_stoppable")
        now = timezone.now()
        waiting = locked.recipients.filter(state=CampaignRecipient.State.WAITING).update(
            state=CampaignRecipient.State.WITHHELD, reason=STOPPED
        )
        pending = OutgoingEmail.objects.filter(
            campaign=locked, state=OutgoingEmail.State.PENDING
        ).update(state=OutgoingEmail.State.WITHHELD, last_error=STOPPED, next_attempt_at=None)
        locked.state = Campaign.State.STOPPED
        locked.stopped_at = now
        locked.stopped_by = actor
        locked.save(update_fields=["state", "stopped_at", "stopped_by", "updated_at"])
        counts = {"recipients_withheld": waiting, "emails_withheld": pending}
        log_action(locked, actions.CAMPAIGN_STOPPED, actor=actor, data=counts)
    campaign.refresh_from_db()
    return counts


def _stop_refusal(campaign: Campaign) -> str:
    from django.utils.translation import gettext

    if campaign.state == Campaign.State.DRAFT:
        return gettext("This message is a draft: nothing is being sent.")
    return gettext("This message has finished sending or was stopped already.")
