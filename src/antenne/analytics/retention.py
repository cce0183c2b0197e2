"""The workspace's retention period (ANTENNE_RETENTION_DAYS; 0 keeps everything): once a
session has been over for that long, its registrants' personal data and its export files
are deleted.

For each such session, in one transaction: its report figures are frozen first
(`summaries.freeze`: the numbers stay, without names or texts), then its registrations are
deleted with everything that hangs on them (connections, chat messages and questions of
registrants, votes, answers, mutes, stage invitations), its emails lose their addresses
and texts (rows kept for the delivery figures), its campaign recipients their addresses,
its exports their files, and its telephone calls their masked numbers and throttling keys
(calls that never named a session lose theirs once as old). The audit keeps only counts.

Export files also go when their own period ends (`expires_at`), whatever their session.
Run by the sweeper (hourly) and by `antenne manage purge_personal_data`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from antenne.analytics import summaries
from antenne.analytics.models import Export, SessionSummary
from antenne.analytics.services import exports_dir
from antenne.core import actions
from antenne.core.audit import log_action
from antenne.events.models import Session
from antenne.mailing.models import CampaignRecipient
from antenne.outbox.models import OutgoingEmail
from antenne.registrations.models import Registration
from antenne.rooms.models import PhoneCall

logger = logging.getLogger("antenne.analytics")

# A session lasts at most a day: one that started a day before the cutoff ended before it.
LONGEST_SESSION = timedelta(days=1)


@dataclass
class Purged:
    sessions: int = 0
    registrations: int = 0
    emails: int = 0
    exports: int = 0
    calls: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def sessions_to_purge(cutoff: datetime) -> Any:
    """Sessions over before `cutoff` that still hold personal data."""
    over = Q(ended_at__lt=cutoff) | Q(ended_at__isnull=True, starts_at__lt=cutoff - LONGEST_SESSION)
    holding = (
        Exists(Registration.objects.filter(session=OuterRef("pk")))
        | Exists(OutgoingEmail.objects.filter(session=OuterRef("pk")).exclude(to=""))
        | Exists(Export.objects.filter(session=OuterRef("pk"), state=Export.State.DONE))
        | Exists(_identified_calls().filter(session=OuterRef("pk")))
    )
    return Session.objects.filter(over).filter(holding).order_by("pk")


def _deleter(file_name: str) -> Callable[[], None]:
    """Delete the file once the row says so for good (after commit)."""

    def delete() -> None:
        if file_name:
            (exports_dir() / file_name).unlink(missing_ok=True)

    return delete


def delete_exports(exports: Any) -> int:
    """Delete the files of `exports` (ready ones); the rows stay, marked deleted."""
    count = 0
    for export in exports.filter(state=Export.State.DONE):
        with transaction.atomic():
            if not Export.objects.filter(pk=export.pk, state=Export.State.DONE).update(
                state=Export.State.EXPIRED, file_name=""
            ):
                continue
            log_action(export, actions.EXPORT_DELETED, data={"session": export.session_id})
            transaction.on_commit(_deleter(export.file_name))
        count += 1
    return count


def _identified_calls() -> Any:
    """Telephone calls that still hold something of their caller's number."""
    return PhoneCall.objects.exclude(caller_masked="", caller_hash="")


def _forget_callers(calls: Any) -> int:
    return int(calls.update(caller_masked="", caller_hash=""))


def purge_session(session: Session) -> Purged:
    """Delete `session`'s personal data now (its figures frozen first)."""
    purged = Purged(sessions=1)
    with transaction.atomic():
        Session.objects.select_for_update().get(pk=session.pk)
        # Wait for a campaign chunk being written (it locks its campaign row).
        list(
            session.campaigns.select_for_update()
            .filter(state__in=["scheduled", "canary", "sending"])
            .values_list("pk", flat=True)
        )
        already = SessionSummary.objects.filter(session=session, frozen_at__isnull=False)
        if not already.exists():
            summaries.freeze(session)
        registrations = Registration.objects.filter(session=session)
        purged.registrations = registrations.count()
        registrations.delete()
        emails = OutgoingEmail.objects.filter(session=session).exclude(to="")
        emails.filter(state=OutgoingEmail.State.PENDING).update(
            state=OutgoingEmail.State.WITHHELD, last_error="purged", next_attempt_at=None
        )
        purged.emails = emails.update(
            to="", subject="", body_text="", body_html="", unsubscribe_url="", attachments=[]
        )
        CampaignRecipient.objects.filter(campaign__session=session).exclude(email="").update(
            email=""
        )
        purged.exports = delete_exports(Export.objects.filter(session=session))
        purged.calls = _forget_callers(_identified_calls().filter(session=session))
        log_action(session, actions.PERSONAL_DATA_PURGED, data=purged.as_dict())
    return purged


def purge_personal_data(
    *, now: datetime | None = None, retention_days: int | None = None
) -> Purged:
    """Apply the retention period to every session and export; returns what went."""
    now = now or timezone.now()
    days = settings.RETENTION_DAYS if retention_days is None else retention_days
    total = Purged()
    if days > 0:
        for session in sessions_to_purge(now - timedelta(days=days)):
            done = purge_session(session)
            total.sessions += done.sessions
            total.registrations += done.registrations
            total.emails += done.emails
            total.exports += done.exports
            total.calls += done.calls
        cutoff = now - timedelta(days=days)
        sessionless = _identified_calls().filter(session__isnull=True, started_at__lt=cutoff)
        total.calls += _forget_callers(sessionless)
    total.exports += delete_exports(Export.objects.filter(expires_at__lte=now))
    if total.sessions or total.exports or total.calls:
        logger.info("retention: purged %s", total.as_dict())
    return total
