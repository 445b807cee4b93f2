"""Every answer the tests see, checked against the OpenAPI description (issue 27).

``check(method, path, status, body, headers)`` finds the operation the request matched,
requires the status to be described, and validates the body against that response's
schema (JSON Schema 2020-12, references resolved in the document). A header the
description promises (``Retry-After``) must be there. Used by ``tests.conftest.Api`` on
every call; pages for people (``/console``, ``/docs``, ``/account``) are not the API.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from typing import Any

PAGES = ("/console", "/docs", "/account")


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    from infra.build_openapi import OUT

    return dict(json.loads(OUT.read_text()))


@lru_cache(maxsize=1)
def _routes() -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    found = []
    for path, operations in _document()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        found.append((pattern, path, operations))
    # literal paths before templated ones (/v1/sessions/refresh before /v1/sessions/{flow_id}/...)
    return sorted(found, key=lambda r: r[1].count("{"))


@lru_cache(maxsize=1)
def _registry() -> Any:
    from referencing import Registry, Resource

    return Registry().with_resource(
        "urn:sandi:openapi", Resource.from_contents(_document(), default_specification=_spec())
    )


def _spec() -> Any:
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012


def _operation(method: str, bare: str) -> tuple[str, dict[str, Any]] | None:
    for pattern, template, operations in _routes():
        if pattern.match(bare) and method.lower() in operations:
            return template, operations[method.lower()]
    return None


def violations(method: str, path: str, status: int, body: Any, headers: dict[str, str]) -> list[str]:
    """What is wrong with one answer, against the description (empty: nothing)."""
    bare = path.split("?", 1)[0]
    if bare.startswith(PAGES) or status == 405:  # 405: chalice's local server's own (API Gateway: a gateway response)
        return []
    found = _operation(method, bare)
    if found is None:
        if status == 404:  # nothing there, as the description says: still the error shape
            return _against(f"{method} {bare} -> {status}", "urn:sandi:openapi#/components/schemas/Error", body)
        return [f"{method} {bare}: no operation in the description"]
    template, operation = found
    where = f"{method} {template} -> {status}"
    described = operation["responses"].get(str(status))
    if described is None:
        return [f"{where}: status not described"]
    problems = [
        f"{where}: header {name} missing"
        for name, header in described.get("headers", {}).items()
        if header.get("required") and name.lower() not in headers
    ]
    content = described.get("content", {}).get("application/json")
    if content is None:
        return problems + ([f"{where}: a body where none is described"] if body not in (None, "", {}) else [])
    escaped = template.replace("~", "~0").replace("/", "~1")
    pointer = f"/paths/{escaped}/{method.lower()}/responses/{status}/content/application~1json/schema"
    return problems + _against(where, "urn:sandi:openapi#" + pointer, body)


def _against(where: str, uri: str, body: Any) -> list[str]:
    from jsonschema import Draft202012Validator

    problems = []
    schema = {"$ref": uri}
    validator = Draft202012Validator(schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    for error in validator.iter_errors(body):
        location = "/".join(str(p) for p in error.absolute_path)
        problems.append(f"{where}: {location or '(body)'}: {error.message[:200]}")
    return problems


REPORT = os.environ.get("SANDI_CONTRACT_REPORT")


def check(method: str, path: str, status: int, body: Any, headers: dict[str, str]) -> None:
    """Fail the test at the answer that breaks the description (or, with
    ``SANDI_CONTRACT_REPORT`` set, append it to that file and go on)."""
    found = violations(method, path, status, body, headers)
    if not found:
        return
    if REPORT:
        with open(REPORT, "a") as f:
            f.write("\n".join(found) + "\n")
        return
    raise AssertionError("the answer breaks the OpenAPI description:\n" + "\n".join(found))
