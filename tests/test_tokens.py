"""Member access tokens: standard HS256 JWTs, read the same way PyJWT reads them.

The app signs them without PyJWT (see chalicelib/tokens.py); PyJWT is the reference
here in both directions, and every way a forged token can differ is refused.
"""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.tokens import issue_access_token, read_access_token

KEY = b"k" * 32
ISS, AUD, NOW, TTL = "sandi-test", "sandi-app", 1_800_000_000, 900


def _issue() -> str:
    return issue_access_token(KEY, ISS, AUD, "acc-1", "ses-1", NOW, TTL)


def _claims(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "iss": ISS,
        "aud": AUD,
        "sub": "acc-1",
        "sid": "ses-1",
        "iat": NOW,
        "exp": NOW + TTL,
        "jti": "j",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_pyjwt_reads_our_tokens_with_the_same_claims() -> None:
    decoded = jwt.decode(
        _issue(),
        KEY,
        algorithms=["HS256"],
        audience=AUD,
        issuer=ISS,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert decoded["sub"] == "acc-1" and decoded["sid"] == "ses-1" and decoded["exp"] == NOW + TTL
    assert jwt.get_unverified_header(_issue())["alg"] == "HS256"


def test_we_read_tokens_pyjwt_writes() -> None:
    token = jwt.encode(_claims(), KEY, algorithm="HS256")
    claims = read_access_token(KEY, ISS, AUD, token, NOW)
    assert claims is not None and (claims.account_id, claims.session_id) == ("acc-1", "ses-1")


def test_a_token_is_valid_until_its_expiry_and_not_at_it() -> None:
    token = _issue()
    assert read_access_token(KEY, ISS, AUD, token, NOW + TTL - 1) is not None
    assert read_access_token(KEY, ISS, AUD, token, NOW + TTL) is None


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda: jwt.encode(_claims(), None, algorithm="none"), id="alg-none"),
        pytest.param(lambda: jwt.encode(_claims(), KEY * 2, algorithm="HS512"), id="other-algorithm"),
        pytest.param(lambda: jwt.encode(_claims(), b"x" * 32, algorithm="HS256"), id="other-key"),
        pytest.param(lambda: jwt.encode(_claims(iss="someone-else"), KEY, algorithm="HS256"), id="issuer"),
        pytest.param(lambda: jwt.encode(_claims(aud="other-app"), KEY, algorithm="HS256"), id="audience"),
        pytest.param(lambda: jwt.encode(_claims(aud=None), KEY, algorithm="HS256"), id="no-audience"),
        pytest.param(lambda: jwt.encode(_claims(sid=None), KEY, algorithm="HS256"), id="no-session"),
        pytest.param(lambda: jwt.encode(_claims(exp=str(NOW + TTL)), KEY, algorithm="HS256"), id="exp-not-a-number"),
        pytest.param(lambda: jwt.encode(_claims(exp=True), KEY, algorithm="HS256"), id="exp-boolean"),
        pytest.param(lambda: jwt.encode(_claims(iat=NOW + 3600), KEY, algorithm="HS256"), id="issued-in-the-future"),
        pytest.param(
            lambda: jwt.encode(_claims(), KEY, algorithm="HS256", headers={"crit": ["b64"], "b64": False}),
            id="critical-extension",
        ),
    ],
)
def test_forged_tokens_are_refused(forged: object) -> None:
    assert read_access_token(KEY, ISS, AUD, forged(), NOW) is None  # type: ignore[operator]


def test_a_changed_payload_breaks_the_signature() -> None:
    header, payload, mac = _issue().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "acc-2"
    changed = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert read_access_token(KEY, ISS, AUD, f"{header}.{changed}.{mac}", NOW) is None
    assert read_access_token(KEY, ISS, AUD, f"{header}.{payload}.{mac}=", NOW) is None  # padding is not base64url
    assert read_access_token(KEY, ISS, AUD, f"{header}.{payload}", NOW) is None


@given(st.text(max_size=300))
def test_garbage_is_refused_without_an_error(token: str) -> None:
    assert read_access_token(KEY, ISS, AUD, token, NOW) is None
