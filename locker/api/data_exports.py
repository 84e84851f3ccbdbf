"""A download of all my data in the JSON API (mounted on locker.api.site's NinjaAPI, which
supplies the bearer-token auth): ask for one, watch its progress, fetch the ZIP. Only ever
the token owner's own: another person's download is 404, as is none."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from locker.api.errors import api_message, refusals
from locker.infra.http import request_user, stored_attachment
from locker.models import DataExport
from locker.selectors.data_exports import data_export_of, data_export_status
from locker.services import data_exports as export_services

router = Router(tags=["account"])


class DataExportCreated(Schema):
    id: str
    status: str


class DataExportStatus(Schema):
    id: str
    status: str
    progress: int
    error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None
    expires_at: datetime | None = None
    cases: int | None = None
    size: int | None = None
    sha256: str | None = None


def _own(request: HttpRequest, export_id: str) -> DataExport:
    export = data_export_of(request_user(request), export_id)
    if export is None:
        raise HttpError(404, "Not Found")
    return export


@router.post(
    "/account/data-exports",
    response={202: DataExportCreated},
    summary="Ask for a ZIP of all my data: every case I own as its export bundle, and my "
    "account's records; a worker builds it (one at a time: a pending one is answered again)",
)
def request_data_export(request: HttpRequest) -> Status[Any]:
    export = export_services.request_data_export(user=request_user(request), request=request)
    return Status(202, {"id": str(export.id), "status": export.state})


@router.get(
    "/account/data-exports/{export_id}",
    response={200: DataExportStatus, **refusals(404)},
    summary="Progress of a download of all my data",
)
def data_export(request: HttpRequest, export_id: str) -> dict[str, Any]:
    return data_export_status(_own(request, export_id))


@router.get(
    "/account/data-exports/{export_id}/zip",
    response={200: None, **refusals(404, 409)},
    summary="Fetch a ready download of all my data (deleted LOCKER_DATA_EXPORT_KEEP_S after "
    "it was made)",
    openapi_extra={
        "responses": {200: {"content": {"application/zip": {}}, "description": "ZIP of my data"}}
    },
)
def data_export_zip(request: HttpRequest, export_id: str) -> Any:
    export = _own(request, export_id)
    if export.state != DataExport.State.READY or not export.file_name:
        not_ready = format_lazy(_("the download is {state}, not ready"), state=export.state)
        return Status(409, {"detail": api_message(request, not_ready)})
    export_services.note_download(export=export, request=request)
    return stored_attachment(
        export.file_name,
        filename=f"evidence-locker-data-{export.created_at:%Y%m%d}.zip",
        content_type="application/zip",
    )
