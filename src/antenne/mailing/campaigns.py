"""Messages to many registrants of a session (follow-ups, manual messages) and their
guardrails, in the order an animator meets them (docs/email.md, "Follow-ups and messages"):

1. a draft, prepared from the session's own texts, edited per language;
2. a content check whose flags (another webinar's title, another date, a link to another
   session, a personal join link, a missing replay link) each need a confirmation;
3. a preview for a real recipient of the segment in each language, and a test send to the
   animator's own address;
4. an approval by an animator of the session that freezes the recipients ("143 attendees of
   …"); above ANTENNE_SECOND_APPROVAL_THRESHOLD a second, different approver;
5. sending (`mailing.campaign_sending`): a canary batch, a pause, the rest; Stop withholds
   what has not gone yet."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from antenne.core import actions, ratelimit
from antenne.core.audit import log_action
from antenne.core.exceptions import Conflict, Invalid, NotFound, RateLimited
from antenne.core.links import absolute_url
from antenne.events.models import Session
from antenne.events.permissions import require_session_manager
from antenne.events.selectors import access_managed_session
from antenne.mailing import campaign_sending, texts
from antenne.mailing.content_check import Flag, check_content
from antenne.mailing.models import Campaign, CampaignApproval, CampaignRecipient, FollowUpRule
from antenne.outbox.kinds import CAMPAIGN_TEST
from antenne.outbox.models import OutgoingEmail
from antenne.outbox.services import write_email
from antenne.registrations.models import Registration
from antenne.rooms.selectors import attended_registration_ids

MESSAGE_DEFAULT = {
    "fr": ("{event_title} : ", "Bonjour {first_name},\n\n\n\n{workspace_name}"),
    "en": ("{event_title}: ", "Hello {first_name},\n\n\n\n{workspace_name}"),
}
TEST_SEND_RATE = (10, 3600)


def access_campaign(*, actor: Any, pk: int) -> Campaign:
    """A campaign of a session the actor manages, for every interface."""
    campaign = Campaign.objects.select_related("session__event").filter(pk=pk).first()
    if campaign is None:
        raise NotFound(_("No such message."), code="campaign.not_found")
    access_managed_session(actor=actor, pk=campaign.session_id)
    return campaign


# --- Segments -----------------------------------------------------------------------------


def segment_queryset(session: Session, audience: str) -> QuerySet[Registration]:
    """The registrations a message to `audience` of `session` would reach now: subscribed,
    and confirmed (or on the waiting list for that audience)."""
    registrations = session.registrations.filter(reminders_unsubscribed_at__isnull=True)
    if audience == Campaign.Audience.WAITLISTED:
        return registrations.filter(status=Registration.Status.WAITLISTED)
    registrations = registrations.filter(status=Registration.Status.CONFIRMED)
    if audience == Campaign.Audience.ATTENDEES:
        return registrations.filter(pk__in=attended_registration_ids(session))
    if audience == Campaign.Audience.NOSHOWS:
        return registrations.exclude(pk__in=attended_registration_ids(session))
    return registrations


def describe_segment(session: Session, audience: str, count: int) -> str:
    """ "143 attendees of “Budget 2027” on 1 December 2026 14:00 (Europe/Paris)"."""
    forms = {
        Campaign.Audience.REGISTERED: ngettext("%(n)d registrant", "%(n)d registrants", count),
        Campaign.Audience.ATTENDEES: ngettext("%(n)d attendee", "%(n)d attendees", count),
        Campaign.Audience.NOSHOWS: ngettext("%(n)d no-show", "%(n)d no-shows", count),
        Campaign.Audience.WAITLISTED: ngettext(
            "%(n)d person on the waiting list", "%(n)d people on the waiting list", count
        ),
    }
    values = texts.session_values(session, translation.get_language() or "fr")
    return _("%(who)s of “%(title)s” on %(start)s (%(zone)s)") % {
        "who": forms[Campaign.Audience(audience)] % {"n": count},
        "title": session.event.title,
        "start": values["session_start"],
        "zone": session.time_zone,
    }


def languages_of(campaign: Campaign) -> list[str]:
    """The languages of the people the campaign reaches (frozen list once approved)."""
    if campaign.state == Campaign.State.DRAFT:
        found = set(
            segment_queryset(campaign.session, campaign.audience)
            .values_list("language", flat=True)
            .distinct()
        )
    else:
        found = set(
            campaign.recipients.filter(registration__isnull=False)
            .values_list("registration__language", flat=True)
            .distinct()
        )
    used = {texts.language_of(lang) for lang in found}
    return [lang for lang in texts.LANGUAGES if lang in used]


# --- Drafts -------------------------------------------------------------------------------


def create_campaign(
    *, actor: Any, session: Session, audience: str, is_followup: bool = False
) -> Campaign:
    """A draft message to `audience`; a follow-up starts from the session's follow-up text."""
    if actor is not None:
        require_session_manager(actor, session)
    if audience not in Campaign.Audience.values or (
        is_followup and audience not in campaign_sending.FOLLOWUP_KIND
    ):
        raise Invalid(_("Choose who receives the message."), code="campaign.audience_invalid")
    content = {}
    for language in texts.LANGUAGES:
        if is_followup:
            text = texts.session_text(session, campaign_sending.FOLLOWUP_KIND[audience], language)
            content[language] = {"subject": text.subject, "body": text.body}
        else:
            subject, body = MESSAGE_DEFAULT[language]
            content[language] = {"subject": subject, "body": body}
    with transaction.atomic():
        campaign = Campaign.objects.create(
            session=session,
            audience=audience,
            is_followup=is_followup,
            content=content,
            created_by=actor,
        )
        log_action(
            campaign,
            actions.CAMPAIGN_CREATED,
            actor=actor,
            data={"session": session.pk, "audience": audience, "followup": is_followup},
        )
    return campaign


