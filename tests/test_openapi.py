"""The OpenAPI description is served, valid, and names exactly the app's routes."""

from __future__ import annotations

import json

from infra import build_openapi
from tests.conftest import Api


def test_served_description_is_the_committed_one(api: Api) -> None:
    answer = api.get("/v1/openapi.json")
    assert answer.status == 200 and answer.body["openapi"] == "3.1.0"
    assert answer.body == json.loads(build_openapi.OUT.read_text()) == build_openapi.build()


def test_every_route_is_described_and_every_description_is_a_route() -> None:
    from app import app

    # The console and the reference are pages for people, not part of the JSON API.
    pages = ("/console", "/docs", "/account")
    routes = {
        (method.lower(), path)
        for path, methods in app.routes.items()
        for method in methods
        if not path.startswith(pages)
    }
    described = {(method, path) for path, ops in build_openapi.build()["paths"].items() for method in ops}
    assert routes == described


def test_the_description_is_valid_openapi_31() -> None:
    from openapi_spec_validator import validate

    validate(build_openapi.build())
