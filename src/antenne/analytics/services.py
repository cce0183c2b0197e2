"""Writes of the analytics domain: export jobs, from the request to the emailed link.

- `request_export`: anyone who may see the session's report asks for a CSV (a ZIP of CSV
  files) or XLSX file, in a language (headers, sheet names, labels; theirs by default) and,
  for CSV, with a field separator (`;` by default in French, `,` in English); the job is a
  row, run by a background task after commit. Asking again while one's own export of that
  kind is under way returns it.
- `export_when_ended`: when a session ends (`events.lifecycle.end_session`, same
  transaction), an XLSX export for its animators, if ANTENNE_AUTO_EXPORT_ON_END.
- `run_export` (the task): writes the file in the data dir, progress in the row as it
  goes, then emails each recipient (the requester; for the automatic one, every animator
  of the session) their own download link.
- Download links are signed, name the export and the recipient, and expire after
  ANTENNE_EXPORT_LINK_DAYS. The download view also requires the logged-in user to be that
  recipient and still allowed to see the report: a forwarded link is useless. The file
  stays downloadable from the report page until the retention period ends
  (ANTENNE_RETENTION_DAYS, `analytics.retention`). Every download is audited."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from antenne import config
from antenne.accounts.models import User
from antenne.analytics import exports, rows
from antenne.analytics.models import Export
from antenne.analytics.selectors import can_view_report, require_report_access
from antenne.core import actions
from antenne.core.audit import log_action
from antenne.core.exceptions import Invalid, NotFound, PermissionDenied
from antenne.core.links import absolute_url
from antenne.events.models import Session
from antenne.outbox.services import queue_email
from antenne.registrations.models import Registration

logger = logging.getLogger("antenne.analytics")

LINK_SALT = "antenne.analytics.export_link"
STUCK_AFTER = timedelta(hours=1)


def exports_dir() -> Path:
    return Path(settings.EXPORTS_DIR)


def _enqueue(export_id: int) -> None:
    transaction.on_commit(lambda: run_export_task.enqueue(export_id))


def _retention_end(now: Any) -> Any:
    days = settings.RETENTION_DAYS
    return now + timedelta(days=days) if days else None


def default_delimiter(language: str) -> str:
    """A spreadsheet set to French reads `;` (its decimal mark is the comma)."""
    return Export.Delimiter.SEMICOLON if language == "fr" else Export.Delimiter.COMMA


def request_export(
    *,
    actor: Any,
    session: Session,
    format: str,
    language: str | None = None,
    delimiter: str | None = None,
) -> Export:
    """Queue an export of `session` in `format` ("csv" or "xlsx") for `actor`, in
    `language` (else the actor's), CSV fields separated by `delimiter` ("semicolon" or
    "comma"; else the language's custom)."""
    require_report_access(actor, session)
    if format not in Export.Format.values:
        raise Invalid(_("Choose the CSV or XLSX format."), code="export.format_invalid")
    languages = [code for code, _name in settings.LANGUAGES]
    language = language or getattr(actor, "language", "") or settings.LANGUAGE_CODE
    if language not in languages:
        raise Invalid(
            _("Choose the language of the file: French or English."),
            code="export.language_invalid",
        )
    delimiter = delimiter or default_delimiter(language)
    if delimiter not in Export.Delimiter.values:
        raise Invalid(
            _("Choose how the CSV fields are separated: semicolon or comma."),
            code="export.delimiter_invalid",
        )
    wanted = {"format": format, "language": language, "delimiter": delimiter}
    with transaction.atomic():
        running = Export.objects.filter(
            session=session,
            requested_by=actor,
            state__in=(Export.State.PENDING, Export.State.RUNNING),
            **wanted,
        ).first()
        if running is not None:
            return running
        export = Export.objects.create(session=session, requested_by=actor, **wanted)
        log_action(
            export, actions.EXPORT_REQUESTED, actor=actor, data={"session": session.pk, **wanted}
        )
        _enqueue(export.pk)
    return export


def export_when_ended(session: Session) -> Export | None:
    """The automatic export of a session that just ended, for its animators (called in
    the transaction that ends it; the task runs after commit)."""
    if not settings.AUTO_EXPORT_ON_END:
        return None
    export = Export.objects.create(
        session=session,
        automatic=True,
        format=Export.Format.XLSX,
        language=settings.LANGUAGE_CODE,
        delimiter=default_delimiter(settings.LANGUAGE_CODE),
    )
    log_action(
        export,
        actions.EXPORT_REQUESTED,
        data={"session": session.pk, "format": export.format, "automatic": True},
    )
    _enqueue(export.pk)
    return export


def recipients(export: Export) -> list[User]:
    """Who is sent the link: the requester, and for the automatic export every active
    animator of the session; only those who may still see the report."""
    people: list[User] = []
    if export.requested_by is not None:
        people.append(export.requested_by)
    if export.automatic:
        people += list(export.session.animators.filter(is_active=True).order_by("pk"))
    unique = {person.pk: person for person in people}
    return [person for person in unique.values() if can_view_report(person, export.session)]


def link_token(export: Export, user: Any) -> str:
    return signing.dumps([export.pk, user.pk], salt=LINK_SALT)


def download_url(export: Export, user: Any) -> str:
    """The personal, expiring download link emailed to `user`."""
    path = reverse("control:export_download", args=[export.pk])
    return absolute_url(f"{path}?{urlencode({'t': link_token(export, user)})}")


def check_link(*, export: Export, user: Any, token: str) -> None:
    """Raise unless `token` is a live link to `export` sent to `user`."""
    try:
        export_id, user_id = signing.loads(
            token, salt=LINK_SALT, max_age=timedelta(days=settings.EXPORT_LINK_DAYS)
        )
    except signing.SignatureExpired:
        raise PermissionDenied(
            _("This download link has expired: download the file from the session's report."),
            code="export.link_expired",
        ) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise PermissionDenied(
            _("This download link is not valid."), code="export.link_invalid"
        ) from None
    if export_id != export.pk or user_id != getattr(user, "pk", None):
        raise PermissionDenied(
            _("This download link was sent to someone else: it only works for them."),
            code="export.link_not_yours",
        )


def open_export(*, actor: Any, export: Export, via: str) -> Path:
    """The file of a ready export for someone who may see the session's report; the
    download is audited (`via`: "link", "page" or "api")."""
    require_report_access(actor, export.session)
    now = timezone.now()
    if not export.is_ready or (export.expires_at is not None and export.expires_at <= now):
        raise NotFound(_("This export is not ready or was deleted."), code="export.not_ready")
    path = (exports_dir() / export.file_name).resolve()
    if exports_dir().resolve() not in path.parents or not path.is_file():
        raise NotFound(_("This export is not ready or was deleted."), code="export.not_ready")
    log_action(export, actions.EXPORT_DOWNLOADED, actor=actor, data={"via": via})
    return path


def _progress(export_id: int, total: int) -> Any:
    def report(done: int) -> None:
        Export.objects.filter(pk=export_id).update(
            rows=done, progress=min(99, 100 * done // max(total, 1))
        )

    return report


def run_export(*, export_id: int) -> str:
    """Write the export's file, then email its recipients their links. Returns the state
    the export is left in (another worker's claim leaves it alone)."""
    now = timezone.now()
    claimed = Export.objects.filter(pk=export_id, state=Export.State.PENDING).update(
        state=Export.State.RUNNING, started_at=now
    )
    if not claimed:
        return str(Export.objects.values_list("state", flat=True).get(pk=export_id))
    export = Export.objects.select_related("session__event", "requested_by").get(pk=export_id)
    session = export.session
    extension = "zip" if export.format == Export.Format.CSV else "xlsx"
    name = f"session-{session.pk}/export-{export.pk}-{secrets.token_hex(8)}.{extension}"
    path = exports_dir() / name
    partial = path.with_name(path.name + ".part")
    try:
        config.private_dir(exports_dir())
        config.private_dir(path.parent)
        config.new_private_file(partial)  # 0600 before a row is written; the writers keep it
        total = Registration.objects.filter(session=session).count()
        with translation.override(export.language):
            exports.WRITERS[export.format](
                partial,
                rows.sheets(session, on_chunk=_progress(export.pk, total)),
                delimiter=export.delimiter,
                language=export.language,
            )
        partial.replace(path)
    except Exception as error:
        partial.unlink(missing_ok=True)
        logger.exception("export %s of session %s failed", export.pk, session.pk)
        with transaction.atomic():
            Export.objects.filter(pk=export.pk).update(
                state=Export.State.FAILED,
                error=f"{type(error).__name__}: {error}"[:2000],
                finished_at=timezone.now(),
            )
            log_action(export, actions.EXPORT_FAILED, data={"error": type(error).__name__})
        return str(Export.State.FAILED)
    with transaction.atomic():
        export.state = Export.State.DONE
        export.progress = 100
        export.rows = total
        export.file_name = name
        export.size = path.stat().st_size
        export.finished_at = timezone.now()
        export.expires_at = _retention_end(export.finished_at)
        export.save(
            update_fields=[
                "state",
                "progress",
                "rows",
                "file_name",
                "size",
                "finished_at",
                "expires_at",
            ]
        )
        sent_to = recipients(export)
        for user in sent_to:
            _send_link(export, user)
        log_action(
            export,
            actions.EXPORT_READY,
            data={"rows": total, "size": export.size, "sent_to": [u.pk for u in sent_to]},
        )
    return str(export.state)


@task()
def run_export_task(export_id: int) -> str:
    """The workers' task: write an export's file and email its links (queued by
    `_enqueue`, beside it)."""
    return run_export(export_id=export_id)


def _send_link(export: Export, user: User) -> None:
    session = export.session
    queue_email(
        to=user.email,
        kind="export_ready",
        template="export_ready",
        context={
            "user": user,
            "session": session,
            "event": session.event,
            "export": export,
            "url": download_url(export, user),
            "link_days": settings.EXPORT_LINK_DAYS,
            "report_url": absolute_url(reverse("control:session_report", args=[session.pk])),
        },
        language=user.language,
        session=session,
    )


def fail_stuck_exports(*, older_than: timedelta = STUCK_AFTER) -> int:
    """Exports left running by a worker that died: failed, so that people can ask again."""
    cutoff = timezone.now() - older_than
    return int(
        Export.objects.filter(state=Export.State.RUNNING, started_at__lt=cutoff).update(
            state=Export.State.FAILED, error="interrupted", finished_at=timezone.now()
        )
    )
