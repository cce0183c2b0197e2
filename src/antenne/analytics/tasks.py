from __future__ import annotations

from django_tasks import task

from antenne.analytics import services


@task()
def run_export(export_id: int) -> str:
    """Write an export's file and email its links."""
    return services.run_export(export_id=export_id)