def _require_draft(campaign: Campaign) -> None:
    if campaign.state != Campaign.State.DRAFT:
        raise Conflict(
            _("This message is approved: take it back to draft to change it."),
            code="campaign.not_draft",
        )


def update_content(*, actor: Any, campaign: Campaign, content: dict[str, dict[str, str]]) -> None:
    """Replace the text of every language (each validated like a saved template)."""
    require_session_manager(actor, campaign.session)
    _require_draft(campaign)
    cleaned: dict[str, dict[str, str]] = {}
    for language in texts.LANGUAGES:
        part = content.get(language) or {}
        subject = str(part.get("subject", "")).strip()
        body = str(part.get("body", "")).strip().replace("\r\n", "\n")
        if len(subject) > 250 or len(body) > 20000:
            raise Invalid(_("This text is too long."), code="template.too_long")
        texts.validate_text(kind=None, subject=subject, body=body)
        cleaned[language] = {"subject": subject, "body": body}
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _require_draft(locked)
        campaign.content = cleaned
        # A confirmation holds for the finding it was given for: ids of flags the new text
        # no longer raises are dropped.
        current = {flag.id for flag in flags_of(campaign)}
        campaign.confirmed_flags = [f for f in campaign.confirmed_flags if f in current]
        campaign.save(update_fields=["content", "confirmed_flags", "updated_at"])
        log_action(campaign, actions.CAMPAIGN_UPDATED, actor=actor, data={})


def flags_of(campaign: Campaign) -> list[Flag]:
    return check_content(
        texts=campaign.content, session=campaign.session, replay_url=campaign.session.replay_url
    )


def unconfirmed_flags(campaign: Campaign) -> list[Flag]:
    return [flag for flag in flags_of(campaign) if flag.id not in campaign.confirmed_flags]


def confirm_flag(*, actor: Any, campaign: Campaign, flag_id: str) -> None:
    require_session_manager(actor, campaign.session)
    _require_draft(campaign)
    flag = next((f for f in flags_of(campaign) if f.id == flag_id), None)
    if flag is None:
        raise NotFound(_("This warning no longer applies."), code="campaign.flag_not_found")
    if flag_id in campaign.confirmed_flags:
        return
    campaign.confirmed_flags = [*campaign.confirmed_flags, flag_id]
    with transaction.atomic():
        campaign.save(update_fields=["confirmed_flags", "updated_at"])
        log_action(
            campaign,
            actions.CAMPAIGN_FLAG_CONFIRMED,
            actor=actor,
            data={"flag": flag.kind, "match": flag.match, "language": flag.language},
        )


