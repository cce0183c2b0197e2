"""`antenne manage purge_personal_data [--days N] [--dry-run]`: apply the retention period
now (the sweeper of `antenne run` and `antenne worker` does it every hour)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from antenne.analytics import retention


class Command(BaseCommand):
    help = (
        "Delete the registrants' personal data of sessions over for longer than the "
        "retention period (ANTENNE_RETENTION_DAYS), and expired export files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="retention period in days (default: ANTENNE_RETENTION_DAYS; 0 keeps all)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="list the sessions, delete nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = settings.RETENTION_DAYS if options["days"] is None else options["days"]
        if days < 0:
            self.stderr.write("--days must be 0 or more")
            raise SystemExit(2)
        if options["dry_run"]:
            if not days:
                self.stdout.write("retention 0: personal data is kept")
                return
            cutoff = timezone.now() - timedelta(days=days)
            for session in retention.sessions_to_purge(cutoff).select_related("event"):
                self.stdout.write(f"would purge session {session.pk}: {session.event.title}")
            return
        purged = retention.purge_personal_data(retention_days=days)
        self.stdout.write(
            f"purged {purged.sessions} session(s): {purged.registrations} registration(s), "
            f"{purged.emails} email(s), {purged.exports} export file(s)"
        )
