from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Presence(models.Model):
    """One connection of one person to a session's room, from join to leave. Attendance
    (who came, watch time, concurrent viewers) is computed from these rows."""

    class Role(models.TextChoices):
        ATTENDEE = "attendee", _("Attendee")
        SPEAKER = "speaker", _("Speaker")
        STAFF = "staff", _("Staff")

    class Device(models.TextChoices):
        DESKTOP = "desktop", _("Computer")
        MOBILE = "mobile", _("Phone or tablet (browser)")
        PHONE = "phone", _("Telephone")

    session = models.ForeignKey(
        "events.Session", on_delete=models.CASCADE, related_name="presences"
    )
    # Erasing a registrant erases their attendance.
    registration = models.ForeignKey(
        "registrations.Registration",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="presences",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # A speaker's connection, by their link (guests have no account to name them by).
    speaker = models.ForeignKey(
        "events.Speaker", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.ATTENDEE)
    device = models.CharField(max_length=10, choices=Device.choices, default=Device.DESKTOP)
    joined_at = models.DateTimeField(db_index=True)
    left_at = models.DateTimeField(null=True, blank=True)
    # A raised hand, until lowered (by the person or by staff) or the connection closes.
    hand_raised_at = models.DateTimeField(null=True, blank=True)
    # Refreshed every minute by the process holding the connection: a row whose process died
    # (no `left_at`) is closed at its last `seen_at` (rooms.attendance.close_stale).
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "id"]
        indexes = [models.Index(fields=["session", "role"], name="presence_session_role")]

    def __str__(self) -> str:
        return f"{self.role} in session {self.session_id} from {self.joined_at:%H:%M}"


class ChatMessage(models.Model):
    """A message of the room's chat (`backstage` for the green room's staff-only chat)."""

    session = models.ForeignKey(
        "events.Session", on_delete=models.CASCADE, related_name="chat_messages"
    )
    presence = models.ForeignKey(
        Presence, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    registration = models.ForeignKey(
        "registrations.Registration",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    author_name = models.CharField(max_length=200)
    role = models.CharField(max_length=10, choices=Presence.Role.choices)
    backstage = models.BooleanField(default=False)
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["session", "backstage", "id"], name="chat_session_id")]

    def __str__(self) -> str:
        return f"chat {self.pk} in session {self.session_id}"


class RoomSettings(models.Model):
    """Per-session room options, changed by staff during the session."""

    session = models.OneToOneField(
        "events.Session", on_delete=models.CASCADE, related_name="room_settings"
    )
    chat_enabled = models.BooleanField(default=True)
    # Seconds an attendee waits between two chat messages (0: off).
    slow_mode_seconds = models.PositiveIntegerField(default=0)
    # Whether attendees see each other's names (chat authors, people list); staff always do.
    show_attendee_names = models.BooleanField(default=False)
    questions_enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"room settings of session {self.session_id}"


class Mute(models.Model):
    """An attendee staff silenced in the chat and Q&A of a session."""

    session = models.ForeignKey("events.Session", on_delete=models.CASCADE, related_name="+")
    registration = models.ForeignKey(
        "registrations.Registration", on_delete=models.CASCADE, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "registration"], name="one_mute")]

    def __str__(self) -> str:
        return f"mute of {self.registration_id} in session {self.session_id}"


class Question(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("Open")
        ANSWERED = "answered", _("Answered")
        DISMISSED = "dismissed", _("Dismissed")

    session = models.ForeignKey(
        "events.Session", on_delete=models.CASCADE, related_name="questions"
    )
    registration = models.ForeignKey(
        "registrations.Registration",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    presence = models.ForeignKey(
        Presence, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_name = models.CharField(max_length=200)
    anonymous = models.BooleanField(default=False)
    text = models.TextField(max_length=1000)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    votes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-votes", "id"]
        indexes = [models.Index(fields=["session", "state"], name="question_session_state")]

    def __str__(self) -> str:
        return f"question {self.pk} in session {self.session_id}"


class QuestionVote(models.Model):
    """One upvote per person (registration, or staff/speaker presence owner) and question."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="upvotes")
    # Who voted: a registration, or else a voter key for speakers and staff ("u:<id>",
    # "s:<id>").
    registration = models.ForeignKey(
        "registrations.Registration", on_delete=models.CASCADE, null=True, related_name="+"
    )
    voter = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["question", "voter"], name="one_vote_per_question")
        ]

    def __str__(self) -> str:
        return f"vote of {self.voter} for question {self.question_id}"


class Poll(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    session = models.ForeignKey("events.Session", on_delete=models.CASCADE, related_name="polls")
    question = models.CharField(max_length=300)
    # ["Oui", "Non", ...]: 2 to 10 options
    options = models.JSONField(default=list)
    multiple = models.BooleanField(default=False)
    # Results shown to attendees live (True) or only once closed (False).
    results_live = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"poll {self.pk} in session {self.session_id}"


class PollVote(models.Model):
    """One person's answer to a poll (their chosen option indexes)."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes")
    registration = models.ForeignKey(
        "registrations.Registration", on_delete=models.CASCADE, null=True, related_name="+"
    )
    voter = models.CharField(max_length=40)
    choices = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "voter"], name="one_answer_per_poll")
        ]

    def __str__(self) -> str:
        return f"answer of {self.voter} to poll {self.poll_id}"


