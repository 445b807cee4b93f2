"""Field rules: NIK, KPJ, phone, email, names, dates, passwords and PINs.

Each ``parse_*`` function returns the normalized value or raises ``FieldError`` with a
reason code; ``collect`` turns several of them into one ``422 validation_error``.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from chalicelib.errors import validation_error

T = TypeVar("T")

MEMBERSHIP_TYPES = ("PU", "BPU", "JAKON", "PMI")
# Every pattern is used with ``fullmatch``: ``$`` would let a trailing newline through.
_NAME_RE = re.compile(r"[^\W\d_]+(?:[ .,'\-]+[^\W\d_]*)*")
_DIGITS_RE = re.compile(r"[0-9]+")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CODE_RE = re.compile(r"[0-9]{6}")
_PHONE_CHARS_RE = re.compile(r"\+?[0-9 ().\-]{6,24}")


class FieldError(Exception):
    """One field broke one or more rules (reason codes)."""

    def __init__(self, *reasons: str) -> None:
        super().__init__(",".join(reasons))
        self.reasons = list(reasons)


class Collector:
    """Runs field rules and gathers every failure before raising once."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.errors: dict[str, list[str]] = {}

    def field(self, name: str, rule: Callable[[Any], T]) -> T | None:
        """Apply ``rule`` to the field; a missing field is ``required``."""
        value = self.body.get(name)
        if value is None or value == "":
            self.errors[name] = ["required"]
            return None
        try:
            return rule(value)
        except FieldError as exc:
            self.errors[name] = exc.reasons
            return None

    def add(self, name: str, *reasons: str) -> None:
        """Record a cross-field failure."""
        self.errors.setdefault(name, []).extend(reasons)

    def raise_if_any(self) -> None:
        """Raise ``422 validation_error`` if any rule failed."""
        if self.errors:
            raise validation_error(self.errors)


def required[T](body: dict[str, Any], name: str, rule: Callable[[Any], T]) -> T:
    """One required field of ``body`` through ``rule``, or ``422 validation_error``."""
    fields = Collector(body)
    value = fields.field(name, rule)
    fields.raise_if_any()
    assert value is not None
    return value


