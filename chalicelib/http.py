"""The thin HTTP edge: body parsing, language, and the one error shape.

Routes call ``respond`` with a function of the parsed request; whatever it raises
becomes the contract's error object. Nothing internal (exception text, class names,
stack traces) reaches the client, and no request body reaches the log.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalice import Response

from chalicelib.errors import ApiError, DeliveryFailed, StorageUnavailable, retry_after

log = logging.getLogger("sandi.http")

JSON_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store"}


def language(headers: Any) -> str:
    """``en`` if the client prefers English over Indonesian, else ``id``."""
    header = (headers or {}).get("accept-language") or ""
    best, best_q = "id", 0.0
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("id", "en"):
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        q -= position * 1e-6  # equal weights: the earlier one wins
        if q > best_q:
            best, best_q = primary, q
    return best


MAX_DEPTH = 32  # no request of the contract nests deeper than 2


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def nesting_depth(raw: bytes, limit: int) -> int:
    """How deep arrays and objects nest in a JSON text (strings skipped), stopping once
    past ``limit``: the parser recurses per level, so depth is bounded before parsing."""
    depth = deepest = 0
    for byte in _STRING.sub(b"", raw):
        if byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON


def parse_body(raw: bytes | None, max_bytes: int) -> dict[str, Any]:
    """The JSON object in the body, or 400 malformed_request."""
    if raw is None or raw == b"":
        return {}
    if len(raw) > max_bytes or nesting_depth(raw, MAX_DEPTH) > MAX_DEPTH:
        raise ApiError("malformed_request")
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError("malformed_request") from exc
    if not isinstance(value, dict):
        raise ApiError("malformed_request")
    return value


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response that no cache keeps."""
    merged: dict[str, str | list[str]] = dict(JSON_HEADERS)
    merged.update(headers or {})
    if status == 204:
        return Response(body="", status_code=204, headers={"Cache-Control": "no-store"})
    return Response(body=json.dumps(body, ensure_ascii=False), status_code=status, headers=merged)


def error_response(error: ApiError, lang: str) -> Response:
    """The contract's error object as a response."""
    return json_response(error.status, error.body(lang), error.headers)


@dataclass(frozen=True)
class WithStatus:
    """A result whose success status differs from the route's usual one (``202`` for a
    sign-in that needs its second step)."""

    status: int
    body: Any


def respond(handler: Callable[[], Any], lang: str, status: int, retry_seconds: int) -> Response:
    """Run ``handler`` and shape its result or its failure."""
    try:
        result = handler()
    except ApiError as exc:
        return error_response(exc, lang)
    except DeliveryFailed:
        return error_response(retry_after("delivery_unavailable", retry_seconds), lang)
    except StorageUnavailable:
        return error_response(retry_after("service_busy", retry_seconds), lang)
    except Exception as exc:
        # Frames only: exception messages can carry request values.
        log.error("unhandled %s at %s", type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
        return error_response(ApiError("internal_error"), lang)
    if isinstance(result, WithStatus):
        return json_response(result.status, result.body)
    return json_response(status, result)
