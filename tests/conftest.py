"""Shared fixtures: moto's in-process AWS, an injected clock, the API client, the outbox.

Route tests run the real app through ``chalice.test.Client`` against moto's in-process
mock; tests that need real parallel requests or the whole stack use ``local_stack``,
which starts ``python -m local.devstack`` (the same entry point as ``make run``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REGION = "ap-southeast-3"
for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
    os.environ.pop(name, None)  # moto intercepts only AWS hostnames
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "SANDI_STAGE": "local",
    }
)

from chalicelib import aws  # noqa: E402
from chalicelib.config import Settings, load_settings  # noqa: E402
from chalicelib.deps import Deps, build_deps, set_deps  # noqa: E402
from tests import contract  # noqa: E402

_DAY = 86_400
_TIME_OF_DAY = 74_400  # 20:40:00 UTC: where every window boundary the tests were written against falls


def injected_start(real_now: float) -> float:
    """The injected clock's start: the latest 20:40:00 UTC at or before the real clock.

    Fixed within a run (every test starts at the same instant, same time of day as the
    suite was written against) but never ahead of the real clock, and never more than a
    day behind it: whatever the emulator stamps from the real clock (a staff token's
    ``exp`` = real now + 1 h, moto's own timestamps) then agrees with the injected clock,
    on any date. A fixed epoch met those stamps only near the day it was written.
    """
    start = real_now // _DAY * _DAY + _TIME_OF_DAY
    return start if start <= real_now else start - _DAY


START = injected_start(time.time())


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


def make_settings(**overrides: Any) -> Settings:
    """Local settings with cheap argon2 (the cost is benchmarked, not tested)."""
    base = load_settings({"SANDI_STAGE": "local", "AWS_DEFAULT_REGION": REGION})
    return replace(base, argon2_time_cost=1, argon2_memory_cost=1024, **overrides)


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Settings:
    """Test settings; ``@pytest.mark.settings(name=value)`` overrides some."""
    marker = request.node.get_closest_marker("settings")
    return make_settings(**(marker.kwargs if marker else {}))


@pytest.fixture
def mock_aws_env(settings: Settings) -> Iterator[None]:
    """moto's in-process AWS with the stage's tables and a verified SES sender."""
    from email.utils import parseaddr

    import boto3
    from moto import mock_aws

    from chalicelib.storage.models import create_tables

    with mock_aws():
        aws.reset_clients()
        create_tables(settings)
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=parseaddr(settings.ses_sender)[1])
        yield
    aws.reset_clients()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def deps(mock_aws_env: None, settings: Settings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deps]:
    import boto3
    import requests

    from chalicelib import staff_auth
    from local.staff_pool import ensure_pool

    # The staff pool lives in moto's cognito-idp; its JWKS is fetched over HTTP, which
    # moto answers in-process for the requests library (not for urllib).
    monkeypatch.setattr(staff_auth, "_fetch", lambda url: requests.get(url, timeout=5).content)
    pool_id, client_id = ensure_pool(boto3.client("cognito-idp", region_name=REGION), "local")
    settings = replace(settings, staff_pool_id=pool_id, staff_client_id=client_id)
    built = build_deps(settings, clock=clock)
    set_deps(built)
    yield built
    set_deps(None)


class Outbox:
    """What moto's SES and SNS accepted, as a person's inbox and phone would show it.

    Messages queued in the outbox table reach SES/SNS through the outbox sender, which
    AWS runs from the table's stream right after the answer: reading the inbox first
    hands the stream's new records to that handler (as the dev stack does), so a test
    sees a notice as a person would, a moment after the change."""

    def __init__(self) -> None:
        self._tail: Any = None

    def run_sender(self) -> int:
        """Hand the outbox stream's new records to the outbox sender; how many there were.

        The sender is another Lambda function: its AWS calls are not the request's, so
        round-trip counts and fault injection around a request leave them out."""
        from local.metrics import another_function

        with another_function():
            return self._run_sender()

    def _run_sender(self) -> int:
        import boto3

        from chalicelib.delivery import outbox
        from chalicelib.deps import current_deps
        from chalicelib.storage.models import OutboxModel
        from local.streams import StreamTail

        deps = current_deps()
        if deps is None:
            return 0
        if self._tail is None:
            streams = boto3.client(
                "dynamodbstreams", region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
            )
            self._tail = StreamTail(boto3.client("dynamodb", region_name=REGION), streams, OutboxModel.Meta.table_name)
        return int(self._tail.deliver(lambda event: outbox.handle_stream(deps, event, sleep=lambda s: None)))

    def _backends(self) -> tuple[Any, Any]:
        self.run_sender()
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends
        from moto.sns.models import sns_backends

        return ses_backends[DEFAULT_ACCOUNT_ID][REGION], sns_backends[DEFAULT_ACCOUNT_ID][REGION]

    def emails(self, to: str | None = None) -> list[Any]:
        ses, _ = self._backends()
        return [m for m in ses.sent_messages if to is None or m.destinations["ToAddresses"] == [to]]

    def sms(self, to: str | None = None) -> list[tuple[str, str]]:
        _, sns = self._backends()
        return [(p, t) for p, t in sns.sms_messages.values() if to is None or p == to]

    def email_code(self, to: str) -> str:
        """The code in the newest email to ``to``."""
        return code_in(self.emails(to)[-1].body)

    def sms_code(self, to: str) -> str:
        """The code in the newest SMS to ``to``."""
        return code_in(self.sms(to)[-1][1])

    def count(self) -> int:
        return len(self.emails()) + len(self.sms())


def code_in(text: str) -> str:
    """The 6-digit code a message starts with."""
    first = text.strip().split()[0]
    assert first.isdigit() and len(first) == 6, text
    return first


@pytest.fixture
def outbox(mock_aws_env: None) -> Outbox:
    return Outbox()


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> str | None:
        """The error code, if this is an error."""
        if isinstance(self.body, dict) and "error" in self.body:
            return str(self.body["error"]["code"])
        return None


class Api:
    """The app through chalice's test client, answering decoded JSON.

    After each answer the outbox sender runs (``after``), as AWS runs it from the stream
    a moment after the answer: a notice reaches the inbox before the person's next step."""

    def __init__(self, client: Any, after: Any = None) -> None:
        self._client = client
        self._after = after

    def call(
        self, method: str, path: str, body: Any = None, lang: str | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        sent = {"Content-Type": "application/json"}
        if lang:
            sent["Accept-Language"] = lang
        sent.update(headers or {})
        raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
        response = getattr(self._client.http, method.lower())(path, headers=sent, body=raw)
        if self._after is not None:
            self._after()
        decoded = json.loads(response.body) if response.body else None
        headers = {k.lower(): v for k, v in response.headers.items()}
        contract.check(method, path, response.status_code, decoded, headers)  # every answer against the description
        return Answer(response.status_code, decoded, headers)

    def get(self, path: str, **kw: Any) -> Answer:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.call("POST", path, body if body is not None else {}, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.call("PUT", path, body if body is not None else {}, **kw)


@pytest.fixture
def api(deps: Deps, outbox: Outbox) -> Iterator[Api]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as client:
        set_deps(deps)  # the client applies the stage's variables; our deps stay
        yield Api(client, after=outbox.run_sender)


# --- a person registering -------------------------------------------------------------


@dataclass
class Person:
    email: str = "budi.santoso@example.com"
    full_name: str = "Budi Santoso"
    birth_date: str = "1990-05-17"
    nik: str = "3174011705900001"
    kpj: str = "12345678901"
    phone: str = "081234567890"
    phone_e164: str = "+6281234567890"
    password: str = "Kuat-Sekali-9"
    membership_type: str = "PU"

    def profile(self) -> dict[str, str]:
        return {
            "membership_type": self.membership_type,
            "full_name": self.full_name,
            "birth_date": self.birth_date,
            "nik": self.nik,
            "kpj": self.kpj,
        }


def person(n: int = 0, **overrides: Any) -> Person:
    """A distinct valid person: ``n`` varies email, phone, KPJ and the NIK's serial."""
    base = Person(
        email=f"pekerja{n}@example.com",
        nik=f"317401170590{n + 1:04d}",
        kpj=f"{12345678901 + n:011d}",
        phone=f"0812{34560000 + n:08d}",
        phone_e164=f"+62812{34560000 + n:08d}",
    )
    return replace(base, **overrides)


class Journey:
    """Drives a registration step by step, reading codes from the outbox."""

    def __init__(self, api: Api, outbox: Outbox) -> None:
        self.api = api
        self.outbox = outbox

    def start(self, who: Person) -> str:
        answer = self.api.post("/v1/registrations", {"email": who.email})
        assert answer.status == 201, answer
        return str(answer.body["flow_id"])

    def to_profile(self, who: Person) -> str:
        flow_id = self.start(who)
        answer = self.api.post(f"/v1/registrations/{flow_id}/email/verify", {"code": self.outbox.email_code(who.email)})
        assert answer.status == 200 and answer.body["state"] == "profile", answer
        return flow_id

    def to_phone(self, who: Person) -> str:
        flow_id = self.to_profile(who)
        answer = self.api.put(f"/v1/registrations/{flow_id}/profile", who.profile())
        assert answer.status == 200 and answer.body["state"] == "phone", answer
        return flow_id

    def to_phone_verification(self, who: Person) -> str:
        flow_id = self.to_phone(who)
        answer = self.api.post(f"/v1/registrations/{flow_id}/phone", {"phone": who.phone})
        assert answer.status == 200 and answer.body["state"] == "phone_verification", answer
        return flow_id

    def to_password(self, who: Person) -> str:
        flow_id = self.to_phone_verification(who)
        code = self.outbox.sms_code(who.phone_e164)
        answer = self.api.post(f"/v1/registrations/{flow_id}/phone/verify", {"code": code})
        assert answer.status == 200 and answer.body["state"] == "password", answer
        return flow_id

    def register(self, who: Person) -> Answer:
        flow_id = self.to_password(who)
        answer = self.api.post(
            f"/v1/registrations/{flow_id}/complete",
            {"password": who.password, "password_confirmation": who.password},
        )
        assert answer.status == 201, answer
        return answer


@pytest.fixture
def journey(api: Api, outbox: Outbox) -> Journey:
    return Journey(api, outbox)


# --- the whole local stack, as `make run` starts it ------------------------------------

from local.client import Urls as LocalStack  # noqa: E402
from local.client import running  # noqa: E402

# The session stack's secret is known to the tests that talk to its emulator directly.
LOCAL_STACK_SECRET = "tests-local-stack-secret-not-for-any-real-stage"


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    """``python -m local.devstack`` on free ports (as ``make run`` starts it), for the session."""
    with running(ROOT / ".pytest-devstack.log", extra_env={"SANDI_SECRET_KEY": LOCAL_STACK_SECRET}) as urls:
        yield urls


@dataclass
class Member:
    """A registered person and the session registration gave them."""

    who: Person
    account_id: str
    access: str
    refresh: str

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.access}"}


@pytest.fixture
def member_factory(journey: Journey):  # type: ignore[no-untyped-def]
    def make(n: int = 0, **overrides: Any) -> Member:
        who = person(n, **overrides)
        body = journey.register(who).body
        return Member(
            who, body["account"]["account_id"], body["session"]["access_token"], body["session"]["refresh_token"]
        )

    return make


@pytest.fixture
def member(member_factory) -> Member:  # type: ignore[no-untyped-def]
    return member_factory(0)  # type: ignore[no-any-return]


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and types, not contents."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def staff_token_for(username: str, role: str) -> str:
    """A real sign-in of a staff user (created in that group) against the emulated pool."""
    import boto3

    from local.staff_pool import staff_token

    return staff_token(boto3.client("cognito-idp", region_name=REGION), "local", username, role)


@pytest.fixture
def staff_token(deps: Deps) -> str:
    """A call-center agent's bearer token."""
    return staff_token_for("agent01", "agent")


@pytest.fixture
def supervisor_token(deps: Deps) -> str:
    """A call-center supervisor's bearer token."""
    return staff_token_for("spv01", "supervisor")
