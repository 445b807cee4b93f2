"""Property tests: arbitrary JSON, deep nesting, huge numbers and odd Unicode never give a
5xx, never raise anything but a field error, and never change stored data."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.errors import ApiError
from chalicelib.http import parse_body
from chalicelib.storage.models import ALL_MODELS
from chalicelib.validation import (
    FieldError,
    parse_birth_date,
    parse_code,
    parse_email,
    parse_free_text,
    parse_full_name,
    parse_kpj,
    parse_membership_type,
    parse_nik,
    parse_phone,
    pin_problems,
)
from tests.conftest import REGION, Api

ODD = st.sampled_from(
    [
        "\u0301",
        "\u200b",
        "\u200d",
        "\u202e",
        "\u2066",
        "\ufeff",
        "\x00",
        "\n",
        "\r",
        "\t",
        "\u0663",
        "\U0001d7d9",
        "\uff21",
        "ß",
        "İ",
    ]
)
TEXT = st.text(alphabet=st.one_of(st.characters(), ODD), max_size=40)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12
)

PARSERS = [
    parse_email,
    parse_phone,
    parse_nik,
    lambda v: parse_kpj(v, 11),
    parse_full_name,
    parse_membership_type,
    parse_code,
    lambda v: parse_free_text(v, 500, "invalid_reason"),
    lambda v: parse_birth_date(v, __import__("datetime").date(2026, 11, 23)),
]


@settings(max_examples=300, deadline=None)
@given(value=JSON)
def test_every_validator_answers_a_value_or_a_field_error(value: Any) -> None:
    for parse in PARSERS:
        try:
            result = parse(value)
        except FieldError:
            continue
        assert isinstance(result, str)
        assert "\n" not in result and "\x00" not in result and "\u202e" not in result


@settings(max_examples=200, deadline=None)
@given(pin=TEXT)
def test_pin_rules_never_raise(pin: str) -> None:
    problems = pin_problems(pin, None)
    assert isinstance(problems, list)
    if not problems:
        assert pin.isascii() and pin.isdigit() and len(pin) == 6


@settings(max_examples=300, deadline=None)
@given(
    raw=st.one_of(
        st.binary(max_size=200),
        JSON.map(lambda v: json.dumps(v).encode()),
        st.integers(min_value=1, max_value=5000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(min_value=1, max_value=3000).map(lambda n: b'{"a":' * n + b"0" + b"}" * n),
        st.integers(min_value=1, max_value=4000).map(lambda n: b'{"a": ' + b"9" * n + b"}"),
    )
)
def test_the_body_parser_answers_an_object_or_malformed_request(raw: bytes) -> None:
    try:
        body = parse_body(raw, 16384)
    except ApiError as exc:
        assert exc.status == 400 and exc.code == "malformed_request"
        return
    assert isinstance(body, dict)


def _snapshot() -> dict[str, list[Any]]:
    client = boto3.client("dynamodb", region_name=REGION)
    return {
        model.Meta.table_name: sorted(
            json.dumps(i, sort_keys=True) for i in client.scan(TableName=model.Meta.table_name)["Items"]
        )
        for model in ALL_MODELS
    }


ROUTES = [
    ("PUT", "/v1/registrations/{flow}/profile"),
    ("POST", "/v1/registrations/{flow}/phone"),
    ("POST", "/v1/pin-resets"),
    ("PUT", "/v1/me/pin"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_hostile_bodies_never_give_a_5xx_or_change_data(
    api: Api, journey: Any, member: Any, method: str, path: str
) -> None:
    from tests.conftest import person

    flow = journey.to_profile(person(77))
    auth = member.auth()

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=st.dictionaries(st.sampled_from(["full_name", "nik", "pin", "code", "phone", "x"]), JSON, max_size=4))
    def run(body: dict[str, Any]) -> None:
        before = _snapshot()
        answer = api.call(method, path.format(flow=flow), body, headers=auth)
        assert answer.status < 500, answer
        if answer.status >= 400:
            assert _snapshot() == before

    run()
