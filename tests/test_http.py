"""The edge: one error shape, languages, bodies, and failures that stay clean."""

from __future__ import annotations

import json

import pytest

from chalicelib.flows import registration
from chalicelib.http import language
from chalicelib.storage.models import ALL_MODELS, FlowModel
from tests.conftest import Api, Outbox


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "id"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("id-ID,id;q=0.9,en;q=0.8", "id"),
        ("fr-FR,en;q=0.5", "en"),
        ("en;q=0.3,id;q=0.7", "id"),
        ("de", "id"),
        ("garbage;;q=x", "id"),
    ],
)
def test_language_negotiation(header: str | None, lang: str) -> None:
    assert language({"accept-language": header} if header else {}) == lang


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2]", b'"text"', b"{", b"\xff\xfe", json.dumps({"email": "x" * 17000}).encode()],
)
def test_bodies_that_are_not_a_small_json_object(api: Api, outbox: Outbox, raw: bytes) -> None:
    answer = api.call("POST", "/v1/registrations", raw)
    assert answer.status == 400 and answer.code == "malformed_request"
    assert answer.body["error"]["message"]  # localized text present
    assert outbox.count() == 0


def test_a_non_json_content_type_is_malformed(api: Api) -> None:
    answer = api.call(
        "POST",
        "/v1/registrations",
        b"email=a@example.com",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 400 and answer.code == "malformed_request"


def test_errors_speak_english_on_request(api: Api) -> None:
    id_answer = api.get("/v1/registrations/nope")
    en_answer = api.get("/v1/registrations/nope", lang="en")
    assert id_answer.body["error"]["code"] == en_answer.body["error"]["code"] == "not_found"
    assert id_answer.body["error"]["message"] == "Data yang diminta tidak ditemukan."
    assert en_answer.body["error"]["message"] == "The requested resource was not found."


def test_unknown_fields_are_ignored_and_never_stored(api: Api, deps) -> None:  # type: ignore[no-untyped-def]
    answer = api.post("/v1/registrations", {"email": "a@example.com", "role": "admin", "x": "SENTINEL-123"})
    assert answer.status == 201
    item = deps.store.get(FlowModel, answer.body["flow_id"])
    assert "SENTINEL-123" not in json.dumps(item.to_simple_dict())


def test_an_unexpected_failure_is_a_bare_500(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret 123456 at chalicelib/internal.py")

    monkeypatch.setattr(registration, "get", explode)
    answer = api.get("/v1/registrations/x")
    assert answer.status == 500 and answer.code == "internal_error"
    text = json.dumps(answer.body)
    assert "123456" not in text and "Traceback" not in text and "chalicelib" not in text


def test_dynamodb_failure_is_a_clean_503(api: Api, outbox: Outbox) -> None:
    FlowModel.delete_table()  # every flow write now fails inside DynamoDB
    answer = api.post("/v1/registrations", {"email": "a@example.com"})
    assert answer.status == 503 and int(answer.headers["retry-after"]) > 0
    assert answer.body["error"]["code"] == "internal_error"
    assert outbox.count() == 0  # nothing was sent for a flow that was not stored


def test_health(api: Api) -> None:
    assert api.get("/v1/health").body == {"status": "ok"}
    for model in ALL_MODELS:
        model.delete_table()
    answer = api.get("/v1/health")
    assert answer.status == 503