class StageInvitation(models.Model):
    """Staff invite an attendee (who raised their hand, say) on stage; they accept or decline.
    One who accepts publishes their camera and microphone (`rooms.stage_media`)."""

    class State(models.TextChoices):
        INVITED = "invited", _("Invited")
        ACCEPTED = "accepted", _("On stage")
        DECLINED = "declined", _("Declined")
        ENDED = "ended", _("Left the stage")

    session = models.ForeignKey("events.Session", on_delete=models.CASCADE, related_name="+")
    registration = models.ForeignKey(
        "registrations.Registration", on_delete=models.CASCADE, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.INVITED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"stage invitation of {self.registration_id} in session {self.session_id}"


class StageFeed(models.Model):
    """What one connection publishes on stage from one source, from the engine's answer to
    the end of the stream. The engine's own id is kept to stop it; browsers know the feed by
    this row's id."""

    class Source(models.TextChoices):
        CAMERA = "camera", _("Camera and microphone")
        SCREEN = "screen", _("Screen")

    session = models.ForeignKey("events.Session", on_delete=models.CASCADE, related_name="+")
    presence = models.ForeignKey(Presence, on_delete=models.CASCADE, related_name="feeds")
    source = models.CharField(max_length=10, choices=Source.choices)
    engine_feed_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=10, choices=Presence.Role.choices)
    audio_muted = models.BooleanField(default=False)
    video_muted = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["session", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.source} feed {self.pk} of presence {self.presence_id}"


class MediaSample(models.Model):
    """One measure of one track of one participant, taken every few seconds while media
    flows (`media.stats`): kept for the session, shown to its animators."""

    class Direction(models.TextChoices):
        UP = "in", _("Sent to the server")
        DOWN = "out", _("Received from the server")

    session = models.ForeignKey("events.Session", on_delete=models.CASCADE, related_name="+")
    presence = models.ForeignKey(Presence, on_delete=models.CASCADE, related_name="+")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    kind = models.CharField(max_length=5)  # audio | video
    at = models.DateTimeField(db_index=True)
    bitrate = models.PositiveIntegerField(null=True, blank=True)  # bits per second
    packets_lost = models.PositiveIntegerField(null=True, blank=True)
    fraction_lost = models.FloatField(null=True, blank=True)
    rtt_ms = models.FloatField(null=True, blank=True)
    jitter_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["session", "presence", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.direction} of presence {self.presence_id} at {self.at}"


class PhoneCall(models.Model):
    """One telephone call to the gateway, from INVITE to hang-up: the call's metrics, and
    once its PIN is accepted, the attendance row it holds in the session's room."""

    class Outcome(models.TextChoices):
        ACTIVE = "active", _("In progress")
        COMPLETED = "completed", _("Completed")  # heard the session until its end or hung up
        CALLER_HUNG_UP = "caller_hung_up", _("Caller hung up before joining")
        WRONG_PIN = "wrong_pin", _("Too many wrong PINs")
        THROTTLED = "throttled", _("Refused: too many wrong PINs from this number")
        NO_PIN = "no_pin", _("No PIN typed")
        SESSION_OVER = "session_over", _("Session over")
        FAILED = "failed", _("Technical failure")

    # Null until a PIN names the session (and for calls that never get that far).
    session = models.ForeignKey(
        "events.Session",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="phone_calls",
    )
    # The caller's attendance row while in the room (device "phone").
    presence = models.OneToOneField(
        Presence,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="phone_call",
    )
    # Shown to staff in the people list: never the whole number (`+33 6 •• •• •• 42`).
    caller_masked = models.CharField(max_length=40, blank=True)
    # Throttling key: a keyed hash of the calling number, not the number itself.
    caller_hash = models.CharField(max_length=64, blank=True, db_index=True)
    call_id = models.CharField(max_length=200)
    codec = models.CharField(max_length=8, blank=True)
    outcome = models.CharField(
        max_length=16, choices=Outcome.choices, default=Outcome.ACTIVE, db_index=True
    )
    wrong_pins = models.PositiveIntegerField(default=0)
    # Whether the animator gave this caller the floor (their voice is published).
    floor = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # RTP from the caller (received, and lost by sequence gaps) and to the caller (sent).
    packets_received = models.PositiveIntegerField(default=0)
    packets_lost = models.PositiveIntegerField(default=0)
    packets_sent = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "telephony_phonecall"  # the table kept its name when the model moved
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["session", "outcome"], name="phonecall_session_outcome")]

    def __str__(self) -> str:
        return f"call {self.pk} ({self.outcome})"
