from __future__ import annotations

from django_tasks import task

from antenne.events.models import Session
from antenne.registrations import services


@task()
def resend_link(email: str, session_ids: list[int]) -> None:
    """The "lost your link?" form's work, queued identically for every address."""
    for session in Session.objects.filter(pk__in=session_ids).select_related("event"):
        services.resend_link(email=email, session=session)


@task()
def notify_registrants(session_id: int, change: str, message: str = "") -> int:
    """Tell a session's registrants that it moved or was cancelled."""
    return services.notify_registrants(session_id=session_id, change=change, message=message)
