"""Security notices (API.md "Security notices"): every change of a way in, and every
staff action on an account, told to the member at once by email **and** SMS.

A notice names what changed, when (WIB), and from which device or by the call center,
and what to do if it was not them. Never a code, a link with a secret, or a full NIK.
Notices go through the outbox in the transaction of the change they report: sent after
it, retried if the provider fails, and never able to block it. Their SMS count toward
the channel's hourly budget like any other send (``budget_count``), but a full budget
does not stop a notice: the change it reports has happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from chalicelib import audit, limits
from chalicelib.delivery import outbox
from chalicelib.delivery.templates import pick_lang
from chalicelib.deps import Deps
from chalicelib.devices import UNKNOWN
from chalicelib.storage.models import AccountModel
from chalicelib.storage.store import Txn

WIB = timezone(timedelta(hours=7))

# what happened, per event and language ({new}: the masked new email or phone)
_WHAT = {
    "password_changed": ("Kata sandi akun {app} Anda diubah", "Your {app} password was changed"),
    "password_reset": ("Kata sandi akun {app} Anda diatur ulang", "Your {app} password was reset"),
    "pin_changed": ("PIN akun {app} Anda dibuat atau diubah", "Your {app} PIN was set or changed"),
    "pin_reset": ("PIN akun {app} Anda diatur ulang lewat Lupa PIN", "Your {app} PIN was reset (Forgot PIN)"),
    "authenticator_on": ("Aplikasi autentikator {app} Anda diaktifkan", "An authenticator app was turned on for {app}"),
    "authenticator_replaced": ("Aplikasi autentikator {app} Anda diganti", "Your {app} authenticator app was replaced"),
    "authenticator_off": ("Aplikasi autentikator {app} Anda dimatikan", "Your {app} authenticator app was turned off"),
    "passkey_added": ("Passkey baru ditambahkan ke akun {app} Anda", "A passkey was added to your {app} account"),
    "passkey_removed": ("Passkey dihapus dari akun {app} Anda", "A passkey was removed from your {app} account"),
    "account_unlocked": ("Kunci akun {app} Anda dibuka", "Your {app} account was unlocked"),
    "email_changed": ("Email akun {app} Anda diganti menjadi {new}", "Your {app} account email was changed to {new}"),
    "phone_changed": (
        "Nomor ponsel akun {app} Anda diganti menjadi {new}",
        "Your {app} account phone number was changed to {new}",
    ),
    "account_deleted": ("Akun {app} Anda dihapus", "Your {app} account was deleted"),
    "account_reset": ("Akun {app} Anda ditutup oleh call center", "Your {app} account was closed by the call center"),
}
EVENTS = frozenset(_WHAT)

_BY_DEVICE = ("dari {device}", "from {device}")
_BY_STAFF = ("oleh call center {app}", "by the {app} call center")
_ADVICE = (
    "Bukan Anda? Segera hubungi care center {app} dan keluarkan semua perangkat lewat menu Perangkat di aplikasi.",
    "Not you? Call the {app} care center at once and sign out every device from the Devices menu in the app.",
)
_NEVER = (
    "{app} tidak pernah meminta kode, PIN, atau kata sandi Anda.",
    "{app} never asks for your codes, PIN or password.",
)


@dataclass(frozen=True)
class Notice:
    """One event to tell: what, to which addresses and numbers, in which language, and
    whether staff did it (else the request's device is named)."""

    event: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    lang: str
    by_staff: bool = False
    new: str = ""


def notice(
    event: str,
    *,
    emails: Iterable[str | None],
    phones: Iterable[str | None],
    lang: str,
    by_staff: bool = False,
    new: str = "",
) -> Notice:
    """A notice to each distinct, known address and number."""
    if event not in _WHAT:
        raise ValueError(f"unknown notice {event}")
    mails = tuple(dict.fromkeys(e for e in emails if e))
    numbers = tuple(dict.fromkeys(p for p in phones if p))
    return Notice(event, mails, numbers, pick_lang(lang or "id"), by_staff, new)


def to_account(event: str, account: AccountModel, lang: str, *, by_staff: bool = False) -> Notice:
    """A notice to the account's own email and phone (every event but a contact change)."""
    return notice(event, emails=[account.email], phones=[account.phone], lang=lang, by_staff=by_staff)


def contact_changed(
    field: str, *, email: str | None, phone: str | None, new: str, masked: str, lang: str, by_staff: bool = False
) -> Notice:
    """Who hears of a contact change: an email change, the old and the new email and the
    phone; a phone change, the old and the new phone and the email."""
    if field == "email":
        return notice("email_changed", emails=[email, new], phones=[phone], lang=lang, by_staff=by_staff, new=masked)
    return notice("phone_changed", emails=[email], phones=[phone, new], lang=lang, by_staff=by_staff, new=masked)


def text(deps: Deps, told: Notice, now: float) -> tuple[str, str, str]:
    """Subject, email body and SMS text of a notice."""
    i = 0 if told.lang == "id" else 1
    app = deps.settings.app_name
    what = _WHAT[told.event][i].format(app=app, new=told.new)
    when = datetime.fromtimestamp(now, tz=UTC).astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB")
    described = audit.origin().device
    device = described if described and described != UNKNOWN else ("perangkat tidak dikenal", "an unknown device")[i]
    by = _BY_STAFF[i].format(app=app) if told.by_staff else _BY_DEVICE[i].format(device=device)
    advice, never = _ADVICE[i].format(app=app), _NEVER[i].format(app=app)
    line = f"{what}, {when}, {by}."
    return what, f"{line}\n\n{advice}\n\n{never}", f"{app}: {line} {advice}"


def tell(txn: Txn, deps: Deps, told: Notice, now: float) -> None:
    """Queue one notice's emails and SMS in ``txn`` (see ``tell_all``)."""
    tell_all(txn, deps, [told], now)


def tell_all(txn: Txn, deps: Deps, told: list[Notice], now: float) -> None:
    """Queue the notices' emails and SMS in ``txn`` (sent once the change commits), and
    count their SMS in the hourly budget without a cap (a notice never blocks its
    change): one counter write for all of them (a transaction touches an item once)."""
    texts = 0
    for one in told:
        subject, body, sms = text(deps, one, now)
        for address in one.emails:
            outbox.email_notice(txn, address, (subject, body), now)
        for number in one.phones:
            outbox.sms_notice(txn, number, sms, now)
        texts += len(one.phones)
    budget = limits.channel_budget(deps.settings, "sms") if texts else None
    if budget is not None:
        limits.count_only(txn, budget, now, texts)
