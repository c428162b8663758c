"""Helpers shared by the form handlers."""

from __future__ import annotations

from typing import Any

from litestar import Request


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after a form, never another site (``//host``, ``/\\host``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in "\r\n\\") or len(target) > 500:
        return default
    return target


def client_address(request: Request[Any, Any, Any]) -> str:
    """The peer address as the server saw it (only ever stored truncated and hashed)."""
    client = request.client
    return client.host if client is not None else ""
