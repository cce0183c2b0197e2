from __future__ import annotations

from django_tasks import task

from antenne.mailing import services


@task()
def deliver_email(email_id: int) -> str:
    return services.deliver_email(email_id=email_id)
