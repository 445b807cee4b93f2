"""A person's side of the local stack over HTTP: the API and the inbox."""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.conftest import LocalStack, Person, code_in


class StackClient:
    """Calls the API and reads codes from the local inbox, like the app and its user."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.http = requests.Session()

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.request(method, self.stack.api + path, json=body, headers=headers, timeout=30)

    def messages(self) -> list[dict[str, Any]]:
        return list(self.http.get(self.stack.inbox + "/api/messages", timeout=10).json()["messages"])

    def code_for(self, to: str, channel: str) -> str:
        """The code in the newest message to ``to`` (waits briefly for it)."""
        for _ in range(50):
            for message in self.messages():  # newest first; a security notice is not a code
                first = message["body"].strip().split()[0] if message["body"].strip() else ""
                if message["to"] == to and message["channel"] == channel and first.isdigit() and len(first) == 6:
                    return code_in(message["body"])
            time.sleep(0.1)
        raise AssertionError(f"no {channel} for {to}")

    def to_password(self, who: Person) -> str:
        """Drive a registration up to the password step; return the flow id."""
        started = self.call("POST", "/v1/registrations", {"email": who.email})
        assert started.status_code == 201, started.text
        flow = started.json()["flow_id"]
        base = f"/v1/registrations/{flow}"
        steps = [
            ("POST", "/email/verify", lambda: {"code": self.code_for(who.email, "email")}, "profile"),
            ("PUT", "/profile", who.profile, "phone"),
            ("POST", "/phone", lambda: {"phone": who.phone}, "phone_verification"),
            ("POST", "/phone/verify", lambda: {"code": self.code_for(who.phone_e164, "sms")}, "password"),
        ]
        for method, step, body, state in steps:
            answer = self.call(method, base + step, body())
            assert answer.status_code == 200 and answer.json()["state"] == state, answer.text
        return flow

    def register(self, who: Person) -> dict[str, Any]:
        """A complete registration; the account and session it answers."""
        flow = self.to_password(who)
        body = {"password": who.password, "password_confirmation": who.password}
        answer = self.call("POST", f"/v1/registrations/{flow}/complete", body)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())
