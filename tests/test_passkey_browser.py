"""A real passkey ceremony (issue 25): Debian's chromium with its virtual authenticator
(CDP ``WebAuthn``: resident keys, user verification), on the member page the API serves
at ``http://localhost:<port>/account/``: sign in with the password, add a passkey, see
it, sign out, sign in with it, see how each device signed in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import LocalStack, person
from tests.stack_client import StackClient
from tests.test_console import CHROMIUM, FLAGS

playwright = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def test_a_member_adds_a_passkey_and_signs_in_with_it(chromium: Any, local_stack: LocalStack) -> None:
    who = person(7301)
    StackClient(local_stack).register(who)
    page_url = local_stack.api.replace("127.0.0.1", "localhost") + "/account/"
    context = chromium.new_context(locale="id-ID")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )["authenticatorId"]
    try:
        page.goto(page_url)
        page.wait_for_selector("#login:focus")
        assert page.get_attribute("#login", "autocomplete") == "username webauthn"  # passkeys offered in autofill
        page.keyboard.type(who.email)
        page.keyboard.press("Tab")
        page.keyboard.type(who.password)
        page.keyboard.press("Enter")
        playwright.expect(page.locator("#me-name")).to_have_text(who.full_name)
        playwright.expect(page.locator("#passkeys li")).to_have_text(["Belum ada passkey."])

        page.fill("#add-password", who.password)
        page.click("#add-passkey")
        playwright.expect(page.locator("#notice")).to_have_text(re.compile("^Passkey ditambahkan"))
        playwright.expect(page.locator("#passkeys li.passkey")).to_have_count(1)
        stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
        assert len(stored) == 1 and stored[0]["isResidentCredential"] and stored[0]["rpId"] == "localhost"

        page.click("#signout")
        playwright.expect(page.locator("#notice")).to_have_text("Anda sudah keluar.")
        playwright.expect(page.locator("#me-name")).to_have_text("")
        if page.is_visible("#signin"):  # autofill may already have offered the passkey and signed in
            page.click("#passkey-signin")
        playwright.expect(page.locator("#me-name")).to_have_text(who.full_name)
        current = page.locator("#devices li.device", has_text="perangkat ini")
        playwright.expect(current).to_have_count(1)
        assert current.get_attribute("data-amr") in ("swk user", "hwk user")
        signed = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"][0]
        assert signed["signCount"] >= 1
        assert problems == []
    finally:
        context.close()
