from __future__ import annotations

from django_tasks import task

from antenne.registrations import self_service, services


@task()
def resend_link(email: str, session_ids: list[int]) -> int:
    """The "lost your link?" form's work, queued identically for every address."""
    return self_service.resend_links(email=email, session_ids=session_ids)


@task()
def notify_registrants(session_id: int, change: str, message: str = "") -> int:
    """Tell a session's registrants that it moved or was cancelled."""
    return services.notify_registrants(session_id=session_id, change=change, message=message)
