from __future__ import annotations

from django_tasks import task

from antenne.mailing import services


@task()
def deliver_email(email_id: int) -> str:
    return services.deliver_email(email_id=email_id)


@task()
def run_campaign(campaign_id: int) -> str:
    from antenne.mailing.campaign_sending import run_campaign as run

    return run(campaign_id=campaign_id)