def parse_text(value: Any) -> str:
    """A string field (any content)."""
    if not isinstance(value, str):
        raise FieldError("invalid_type")
    return value


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control or format character (newline, NUL, zero-width,
    bidirectional override...), none of which belongs in a name or a reason."""
    return any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in text)


def parse_free_text(value: Any, max_length: int, reason: str) -> str:
    """Free text a person types (a reason): NFC, no control characters, 1..max_length."""
    text = unicodedata.normalize("NFC", parse_text(value)).strip()
    if not text or len(text) > max_length or has_control(text):
        raise FieldError(reason)
    return text


def parse_staff_reason(value: Any) -> str:
    """Why a staff member acts on an account: 3 to 500 characters of free text."""
    text = parse_free_text(value, 500, "invalid_reason")
    if len(text) < 3:
        raise FieldError("invalid_reason")
    return text


# --- email ---------------------------------------------------------------------


# Addresses of this plain ASCII shape are accepted by the email library unchanged but
# for the domain's case; they are checked here without importing it (its import costs
# about 50 ms of a cold start). Anything else, including punycode, goes to the library.
# tests/test_validation.py checks the equivalence (and this list against the library's).
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9]+(?:[._+-][A-Za-z0-9]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
)
SPECIAL_USE_DOMAINS = ("arpa", "invalid", "local", "localhost", "onion", "test")


def _plain_email(text: str) -> str | None:
    local, _, domain = text.rpartition("@")
    domain = domain.lower()
    if not _PLAIN_EMAIL.fullmatch(text) or len(local) > 64 or len(domain) > 253 or "--" in domain:
        return None
    if any(domain == d or domain.endswith("." + d) for d in SPECIAL_USE_DOMAINS):
        return None
    return f"{local}@{domain}"


def parse_email(value: Any) -> str:
    """A syntactically valid address, normalized (no DNS lookups)."""
    text = parse_text(value).strip()
    if len(text) > 254:
        raise FieldError("invalid_email")
    plain = _plain_email(text)
    if plain is not None:
        return plain
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise FieldError("invalid_email") from exc
    return str(result.normalized)


def email_key(email: str) -> str:
    """The case-insensitive form used for uniqueness and look-ups."""
    return email.strip().lower()


# --- phone ---------------------------------------------------------------------


def parse_phone(value: Any) -> str:
    """An Indonesian mobile number in any common form, as E.164 (``+628…``)."""
    import phonenumbers
    from phonenumbers import PhoneNumberType

    text = parse_text(value).strip()
    if not _PHONE_CHARS_RE.fullmatch(text):
        raise FieldError("invalid_phone")
    digits = re.sub(r"[^0-9]", "", text)
    if text.startswith("+"):
        candidate = "+" + digits
    elif digits.startswith("62"):
        candidate = "+" + digits
    elif digits.startswith("0"):
        candidate = "+62" + digits[1:]
    elif digits.startswith("8"):
        candidate = "+62" + digits
    else:
        raise FieldError("invalid_phone")
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException as exc:
        raise FieldError("invalid_phone") from exc
    mobile = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
    if (
        number.country_code != 62
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in mobile
    ):
        raise FieldError("invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- identity ------------------------------------------------------------------


def parse_date(value: Any) -> date:
    """A real calendar date written ``YYYY-MM-DD``."""
    text = parse_text(value).strip()
    if not _DATE_RE.fullmatch(text):
        raise FieldError("invalid_date")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise FieldError("invalid_date") from exc


def parse_birth_date(value: Any, today: date) -> date:
    """A birth date: a real date, not in the future, not before 1900."""
    born = parse_date(value)
    if born > today or born.year < 1900:
        raise FieldError("invalid_date")
    return born


def parse_nik(value: Any) -> str:
    """16 digits whose digits 7-12 are a real DDMMYY date (day + 40 for women)."""
    text = parse_text(value).strip()
    if len(text) != 16 or not _DIGITS_RE.fullmatch(text):
        raise FieldError("invalid_nik")
    if nik_birth_parts(text) is None:
        raise FieldError("invalid_nik")
    return text


def nik_birth_parts(nik: str) -> tuple[int, int, int] | None:
    """(day, month, two-digit year) encoded in a NIK, or None if not a real date."""
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > 40:
        day -= 40
    # Any century: 29 February needs a leap year, and 2000 is one for "00".
    for century in (2000, 1900):
        try:
            date(century + yy, month, day)
            return day, month, yy
        except ValueError:
            continue
    return None


def nik_matches_birth_date(nik: str, born: date) -> bool:
    """Whether the date encoded in the NIK is ``born``."""
    parts = nik_birth_parts(nik)
    return parts == (born.day, born.month, born.year % 100)


def mask_nik(nik: str) -> str:
    """The NIK as it may be shown: first four and last two digits."""
    return nik[:4] + "*" * 10 + nik[-2:]


def parse_kpj(value: Any, length: int) -> str:
    """A KPJ number: exactly ``length`` digits."""
    text = parse_text(value).strip()
    if len(text) != length or not _DIGITS_RE.fullmatch(text):
        raise FieldError("invalid_kpj")
    return text


def parse_full_name(value: Any) -> str:
    """A name as on the KTP: letters, spaces and ``.,'-``; 2-100 characters."""
    raw = unicodedata.normalize("NFC", parse_text(value))
    if has_control(raw):
        raise FieldError("invalid_name")
    text = " ".join(raw.split())
    if not 2 <= len(text) <= 100 or not _NAME_RE.fullmatch(text):
        raise FieldError("invalid_name")
    return text


def name_key(name: str) -> str:
    """A name compared case- and space-insensitively."""
    return "".join(unicodedata.normalize("NFC", name).casefold().split())


def parse_membership_type(value: Any) -> str:
    """One of PU, BPU, JAKON, PMI."""
    text = parse_text(value).strip().upper()
    if text not in MEMBERSHIP_TYPES:
        raise FieldError("invalid_membership_type")
    return text


def parse_code(value: Any) -> str:
    """A verification code as typed: exactly six digits."""
    text = parse_text(value).strip()
    if not _CODE_RE.fullmatch(text):
        raise FieldError("invalid_format")
    return text


# --- secrets -------------------------------------------------------------------

