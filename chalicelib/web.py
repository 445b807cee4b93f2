"""The call-center console and the API reference: static files the API serves itself.

No templating: each file is sent as it is in ``chalicelib/static``, except the
console's ``config.json`` (which staff pool to sign in to). Every answer carries a
strict Content-Security-Policy (scripts and styles from this origin only, nothing
inline, no framing); the console may also talk to the stage's Cognito endpoint, where
staff sign in. The renderer of the API reference (Swagger UI) is vendored, pinned and
checked against its recorded hashes (``static/vendor/VENDORED.json``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chalicelib.config import Settings

STATIC = Path(__file__).resolve().parent / "static"

# What each section serves: the name in the URL -> the file under STATIC.
SECTIONS: dict[str, dict[str, str]] = {
    "console": {
        "": "console/index.html",
        "console.js": "console/console.js",
        "console.css": "console/console.css",
    },
    "account": {
        "": "account/index.html",
        "account.js": "account/account.js",
        "account.css": "account/account.css",
    },
    "docs": {
        "": "docs/index.html",
        "docs.js": "docs/docs.js",
        "docs.css": "docs/docs.css",
        "swagger-ui-bundle.js": "vendor/swagger-ui/swagger-ui-bundle.js",
        "swagger-ui.css": "vendor/swagger-ui/swagger-ui.css",
    },
}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
}


def idp_endpoint(settings: Settings) -> str:
    """Where the console signs staff in (Cognito's public API for the stage's region)."""
    return settings.staff_idp_endpoint or f"https://cognito-idp.{settings.region}.amazonaws.com/"


def security_headers(settings: Settings, content_type: str) -> dict[str, str]:
    """The headers of every console and reference answer."""
    idp = urlsplit(idp_endpoint(settings))
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self' {idp.scheme}://{idp.netloc}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    headers = {
        "Content-Type": content_type,
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    if settings.stage != "local":
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


@lru_cache(maxsize=32)
def _read(relative: str) -> bytes:
    return (STATIC / relative).read_bytes()


def console_config(settings: Settings) -> dict[str, Any]:
    """What the console needs to sign staff in: the pool's public client, no secret."""
    return {
        "region": settings.region,
        "client_id": settings.staff_client_id,
        "idp_endpoint": idp_endpoint(settings),
        "stage": settings.stage,
    }


def asset(settings: Settings, section: str, name: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one file of a section; 404 for anything else."""
    if section == "console" and name == "config.json":
        body = json.dumps(console_config(settings)).encode()
        return 200, security_headers(settings, TYPES[".json"]), body
    relative = SECTIONS.get(section, {}).get(name)
    if relative is None:
        body = json.dumps({"error": {"code": "not_found", "message": "Not found."}}).encode()
        return 404, security_headers(settings, TYPES[".json"]), body
    return 200, security_headers(settings, TYPES[Path(relative).suffix]), _read(relative)
