"""The thin HTTP edge: ``route()``, the call value, body parsing, language, who is
calling, the one error shape and the request log line.

A route declares who may call it (``member=True``: a member's access token; ``staff=``:
the staff pool's token in that group); the edge checks it and hands the flow the caller,
never a header. Whatever a flow raises becomes the contract's error object. Nothing
internal (exception text, class names, stack traces) reaches the client, and no request
body reaches the log.
"""

from __future__ import annotations

import json
import logging
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalice import Chalice, Response

from chalicelib import audit
from chalicelib.accounts.signed_in import Caller, caller_from
from chalicelib.accounts.staff import Staff, authorize
from chalicelib.config import get_settings
from chalicelib.deps import Deps, get_deps
from chalicelib.errors import ApiError, DeliveryFailed, StorageUnavailable, retry_after
from chalicelib.views import WithStatus

log = logging.getLogger("sandi.http")
request_log = logging.getLogger("sandi.request")

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
    """The contract's error object as a response (a 401 says how to authenticate: RFC 6750)."""
    headers = dict(error.headers)
    if error.status == 401 and error.key == "unauthenticated":
        headers.setdefault("WWW-Authenticate", 'Bearer realm="sandi"')
    return json_response(error.status, error.body(lang), headers)


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


# Chalice answers 415 itself for an unlisted type; accepting any lets the contract's
# 400 malformed_request answer a body that is not JSON.
CONTENT_TYPES = ["*/*"]
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Call:
    """What a view passes to a flow: collaborators, parsed body, language, path values,
    and who is calling (``caller`` on member routes, ``staff`` on staff routes)."""

    deps: Deps
    body: dict[str, Any]
    lang: str
    params: dict[str, str]
    headers: Any
    client_ip: str
    query: dict[str, str]
    caller: Caller | None = None
    staff: Staff | None = None

    def __getitem__(self, name: str) -> str:
        return self.params[name]

    @property
    def member(self) -> Caller:
        """The signed-in member (routes declared ``member=True`` only)."""
        assert self.caller is not None, "a member route"
        return self.caller

    @property
    def staff_member(self) -> Staff:
        """The signed-in staff member (routes declared ``staff=...`` only)."""
        assert self.staff is not None, "a staff route"
        return self.staff


def _content_is_json(headers: Any) -> bool:
    kind = (headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


View = Callable[..., Response]


def routes(app: Chalice) -> Callable[..., Callable[[Callable[[Call], Any]], View]]:
    """The ``route`` decorator of ``app``: ``@route(path, method, status, member=True)``."""

    def route(
        path: str,
        method: str,
        status: int = 200,
        *,
        authorizer: Any = None,
        member: bool = False,
        staff: str | None = None,
    ) -> Callable[[Callable[[Call], Any]], View]:
        """Register ``fn(call)`` as the view of ``method path``."""

        def register(fn: Callable[[Call], Any]) -> View:
            def view(**params: str) -> Response:
                request = app.current_request
                assert request is not None
                lang = language(request.headers)
                settings = get_settings()
                started = time.perf_counter()
                response = respond(
                    lambda: fn(_call(request, params, lang, member, staff)), lang, status, settings.delivery_retry_after
                )
                request_log.info(
                    "request",
                    extra={
                        "route": path,
                        "method": method,
                        "status": response.status_code,
                        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
                return response

            def _call(request: Any, params: dict[str, str], lang: str, member: bool, staff: str | None) -> Call:
                deps = get_deps()
                body: dict[str, Any] = {}
                if method in _BODY_METHODS and request.raw_body:
                    if not _content_is_json(request.headers):
                        raise ApiError("malformed_request")
                    raw = request.raw_body
                    body = parse_body(raw if isinstance(raw, bytes) else raw.encode(), deps.settings.max_body_bytes)
                # API Gateway's view of the caller; X-Forwarded-For is the caller's to forge.
                client_ip = str((request.context.get("identity") or {}).get("sourceIp") or "")
                audit.set_origin(
                    audit.Origin(
                        audit.client_hash(deps.keys.destination, client_ip),
                        str(request.context.get("requestId") or ""),
                        str(request.headers.get("user-agent") or ""),
                    )
                )
                authorization = request.headers.get("authorization")
                return Call(
                    deps,
                    body,
                    lang,
                    params,
                    request.headers,
                    client_ip,
                    dict(request.query_params or {}),
                    caller=caller_from(deps, authorization) if member else None,
                    # checked here as well in deployed stages: the view never relies on the gateway alone
                    staff=authorize(deps, authorization, staff) if staff else None,
                )

            view.__name__ = fn.__name__
            view.__doc__ = fn.__doc__
            kwargs: dict[str, Any] = {"methods": [method]}
            if method in _BODY_METHODS:
                kwargs["content_types"] = CONTENT_TYPES
            if authorizer is not None:
                kwargs["authorizer"] = authorizer
            app.route(path, **kwargs)(view)
            return view

        return register

    return route
