"""The call-center console and the API reference in a real browser (Debian's chromium).

Against the local stack as `make run` starts it: staff sign in to the emulated staff
pool from the page itself, find members, act on them, and read the audit trail. With
``SANDI_SCREENSHOT_DIR`` set (``make screenshots``) the main screens are saved there.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local.client import emulator_client
from local.staff_pool import LOCAL_PASSWORD, ensure_pool, ensure_user
from tests.conftest import LocalStack, Person, person
from tests.stack_client import StackClient

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = os.environ.get("SANDI_SCREENSHOT_DIR")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), "make test installs Debian's chromium (see the Makefile)"
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def staff(local_stack: LocalStack) -> dict[str, str]:
    cognito = emulator_client("cognito-idp", local_stack.emulator)
    pool_id, _ = ensure_pool(cognito, "local")
    ensure_user(cognito, pool_id, "agent-console", "agent")
    ensure_user(cognito, pool_id, "supervisor-console", "supervisor")
    return {"agent": "agent-console", "supervisor": "supervisor-console"}


class Console:
    """One agent's browser tab, with every CSP violation and page error collected."""

    def __init__(self, browser: Any, stack: LocalStack, width: int = 1280, height: int = 720) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="id-ID")
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.stack = stack

    def _console(self, message: Any) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            self.problems.append(message.text)

    def open(self) -> None:
        self.page.goto(self.stack.api + "/console")  # no slash: redirected to /console/
        self.page.wait_for_selector("#username:focus")

    def sign_in(self, username: str) -> None:
        """Keyboard only: the username field has focus; Tab to the password; Enter submits."""
        keyboard = self.page.keyboard
        keyboard.type(username)
        keyboard.press("Tab")
        keyboard.type(LOCAL_PASSWORD)
        keyboard.press("Enter")
        self.page.wait_for_selector("#query:focus")

    def search(self, text: str) -> str:
        self.page.fill("#query", text)
        self.page.press("#query", "Enter")
        # Locator assertions run in Playwright's own world: the page's CSP forbids eval.
        playwright.expect(self.page.locator("#search-result")).to_have_text(re.compile(r"\.$"))
        return str(self.page.text_content("#search-result"))

    def card(self) -> str:
        return str(self.page.inner_text("#card-fields"))

    def result(self) -> str:
        playwright.expect(self.page.locator("#action-result")).to_have_text(re.compile(r"^(?!Memproses|Working).+"))
        return str(self.page.text_content("#action-result"))

    def audit_kinds(self) -> list[str]:
        self.page.wait_for_selector("#audit-rows tr")
        return [str(c) for c in self.page.locator("#audit-rows tr td:nth-child(2)").all_text_contents()]

    def shot(self, name: str) -> None:
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


def _locked_member(stack: LocalStack, n: int) -> Person:
    who = person(n)
    StackClient(stack).register(who)
    for _ in range(5):
        requests.post(stack.api + "/v1/sessions", json={"login": who.email, "password": "Salah-Sekali-1"}, timeout=30)
    return who


def _sms_to(stack: LocalStack, number: str) -> list[dict[str, Any]]:
    for _ in range(50):
        found = requests.get(stack.inbox + "/api/messages", params={"to": number}, timeout=10).json()["messages"]
        if found:
            return list(found)
        time.sleep(0.1)
    return []


def _sms_saying(stack: LocalStack, number: str, text: str) -> bool:
    for _ in range(50):
        found = requests.get(stack.inbox + "/api/messages", params={"to": number}, timeout=10).json()["messages"]
        if any(text in m["body"] for m in found):
            return True
        time.sleep(0.1)
    return False


def test_an_agent_finds_unlocks_and_changes_a_phone_by_keyboard(
    browser: Any, local_stack: LocalStack, staff: dict[str, str]
) -> None:
    who = _locked_member(local_stack, 7101)
    console = Console(browser, local_stack)
    try:
        console.open()
        console.shot("1-sign-in")
        console.sign_in(staff["agent"])
        assert console.page.is_hidden("#reset-form") and console.page.is_hidden("#authenticator-form")

        assert console.search(who.nik) == "Akun ditemukan."
        card = console.card()
        assert "Terkunci sampai" in card and who.email in card and who.nik not in card  # NIK masked
        assert re.search(who.nik[:4] + r"\*+" + who.nik[-2:], card)
        console.shot("2-account-locked")

        console.page.fill("#unlock-reason", "Penelepon terverifikasi, lupa kata sandi")
        console.page.dblclick("#unlock-form button[type=submit]")  # a double click acts once
        assert console.result() == "Kunci masuk sudah dibuka. Anggota bisa masuk lagi sekarang."
        assert "Tidak terkunci" in console.card()
        kinds = console.audit_kinds()
        for _ in range(50):  # the trail reloads after the answer: wait for it, as an agent would
            if "admin.unlocked" in kinds:
                break
            time.sleep(0.1)
            kinds = console.audit_kinds()
        assert kinds.count("admin.unlocked") == 1

        assert console.search(who.phone) == "Akun ditemukan."  # 0812… as the member says it
        new_phone = "081398760000"
        console.page.fill("#new-phone", new_phone)
        console.page.fill("#contact-reason", "Nomor lama hilang, OTP tidak masuk")
        console.page.click("#contact-form button[type=submit]")
        assert console.result() == "Pilih cara identitas anggota diperiksa."  # how identity was checked is asked
        console.page.select_option("#contact-verification", "video_call")
        console.page.fill("#contact-reason", "Nomor lama hilang, OTP tidak masuk")
        console.page.click("#contact-form button[type=submit]")
        assert console.result().startswith("Permintaan dikirim.")
        assert "+6281398760000" not in console.card()  # nothing changes on one person's word
        assert "admin.contact_change_requested" in console.audit_kinds()
        console.shot("3-actions-and-audit")
        assert console.problems == []
    finally:
        console.close()

    boss = Console(browser, local_stack)
    try:
        boss.open()
        boss.sign_in(staff["supervisor"])
        waiting = boss.page.locator("li.approval", has_text="+6281398760000")
        playwright.expect(waiting).to_be_visible()
        assert "Panggilan video" in waiting.inner_text() and "agent-console" in waiting.inner_text()
        boss.shot("4-waiting-for-approval")
        waiting.locator("button.approve").click()
        playwright.expect(boss.page.locator("#approvals-result")).to_have_text(re.compile(r"^Disetujui\."))
        assert _sms_saying(local_stack, "+6281398760000", "oleh call center"), "the new number hears of it"
        assert _sms_saying(local_stack, who.phone_e164, "oleh call center"), "and the old one"
        assert boss.search("081398760000") == "Akun ditemukan."
        assert "+6281398760000" in boss.card()
        assert "admin.contact_change_approved" in boss.audit_kinds()
        assert boss.problems == []
    finally:
        boss.close()