def delete_campaign(*, actor: Any, campaign: Campaign) -> None:
    require_session_manager(actor, campaign.session)
    _require_draft(campaign)
    with transaction.atomic():
        log_action(
            campaign.session, actions.CAMPAIGN_DELETED, actor=actor, data={"campaign": campaign.pk}
        )
        campaign.delete()


# --- Preview and test send ----------------------------------------------------------------


def preview(campaign: Campaign, language: str) -> tuple[Registration | None, dict[str, str]]:
    """The message as the first recipient of the segment in `language` gets it (None and
    an empty dict when nobody in the segment reads that language)."""
    if campaign.state == Campaign.State.DRAFT:
        people = segment_queryset(campaign.session, campaign.audience)
    else:
        people = Registration.objects.filter(pk__in=campaign.recipients.values("registration_id"))
    if language == texts.language_of(""):  # also those whose language Antenne has no text in
        people = people.exclude(language__in=[lang for lang in texts.LANGUAGES if lang != language])
    else:
        people = people.filter(language=language)
    registration = people.select_related("session__event").order_by("pk").first()
    if registration is None:
        return None, {}
    return registration, campaign_sending.render_for(campaign, registration)


def send_test(*, actor: Any, campaign: Campaign) -> list[OutgoingEmail]:
    """Send the message in each language to the actor's own address, with the actor's name
    and a sample join link (no registrant's data)."""
    require_session_manager(actor, campaign.session)
    if not ratelimit.hit("campaign-test", str(actor.pk), TEST_SEND_RATE):
        raise RateLimited(
            _("Too many test emails; try again in an hour."), code="campaign.test_rate_limited"
        )
    first_name, _space, last_name = (actor.full_name or "").strip().partition(" ")
    sent = []
    with transaction.atomic():
        for language in texts.LANGUAGES:
            part = campaign.content[language]
            with translation.override(language):
                prefix = str(_("[Test]"))
            rendered = texts.render(
                subject=f"{prefix} {part['subject']}",
                body=part["body"],
                values={
                    **texts.session_values(campaign.session, language),
                    "first_name": first_name or actor.email,
                    "last_name": last_name,
                    "join_url": absolute_url("/join/exemple-de-lien-personnel/"),
                },
                language=language,
                unsubscribe_url=absolute_url("/u/exemple/"),
            )
            sent.append(
                write_email(
                    to=actor.email,
                    kind=CAMPAIGN_TEST,
                    language=language,
                    rendered=rendered,
                    session=campaign.session,  # not the campaign: not one of its recipients
                )
            )
        log_action(campaign, actions.CAMPAIGN_TEST_SENT, actor=actor, data={"to": actor.email})
    return sent


# --- Approval -----------------------------------------------------------------------------


def needs_second_approval(count: int) -> bool:
    return count > settings.SECOND_APPROVAL_THRESHOLD


def approve(*, actor: Any, campaign: Campaign, expected_count: int) -> Campaign:
    """First approval (freezes the recipients) or second approval (a different person,
    above the threshold). `expected_count` is the number the approver was shown: if the
    segment changed since, nothing is approved and the new number must be seen first."""
    require_session_manager(actor, campaign.session)
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update()
            .select_related("session__event")
            .get(pk=campaign.pk)
        )
        if campaign.state == Campaign.State.DRAFT:
            _first_approval(actor, campaign, expected_count)
        elif campaign.state == Campaign.State.AWAITING_SECOND_APPROVAL:
            _second_approval(actor, campaign, expected_count)
        else:
            raise Conflict(_("This message is already approved."), code="campaign.approved")
    return campaign


