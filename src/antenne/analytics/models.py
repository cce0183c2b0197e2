from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Export(models.Model):
    """A file of a session's data (registrants, chat, Q&A, polls) written by a background
    task. The file lives in the data dir (`settings.EXPORTS_DIR`), never under static or
    media; it is served by a view that checks who asks, until `expires_at`."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    class Delimiter(models.TextChoices):
        SEMICOLON = "semicolon", _("Semicolon (;), for a spreadsheet in French")
        COMMA = "comma", _("Comma (,), for a spreadsheet in English")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("In progress")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Deleted")

    session = models.ForeignKey("events.Session", on_delete=models.CASCADE, related_name="exports")
    # Null for the automatic export made when the session ends (sent to its animators).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    automatic = models.BooleanField(default=False)
    format = models.CharField(max_length=4, choices=Format.choices)
    # The language of the file's headers, sheet names and labels, and how its CSV files
    # separate their fields: the requester's, chosen when asking.
    language = models.CharField(max_length=8, default="fr")
    delimiter = models.CharField(max_length=10, choices=Delimiter.choices, default="semicolon")
    state = models.CharField(
        max_length=8, choices=State.choices, default=State.PENDING, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    rows = models.PositiveIntegerField(default=0)  # registrant rows written
    # Relative to settings.EXPORTS_DIR; empty until the file is complete.
    file_name = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the file is deleted (the workspace's retention period); null: kept.
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["session", "state"], name="export_session_state")]

    def __str__(self) -> str:
        return f"{self.format} export {self.pk} of session {self.session_id}"

    @property
    def is_ready(self) -> bool:
        return self.state == self.State.DONE

    @property
    def is_running(self) -> bool:
        return self.state in (self.State.PENDING, self.State.RUNNING)

    @property
    def download_name(self) -> str:
        extension = "zip" if self.format == self.Format.CSV else "xlsx"
        return f"antenne-session-{self.session_id}-export-{self.pk}.{extension}"


class SessionSummary(models.Model):
    """A session's report figures, kept so that dashboards need not recompute every session
    and so that the figures survive the purge of the personal data they come from.
    `fingerprint` summarises the rows the figures were computed from: a different one means
    they are stale (a registration erased, a late join). `frozen_at` is set by the purge:
    from then on the figures are what remains."""

    session = models.OneToOneField(
        "events.Session", on_delete=models.CASCADE, related_name="summary"
    )
    fingerprint = models.CharField(max_length=200, blank=True)
    figures = models.JSONField(default=dict)
    computed_at = models.DateTimeField()
    frozen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"summary of session {self.session_id}"
