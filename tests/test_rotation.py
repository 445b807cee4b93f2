"""Rotating the stage secret on a running local stack, mid-journey.

`make rotate-secret STAGE=local` against `make run`: sessions, NIK look-ups, pending
flows and limits keep working; new tokens carry the new version; after a second rotation
the first version's tokens are refused.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.keys import Keys, SecretFormatError, parse_secret
from local.client import Urls, emulator_client, running
from local.rotate_secret import new_document, parameter_name, rotate, rotated
from tests.conftest import person
from tests.stack_client import StackClient

ROOT = Path(__file__).resolve().parent.parent


def _kid(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def test_a_plain_secret_reads_as_it_always_did() -> None:
    plain = Keys.from_secret("old-plain-secret")
    converted, _, _ = rotated("old-plain-secret")
    after = Keys.from_secret(converted)
    for name in ("code", "nik", "destination", "refresh", "totp"):
        assert getattr(after, name) == getattr(plain, name), name  # lookups unchanged
    assert after.token_keys["v1"] == plain.token and after.kid != "v1"  # old tokens accepted, new signer


def test_a_rotation_keeps_one_previous_version_and_the_lookup_secret() -> None:
    first = new_document()
    second, v2, dropped = rotated(first)
    third, v3, dropped_again = rotated(second)
    lookup1, v1, _ = parse_secret(first)
    lookup3, current, versions = parse_secret(third)
    assert lookup3 == lookup1 and current == v3 and set(versions) == {v2, v3}
    assert dropped == [] and dropped_again == [v1]


@pytest.mark.parametrize("bad", ['{"lookup": ""}', '{"lookup": "x", "signing": {"current": "a", "versions": {}}}', "{"])
def test_a_broken_secret_document_is_refused(bad: str) -> None:
    with pytest.raises(SecretFormatError):
        Keys.from_secret(bad)


@pytest.fixture(scope="module")
def stack() -> Iterator[Urls]:
    """A stack of its own: rotating must not touch the other tests' sessions."""
    with running(ROOT / ".pytest-rotation-devstack.log") as urls:
        yield urls


def test_rotation_mid_journey_keeps_sessions_lookups_flows_and_limits(stack: Urls) -> None:
    client = StackClient(stack)  # type: ignore[arg-type]
    ssm = emulator_client("ssm", stack.emulator)
    name = parameter_name("local")
    member = person(930)
    session = client.register(member)["session"]
    old_access, old_refresh = session["access_token"], session["refresh_token"]
    first_kid = _kid(old_access)
    # in flight: a registration waiting for its email code, two wrong sign-ins counted
    waiting = person(931)
    flow = client.call("POST", "/v1/registrations", {"email": waiting.email}).json()["flow_id"]
    code = client.code_for(waiting.email, "email")

    def wrong_sign_in() -> int:
        return client.call("POST", "/v1/sessions", {"login": member.kpj, "password": "Salah-Sekali-1"}).status_code

    assert [wrong_sign_in(), wrong_sign_in()] == [401, 401]

    new_kid, dropped = rotate(ssm, name)
    assert dropped == []

    # the old access token still works, and so does its refresh token (lookup key kept)
    assert client.call("GET", "/v1/me", token=old_access).status_code == 200
    refreshed = client.call("POST", "/v1/sessions/refresh", {"refresh_token": old_refresh})
    assert refreshed.status_code == 201, refreshed.text
    # within the refresh interval (2 s locally) new tokens carry the new version
    deadline = time.time() + 15
    while _kid(refreshed.json()["access_token"]) != new_kid and time.time() < deadline:
        time.sleep(0.5)
        refreshed = client.call("POST", "/v1/sessions/refresh", {"refresh_token": refreshed.json()["refresh_token"]})
    newer_access = refreshed.json()["access_token"]
    assert _kid(newer_access) == new_kid != first_kid
    assert client.call("GET", "/v1/me", token=newer_access).status_code == 200
    # the pending flow's code (hashed under the lookup key) still verifies
    verified = client.call("POST", f"/v1/registrations/{flow}/email/verify", {"code": code})
    assert verified.status_code == 200 and verified.json()["state"] == "profile"
    # the NIK is still found (forgot PIN by name, NIK and birth date)
    who = {"full_name": member.full_name, "nik": member.nik, "birth_date": member.birth_date}
    assert client.call("POST", "/v1/pin-resets", who).status_code == 201
    # the two wrong sign-ins before the rotation still count: three more lock the login
    assert [wrong_sign_in() for _ in range(3)] == [401, 401, 423]

    # a second rotation retires the first version: its tokens end at once
    _, dropped = rotate(ssm, name)
    assert dropped == [first_kid]
    deadline = time.time() + 15
    while client.call("GET", "/v1/me", token=old_access).status_code != 401 and time.time() < deadline:
        time.sleep(0.5)
    assert client.call("GET", "/v1/me", token=old_access).status_code == 401
    assert client.call("GET", "/v1/me", token=newer_access).status_code == 200  # the previous version: kept
