from __future__ import annotations

from django_tasks import task

from antenne.accounts import services


@task()
def send_login_link(email: str) -> bool:
    return services.send_login_link(email=email)