def test_only_a_supervisor_may_reset_and_english_is_available(
    browser: Any, local_stack: LocalStack, staff: dict[str, str]
) -> None:
    who = person(7102)
    StackClient(local_stack).register(who)
    console = Console(browser, local_stack)
    try:
        console.open()
        console.page.select_option("#lang", "en")
        console.page.focus("#username")
        console.sign_in(staff["supervisor"])
        assert console.search(who.kpj) == "Account found."
        assert console.page.is_visible("#reset-form")
        console.page.fill("#reset-reason", "Member asked to register again")
        console.page.click("#reset-form button[type=submit]")
        assert console.result() == "Tick “I am sure” to reset the account."
        console.page.check("#reset-confirm")
        console.page.click("#reset-form button[type=submit]")
        assert console.result() == "The account is reset. The member can register again with the same data."
        assert console.search(who.email) == "No account matches this search."
        console.shot("4-supervisor-reset-english")
        assert console.problems == []
    finally:
        console.close()


def test_a_garbage_or_expired_session_goes_back_to_sign_in(
    browser: Any, local_stack: LocalStack, staff: dict[str, str]
) -> None:
    console = Console(browser, local_stack)
    try:
        console.open()
        console.sign_in(staff["agent"])

        def garbage(route: Any) -> None:
            headers = {**route.request.headers, "authorization": "Bearer not.a.token"}
            route.continue_(headers=headers)

        console.page.route("**/v1/admin/**", garbage)
        console.page.fill("#query", "budi@example.com")
        console.page.press("#query", "Enter")
        console.page.wait_for_selector("#username:focus")
        assert "Sesi Anda berakhir" in str(console.page.text_content("#notice"))
        assert console.page.is_hidden("#work")
    finally:
        console.close()


def test_the_console_is_usable_on_a_tablet(browser: Any, local_stack: LocalStack, staff: dict[str, str]) -> None:
    who = person(7103)
    StackClient(local_stack).register(who)
    console = Console(browser, local_stack, width=768, height=1024)
    try:
        console.open()
        console.sign_in(staff["agent"])
        assert console.search(who.email) == "Akun ditemukan."
        overflow = console.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, "nothing is wider than a 768 px tablet"
        for control in console.page.locator("#card input:not([type=checkbox])").all():
            if control.is_visible():
                label = console.page.locator(f"label[for={control.get_attribute('id')}]")
                assert label.count() == 1 and label.inner_text().strip()
        console.shot("5-tablet")
        assert console.problems == []
    finally:
        console.close()


def test_pages_carry_strict_security_headers(local_stack: LocalStack) -> None:
    for path in ("/console/", "/console/console.js", "/docs/", "/docs/swagger-ui-bundle.js"):
        answer = requests.get(local_stack.api + path, timeout=30)
        assert answer.status_code == 200, path
        policy = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert answer.headers["X-Frame-Options"] == "DENY"
    assert requests.get(local_stack.api + "/console/nope.js", timeout=30).status_code == 404
    html = requests.get(local_stack.api + "/console/", timeout=30).text
    assert "<script>" not in html and "http" not in html.split("<body>")[1]  # no inline code, no CDN


def test_the_api_reference_renders_the_contract(browser: Any, local_stack: LocalStack) -> None:
    console = Console(browser, local_stack)
    try:
        console.page.goto(local_stack.api + "/docs/")
        console.page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        paths = console.page.locator(".opblock-summary-path").all_text_contents()
        assert any("/v1/registrations" in p for p in paths)
        console.shot("6-api-reference")
        assert console.problems == []
    finally:
        console.close()


def test_the_vendored_renderer_is_the_pinned_release() -> None:
    import hashlib
    import json

    vendor = Path(__file__).resolve().parent.parent / "chalicelib" / "static" / "vendor"
    manifest = json.loads((vendor / "VENDORED.json").read_text())
    for entry in manifest.values():
        for name, digest in entry["files"].items():
            assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
