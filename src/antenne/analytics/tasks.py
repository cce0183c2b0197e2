"""The task path that exports queued before the task moved beside its service
(`analytics.services.run_export_task`) still name: a worker picking up such a row runs the
same task."""

from __future__ import annotations

from antenne.analytics.services import run_export_task as run_export

__all__ = ["run_export"]
