"""REST API v1 for exports: ask for one, follow it, download it (bearer token).

Who may: whoever may see the session's report (`analytics.selectors`: its animators, its
speakers who are members, admins). The file's URL answers to the same bearer token; every
download is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import FileResponse, HttpRequest
from django.urls import reverse
from ninja import Field, Router, Schema, Status

from antenne.analytics import selectors, services
from antenne.analytics.models import Export
from antenne.api import schemas
from antenne.core.links import absolute_url

router = Router(tags=["exports"])

ERRORS = schemas.ERRORS


class ExportIn(schemas.Strict):
    format: Literal["csv", "xlsx"]
    language: Literal["fr", "en"] | None = Field(
        default=None,
        description="The language of the headers, sheet names and labels; yours by default.",
    )
    csv_delimiter: Literal["semicolon", "comma"] | None = Field(
        default=None,
        description=(
            "How the CSV files separate their fields: `semicolon` (what a spreadsheet set to "
            "French reads) or `comma`; by default, semicolon for French and comma for English."
        ),
    )


class ExportCreated(Schema):
    id: int
    status: str


class ExportOut(Schema):
    id: int
    session_id: int
    format: str
    language: str
    csv_delimiter: str
    status: str
    progress: int
    rows: int
    automatic: bool
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None
    download_url: str | None


def _out(export: Export) -> dict[str, Any]:
    return {
        "id": export.pk,
        "session_id": export.session_id,
        "format": export.format,
        "language": export.language,
        "csv_delimiter": export.delimiter,
        "status": export.state,
        "progress": export.progress,
        "rows": export.rows,
        "automatic": export.automatic,
        "created_at": export.created_at,
        "finished_at": export.finished_at,
        "expires_at": export.expires_at,
        "download_url": (
            absolute_url(reverse("api-1:download_export", args=[export.pk]))
            if export.is_ready
            else None
        ),
    }


@router.post("/sessions/{session_id}/exports", response={202: ExportCreated, **schemas.BODY_ERRORS})
def request_export(request: HttpRequest, session_id: schemas.Id, body: ExportIn) -> Any:
    """Ask for an export of the session (`csv`: a ZIP of CSV files, UTF-8 with a byte-order
    mark; `xlsx`: one workbook, times as date cells), headers and sheet names in `language`,
    times in the session's time zone; it is prepared in the background and its link emailed
    to you. Asking again while the same export of yours is under way returns it."""
    session = selectors.access_report_session(actor=request.user, pk=session_id)
    export = services.request_export(
        actor=request.user,
        session=session,
        format=body.format,
        language=body.language,
        delimiter=body.csv_delimiter,
    )
    return Status(202, {"id": export.pk, "status": export.state})


@router.get("/exports/{export_id}", response={200: ExportOut, **ERRORS})
def get_export(request: HttpRequest, export_id: schemas.Id) -> Any:
    """An export's status (`pending`, `running`, `done`, `failed`, `expired`), progress in
    percent, and once done the URL of its file."""
    return _out(selectors.access_export(actor=request.user, pk=export_id))


@router.get(
    "/exports/{export_id}/file",
    response={200: None, **ERRORS},
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file: a ZIP of CSV files, or an XLSX workbook.",
                "content": {
                    "application/zip": {},
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                },
            }
        }
    },
)
def download_export(request: HttpRequest, export_id: schemas.Id) -> Any:
    """The export's file, with the same bearer token (audited)."""
    export = selectors.access_export(actor=request.user, pk=export_id)
    path = services.open_export(actor=request.user, export=export, via="api")
    response = FileResponse(path.open("rb"), as_attachment=True, filename=export.download_name)
    response["Cache-Control"] = "private, no-store"
    return response
