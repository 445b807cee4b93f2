"""Field rules as tables of (input, expected)."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.validation import (
    FieldError,
    digit_runs,
    mask_nik,
    name_key,
    nik_matches_birth_date,
    parse_birth_date,
    parse_email,
    parse_full_name,
    parse_kpj,
    parse_membership_type,
    parse_nik,
    parse_phone,
    password_problems,
    pin_problems,
)


def reasons(rule, value) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(FieldError) as caught:
        rule(value)
    return caught.value.reasons


# --- NIK ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nik", "born", "matches"),
    [
        ("3174011705900001", date(1990, 5, 17), True),  # man: day as is
        ("3275014903920002", date(1992, 3, 9), True),  # woman: day + 40
        ("3174015705900001", date(1990, 5, 17), True),  # woman born on the 17th: 57
        ("3174012902000001", date(2000, 2, 29), True),  # leap day, year 2000
        ("3174016912960001", date(1996, 12, 29), True),  # woman, 29 + 40
        ("3174011705900001", date(1990, 5, 18), False),
        ("3174011705900001", date(1991, 5, 17), False),
        ("3174015805900001", date(1990, 5, 17), False),  # woman born on the 18th
    ],
)
def test_nik_birth_date_agreement(nik: str, born: date, matches: bool) -> None:
    assert parse_nik(nik) == nik
    assert nik_matches_birth_date(nik, born) is matches


@pytest.mark.parametrize(
    "nik",
    [
        "317401170590000",  # 15 digits
        "31740117059000011",  # 17 digits
        "31740117059000a1",
        "3174013205900001",  # day 32
        "3174017205900001",  # woman day 32
        "3174011713900001",  # month 13
        "3174013002900001",  # 30 February
        "3174012902010001",  # 29 February 2001 / 1901
        "",
    ],
)
def test_bad_niks(nik: str) -> None:
    assert reasons(parse_nik, nik) == ["invalid_nik"]


def test_nik_mask_shows_six_of_sixteen_digits() -> None:
    assert mask_nik("3174011705900001") == "3174**********01"


# --- phone ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("081234567890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("+6281234567890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("+62 (812) 3456 7890", "+6281234567890"),
        ("81234567890", "+6281234567890"),
        ("0812 3456 7890", "+6281234567890"),
        ("0857.1234.5678", "+6285712345678"),
        ("0895-1234-5678", "+6289512345678"),
    ],
)
def test_indonesian_mobile_forms(raw: str, e164: str) -> None:
    assert parse_phone(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "0211234567",  # Jakarta landline
        "+6591234567",  # Singapore mobile
        "+1 415 555 2671",
        "0812",
        "08123456789012345",
        "phone",
        "++6281234567890",
        "",
    ],
)
def test_non_indonesian_mobile_numbers(raw: str) -> None:
    assert reasons(parse_phone, raw) == ["invalid_phone"]


# --- email ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("budi@example.com", "budi@example.com"),
        ("  Budi.Santoso@Example.COM ", "Budi.Santoso@example.com"),
        ("siti+bpjs@mail.co.id", "siti+bpjs@mail.co.id"),
    ],
)
def test_good_emails(raw: str, normalized: str) -> None:
    assert parse_email(raw) == normalized


@pytest.mark.parametrize(
    "raw", ["budi", "budi@", "@example.com", "budi@example", "bu di@example.com", "a" * 250 + "@x.co"]
)
def test_bad_emails(raw: str) -> None:
    assert reasons(parse_email, raw) == ["invalid_email"]


# --- other identity fields --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "ok"), [("12345678901", True), ("1234567890", False), ("123456789012", False), ("1234567890x", False)]
)
def test_kpj_is_eleven_digits(raw: str, ok: bool) -> None:
    if ok:
        assert parse_kpj(raw, 11) == raw
    else:
        assert reasons(lambda v: parse_kpj(v, 11), raw) == ["invalid_kpj"]


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ("Budi Santoso", True),
        ("  budi   santoso ", True),
        ("Muh. Ridwan, S.T.", True),
        ("Ni Luh Putu Ayu-Dewi", True),
        ("O'Neil", True),
        ("B", False),
        ("Budi 2", False),
        ("Budi_Santoso", False),
        ("x" * 101, False),
        ("<script>", False),
    ],
)
def test_full_name(raw: str, ok: bool) -> None:
    if ok:
        assert parse_full_name(raw) == " ".join(raw.split())
    else:
        assert reasons(parse_full_name, raw) == ["invalid_name"]


def test_names_compare_case_and_space_insensitively() -> None:
    assert name_key("BUDI  SANTOSO") == name_key("budi santoso") == name_key("Budi Santoso ")


@pytest.mark.parametrize(("raw", "ok"), [("PU", True), ("bpu", True), ("JAKON", True), ("PMI", True), ("VIP", False)])
def test_membership_types(raw: str, ok: bool) -> None:
    if ok:
        assert parse_membership_type(raw) == raw.upper()
    else:
        assert reasons(parse_membership_type, raw) == ["invalid_membership_type"]


@pytest.mark.parametrize("raw", ["2030-01-01", "1899-12-31", "1990-13-01", "1990/05/17", "17-05-1990"])
def test_bad_birth_dates(raw: str) -> None:
    assert reasons(lambda v: parse_birth_date(v, date(2026, 11, 22)), raw) == ["invalid_date"]


# --- passwords ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Kuat-Sekali-9", []),
        ("Abc1", ["too_short"]),
        ("a" * 127 + "B1", ["too_long"]),
        ("kuatsekali9", []),
        ("KUATSEKALI9", []),
        ("kopi susu gula aren", []),
        ("Bismillah1", ["breached"]),
        ("bismillah1", ["breached"]),
        ("sunshine1", ["breached"]),
        ("Budi.Santoso1@example.com", ["contains_personal_data"]),
        ("XBudisantoso9", ["contains_personal_data"]),
        ("budi.santoso1A", ["contains_personal_data"]),
    ],
)
def test_password_policy(password: str, expected: list[str]) -> None:
    assert password_problems(password, "budi.santoso1@example.com", "Budi Santoso") == expected


def test_digit_runs_find_an_embedded_nik() -> None:
    assert "3174011705900001" in digit_runs("Ab3174011705900001x", 16)
    assert digit_runs("Ab12x", 16) == []


# --- PINs (property tests) ------------------------------------------------------------


@given(st.sampled_from("0123456789"))
def test_a_pin_of_one_repeated_digit_is_refused(d: str) -> None:
    assert "repeated_digits" in pin_problems(d * 6, None)


@given(st.integers(min_value=0, max_value=4))
def test_runs_are_refused(start: int) -> None:
    up = "".join(str(start + i) for i in range(6))
    assert "sequential_digits" in pin_problems(up, None)
    assert "sequential_digits" in pin_problems(up[::-1], None)


@given(st.dates(min_value=date(1930, 1, 1), max_value=date(2010, 12, 31)))
def test_the_birth_date_is_refused(born: date) -> None:
    assert "birth_date" in pin_problems(born.strftime("%d%m%y"), born)


@given(st.text(alphabet="0123456789", min_size=6, max_size=6))
def test_any_other_six_digits_are_accepted(pin: str) -> None:
    from chalicelib.validation import COMMON_PINS

    born = date(1990, 5, 17)
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    weak = len(set(pin)) == 1 or steps in ({1}, {-1}) or pin == "170590"
    common = pin in COMMON_PINS or pin[:2] * 3 == pin or pin[:3] * 2 == pin or pin[0::2] == pin[1::2]
    assert (pin_problems(pin, born) == []) is (not weak and not common)


@pytest.mark.parametrize("pin", ["12345", "1234567", "12a456", ""])
def test_pin_must_be_six_digits(pin: str) -> None:
    assert pin_problems(pin, None) == ["invalid_format"]


_PLAIN_SHAPED = st.from_regex(
    r"[A-Za-z0-9]{1,10}([._+-][A-Za-z0-9]{1,5}){0,3}@([A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?\.){1,3}[A-Za-z]{2,8}",
    fullmatch=True,
)


@example("Budi.Santoso@Example.COM")
@example("x@xn--bcher-kva.de")
@example("a@foo.test")
@example("a@sub.localhost")
@given(_PLAIN_SHAPED | st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=60))
def test_plain_addresses_are_taken_exactly_as_the_email_library_takes_them(text: str) -> None:
    """parse_email skips the library for plain ASCII addresses: same verdict, same form."""
    from email_validator import EmailNotValidError, validate_email

    from chalicelib.validation import FieldError, parse_email

    try:
        expected: str | None = str(
            validate_email(text.strip(), check_deliverability=False, allow_smtputf8=False).normalized
        )
    except EmailNotValidError:
        expected = None
    if len(text.strip()) > 254:
        expected = None
    try:
        got: str | None = parse_email(text)
    except FieldError:
        got = None
    assert got == expected


def test_the_special_use_domains_are_the_librarys() -> None:
    import email_validator

    from chalicelib.validation import SPECIAL_USE_DOMAINS

    assert set(SPECIAL_USE_DOMAINS) == set(email_validator.SPECIAL_USE_DOMAIN_NAMES)
