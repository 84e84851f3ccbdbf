"""The JSON API under /api/ (django-ninja: typed endpoints with a generated OpenAPI document
and interactive docs at /api/docs, served from the package's own assets). This module is the
one place the API is put together: the NinjaAPI with its default auth, its error handlers,
and every area's router; config/urls.py only mounts `api.urls`.

It is a module of its own, not locker/api/__init__.py, so that importing one part of the API
(its errors or pagination, say) does not build the whole API, and no router module imports
the package that imports it."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI, Router, Swagger

from locker.api import (
    cases,
    complainant,
    data_exports,
    devices,
    dossiers,
    entries,
    erasure,
    keys,
    receipts,
    security,
    sharing,
    tokens,
    verification,
)
from locker.api.auth import bearer
from locker.api.errors import document_common_refusals, install_error_handlers


class LockerAPI(NinjaAPI):
    """ninja's API, whose OpenAPI document lists every refusal each operation can answer."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        return document_common_refusals(super().get_openapi_schema(**kwargs))


api = LockerAPI(
    title="Evidence Locker API",
    version="1",
    description="Tamper-evident records of debt-collection harassment. "
    "Every call but POST /api/tokens needs `Authorization: Bearer <token>`.",
    auth=bearer,
    urls_namespace="api",
    # Swagger UI from ninja's own static files (ninja is an installed app). Its validator badge
    # would fetch an image from validator.swagger.io with our schema's address: no such call.
    docs=Swagger(settings={"validatorUrl": None}),
)
install_error_handlers(api)

# Every router inherits the bearer auth above; a public route says auth=None itself. This
# order is the order of the paths in the OpenAPI document and on /api/docs.
ROUTERS: tuple[Router, ...] = (
    tokens.router,
    security.router,
    data_exports.router,
    cases.router,
    complainant.router,
    entries.router,
    erasure.router,
    sharing.router,
    devices.router,
    receipts.router,
    dossiers.router,
    verification.router,
    keys.router,
)
for router in ROUTERS:
    api.add_router("", router)
