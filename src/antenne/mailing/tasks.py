from __future__ import annotations

from django_tasks import task


@task()
def run_campaign(campaign_id: int) -> str:
    from antenne.mailing.campaign_sending import run_campaign as run

    return run(campaign_id=campaign_id)
