"""Who may publish on stage and who may watch it, the feeds on stage and their media stats.

The rules (the media engine never decides anything, `antenne.media.signaling` asks here
first):
- speakers and staff publish in the green room and live; an attendee publishes only live,
  and only while their stage invitation is accepted;
- speakers and staff watch in the green room and live; attendees only live;
- at most `ANTENNE_STAGE_MAX_STREAMS` feeds at once; a connection has one feed per source
  (a new camera feed replaces its previous one);
- a feed ends when its owner stops it, leaves the room, is taken off the stage, or when the
  session ends."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from antenne.core.exceptions import Conflict, NotFound, PermissionDenied
from antenne.events.models import Session
from antenne.rooms.models import MediaSample, Presence, StageFeed, StageInvitation
from antenne.rooms.participants import Participant, require_in_room, require_staff

BACKSTAGE_STATES = {Session.State.GREEN_ROOM, Session.State.LIVE}


def _state(session_id: int) -> str | None:
    return Session.objects.filter(pk=session_id).values_list("state", flat=True).first()


def _require_open_presence(participant: Participant, presence_id: int) -> None:
    if not Presence.objects.filter(
        pk=presence_id, session_id=participant.session_id, left_at__isnull=True
    ).exists():
        raise PermissionDenied(
            _("You are not in the room any more; reload the page."), code="media.not_in_room"
        )


def on_stage(participant: Participant) -> bool:
    """An attendee whose stage invitation is accepted."""
    return (
        participant.registration_id is not None
        and StageInvitation.objects.filter(
            session_id=participant.session_id,
            registration_id=participant.registration_id,
            state=StageInvitation.State.ACCEPTED,
        ).exists()
    )


def require_publisher(participant: Participant, presence_id: int) -> None:
    """Raises unless this connection may publish now."""
    if participant.is_staff:
        require_staff(participant)
    else:
        require_in_room(participant)
    _require_open_presence(participant, presence_id)
    state = _state(participant.session_id)
    if participant.is_backstage:
        if state not in BACKSTAGE_STATES:
            raise Conflict(
                _("Cameras open with the green room and close at the end."),
                code="media.not_open",
            )
        return
    if state != Session.State.LIVE or not on_stage(participant):
        raise PermissionDenied(
            _("Only speakers and people invited on stage may publish."),
            code="media.not_on_stage",
        )


def require_viewer(participant: Participant, presence_id: int) -> None:
    """Raises unless this connection may receive the stage now."""
    require_in_room(participant)
    _require_open_presence(participant, presence_id)
    state = _state(participant.session_id)
    if participant.is_backstage:
        if state not in BACKSTAGE_STATES:
            raise Conflict(_("The stage is not open."), code="media.not_open")
    elif state != Session.State.LIVE:
        raise Conflict(_("The broadcast has not started."), code="media.not_live")


def open_feed(
    *, participant: Participant, presence_id: int, source: str, engine_feed_id: str
) -> tuple[StageFeed, list[str]]:
    """Record a feed the engine accepted; returns it and the engine ids of the feeds it
    replaces (the same connection's previous feed from this source), which the caller
    stops. Raises `media.stage_full` (the caller stops the new one) when the stage is
    full."""
    with transaction.atomic():
        # One writer at a time per session, so that two publishers cannot both take the
        # last place.
        Session.objects.select_for_update().filter(pk=participant.session_id).first()
        require_publisher(participant, presence_id)
        require_room_for_stage(participant, presence_id, source)  # again, under the lock
        previous = list(
            StageFeed.objects.filter(presence_id=presence_id, source=source, ended_at__isnull=True)
        )
        now = timezone.now()
        StageFeed.objects.filter(pk__in=[f.pk for f in previous]).update(ended_at=now)
        feed = StageFeed.objects.create(
            session_id=participant.session_id,
            presence_id=presence_id,
            source=source,
            engine_feed_id=engine_feed_id,
            name=participant.name,
            role=participant.role,
        )
    return feed, [f.engine_feed_id for f in previous]


def require_room_for_stage(participant: Participant, presence_id: int, source: str) -> None:
    """Checked before asking the engine anything: is there room on stage at all? (The
    connection's own feed from this source does not count: the new one replaces it.)"""
    count = (
        StageFeed.objects.filter(session_id=participant.session_id, ended_at__isnull=True)
        .exclude(presence_id=presence_id, source=source)
        .count()
    )
    if count >= settings.STAGE_MAX_STREAMS:
        raise Conflict(
            _("The stage is full (%(count)d streams).") % {"count": count},
            code="media.stage_full",
        )


def own_feed(
    *, participant: Participant, presence_id: int, feed_id: int, ended_ok: bool = False
) -> StageFeed | None:
    """A feed this connection may stop or mute: its own, or any feed for staff. An ended
    one is `None` with `ended_ok` (stopping twice is not an error), else `no_such_feed`."""
    feed = StageFeed.objects.filter(pk=feed_id, session_id=participant.session_id).first()
    if feed is None or (feed.ended_at is not None and not ended_ok):
        raise NotFound(_("This stream has ended."), code="media.no_such_feed")
    if feed.presence_id != presence_id:
        require_staff(participant)
    return None if feed.ended_at is not None else feed


def end_feeds(
    *,
    session_id: int,
    presence_id: int | None = None,
    feed_ids: Iterable[int] = (),
    engine_feed_ids: Iterable[str] = (),
    everything: bool = False,
) -> list[StageFeed]:
    """Mark feeds ended; returns those that were live (their engine ids to stop)."""
    feeds = StageFeed.objects.filter(session_id=session_id, ended_at__isnull=True)
    if not everything:
        selected = StageFeed.objects.none()
        if presence_id is not None:
            selected |= feeds.filter(presence_id=presence_id)
        if feed_ids:
            selected |= feeds.filter(pk__in=list(feed_ids))
        if engine_feed_ids:
            selected |= feeds.filter(engine_feed_id__in=list(engine_feed_ids))
        feeds = selected
    ended = list(feeds)
    StageFeed.objects.filter(pk__in=[f.pk for f in ended]).update(ended_at=timezone.now())
    return ended


def end_attendee_feeds(*, session_id: int, registration_id: int) -> list[StageFeed]:
    """An attendee taken off the stage: every feed of theirs ends."""
    presences = Presence.objects.filter(session_id=session_id, registration_id=registration_id)
    ended = list(
        StageFeed.objects.filter(
            session_id=session_id, presence__in=presences, ended_at__isnull=True
        )
    )
    StageFeed.objects.filter(pk__in=[f.pk for f in ended]).update(ended_at=timezone.now())
    return ended


def set_muted(*, feed: StageFeed, audio: bool | None, video: bool | None) -> StageFeed:
    if audio is not None:
        feed.audio_muted = audio
    if video is not None:
        feed.video_muted = video
    feed.save(update_fields=["audio_muted", "video_muted"])
    return feed


def feed_data(feed: StageFeed) -> dict[str, Any]:
    return {
        "id": feed.pk,
        "name": feed.name,
        "role": feed.role,
        "source": feed.source,
        "presence_id": feed.presence_id,
        "audio_muted": feed.audio_muted,
        "video_muted": feed.video_muted,
    }


def live_feeds(session_id: int) -> list[dict[str, Any]]:
    """The stage now, in the order feeds arrived (what `media.feeds` pushes)."""
    return [
        feed_data(f) for f in StageFeed.objects.filter(session_id=session_id, ended_at__isnull=True)
    ]


def engine_ids(session_id: int, feed_ids: Iterable[int]) -> dict[str, int]:
    """Engine feed id → our feed id, for the live feeds among `feed_ids`."""
    rows = StageFeed.objects.filter(
        session_id=session_id, pk__in=list(feed_ids), ended_at__isnull=True
    ).values_list("engine_feed_id", "pk")
    return dict(rows)


def record_samples(
    *, session_id: int, samples: list[tuple[int, dict[str, Any]]], at: datetime | None = None
) -> int:
    """Keep one round of stats: `(presence id, TrackStats fields)` pairs. Presences that
    are not of this session are ignored."""
    valid = set(
        Presence.objects.filter(session_id=session_id, pk__in={p for p, _ in samples}).values_list(
            "pk", flat=True
        )
    )
    at = at or timezone.now()
    rows = [
        MediaSample(session_id=session_id, presence_id=presence_id, at=at, **fields)
        for presence_id, fields in samples
        if presence_id in valid
    ]
    MediaSample.objects.bulk_create(rows)
    return len(rows)


def latest_samples(session_id: int, *, since: datetime) -> list[dict[str, Any]]:
    """Per connection, its latest sample per direction and kind since `since`: what the
    console shows the animator (name, role, bitrate, loss, RTT)."""
    rows = (
        MediaSample.objects.filter(session_id=session_id, at__gte=since)
        .select_related("presence")
        .order_by("presence_id", "direction", "kind", "-at")
    )
    seen: set[tuple[int, str, str]] = set()
    people: dict[int, dict[str, Any]] = {}
    for row in rows:
        key = (row.presence_id, row.direction, row.kind)
        if key in seen:
            continue
        seen.add(key)
        person = people.setdefault(
            row.presence_id,
            {"presence_id": row.presence_id, "role": row.presence.role, "tracks": []},
        )
        person["tracks"].append(
            {
                "direction": row.direction,
                "kind": row.kind,
                "bitrate": row.bitrate,
                "packets_lost": row.packets_lost,
                "fraction_lost": row.fraction_lost,
                "rtt_ms": row.rtt_ms,
                "jitter_ms": row.jitter_ms,
            }
        )
    return list(people.values())
