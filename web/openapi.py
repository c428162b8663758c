"""OpenAPI: the document at ``/schema/openapi.json`` and readable docs at ``/schema``.

Litestar's documentation UIs (Scalar, Swagger, ReDoc, ...) load their scripts
from CDNs, which our Content-Security-Policy (and our promise of no third-party
requests) forbids. The docs page here is rendered on the server from the same
OpenAPI document by a Jinja template: no script at all.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar import Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin

from web.templating import sync_context

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
API_DESCRIPTION = (
    "The HTTP API of Coachmatch. Coaches and admins authenticate with the session "
    "cookie from `POST /api/auth/login` plus the `X-CSRF-Token` header on every change; "
    "candidates (later) with a bearer token. Errors are RFC 9457 problem details."
)


@dataclasses.dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    description: str
    tags: tuple[str, ...]
    parameters: tuple[tuple[str, str, bool], ...]  # name, in, required
    request_body: str | None
    responses: tuple[tuple[str, str], ...]  # status, description


def operations(document: dict[str, Any]) -> list[Operation]:
    """The operations of an OpenAPI document, in path order."""
    found: list[Operation] = []
    for path, item in sorted(document.get("paths", {}).items()):
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                found.append(_operation(method, path, operation))
    return found


def _operation(method: str, path: str, operation: dict[str, Any]) -> Operation:
    body = operation.get("requestBody") or {}
    content = body.get("content") or {}
    return Operation(
        method=method.upper(),
        path=path,
        summary=str(operation.get("summary", "")),
        description=str(operation.get("description", "")),
        tags=tuple(operation.get("tags", ())),
        parameters=tuple(
            (str(p.get("name", "")), str(p.get("in", "")), bool(p.get("required", False)))
            for p in operation.get("parameters", ())
            if isinstance(p, dict)
        ),
        request_body=", ".join(sorted(content)) or None,
        responses=tuple(
            (str(status), str((response or {}).get("description", "")))
            for status, response in sorted(operation.get("responses", {}).items())
        ),
    )


class DocsPage(OpenAPIRenderPlugin):
    """Server-rendered API documentation (no script, no CDN)."""

    def __init__(self) -> None:
        super().__init__(path="/", favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        engine = request.app.template_engine
        if engine is None:
            raise RuntimeError("the app has no template engine")
        template = engine.get_template("schema.html")
        context = sync_context(request)
        html: str = template.render(
            **context,
            info=openapi_schema.get("info", {}),
            operations=operations(openapi_schema),
            schemas=sorted(openapi_schema.get("components", {}).get("schemas", {})),
        )
        return html.encode("utf-8")


def openapi_config(version: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Coachmatch API",
        version=version,
        description=API_DESCRIPTION,
        path="/schema",
        render_plugins=[DocsPage(), JsonRenderPlugin()],
    )