# Local favourites seen in Indonesian password leaks, on top of the shipped breached
# list (chalicelib/breached.py). Compared case-insensitively.
COMMON_PASSWORDS = frozenset(
    p.lower()
    for p in """
Password1 Password12 Password123 Password1234 Passw0rd P@ssw0rd P@ssword1 Pa55word
Qwerty123 Qwerty1 Qwerty12 Qwertyuiop1 Abc12345 Abcd1234 Abcdef123 Abc123456
Aa123456 Aa12345678 Aa112233 Admin123 Admin1234 Administrator1 Welcome1 Welcome123
Letmein1 Iloveyou1 Sunshine1 Princess1 Football1 Baseball1 Monkey123 Dragon123
Master123 Superman1 Batman123 Trustno1 Michael1 Jessica1 Charlie1 Summer2024
Summer2025 Summer2026 Winter2025 Spring2026 Zaq12wsx Q1w2e3r4 Q1w2e3r4t5 1q2w3e4R
Bismillah1 Bismillah123 Alhamdulillah1 Indonesia1 Indonesia123 Indonesia45 Jakarta1
Jakarta123 Sayang123 Sayangku1 Cintaku1 Cinta123 Rahasia1 Rahasia123 Merdeka45
Merdeka1945 Garuda123 Bandung123 Surabaya1 Persija1 Persib123 Bpjs1234 Bpjstk123
Jamsostek1 Kesehatan1 Ketenagakerjaan1 Sandi123 Sandi1234 Katasandi1 Katasandi123
Changeme1 Default1 Test1234 Testing123 Asdf1234 Asdfgh123 Zxcvbn123 Computer1
Internet1 Samsung123 Iphone123 Google123 Facebook1 Mobile123 Android1 Secret123
""".split()
)


def password_problems(password: str, email: str, full_name: str) -> list[str]:
    """Reason codes for a new password (the NIK is checked by the caller): any 8 to 128
    characters, not the email or the name, and not a breached password (no composition
    rules: ASVS 5.0 6.2.5, NIST SP 800-63B)."""
    reasons: list[str] = []
    if len(password) < 8:
        reasons.append("too_short")
    if len(password) > 128:
        reasons.append("too_long")
    folded = password.casefold()
    local_part = email.split("@", 1)[0].casefold()
    name = name_key(full_name)
    if (
        folded == email.casefold()
        or (len(local_part) >= 4 and local_part in folded)
        or (len(name) >= 4 and name in "".join(folded.split()))
    ):
        reasons.append("contains_personal_data")
    if 8 <= len(password) <= 128 and (folded in COMMON_PASSWORDS or _breached(password)):
        reasons.append("breached")
    return reasons


def _breached(password: str) -> bool:
    from chalicelib import breached  # cold start: the list is read only by steps that set a password

    return breached.is_breached(password)


def digit_runs(text: str, length: int) -> list[str]:
    """Every window of ``length`` consecutive digits in ``text`` (to test for a NIK)."""
    runs: list[str] = []
    for match in re.finditer(r"[0-9]+", text):
        block = match.group(0)
        runs.extend(block[i : i + length] for i in range(len(block) - length + 1))
    return runs


def _listed_pins() -> frozenset[str]:
    from pathlib import Path

    text = (Path(__file__).parent / "data" / "common_pins.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


COMMON_PINS = _listed_pins()


def is_common_pin(pin: str) -> bool:
    """A PIN from the published frequency tables, or of a shape people pick by the
    thousand: ``ababab``, ``abcabc``, ``aabbcc``."""
    return pin in COMMON_PINS or pin[:2] * 3 == pin or pin[:3] * 2 == pin or pin[0::2] == pin[1::2]


def pin_problems(pin: str, birth_date: date | None) -> list[str]:
    """Reason codes for a PIN that breaks the rules (previous PIN is checked by the caller)."""
    if len(pin) != 6 or not _DIGITS_RE.fullmatch(pin) or not pin.isascii():
        return ["invalid_format"]
    reasons: list[str] = []
    if len(set(pin)) == 1:
        reasons.append("repeated_digits")
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if steps in ({1}, {-1}):
        reasons.append("sequential_digits")
    if birth_date is not None and pin == birth_date.strftime("%d%m%y"):
        reasons.append("birth_date")
    if not reasons and is_common_pin(pin):
        reasons.append("too_common")
    return reasons