def _first_approval(actor: Any, campaign: Campaign, expected_count: int) -> None:
    session = campaign.session
    if session.state == Session.State.CANCELLED and campaign.audience in (
        Campaign.Audience.ATTENDEES,
        Campaign.Audience.NOSHOWS,
    ):
        raise Conflict(
            _("This session was cancelled: it has no attendees or no-shows."),
            code="campaign.session_cancelled",
        )
    if unconfirmed_flags(campaign):
        raise Conflict(
            _("Confirm each warning of the content check before approving."),
            code="campaign.unconfirmed_flags",
        )
    # A session still in its room is not over, even past its planned end (it runs over).
    in_room = session.state in (Session.State.GREEN_ROOM, Session.State.LIVE)
    if campaign.is_followup and (in_room or session.finished_at > timezone.now()):
        raise Conflict(
            _("A follow-up can be approved once the session is over."),
            code="campaign.session_not_over",
        )
    registrations = list(
        segment_queryset(session, campaign.audience).order_by("pk").values_list("pk", "email")
    )
    if not registrations:
        raise Invalid(_("Nobody would receive this message."), code="campaign.no_recipients")
    if len(registrations) != expected_count:
        raise _count_changed(len(registrations))
    CampaignRecipient.objects.bulk_create(
        [
            CampaignRecipient(campaign=campaign, registration_id=pk, email=email)
            for pk, email in registrations
        ],
        batch_size=1000,
    )
    now = timezone.now()
    campaign.recipient_count = len(registrations)
    with translation.override(settings.LANGUAGE_CODE):
        campaign.segment = str(describe_segment(session, campaign.audience, len(registrations)))
    campaign.approved_at = now
    if campaign.is_followup:
        campaign.send_after = max(now, session.finished_at + _followup_delay(campaign))
    else:
        campaign.send_after = now
    second = needs_second_approval(len(registrations))
    campaign.state = Campaign.State.AWAITING_SECOND_APPROVAL if second else Campaign.State.SCHEDULED
    campaign.save()
    CampaignApproval.objects.create(
        campaign=campaign, user=actor, recipient_count=len(registrations)
    )
    log_action(
        campaign,
        actions.CAMPAIGN_APPROVED,
        actor=actor,
        data={
            "recipients": len(registrations),
            "segment": campaign.segment,
            "second_approval_needed": second,
            "send_after": campaign.send_after.isoformat(),
        },
    )
    if not second:
        _schedule(campaign)


def _count_changed(count: int) -> Conflict:
    return Conflict(
        _("The recipients changed since the page was shown: %(n)d now. Check and approve again.")
        % {"n": count},
        code="campaign.count_changed",
        count=count,
    )


def _second_approval(actor: Any, campaign: Campaign, expected_count: int) -> None:
    if campaign.approvals.filter(user=actor).exists():
        raise Conflict(
            _("The second approval must come from another person."),
            code="campaign.same_approver",
        )
    if expected_count != campaign.recipient_count:
        raise _count_changed(campaign.recipient_count)
    CampaignApproval.objects.create(campaign=campaign, user=actor, recipient_count=expected_count)
    now = timezone.now()
    campaign.state = Campaign.State.SCHEDULED
    campaign.send_after = max(campaign.send_after or now, now)
    campaign.save(update_fields=["state", "send_after", "updated_at"])
    log_action(
        campaign,
        actions.CAMPAIGN_APPROVED,
        actor=actor,
        data={"recipients": campaign.recipient_count, "second_approval": True},
    )
    _schedule(campaign)


def _followup_delay(campaign: Campaign) -> Any:
    from datetime import timedelta

    rule = FollowUpRule.objects.filter(session=campaign.session, audience=campaign.audience).first()
    minutes = rule.delay_minutes if rule else settings.FOLLOWUP_DELAY_MINUTES
    return timedelta(minutes=minutes)


def _schedule(campaign: Campaign) -> None:
    campaign_sending.schedule(campaign.pk, campaign.send_after)


def withdraw_approval(*, actor: Any, campaign: Campaign) -> Campaign:
    """Back to draft before anything was sent: the frozen list and approvals are dropped."""
    require_session_manager(actor, campaign.session)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.state not in (
            Campaign.State.AWAITING_SECOND_APPROVAL,
            Campaign.State.SCHEDULED,
        ):
            raise Conflict(
                _("Sending has started: use Stop instead."), code="campaign.not_withdrawable"
            )
        campaign.recipients.all().delete()
        campaign.approvals.all().delete()
        campaign.state = Campaign.State.DRAFT
        campaign.recipient_count = 0
        campaign.segment = ""
        campaign.approved_at = campaign.send_after = None
        campaign.save()
        log_action(campaign, actions.CAMPAIGN_APPROVAL_WITHDRAWN, actor=actor, data={})
    return campaign
